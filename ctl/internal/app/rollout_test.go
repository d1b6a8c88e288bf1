package app

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// deploymentController plays the Deployment controller's part for one
// Deployment, through the real API.
type deploymentController struct {
	e    *env
	name string
}

func (dc deploymentController) get() *appsv1.Deployment {
	dc.e.t.Helper()
	d, err := dc.e.client().AppsV1().Deployments("default").Get(dc.e.ctx(), dc.name)
	if err != nil {
		dc.e.t.Fatal(err)
	}
	return d
}

// newRevision records the Deployment's current template as revision rev:
// a ReplicaSet it controls, named NAME-hash, with the revision and the
// Deployment's change-cause annotations, as the controller makes it.
func (dc deploymentController) newRevision(rev, hash string, replicas int32) {
	dc.e.t.Helper()
	d := dc.get()
	tmpl := proto.Clone(d.GetSpec().GetTemplate()).(*corev1.PodTemplateSpec)
	tmpl.Metadata.Labels[podTemplateHashLabel] = hash
	sel := proto.Clone(d.GetSpec().GetSelector()).(*metav1.LabelSelector)
	sel.MatchLabels[podTemplateHashLabel] = hash
	ann := map[string]string{revisionAnnotation: rev}
	if cause := d.GetMetadata().GetAnnotations()[changeCauseAnnotation]; cause != "" {
		ann[changeCauseAnnotation] = cause
	}
	rs := &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: dc.name + "-" + hash, Namespace: "default", Labels: tmpl.Metadata.Labels, Annotations: ann,
			OwnerReferences: []*metav1.OwnerReference{{ApiVersion: "apps/v1", Kind: "Deployment", Name: dc.name,
				Uid: d.GetMetadata().GetUid(), Controller: new(true), BlockOwnerDeletion: new(true)}}},
		Spec: &appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: sel, Template: tmpl},
	}
	if _, err := dc.e.client().AppsV1().ReplicaSets("default").Create(dc.e.ctx(), rs); err != nil {
		dc.e.t.Fatal(err)
	}
	dc.e.must("annotate", "deploy/"+dc.name, revisionAnnotation+"="+rev, "--overwrite")
}

// status writes the Deployment's status as the controller observed it.
func (dc deploymentController) status(s *appsv1.DeploymentStatus) {
	dc.e.t.Helper()
	d := dc.get()
	s.ObservedGeneration = d.GetMetadata().GetGeneration()
	d.Status = s
	if _, err := dc.e.client().AppsV1().Deployments("default").UpdateStatus(dc.e.ctx(), d); err != nil {
		dc.e.t.Fatal(err)
	}
}

