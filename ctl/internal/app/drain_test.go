package app

import (
	"slices"
	"strings"
	"testing"

	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// podOn is a pod bound to node, owned by the controller kind/name when
// kind is not empty.
func podOn(ns, name, node, kind, owner string) *corev1.Pod {
	p := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: &corev1.PodSpec{NodeName: node,
			Containers: []*corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if kind != "" {
		api := "apps/v1"
		if kind == "Job" {
			api = "batch/v1"
		}
		p.Metadata.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: api, Kind: kind, Name: owner,
			Uid: owner + "-uid", Controller: new(true)}}
	}
	return p
}

func (e *env) createPods(pods ...*corev1.Pod) {
	e.t.Helper()
	cs := e.client()
	for _, p := range pods {
		if _, err := cs.CoreV1().Pods(p.Metadata.Namespace).Create(e.ctx(), p); err != nil {
			e.t.Fatalf("create pod %s/%s: %v", p.Metadata.Namespace, p.Metadata.Name, err)
		}
	}
}

func (e *env) createNode(name string) {
	e.t.Helper()
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name},
		Status: &corev1.NodeStatus{Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True"}}}}
	nodes := e.client().CoreV1().Nodes()
	created, err := nodes.Create(e.ctx(), n)
	if err != nil {
		e.t.Fatal(err)
	}
	created.Status = n.Status // the server drops status on create
	if _, err := nodes.UpdateStatus(e.ctx(), created); err != nil {
		e.t.Fatal(err)
	}
}

