package integration

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/controller-manager/internal/controller/nodelifecycle"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

func startNodeLifecycle(e *env, grace, eviction time.Duration, keepPods bool) {
	e.start("nodelifecycle", func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable {
		c := nodelifecycle.New(lg, cs, f, nodelifecycle.Config{MonitorPeriod: 200 * time.Millisecond,
			GracePeriod: grace, StartupGracePeriod: grace, PodEvictionTimeout: eviction, KeepPods: keepPods, Common: controller.Common{Recorder: rec}})
		return c
	})
}

// TestNodeLossEvictsAndNodeReturns: a node whose kubelet stops renewing its
// Lease becomes Ready=Unknown and gets the unreachable taints; its pods go
// not ready, are evicted after the eviction timeout unless they tolerate the
// taint, and the ReplicaSet replaces them on the remaining node; when the
// kubelet comes back the taints are removed.
func TestNodeLossEvictsAndNodeReturns(t *testing.T) {
	e := newEnv(t)
	// The grace period is generous for a loaded machine: a live node's Lease
	// is renewed every 300ms.
	startNodeLifecycle(e, 8*time.Second, 3*time.Second, false)
	startReplicaSets(e)
	nodes := e.startNodes(nil, "node-a", "node-b")

	if _, err := e.cs.AppsV1().ReplicaSets(e.ns).Create(e.ctx, newReplicaSet("web", "web", 4)); err != nil {
		t.Fatal(err)
	}
	// A pod that tolerates the unreachable taint for ever stays.
	tolerant := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "tolerant", Namespace: e.ns},
		Spec: &corev1.PodSpec{NodeName: "node-a", Containers: []*corev1.Container{{Name: "c", Image: "busybox"}},
			Tolerations: []*corev1.Toleration{{Key: controller.TaintNodeUnreachable, Operator: "Exists", Effect: "NoExecute"}}}}
	if _, err := e.cs.CoreV1().Pods(e.ns).Create(e.ctx, tolerant); err != nil {
		t.Fatal(err)
	}
	onNode := func(node string) []string {
		var out []string
		for _, p := range e.activePods("app=web") {
			if p.GetSpec().GetNodeName() == node && controller.IsPodReady(p) {
				out = append(out, p.GetMetadata().GetName())
			}
		}
		return out
	}
	var lost []string
	e.eventually("4 ready pods spread over both nodes", func() (bool, string) {
		a, b := onNode("node-a"), onNode("node-b")
		lost = a
		return len(a)+len(b) == 4 && len(a) > 0 && len(b) > 0, fmt.Sprintf("node-a %v, node-b %v", a, b)
	})
	if !slices.ContainsFunc(e.events("Node", "node-a"), func(m string) bool {
		return m == "RegisteredNode Node node-a event: Registered Node node-a in Controller"
	}) {
		t.Errorf("node-a events %q lack RegisteredNode", e.events("Node", "node-a"))
	}

	nodes.setAlive("node-a", false)
	e.eventually("node-a Ready=Unknown with the unreachable taints", func() (bool, string) {
		n, err := e.cs.CoreV1().Nodes().Get(e.ctx, "node-a")
		if err != nil {
			return false, err.Error()
		}
		r := controller.NodeCondition(n, "Ready")
		var taints []string
		for _, t := range n.GetSpec().GetTaints() {
			taints = append(taints, t.GetKey()+":"+t.GetEffect())
		}
		slices.Sort(taints)
		want := []string{controller.TaintNodeUnreachable + ":NoExecute", controller.TaintNodeUnreachable + ":NoSchedule"}
		return r.GetStatus() == "Unknown" && r.GetReason() == "NodeStatusUnknown" && r.GetMessage() == "Kubelet stopped posting node status." &&
			slices.Equal(taints, want), fmt.Sprintf("Ready %s/%s, taints %v", r.GetStatus(), r.GetReason(), taints)
	})
	e.eventually("node-a's pods replaced on node-b", func() (bool, string) {
		b := onNode("node-b")
		return len(b) == 4, fmt.Sprintf("ready on node-b: %v", b)
	})
	for _, name := range lost {
		p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, name)
		if err == nil && p.GetMetadata().GetDeletionTimestamp() == nil {
			t.Errorf("pod %s on the lost node was not evicted", name)
		}
		evs := strings.Join(e.events("Pod", name), "\n")
		for _, want := range []string{"NodeNotReady Node is not ready", "TaintManagerEviction Marking for deletion Pod default/" + name} {
			if !strings.Contains(evs, want) {
				t.Errorf("pod %s events lack %q:\n%s", name, want, evs)
			}
		}
	}
	p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "tolerant")
	if err != nil || p.GetMetadata().GetDeletionTimestamp() != nil {
		t.Errorf("pod tolerating the unreachable taint was evicted: %v %v", p.GetMetadata(), err)
	}
	if !slices.Contains(e.events("Node", "node-a"), "NodeNotReady Node node-a status is now: NodeNotReady") {
		t.Errorf("node-a events %q lack NodeNotReady", e.events("Node", "node-a"))
	}

	nodes.setAlive("node-a", true)
	nodes.postReady("node-a", true)
	e.eventually("node-a ready and untainted again", func() (bool, string) {
		n, err := e.cs.CoreV1().Nodes().Get(e.ctx, "node-a")
		if err != nil {
			return false, err.Error()
		}
		return controller.NodeCondition(n, "Ready").GetStatus() == "True" && len(n.GetSpec().GetTaints()) == 0,
			fmt.Sprintf("Ready %s, taints %v", controller.NodeCondition(n, "Ready").GetStatus(), n.GetSpec().GetTaints())
	})

	if err := e.cs.CoreV1().Nodes().Delete(e.ctx, "node-b", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("RemovingNode event", func() (bool, string) {
		evs := e.events("Node", "node-b")
		return slices.Contains(evs, "RemovingNode Node node-b event: Removing Node node-b from Controller"), strings.Join(evs, "; ")
	})
}

