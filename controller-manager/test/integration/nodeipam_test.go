package integration

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"testing"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller/nodeipam"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

func startIPAM(e *env) (stop func()) {
	return e.start("nodeipam", func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable {
		c, err := nodeipam.New(lg, cs, f, nodeipam.Config{ClusterCIDR: netip.MustParsePrefix("10.244.0.0/22"), NodeCIDRMaskSize: 24, Recorder: rec})
		if err != nil {
			e.t.Fatal(err)
		}
		return c
	})
}

func (e *env) createNode(name, podCIDR string) {
	e.t.Helper()
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}, Spec: &corev1.NodeSpec{PodCidr: podCIDR}}
	if podCIDR != "" {
		n.Spec.PodCidrs = []string{podCIDR}
	}
	if _, err := e.cs.CoreV1().Nodes().Create(e.ctx, n); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deleteNode(name string) {
	e.t.Helper()
	if err := e.cs.CoreV1().Nodes().Delete(e.ctx, name, client.DeleteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// podCIDRs maps node names to their podCIDR.
func (e *env) podCIDRs() map[string]string {
	e.t.Helper()
	l, err := e.cs.CoreV1().Nodes().List(e.ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range l.GetItems() {
		out[n.GetMetadata().GetName()] = n.GetSpec().GetPodCidr()
	}
	return out
}

// uniqueCIDRs checks that no two nodes share a range and that every node's
// podCIDRs agrees with its podCIDR.
func (e *env) uniqueCIDRs() {
	e.t.Helper()
	l, err := e.cs.CoreV1().Nodes().List(e.ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	owner := map[string]string{}
	for _, n := range l.GetItems() {
		c := n.GetSpec().GetPodCidr()
		if c == "" {
			continue
		}
		if o, dup := owner[c]; dup {
			e.t.Errorf("pod CIDR %s given to both %s and %s", c, o, n.GetMetadata().GetName())
		}
		owner[c] = n.GetMetadata().GetName()
		if !slices.Equal(n.GetSpec().GetPodCidrs(), []string{c}) {
			e.t.Errorf("node %s: podCIDRs %v, podCIDR %s", n.GetMetadata().GetName(), n.GetSpec().GetPodCidrs(), c)
		}
	}
}

func (e *env) networkUnavailable(node string) *corev1.NodeCondition {
	n, err := e.cs.CoreV1().Nodes().Get(e.ctx, node)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "NetworkUnavailable" {
			return c
		}
	}
	return nil
}

func TestNodeIPAM(t *testing.T) {
	e := newEnv(t)
	// 10.244.0.0/22 holds four /24s; "pre" took one before the controller
	// ever ran.
	e.createNode("pre", "10.244.0.0/24")
	stop := startIPAM(e)
	for _, n := range []string{"n1", "n2", "n3"} {
		e.createNode(n, "")
	}
	e.eventually("n1..n3 get ranges", func() (bool, string) {
		c := e.podCIDRs()
		return c["n1"] != "" && c["n2"] != "" && c["n3"] != "", fmt.Sprint(c)
	})
	e.uniqueCIDRs()
	got := e.podCIDRs()
	all := []string{got["pre"], got["n1"], got["n2"], got["n3"]}
	sort.Strings(all)
	if want := []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"}; !slices.Equal(all, want) {
		t.Errorf("ranges %v, want %v", all, want)
	}

	// The cluster CIDR is full: n4 waits, and says why.
	e.createNode("n4", "")
	e.eventually("CIDRNotAvailable on n4", func() (bool, string) {
		c := e.networkUnavailable("n4")
		evs := e.eventsIn("default", "Node", "n4")
		return c.GetStatus() == "True" && c.GetReason() == "NoCIDRAvailable" &&
			slices.Contains(evs, "CIDRNotAvailable Node n4 status is now: CIDRNotAvailable"), fmt.Sprint(c, evs)
	})
	// Deleting a node frees its range for n4.
	freed := got["n1"]
	e.deleteNode("n1")
	e.eventually("n4 gets n1's range", func() (bool, string) {
		c := e.podCIDRs()
		return c["n4"] == freed, fmt.Sprint(c)
	})
	e.eventually("NetworkUnavailable lifted", func() (bool, string) {
		c := e.networkUnavailable("n4")
		return c.GetStatus() == "False", fmt.Sprint(c)
	})
	e.uniqueCIDRs()

	// A node deleted while no controller runs: the next controller
	// rebuilds the ranges in use from the nodes and hands out only that one.
	stop()
	freed = e.podCIDRs()["n2"]
	e.deleteNode("n2")
	startIPAM(e)
	e.createNode("n5", "")
	e.eventually("n5 gets n2's range", func() (bool, string) {
		c := e.podCIDRs()
		return c["n5"] == freed, fmt.Sprint(c)
	})
	e.uniqueCIDRs()
}
