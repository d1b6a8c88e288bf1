package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/scheduler/internal/scheduler"
)

// cluster is a real apiserver and a client of it.
type cluster struct {
	t   *testing.T
	srv *apiservertest.Server
	cs  *client.Clientset
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs a real apiserver")
	}
	srv := apiservertest.Start(t, apiservertest.Options{})
	return &cluster{t: t, srv: srv, cs: newClient(t, srv)}
}

func newClient(t *testing.T, srv *apiservertest.Server) *client.Clientset {
	t.Helper()
	t.Setenv("HOME", t.TempDir()) // no ~/.skiff/config: --server says everything
	t.Setenv(client.ConfigEnv, "")
	cs, err := client.New(client.Options{Server: []string{srv.URL}, QPS: -1,
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// startScheduler runs a scheduler over c until the test ends (or stop).
// condition is "status reason message" of the pod's condition of type typ.
func (c *cluster) condition(pod, typ string) string {
	c.t.Helper()
	p, err := c.cs.CoreV1().Pods("default").Get(c.ctx(), pod)
	if err != nil {
		c.t.Fatalf("get %s: %v", pod, err)
	}
	for _, cond := range p.GetStatus().GetConditions() {
		if cond.GetType() == typ {
			return cond.GetStatus() + " " + cond.GetReason() + " " + cond.GetMessage()
		}
	}
	return "no " + typ + " condition"
}

func (c *cluster) startScheduler(cs *client.Clientset, binder scheduler.Binder) (stop func()) {
	c.t.Helper()
	if binder == nil {
		binder = scheduler.ClientBinder(cs)
	}
	rec := client.NewRecorder(cs, "default-scheduler", "test")
	s, err := scheduler.New(zaptest.NewLogger(c.t, zaptest.Level(zap.InfoLevel)), scheduler.Config{Binder: binder, Recorder: rec, Conditions: scheduler.ClientConditionWriter(cs)})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := informer.NewSharedInformerFactory(cs, 0)
	s.AddEventHandlers(f)
	f.Start(ctx)
	if !f.WaitForCacheSync(ctx) {
		c.t.Fatal("caches did not sync")
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			f.Shutdown()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			rec.Shutdown(sctx)
		})
	}
	c.t.Cleanup(stop)
	return stop
}

func (c *cluster) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c.t.Cleanup(cancel)
	return ctx
}

// addNode creates a ready node with the given allocatable, as a kubelet
// would: create, then status.
func (c *cluster) addNode(name, cpu, mem string, pods int, mods ...func(*corev1.Node)) {
	c.t.Helper()
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}, Spec: &corev1.NodeSpec{}}
	for _, m := range mods {
		m(n)
	}
	created, err := c.cs.CoreV1().Nodes().Create(c.ctx(), n)
	if err != nil {
		c.t.Fatalf("create node %s: %v", name, err)
	}
	alloc := map[string]string{"cpu": cpu, "memory": mem, "pods": fmt.Sprint(pods)}
	created.Status = &corev1.NodeStatus{
		Capacity: alloc, Allocatable: alloc,
		Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady"}},
	}
	if _, err := c.cs.CoreV1().Nodes().UpdateStatus(c.ctx(), created); err != nil {
		c.t.Fatalf("update status of node %s: %v", name, err)
	}
}

func podObj(name, cpu, mem string, mods ...func(*corev1.Pod)) *corev1.Pod {
	req := map[string]string{}
	if cpu != "" {
		req["cpu"] = cpu
	}
	if mem != "" {
		req["memory"] = mem
	}
	p := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": "test"}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{
			Name: "app", Image: "busybox", Resources: &corev1.ResourceRequirements{Requests: req, Limits: req},
		}}},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func (c *cluster) createPod(p *corev1.Pod) *corev1.Pod {
	c.t.Helper()
	created, err := c.cs.CoreV1().Pods(p.Metadata.Namespace).Create(c.ctx(), p)
	if err != nil {
		c.t.Fatalf("create pod %s: %v", p.Metadata.Name, err)
	}
	return created
}

// eventually polls cond until it holds or a generous deadline passes.
func (c *cluster) eventually(what string, cond func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("timed out waiting for %s; last seen: %s", what, last)
}

// nodeOf returns the pod's node ("" while pending).
func (c *cluster) nodeOf(name string) string {
	p, err := c.cs.CoreV1().Pods("default").Get(c.ctx(), name)
	if err != nil {
		c.t.Fatalf("get pod %s: %v", name, err)
	}
	return p.GetSpec().GetNodeName()
}

// events returns "type reason message" of the events about a pod.
func (c *cluster) events(pod string) []string {
	list, err := c.cs.CoreV1().Events("default").List(c.ctx(), client.ListOptions{})
	if err != nil {
		c.t.Fatalf("list events: %v", err)
	}
	var out []string
	for _, e := range list.GetItems() {
		if e.GetInvolvedObject().GetName() == pod && e.GetInvolvedObject().GetKind() == "Pod" {
			out = append(out, e.GetType()+" "+e.GetReason()+" "+e.GetMessage())
		}
	}
	return out
}

func hasEvent(events []string, want string) bool {
	for _, e := range events {
		if e == want {
			return true
		}
	}
	return false
}

