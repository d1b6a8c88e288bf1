package integration

import (
	"context"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// fakeNodes plays the kubelets of simulated nodes and a simple scheduler
// through the API, the way the real ones write: each live node renews its
// Lease in kube-node-lease and posts Ready=True with a fresh heartbeat, and
// reports the pods bound to it Running and Ready; pods without a node are
// bound to the live, untainted node with the fewest pods.
type fakeNodes struct {
	e      *env
	mu     sync.Mutex
	alive  map[string]bool
	frozen map[string]bool // Lease renewed, status not posted
	period time.Duration
}

// startNodes registers the nodes (with labels) and runs their kubelets
// until the test ends.
func (e *env) startNodes(labels map[string]map[string]string, names ...string) *fakeNodes {
	e.t.Helper()
	n := &fakeNodes{e: e, alive: map[string]bool{}, frozen: map[string]bool{}, period: 300 * time.Millisecond}
	for _, name := range names {
		n.addNode(name, labels[name])
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(n.period)
		defer t.Stop()
		for {
			select {
			case <-e.ctx.Done():
				return
			case <-t.C:
				n.tick()
			}
		}
	}()
	return n
}

// addNode registers a node and makes it live.
func (n *fakeNodes) addNode(name string, labels map[string]string) {
	e := n.e
	e.t.Helper()
	_, err := e.cs.CoreV1().Nodes().Create(e.ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: labels}})
	if err != nil {
		e.t.Fatalf("create node %s: %v", name, err)
	}
	_, err = e.cs.CoordinationV1().Leases("kube-node-lease").Create(e.ctx, &coordinationv1.Lease{
		Metadata: &metav1.ObjectMeta{Name: name},
		Spec:     &coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: new(int32(40)), RenewTime: timestamppb.Now()}})
	if err != nil {
		e.t.Fatalf("create lease of node %s: %v", name, err)
	}
	n.postReady(name, true)
	n.setAlive(name, true)
}

// setAlive starts or stops a node's kubelet.
func (n *fakeNodes) setAlive(name string, alive bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.alive[name] = alive
}

// setStatusFrozen keeps a node's Lease renewed but stops posting its status.
func (n *fakeNodes) setStatusFrozen(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.frozen[name] = true
}

func (n *fakeNodes) isFrozen(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.frozen[name]
}

func (n *fakeNodes) live() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for name, ok := range n.alive {
		if ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (n *fakeNodes) tick() {
	ctx := n.e.ctx
	live := n.live()
	for _, name := range live {
		n.renew(ctx, name)
		if !n.isFrozen(name) {
			n.postReady(name, false)
		}
	}
	pods, err := n.e.cs.CoreV1().Pods("").List(ctx, client.ListOptions{})
	if err != nil {
		return
	}
	count := map[string]int{}
	for _, p := range pods.GetItems() {
		count[p.GetSpec().GetNodeName()]++
	}
	for _, p := range pods.GetItems() {
		node := p.GetSpec().GetNodeName()
		switch {
		case p.GetMetadata().GetDeletionTimestamp() != nil:
		case node == "":
			if target := n.schedule(ctx, live, count); target != "" {
				if err := n.e.cs.CoreV1().Pods(p.GetMetadata().GetNamespace()).Bind(ctx, p.GetMetadata().GetName(), target); err == nil {
					count[target]++
				}
			}
		case slices.Contains(live, node) && p.GetStatus().GetPhase() == "Pending":
			now := timestamppb.Now()
			next := controller.Clone(p)
			next.Status = &corev1.PodStatus{Phase: "Running", StartTime: now, PodIp: podIP(p.GetMetadata().GetName()),
				Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: now}}}
			_, _ = n.e.cs.CoreV1().Pods(p.GetMetadata().GetNamespace()).UpdateStatus(ctx, next)
		}
	}
}

// schedule picks the live node without NoSchedule taints with the fewest pods.
func (n *fakeNodes) schedule(ctx context.Context, live []string, count map[string]int) string {
	best := ""
	for _, name := range live {
		node, err := n.e.cs.CoreV1().Nodes().Get(ctx, name)
		if err != nil || node.GetSpec().GetUnschedulable() {
			continue
		}
		tainted := false
		for _, t := range node.GetSpec().GetTaints() {
			tainted = tainted || t.GetEffect() == "NoSchedule" || t.GetEffect() == "NoExecute"
		}
		if !tainted && (best == "" || count[name] < count[best]) {
			best = name
		}
	}
	return best
}

func (n *fakeNodes) renew(ctx context.Context, name string) {
	lc := n.e.cs.CoordinationV1().Leases("kube-node-lease")
	l, err := lc.Get(ctx, name)
	if err != nil {
		return
	}
	l.Spec.RenewTime = timestamppb.Now()
	_, _ = lc.Update(ctx, l)
}

// postReady writes Ready=True with a fresh heartbeat, as a kubelet's
// status update; between changes (unless always) the Lease is the heartbeat.
func (n *fakeNodes) postReady(name string, always bool) {
	nc := n.e.cs.CoreV1().Nodes()
	for range 5 {
		node, err := nc.Get(n.e.ctx, name)
		if err != nil {
			return
		}
		now := timestamppb.Now()
		ready := controller.NodeCondition(node, "Ready")
		if ready == nil {
			ready = &corev1.NodeCondition{Type: "Ready"}
			if node.Status == nil {
				node.Status = &corev1.NodeStatus{}
			}
			node.Status.Conditions = append(node.Status.Conditions, ready)
		}
		if ready.GetStatus() == "True" && !always {
			return
		}
		if ready.GetStatus() != "True" {
			ready.Status, ready.LastTransitionTime = "True", now
		}
		ready.Reason, ready.Message, ready.LastHeartbeatTime = "KubeletReady", "kubelet is posting ready status", now
		if _, err := nc.UpdateStatus(n.e.ctx, node); !client.IsConflict(err) {
			return
		}
	}
}