// TestNodeNotReadyTaint: a node that posts Ready=False gets the not-ready
// taints (and not the unreachable ones) and its pods go not ready; with
// eviction off (--enable-taint-manager=false) they stay.
func TestNodeNotReadyTaint(t *testing.T) {
	e := newEnv(t)
	startNodeLifecycle(e, 8*time.Second, time.Second, true)
	nodes := e.startNodes(nil, "sick")
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "resident", Namespace: e.ns},
		Spec: &corev1.PodSpec{NodeName: "sick", Containers: []*corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := e.cs.CoreV1().Pods(e.ns).Create(e.ctx, pod); err != nil {
		t.Fatal(err)
	}
	e.eventually("the pod running and ready", func() (bool, string) {
		p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "resident")
		return err == nil && controller.IsPodReady(p), fmt.Sprint(p.GetStatus(), err)
	})
	nodes.setStatusFrozen("sick") // its Lease is renewed; the test posts its status
	n, err := e.cs.CoreV1().Nodes().Get(e.ctx, "sick")
	if err != nil {
		t.Fatal(err)
	}
	ready := controller.NodeCondition(n, "Ready")
	ready.Status, ready.Reason = "False", "KubeletNotReady"
	if _, err := e.cs.CoreV1().Nodes().UpdateStatus(e.ctx, n); err != nil {
		t.Fatal(err)
	}
	e.eventually("not-ready taints, the pod not ready", func() (bool, string) {
		n, err := e.cs.CoreV1().Nodes().Get(e.ctx, "sick")
		if err != nil {
			return false, err.Error()
		}
		var taints []string
		for _, t := range n.GetSpec().GetTaints() {
			taints = append(taints, t.GetKey()+":"+t.GetEffect())
		}
		slices.Sort(taints)
		p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "resident")
		return slices.Equal(taints, []string{controller.TaintNodeNotReady + ":NoExecute", controller.TaintNodeNotReady + ":NoSchedule"}) &&
			err == nil && !controller.IsPodReady(p), fmt.Sprint(taints, p.GetStatus().GetConditions(), err)
	})
	time.Sleep(2 * time.Second) // past the eviction timeout
	if p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "resident"); err != nil || p.GetMetadata().GetDeletionTimestamp() != nil {
		t.Errorf("pod evicted with eviction off: %v %v", p.GetMetadata(), err)
	}
}