func TestIntegrationPodsLandOnFittingNodes(t *testing.T) {
	c := newCluster(t)
	c.addNode("small", "1", "1Gi", 110)
	c.addNode("big", "4", "8Gi", 110)
	c.addNode("cordoned", "16", "32Gi", 110, func(n *corev1.Node) { n.Spec.Unschedulable = true })
	c.addNode("gpu", "16", "32Gi", 110, func(n *corev1.Node) {
		n.Spec.Taints = []*corev1.Taint{{Key: "gpu", Value: "true", Effect: "NoSchedule"}}
		n.Metadata.Labels["accelerator"] = "gpu"
	})
	c.startScheduler(c.cs, nil)

	c.createPod(podObj("needs-2-cpu", "2", "1Gi"))
	c.createPod(podObj("needs-6-gi", "500m", "6Gi"))
	c.createPod(podObj("wants-gpu", "1", "", func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{"accelerator": "gpu"}
		p.Spec.Tolerations = []*corev1.Toleration{{Key: "gpu", Operator: "Exists", Effect: "NoSchedule"}}
	}))
	want := map[string]string{"needs-2-cpu": "big", "needs-6-gi": "big", "wants-gpu": "gpu"}
	for name, node := range want {
		c.eventually("pod "+name+" on "+node, func() (bool, string) {
			got := c.nodeOf(name)
			return got == node, fmt.Sprintf("spec.nodeName=%q", got)
		})
	}
	c.eventually("Scheduled event", func() (bool, string) {
		ev := c.events("wants-gpu")
		return hasEvent(ev, "Normal Scheduled Successfully assigned default/wants-gpu to gpu"), strings.Join(ev, "; ")
	})
}

func TestIntegrationUnschedulablePodWaitsForRoom(t *testing.T) {
	c := newCluster(t)
	c.addNode("node1", "2", "4Gi", 110)
	c.addNode("node2", "2", "4Gi", 110)
	c.addNode("node3", "8", "16Gi", 110, func(n *corev1.Node) { n.Spec.Unschedulable = true })
	c.startScheduler(c.cs, nil)

	c.createPod(podObj("hog-1", "1500m", ""))
	c.createPod(podObj("hog-2", "1500m", ""))
	for _, n := range []string{"hog-1", "hog-2"} {
		c.eventually(n+" bound", func() (bool, string) { return c.nodeOf(n) != "", "pending" })
	}
	c.createPod(podObj("web-1", "1500m", ""))
	const msg = "Warning FailedScheduling 0/3 nodes are available: 2 Insufficient cpu, 1 node(s) were unschedulable."
	c.eventually("FailedScheduling event", func() (bool, string) {
		ev := c.events("web-1")
		return hasEvent(ev, msg), strings.Join(ev, "; ")
	})
	if n := c.nodeOf("web-1"); n != "" {
		t.Fatalf("web-1 bound to %s with no room anywhere", n)
	}
	c.eventually("PodScheduled=False on web-1", func() (bool, string) {
		got := c.condition("web-1", "PodScheduled")
		return got == "False Unschedulable 0/3 nodes are available: 2 Insufficient cpu, 1 node(s) were unschedulable.", got
	})

	// Deleting a pod makes room: web-1 goes where it was.
	hogNode := c.nodeOf("hog-1")
	zero := int64(0)
	if err := c.cs.CoreV1().Pods("default").Delete(c.ctx(), "hog-1", client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatalf("delete hog-1: %v", err)
	}
	c.eventually("web-1 scheduled after hog-1 deleted", func() (bool, string) {
		got := c.nodeOf("web-1")
		return got == hogNode, fmt.Sprintf("spec.nodeName=%q, want %q", got, hogNode)
	})
	if got := c.condition("web-1", "PodScheduled"); got != "True  " {
		t.Errorf("PodScheduled of the bound web-1 = %q, want True", got)
	}

	// Adding a node makes room too.
	c.createPod(podObj("web-2", "1500m", ""))
	c.eventually("FailedScheduling for web-2", func() (bool, string) {
		ev := c.events("web-2")
		return len(ev) > 0, "no event"
	})
	c.addNode("node4", "2", "4Gi", 110)
	c.eventually("web-2 on the new node", func() (bool, string) {
		got := c.nodeOf("web-2")
		return got == "node4", fmt.Sprintf("spec.nodeName=%q", got)
	})
}

func TestIntegrationReplicasSpreadEvenly(t *testing.T) {
	c := newCluster(t)
	for i := 1; i <= 3; i++ {
		c.addNode(fmt.Sprintf("node%d", i), "4", "8Gi", 110)
	}
	c.startScheduler(c.cs, nil)
	yes := true
	owned := func(p *corev1.Pod) {
		p.Metadata.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc", Uid: "rs-uid-1", Controller: &yes}}
	}
	for i := 1; i <= 9; i++ {
		c.createPod(podObj(fmt.Sprintf("web-%d", i), "100m", "64Mi", owned))
	}
	c.eventually("3 pods on each node", func() (bool, string) {
		count := map[string]int{}
		for i := 1; i <= 9; i++ {
			count[c.nodeOf(fmt.Sprintf("web-%d", i))]++
		}
		return count["node1"] == 3 && count["node2"] == 3 && count["node3"] == 3, fmt.Sprint(count)
	})
}