func TestRolloutHistoryAndUndo(t *testing.T) {
	e := newEnv(t)
	e.must("apply", "-f", e.file("web.yaml", webDeployment))
	dc := deploymentController{e, "web"}
	dc.newRevision("1", "5d8f7b", 2)
	if out := e.must("rollout", "history", "deployment/web"); out != "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n\n" {
		t.Errorf("history of one revision: %q", out)
	}
	e.must("set", "image", "deployment/web", "web=nginx:1.28")
	e.must("annotate", "deploy/web", "kubernetes.io/change-cause=skiffctl set image deployment/web web=nginx:1.28")
	dc.newRevision("2", "7c9d4e", 2)

	if out, want := e.must("rollout", "history", "deploy", "web"), `deployment.apps/web 
REVISION  CHANGE-CAUSE
1         <none>
2         skiffctl set image deployment/web web=nginx:1.28

`; out != want {
		t.Errorf("history:\n%q\nwant\n%q", out, want)
	}
	want := `deployment.apps/web with revision #1
Pod Template:
  Labels:  app=web
           pod-template-hash=5d8f7b
  Containers:
   web:
    Image:         nginx:1.27
    Port:          80/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>

`
	if out := e.must("rollout", "history", "deployment/web", "--revision=1"); out != want {
		t.Errorf("history --revision=1:\n%s\nwant\n%s", out, want)
	}
	if out := e.must("rollout", "history", "deployment/web", "--revision=2"); !strings.Contains(out, "  Annotations:  kubernetes.io/change-cause: skiffctl set image") || !strings.Contains(out, "Image:         nginx:1.28") {
		t.Errorf("history --revision=2:\n%s", out)
	}
	if y := e.must("rollout", "history", "deployment/web", "-o", "yaml", "--revision=2"); !strings.Contains(y, "kind: ReplicaSet") || !strings.Contains(y, "name: web-7c9d4e") {
		t.Errorf("history -o yaml:\n%s", y)
	}

	// describe shows the template and which ReplicaSet runs it.
	d := e.must("describe", "deployment", "web")
	for _, line := range []string{"Selector:               app=web\n", "Replicas:               2 desired | 0 updated | 0 total | 0 available | 0 unavailable\n",
		"StrategyType:           RollingUpdate\n", "RollingUpdateStrategy:  25% max unavailable, 25% max surge\n",
		"    Image:         nginx:1.28\n", "OldReplicaSets:    web-5d8f7b (0/2 replicas created)\n",
		"NewReplicaSet:     web-7c9d4e (0/2 replicas created)\n", "Events:            <none>\n"} {
		if !strings.Contains(d, line) {
			t.Errorf("describe deployment lacks %q:\n%s", line, d)
		}
	}

	if out := e.must("rollout", "undo", "deployment/web", "--dry-run"); !strings.HasPrefix(out, "deployment.apps/web Pod Template:\n") || !strings.Contains(out, "nginx:1.27") || !strings.HasSuffix(out, " (dry run)\n") {
		t.Errorf("undo --dry-run:\n%s", out)
	}
	if img := dc.get().GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage(); img != "nginx:1.28" {
		t.Fatalf("dry run changed the image to %s", img)
	}
	// undo goes back to the previous revision's template, without the
	// ReplicaSet's hash label, and with that revision's annotations.
	if out := e.must("rollout", "undo", "deployment/web"); out != "deployment.apps/web rolled back\n" {
		t.Errorf("undo: %q", out)
	}
	dep := dc.get()
	if img := dep.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage(); img != "nginx:1.27" {
		t.Errorf("image after undo: %s", img)
	}
	if l := dep.GetSpec().GetTemplate().GetMetadata().GetLabels(); len(l) != 1 || l["app"] != "web" {
		t.Errorf("template labels after undo: %v", l)
	}
	if a := dep.GetMetadata().GetAnnotations(); a[changeCauseAnnotation] != "" || a[revisionAnnotation] != "2" {
		t.Errorf("annotations after undo: %v", a)
	}
	if out := e.must("rollout", "undo", "deployment/web", "--to-revision=1"); out != "deployment.apps/web skipped rollback (current template already matches revision 1)\n" {
		t.Errorf("undo to the current template: %q", out)
	}
	if out := e.must("rollout", "undo", "deployment/web", "--to-revision=2"); out != "deployment.apps/web rolled back\n" {
		t.Errorf("undo --to-revision=2: %q", out)
	}
	if img := dc.get().GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage(); img != "nginx:1.28" {
		t.Errorf("image after undo to 2: %s", img)
	}

	// pause and resume, and what a paused deployment refuses.
	if out := e.must("rollout", "pause", "deployment/web"); out != "deployment.apps/web paused\n" {
		t.Errorf("pause: %q", out)
	}
	if !dc.get().GetSpec().GetPaused() {
		t.Error("spec.paused not set")
	}
	if out := e.must("rollout", "resume", "deployment/web"); out != "deployment.apps/web resumed\n" {
		t.Errorf("resume: %q", out)
	}
	if dc.get().GetSpec().GetPaused() {
		t.Error("spec.paused still set")
	}
}

func TestRolloutErrors(t *testing.T) {
	e := newEnv(t)
	e.must("apply", "-f", e.file("web.yaml", webDeployment))
	dc := deploymentController{e, "web"}
	e.must("create", "deployment", "solo", "--image=busybox")
	deploymentController{e, "solo"}.newRevision("1", "aaaaa", 1)
	dc.newRevision("1", "5d8f7b", 2)
	e.must("set", "image", "deployment/web", "web=nginx:1.28")
	dc.newRevision("2", "7c9d4e", 2)
	e.must("rollout", "pause", "deploy/web")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"rollout", "undo", "deployment/solo"}, "error: no rollout history found for deployment \"solo\"\n"},
		{[]string{"rollout", "undo", "deployment/solo", "--to-revision=5"}, "error: unable to find specified revision 5 in history\n"},
		{[]string{"rollout", "undo", "deployment/web"}, "error: you cannot rollback a paused deployment; resume it first with 'skiffctl rollout resume deployment/web' and try again\n"},
		{[]string{"rollout", "pause", "deployment/web"}, "error: deployments.apps \"web\" is already paused\n"},
		{[]string{"rollout", "resume", "deployment/solo"}, "error: deployments.apps \"solo\" is not paused\n"},
		{[]string{"rollout", "restart", "deployment/web"}, "error: deployments.apps \"web\" can't restart paused deployment (run rollout resume first)\n"},
		{[]string{"rollout", "history", "deployment/web", "--revision=3"}, "error: unable to find the specified revision\n"},
		{[]string{"rollout", "history", "deployment/nope"}, "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
		{[]string{"rollout", "undo", "deployment/nope"}, "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
		{[]string{"rollout", "status", "deployment/nope"}, "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
		{[]string{"rollout", "history", "daemonset/x"}, "error: no history viewer has been implemented for DaemonSet.apps\n"},
		{[]string{"rollout", "status", "rs/x"}, "error: no status viewer has been implemented for ReplicaSet.apps\n"},
		{[]string{"rollout", "undo", "pod/x"}, "error: no rollbacker has been implemented for Pod\n"},
		{[]string{"rollout", "history", "deployment/web", "--revision=-1"}, "error: revision must be a positive integer: -1\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if code != 1 || out != "" || errOut != tt.want {
				t.Errorf("code %d stdout %q stderr %q, want stderr %q", code, out, errOut, tt.want)
			}
		})
	}
}