// kubelet plays the kubelets' part in pod deletion until the test ends: a
// bound pod that gets a deletionTimestamp is removed with grace period 0,
// as a kubelet does once the containers stopped.
func (e *env) kubelet() {
	e.t.Helper()
	ctx := e.ctx()
	cs := e.client()
	w, err := cs.CoreV1().Pods("").Watch(ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	go func() {
		for {
			ev, err := w.Recv()
			if err != nil {
				return
			}
			m := ev.Object.GetMetadata()
			// ADDED too: on a busy machine the watch may start after
			// drain marked the pods deleted, and list them so.
			if ev.Type == metav1.EventType_DELETED || m.GetDeletionTimestamp() == nil || ev.Object.GetSpec().GetNodeName() == "" {
				continue
			}
			err = cs.CoreV1().Pods(m.GetNamespace()).Delete(ctx, m.GetName(), client.DeleteOptions{GracePeriodSeconds: new(int64(0))})
			if err != nil && !client.IsNotFound(err) && ctx.Err() == nil {
				e.t.Errorf("kubelet: delete %s/%s: %v", m.GetNamespace(), m.GetName(), err)
			}
		}
	}()
}

// podNames lists namespace/name of every pod, sorted.
func (e *env) podNames() []string {
	e.t.Helper()
	l, err := e.client().CoreV1().Pods("").List(e.ctx(), client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, p := range l.GetItems() {
		out = append(out, p.GetMetadata().GetNamespace()+"/"+p.GetMetadata().GetName())
	}
	slices.Sort(out)
	return out
}

func TestDrain(t *testing.T) {
	e := newEnv(t)
	e.createNode("n1")
	e.createNode("n2")
	ds := &appsv1.DaemonSet{Metadata: &metav1.ObjectMeta{Name: "proxy", Namespace: "kube-system"},
		Spec: &appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "proxy"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "proxy"}},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	if _, err := e.client().AppsV1().DaemonSets("kube-system").Create(e.ctx(), ds); err != nil {
		t.Fatal(err)
	}
	scratch := podOn("default", "scratch", "n1", "ReplicaSet", "web")
	scratch.Spec.Volumes = []*corev1.Volume{{Name: "tmp", EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	mirror := podOn("default", "mirror", "n1", "", "")
	mirror.Metadata.Annotations = map[string]string{"kubernetes.io/config.mirror": "abc"}
	e.createPods(
		podOn("default", "web-1", "n1", "ReplicaSet", "web"),
		podOn("default", "bare", "n1", "", ""),
		scratch,
		mirror,
		podOn("kube-system", "proxy-1", "n1", "DaemonSet", "proxy"),
		podOn("default", "web-2", "n2", "ReplicaSet", "web"),
	)
	all := e.podNames()

	// Without the override flags nothing is deleted, and every offending
	// pod is named, grouped by reason.
	out, errOut, code := e.run("drain", "n1")
	wantErr := `error: unable to drain node "n1" due to error: [cannot delete Pods declare no controller (use --force to override): default/bare, ` +
		`cannot delete Pods with local storage (use --delete-emptydir-data to override): default/scratch, ` +
		`cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/proxy-1], continuing command...
There are pending nodes to be drained:
 n1
cannot delete Pods declare no controller (use --force to override): default/bare
cannot delete Pods with local storage (use --delete-emptydir-data to override): default/scratch
cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/proxy-1
`
	if code != 1 || out != "node/n1 cordoned\n" || errOut != wantErr {
		t.Fatalf("drain without flags: code %d\nstdout:\n%s\nstderr:\n%s\nwant stderr:\n%s", code, out, errOut, wantErr)
	}
	if got := e.podNames(); !slices.Equal(got, all) {
		t.Fatalf("drain that failed deleted pods: %v, want %v", got, all)
	}

	flags := []string{"--force", "--ignore-daemonsets", "--delete-emptydir-data"}
	out = e.must(append([]string{"drain", "n1", "--dry-run"}, flags...)...)
	wantOut := "node/n1 already cordoned (dry run)\ndeleting pod default/bare (dry run)\ndeleting pod default/scratch (dry run)\ndeleting pod default/web-1 (dry run)\nnode/n1 drained (dry run)\n"
	if out != wantOut {
		t.Errorf("dry run: got\n%s\nwant\n%s", out, wantOut)
	}
	if got := e.podNames(); !slices.Equal(got, all) {
		t.Fatalf("dry run deleted pods: %v", got)
	}

	// With them, the pods go once their kubelet confirms; DaemonSet and
	// mirror pods and other nodes' pods stay.
	e.kubelet()
	out, errOut, code = e.run(append([]string{"drain", "n1"}, flags...)...)
	if code != 0 {
		t.Fatalf("drain: code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if want := "Warning: deleting Pods that declare no controller: default/bare; ignoring DaemonSet-managed Pods: kube-system/proxy-1\n"; errOut != want {
		t.Errorf("drain stderr: got %q want %q", errOut, want)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	wantFirst := []string{"node/n1 already cordoned", "deleting pod default/bare", "deleting pod default/scratch", "deleting pod default/web-1"}
	wantDeleted := []string{"pod/bare deleted", "pod/scratch deleted", "pod/web-1 deleted"}
	if len(lines) != 8 || !slices.Equal(lines[:4], wantFirst) || lines[7] != "node/n1 drained" {
		t.Fatalf("drain stdout:\n%s", out)
	}
	deleted := slices.Clone(lines[4:7])
	slices.Sort(deleted)
	if !slices.Equal(deleted, wantDeleted) {
		t.Errorf("deleted lines %v, want %v in any order", lines[4:7], wantDeleted)
	}
	if got, want := e.podNames(), []string{"default/mirror", "default/web-2", "kube-system/proxy-1"}; !slices.Equal(got, want) {
		t.Errorf("pods after drain: %v, want %v", got, want)
	}
	if out := e.must("get", "node", "n1"); !strings.Contains(out, "Ready,SchedulingDisabled") {
		t.Errorf("node after drain:\n%s", out)
	}
	// Draining again finds nothing to do.
	if out := e.must(append([]string{"drain", "n1"}, flags...)...); out != "node/n1 already cordoned\nnode/n1 drained\n" {
		t.Errorf("second drain: %q", out)
	}
	if out := e.must("uncordon", "n1"); out != "node/n1 uncordoned\n" {
		t.Errorf("uncordon: %q", out)
	}
}

func TestDrainWaitsForKubelet(t *testing.T) {
	e := newEnv(t)
	e.createNode("n1")
	e.createPods(podOn("default", "a", "n1", "ReplicaSet", "web"))
	cs := e.client()

	// No kubelet confirms: the pod stays Terminating and --timeout ends
	// the drain with kubectl's error.
	out, errOut, code := e.run("drain", "n1", "--timeout=1s")
	timeoutErr := `error when waiting for pod "a" in namespace "default" to terminate: global timeout reached: 1s`
	wantErr := `There are pending pods in node "n1" when an error occurred: ` + timeoutErr + `
pod/a
error: unable to drain node "n1" due to error: ` + timeoutErr + `, continuing command...
There are pending nodes to be drained:
 n1
` + timeoutErr + "\n"
	if code != 1 || out != "node/n1 cordoned\ndeleting pod default/a\n" || errOut != wantErr {
		t.Fatalf("drain --timeout: code %d\nstdout:\n%s\nstderr:\n%s\nwant stderr:\n%s", code, out, errOut, wantErr)
	}
	p, err := cs.CoreV1().Pods("default").Get(e.ctx(), "a")
	if err != nil || p.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("pod after timed-out drain: %v, deletionTimestamp %v", err, p.GetMetadata().GetDeletionTimestamp())
	}
	if out := e.must("get", "pod", "a"); !strings.Contains(out, "Terminating") {
		t.Errorf("get pod a:\n%s", out)
	}

	// Without --timeout drain waits as long as it takes: it cannot end
	// while the pod exists, and ends once the kubelet confirms.
	r := e.start("drain", "n1")
	r.waitFor("deleting pod default/a\n")
	if r.exited() {
		out, errOut := r.output()
		t.Fatalf("drain ended while its pod was still terminating:\n%s\n%s", out, errOut)
	}
	if err := cs.CoreV1().Pods("default").Delete(e.ctx(), "a", client.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != 0 {
		out, errOut := r.output()
		t.Fatalf("drain exit %d\n%s\n%s", code, out, errOut)
	}
	if out, _ := r.output(); out != "node/n1 already cordoned\ndeleting pod default/a\npod/a deleted\nnode/n1 drained\n" {
		t.Errorf("drain stdout:\n%s", out)
	}

	// --grace-period=0 needs no kubelet, and --pod-selector limits the pods.
	keep := podOn("default", "keep", "n1", "ReplicaSet", "web")
	keep.Metadata.Labels = map[string]string{"app": "keep"}
	gone := podOn("default", "gone", "n1", "ReplicaSet", "web")
	gone.Metadata.Labels = map[string]string{"app": "gone"}
	e.createPods(keep, gone)
	out = e.must("drain", "n1", "--grace-period=0", "--pod-selector", "app=gone")
	if out != "node/n1 already cordoned\ndeleting pod default/gone\npod/gone deleted\nnode/n1 drained\n" {
		t.Errorf("drain --grace-period=0:\n%s", out)
	}
	if got := e.podNames(); !slices.Equal(got, []string{"default/keep"}) {
		t.Errorf("pods left: %v", got)
	}
}

func TestDrainErrors(t *testing.T) {
	e := newEnv(t)
	e.createNode("n1")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"drain"}, "error: USAGE: drain NODE [flags]: name the node to drain\n"},
		{[]string{"drain", "nope"}, "Error from server (NotFound): nodes \"nope\" not found\n"},
		{[]string{"drain", "n1", "-l", "a=b"}, "error: cannot specify both a node name and a --selector option\n"},
		{[]string{"drain", "-l", "a=b"}, "error: no nodes found\n"},
		{[]string{"drain", "n1", "--dry-run=maybe"}, "error: Invalid dry-run value (maybe). Must be \"none\" or \"client\".\n"},
		{[]string{"drain", "n1", "--pod-selector", "a in (b"}, "error: --pod-selector=<pod_selector> must be a valid label selector\n"},
		{[]string{"cordon"}, "error: USAGE: cordon NODE [flags]: name the node to cordon\n"},
		{[]string{"uncordon", "nope"}, "Error from server (NotFound): nodes \"nope\" not found\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if code != 1 || out != "" || errOut != tt.want {
				t.Errorf("code %d stdout %q stderr %q, want stderr %q", code, out, errOut, tt.want)
			}
		})
	}
	// None of them cordoned the node.
	if out := e.must("get", "node", "n1"); strings.Contains(out, "SchedulingDisabled") {
		t.Errorf("failed drains cordoned n1:\n%s", out)
	}
}
