package integration

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/controller-manager/internal/controller/daemonset"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

func startDaemonSets(e *env) {
	e.start("daemonset", func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable {
		return daemonset.New(lg, cs, f, daemonset.Config{Common: controller.Common{Workers: 2, Recorder: rec}})
	})
}

// daemonNodes are the nodes with an active pod of the DaemonSet app "agent",
// and how many of them run the given image and are ready.
func (e *env) daemonNodes(image string) (nodes []string, updatedReady int) {
	for _, p := range e.activePods("app=agent") {
		nodes = append(nodes, p.GetSpec().GetNodeName())
		if p.GetSpec().GetContainers()[0].GetImage() == image && controller.IsPodReady(p) {
			updatedReady++
		}
	}
	slices.Sort(nodes)
	return nodes, updatedReady
}

// TestDaemonSet: one pod per eligible node (nodeSelector, taints), following
// node additions, label changes and deletions, kept on a node that is not
// ready, with Kubernetes' status; a template change rolls one node at a time.
func TestDaemonSet(t *testing.T) {
	e := newEnv(t)
	startDaemonSets(e)
	startGC(e)
	worker := map[string]string{"role": "worker"}
	nodes := e.startNodes(map[string]map[string]string{"node-a": worker, "node-b": worker, "node-t": worker}, "node-a", "node-b", "node-c", "node-t")
	tainted, err := e.cs.CoreV1().Nodes().Get(e.ctx, "node-t")
	if err != nil {
		t.Fatal(err)
	}
	tainted.Spec = &corev1.NodeSpec{Taints: []*corev1.Taint{{Key: "dedicated", Value: "db", Effect: "NoSchedule"}}}
	if _, err := e.cs.CoreV1().Nodes().Update(e.ctx, tainted); err != nil {
		t.Fatal(err)
	}
	tmpl := template("agent", "agent:v1")
	tmpl.Spec.NodeSelector = worker
	ds, err := e.cs.AppsV1().DaemonSets(e.ns).Create(e.ctx, &appsv1.DaemonSet{
		Metadata: &metav1.ObjectMeta{Name: "agent", Namespace: e.ns},
		Spec:     &appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}, Template: tmpl},
	})
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string, want []string, status func(*appsv1.DaemonSetStatus) bool) {
		t.Helper()
		e.eventually(what, func() (bool, string) {
			got, _ := e.daemonNodes("agent:v1")
			d, err := e.cs.AppsV1().DaemonSets(e.ns).Get(e.ctx, "agent")
			if err != nil {
				return false, err.Error()
			}
			return slices.Equal(got, want) && (status == nil || status(d.GetStatus())), fmt.Sprintf("pods on %v, status %v", got, d.GetStatus())
		})
	}
	expect("pods on the untainted workers, all ready", []string{"node-a", "node-b"}, func(s *appsv1.DaemonSetStatus) bool {
		return s.GetDesiredNumberScheduled() == 2 && s.GetCurrentNumberScheduled() == 2 && s.GetNumberReady() == 2 &&
			s.GetNumberAvailable() == 2 && s.GetUpdatedNumberScheduled() == 2 && s.GetNumberMisscheduled() == 0 &&
			s.GetNumberUnavailable() == 0 && s.GetObservedGeneration() == ds.GetMetadata().GetGeneration()
	})
	for _, p := range e.activePods("app=agent") {
		if !controller.IsControlledBy(p.GetMetadata(), ds.GetMetadata().GetUid()) || p.GetMetadata().GetLabels()[daemonset.RevisionHashLabel] == "" {
			t.Errorf("pod %s: ownerReferences %v, labels %v", p.GetMetadata().GetName(), p.GetMetadata().GetOwnerReferences(), p.GetMetadata().GetLabels())
		}
		if n := len(p.GetSpec().GetTolerations()); n != len(daemonset.DefaultTolerations()) {
			t.Errorf("pod %s has %d tolerations, want Kubernetes' %d daemon tolerations", p.GetMetadata().GetName(), n, len(daemonset.DefaultTolerations()))
		}
	}
	if evs := e.events("DaemonSet", "agent"); countPrefix(evs, "SuccessfulCreate Created pod: agent-") != 2 {
		t.Errorf("events %q: want 2 SuccessfulCreate", evs)
	}

	nodes.addNode("node-d", worker)
	expect("a pod on the new worker", []string{"node-a", "node-b", "node-d"}, nil)

	a, err := e.cs.CoreV1().Nodes().Get(e.ctx, "node-a")
	if err != nil {
		t.Fatal(err)
	}
	a.Metadata.Labels = map[string]string{"role": "db"}
	if _, err := e.cs.CoreV1().Nodes().Update(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	expect("no pod on the relabelled node", []string{"node-b", "node-d"}, nil)
	if evs := e.events("DaemonSet", "agent"); countPrefix(evs, "SuccessfulDelete Deleted pod: agent-") != 1 {
		t.Errorf("events %q: want 1 SuccessfulDelete", evs)
	}

	nodes.setAlive("node-b", false)
	if err := e.cs.CoreV1().Nodes().Delete(e.ctx, "node-b", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A node that is not ready keeps its daemon (the daemon tolerations
	// tolerate its NoExecute taint), though it is no longer a node where
	// one should be scheduled (the NoSchedule taint): misscheduled.
	d, err := e.cs.CoreV1().Nodes().Get(e.ctx, "node-d")
	if err != nil {
		t.Fatal(err)
	}
	d.Spec = &corev1.NodeSpec{Taints: []*corev1.Taint{{Key: controller.TaintNodeUnreachable, Effect: "NoExecute"}, {Key: controller.TaintNodeUnreachable, Effect: "NoSchedule"}}}
	if _, err := e.cs.CoreV1().Nodes().Update(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	nodes.addNode("node-e", worker)
	expect("pods on node-d and node-e only", []string{"node-d", "node-e"}, func(s *appsv1.DaemonSetStatus) bool {
		return s.GetDesiredNumberScheduled() == 1 && s.GetNumberMisscheduled() == 1 && s.GetNumberReady() == 1
	})
	d, err = e.cs.CoreV1().Nodes().Get(e.ctx, "node-d")
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Taints = nil
	if _, err := e.cs.CoreV1().Nodes().Update(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	expect("node-d eligible again", []string{"node-d", "node-e"}, func(s *appsv1.DaemonSetStatus) bool {
		return s.GetDesiredNumberScheduled() == 2 && s.GetNumberMisscheduled() == 0 && s.GetNumberReady() == 2
	})

	// Roll to v2: never more than one node without an available daemon.
	cur, err := e.cs.AppsV1().DaemonSets(e.ns).Get(e.ctx, "agent")
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Template.Spec.Containers[0].Image = "agent:v2"
	if _, err := e.cs.AppsV1().DaemonSets(e.ns).Update(e.ctx, cur); err != nil {
		t.Fatal(err)
	}
	var violations []string
	e.eventually("every node on v2", func() (bool, string) {
		ready := 0
		for _, p := range e.activePods("app=agent") {
			if controller.IsPodReady(p) {
				ready++
			}
		}
		if ready < 1 {
			violations = append(violations, fmt.Sprintf("%d ready daemons", ready))
		}
		got, updated := e.daemonNodes("agent:v2")
		return slices.Equal(got, []string{"node-d", "node-e"}) && updated == 2, fmt.Sprintf("pods on %v, %d on v2 and ready", got, updated)
	})
	if len(violations) > 0 {
		t.Errorf("the rolling update took more than maxUnavailable=1 daemons down: %s", strings.Join(violations, "; "))
	}
	e.eventually("status after the update", func() (bool, string) {
		d, err := e.cs.AppsV1().DaemonSets(e.ns).Get(e.ctx, "agent")
		s := d.GetStatus()
		return err == nil && s.GetUpdatedNumberScheduled() == 2 && s.GetNumberAvailable() == 2 &&
			s.GetObservedGeneration() == d.GetMetadata().GetGeneration(), fmt.Sprint(s, err)
	})

	// Deleted with the Orphan policy, the DaemonSet leaves its pods; a new
	// one with the same selector adopts them instead of creating others.
	before := e.activePods("app=agent")
	created := countPrefix(e.events("DaemonSet", "agent"), "SuccessfulCreate")
	if err := e.cs.AppsV1().DaemonSets(e.ns).Delete(e.ctx, "agent", client.DeleteOptions{PropagationPolicy: "Orphan"}); err != nil {
		t.Fatal(err)
	}
	e.eventually("daemonset gone, its pods orphaned", func() (bool, string) {
		_, err := e.cs.AppsV1().DaemonSets(e.ns).Get(e.ctx, "agent")
		owned := 0
		for _, p := range e.activePods("app=agent") {
			if controller.ControllerOf(p.GetMetadata()) != nil {
				owned++
			}
		}
		return client.IsNotFound(err) && owned == 0, fmt.Sprintf("%v, %d pods still owned", err, owned)
	})
	cur.Metadata = &metav1.ObjectMeta{Name: "agent", Namespace: e.ns}
	cur.Status = nil
	again, err := e.cs.AppsV1().DaemonSets(e.ns).Create(e.ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	e.eventually("the orphans adopted", func() (bool, string) {
		pods := e.activePods("app=agent")
		adopted := 0
		for _, p := range pods {
			if controller.IsControlledBy(p.GetMetadata(), again.GetMetadata().GetUid()) {
				adopted++
			}
		}
		return adopted == 2 && len(pods) == 2, fmt.Sprintf("%d pods, %d adopted", len(pods), adopted)
	})
	after := e.activePods("app=agent")
	if before[0].GetMetadata().GetName() != after[0].GetMetadata().GetName() || before[1].GetMetadata().GetName() != after[1].GetMetadata().GetName() {
		t.Errorf("pods replaced rather than adopted: %s, %s then %s, %s", before[0].GetMetadata().GetName(), before[1].GetMetadata().GetName(),
			after[0].GetMetadata().GetName(), after[1].GetMetadata().GetName())
	}
	if n := countPrefix(e.events("DaemonSet", "agent"), "SuccessfulCreate"); n != created {
		t.Errorf("%d pods created after the adoption, want none", n-created)
	}
}