func TestRolloutStatus(t *testing.T) {
	e := newEnv(t)
	e.must("apply", "-f", e.file("web.yaml", strings.Replace(webDeployment, "replicas: 2", "replicas: 3", 1)))
	dc := deploymentController{e, "web"}
	dc.newRevision("1", "5d8f7b", 3)

	// No controller has observed the spec yet.
	if out := e.must("rollout", "status", "deployment/web", "--watch=false"); out != "Waiting for deployment spec update to be observed...\n" {
		t.Errorf("status --watch=false: %q", out)
	}
	out, errOut, code := e.run("rollout", "status", "deployment/web", "--timeout=1s")
	if code != 1 || out != "Waiting for deployment spec update to be observed...\n" || errOut != "error: timed out waiting for the condition\n" {
		t.Errorf("status --timeout: code %d stdout %q stderr %q", code, out, errOut)
	}

	// rollout status follows the controller's progress until it is done.
	r := e.start("rollout", "status", "deploy/web")
	r.waitFor("observed...\n")
	steps := []struct {
		status *appsv1.DeploymentStatus
		line   string
	}{
		{&appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1}, `Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...`},
		{&appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3}, `Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...`},
		{&appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 1, AvailableReplicas: 1}, `Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...`},
		{&appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}, `deployment "web" successfully rolled out`},
	}
	want := "Waiting for deployment spec update to be observed...\n"
	for _, s := range steps {
		dc.status(s.status)
		r.waitFor(s.line + "\n")
		want += s.line + "\n"
	}
	if code := r.wait(); code != 0 {
		t.Errorf("rollout status exit %d", code)
	}
	if out, errOut := r.output(); out != want || errOut != "" {
		t.Errorf("rollout status printed\n%s\nwant\n%s\nstderr %q", out, want, errOut)
	}
	if out := e.must("rollout", "status", "deployment/web", "--revision=1"); out != "deployment \"web\" successfully rolled out\n" {
		t.Errorf("status --revision=1: %q", out)
	}
	if _, errOut, code := e.run("rollout", "status", "deployment/web", "--revision=2"); code != 1 || errOut != "error: desired revision (2) is different from the running revision (1)\n" {
		t.Errorf("status --revision=2: %d %q", code, errOut)
	}
	dc.status(&appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1, Conditions: []*appsv1.DeploymentCondition{
		{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded"}}})
	if _, errOut, code := e.run("rollout", "status", "deployment/web"); code != 1 || errOut != "error: deployment \"web\" exceeded its progress deadline\n" {
		t.Errorf("status past the deadline: %d %q", code, errOut)
	}

	// A DaemonSet's rollout.
	ds := &appsv1.DaemonSet{Metadata: &metav1.ObjectMeta{Name: "proxy", Namespace: "default"},
		Spec: &appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "proxy"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "proxy"}},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	dsc := e.client().AppsV1().DaemonSets("default")
	created, err := dsc.Create(e.ctx(), ds)
	if err != nil {
		t.Fatal(err)
	}
	created.Status = &appsv1.DaemonSetStatus{ObservedGeneration: created.GetMetadata().GetGeneration(), DesiredNumberScheduled: 2, UpdatedNumberScheduled: 2, NumberAvailable: 1}
	if _, err := dsc.UpdateStatus(e.ctx(), created); err != nil {
		t.Fatal(err)
	}
	if out := e.must("rollout", "status", "ds/proxy", "--watch=false"); out != "Waiting for daemon set \"proxy\" rollout to finish: 1 of 2 updated pods are available...\n" {
		t.Errorf("daemonset status: %q", out)
	}
	if out := e.must("rollout", "restart", "daemonset/proxy"); out != "daemonset.apps/proxy restarted\n" {
		t.Errorf("daemonset restart: %q", out)
	}
}
