// Package integration runs the node status agent against a real apiserver.
package integration

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/kubelet/internal/nettest"
	"skiff.dev/kubelet/internal/nodestatus"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/resource"
)

func newClient(t *testing.T) *client.Clientset {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.ConfigEnv, "")
	srv := apiservertest.Start(t, apiservertest.Options{})
	cs, err := client.New(client.Options{Server: []string{srv.URL}, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// start runs an agent until the test ends. Intervals are shorter than
// Kubernetes' so the test sees several renewals.
func start(t *testing.T, cs *client.Clientset, cfg nodestatus.Config) *nodestatus.Agent {
	t.Helper()
	if cfg.LeaseRenewInterval == 0 {
		cfg.LeaseRenewInterval = 500 * time.Millisecond
	}
	if cfg.StatusUpdateFrequency == 0 {
		cfg.StatusUpdateFrequency = 300 * time.Millisecond
	}
	if cfg.StatusReportFrequency == 0 {
		cfg.StatusReportFrequency = time.Second
	}
	a := nodestatus.New(zaptest.NewLogger(t), cs, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return a
}

func getNode(t *testing.T, cs *client.Clientset, name string) *corev1.Node {
	n, err := cs.CoreV1().Nodes().Get(context.Background(), name)
	if err != nil {
		return nil
	}
	return n
}

func cond(n *corev1.Node, typ string) *corev1.NodeCondition {
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

func waitNode(t *testing.T, cs *client.Clientset, name, what string, ok func(n *corev1.Node) bool) *corev1.Node {
	t.Helper()
	var n *corev1.Node
	nettest.Eventually(t, time.Minute, "node "+name+": "+what, func() bool {
		n = getNode(t, cs, name)
		return n != nil && ok(n)
	})
	return n
}

func TestNodeRegistersWithStatusAndLease(t *testing.T) {
	cs := newClient(t)
	start(t, cs, nodestatus.Config{
		NodeName: "node-1", NodeIP: "192.0.2.10", ContainerRuntimeVersion: "containerd://1.6.20", KubeletVersion: "v1.30.0-skiff",
		SystemReserved: map[string]string{"cpu": "100m", "memory": "100Mi"}, KubeReserved: map[string]string{"memory": "50Mi"},
		Labels: map[string]string{"skiff.dev/role": "worker"},
	})
	n := waitNode(t, cs, "node-1", "no Ready condition", func(n *corev1.Node) bool { return cond(n, "Ready") != nil })

	t.Run("metadata", func(t *testing.T) {
		want := map[string]string{"kubernetes.io/hostname": "node-1", "kubernetes.io/os": runtime.GOOS,
			"kubernetes.io/arch": runtime.GOARCH, "skiff.dev/role": "worker"}
		for k, v := range want {
			if got := n.GetMetadata().GetLabels()[k]; got != v {
				t.Errorf("label %s = %q, want %q", k, got, v)
			}
		}
	})
	t.Run("addresses", func(t *testing.T) {
		got := map[string]string{}
		for _, a := range n.GetStatus().GetAddresses() {
			got[a.GetType()] = a.GetAddress()
		}
		if got["InternalIP"] != "192.0.2.10" || got["Hostname"] != "node-1" {
			t.Errorf("addresses %v, want InternalIP 192.0.2.10 and Hostname node-1", got)
		}
	})
	t.Run("capacity and allocatable", func(t *testing.T) {
		capacity, err := resource.ParseList(n.GetStatus().GetCapacity())
		if err != nil {
			t.Fatal(err)
		}
		alloc, err := resource.ParseList(n.GetStatus().GetAllocatable())
		if err != nil {
			t.Fatal(err)
		}
		if got := capacity.CPU().Value(); got != int64(runtime.NumCPU()) {
			t.Errorf("capacity cpu %d, want %d", got, runtime.NumCPU())
		}
		if got := alloc.CPU().MilliValue(); got != int64(runtime.NumCPU())*1000-100 {
			t.Errorf("allocatable cpu %dm, want %dm (100m system reserved)", got, runtime.NumCPU()*1000-100)
		}
		if capacity.Pods().Value() != 110 || alloc.Pods().Value() != 110 {
			t.Errorf("pods capacity %v allocatable %v, want 110", capacity.Pods(), alloc.Pods())
		}
		mem, amem := capacity.Memory().Value(), alloc.Memory().Value()
		// 100Mi system + 50Mi kube reserved + 100Mi memory threshold
		if mem < 256<<20 || mem-amem != 250<<20 {
			t.Errorf("memory capacity %d allocatable %d: want allocatable = capacity - 250Mi", mem, amem)
		}
		if capacity.EphemeralStorage().IsZero() || alloc.EphemeralStorage().Cmp(capacity.EphemeralStorage()) >= 0 {
			t.Errorf("ephemeral-storage capacity %v allocatable %v: want allocatable below a non-zero capacity",
				capacity.EphemeralStorage(), alloc.EphemeralStorage())
		}
	})
	t.Run("nodeInfo", func(t *testing.T) {
		ni := n.GetStatus().GetNodeInfo()
		for field, v := range map[string]string{"kernelVersion": ni.GetKernelVersion(), "osImage": ni.GetOsImage(), "bootID": ni.GetBootId()} {
			if v == "" {
				t.Errorf("nodeInfo.%s empty", field)
			}
		}
		if ni.GetOperatingSystem() != runtime.GOOS || ni.GetArchitecture() != runtime.GOARCH ||
			ni.GetContainerRuntimeVersion() != "containerd://1.6.20" || ni.GetKubeletVersion() != "v1.30.0-skiff" {
			t.Errorf("nodeInfo %v", ni)
		}
		if p := n.GetStatus().GetDaemonEndpoints().GetKubeletEndpoint().GetPort(); p != 10250 {
			t.Errorf("kubelet endpoint port %d, want 10250", p)
		}
	})
	t.Run("conditions", func(t *testing.T) {
		for _, c := range []struct{ typ, status, reason, message string }{
			{"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
			{"MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
			{"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
			{"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
		} {
			got := cond(n, c.typ)
			if got.GetStatus() != c.status || got.GetReason() != c.reason || got.GetMessage() != c.message ||
				got.GetLastHeartbeatTime() == nil || got.GetLastTransitionTime() == nil {
				t.Errorf("condition %s = %v, want %s %s %q with times", c.typ, got, c.status, c.reason, c.message)
			}
		}
	})
	t.Run("heartbeat", func(t *testing.T) {
		first := cond(n, "Ready")
		later := waitNode(t, cs, "node-1", "lastHeartbeatTime of Ready did not move", func(m *corev1.Node) bool {
			return cond(m, "Ready").GetLastHeartbeatTime().AsTime().After(first.GetLastHeartbeatTime().AsTime())
		})
		if !cond(later, "Ready").GetLastTransitionTime().AsTime().Equal(first.GetLastTransitionTime().AsTime()) {
			t.Errorf("Ready's lastTransitionTime moved without a transition")
		}
	})
	t.Run("lease", func(t *testing.T) {
		leases := cs.CoordinationV1().Leases("kube-node-lease")
		var first time.Time
		nettest.Eventually(t, time.Minute, "no lease kube-node-lease/node-1", func() bool {
			l, err := leases.Get(context.Background(), "node-1")
			if err != nil {
				return false
			}
			first = l.GetSpec().GetRenewTime().AsTime()
			refs := l.GetMetadata().GetOwnerReferences()
			if l.GetSpec().GetHolderIdentity() != "node-1" || l.GetSpec().GetLeaseDurationSeconds() != 40 ||
				len(refs) != 1 || refs[0].GetKind() != "Node" || refs[0].GetName() != "node-1" || refs[0].GetUid() != n.GetMetadata().GetUid() {
				t.Fatalf("lease %v: want holder node-1, 40 s, owned by Node node-1 uid %s", l, n.GetMetadata().GetUid())
			}
			return true
		})
		nettest.Eventually(t, time.Minute, "lease not renewed", func() bool {
			l, err := leases.Get(context.Background(), "node-1")
			return err == nil && l.GetSpec().GetRenewTime().AsTime().After(first)
		})
	})
	t.Run("registered again after deletion", func(t *testing.T) {
		old := n.GetMetadata().GetUid()
		if err := cs.CoreV1().Nodes().Delete(context.Background(), "node-1", client.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		again := waitNode(t, cs, "node-1", "not registered again", func(m *corev1.Node) bool {
			return m.GetMetadata().GetUid() != old && cond(m, "Ready").GetStatus() == "True"
		})
		nettest.Eventually(t, time.Minute, "lease not owned by the new Node", func() bool {
			l, err := cs.CoordinationV1().Leases("kube-node-lease").Get(context.Background(), "node-1")
			return err == nil && len(l.GetMetadata().GetOwnerReferences()) == 1 &&
				l.GetMetadata().GetOwnerReferences()[0].GetUid() == again.GetMetadata().GetUid()
		})
	})
}

func TestConditionsFollowChecksAndThresholds(t *testing.T) {
	cs := newClient(t)
	var notReady atomic.Bool
	notReady.Store(true)
	start(t, cs, nodestatus.Config{
		NodeName: "node-2", NodeIP: "192.0.2.11",
		MemoryThreshold: "100%", // available memory is always below all of it
		PIDThreshold:    strconv.Itoa(1 << 30),
		ReadyCheck: func() error {
			if notReady.Load() {
				return errors.New("container runtime is down")
			}
			return nil
		},
	})
	n := waitNode(t, cs, "node-2", "not NotReady", func(n *corev1.Node) bool { return cond(n, "Ready").GetStatus() == "False" })
	for _, c := range []struct{ typ, status, reason, message string }{
		{"Ready", "False", "KubeletNotReady", "container runtime is down"},
		{"MemoryPressure", "True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"},
		{"PIDPressure", "True", "KubeletHasInsufficientPID", "kubelet has insufficient PID available"},
	} {
		if got := cond(n, c.typ); got.GetStatus() != c.status || got.GetReason() != c.reason || got.GetMessage() != c.message {
			t.Errorf("condition %s = %v, want %s %s %q", c.typ, got, c.status, c.reason, c.message)
		}
	}
	notReadySince := cond(n, "Ready").GetLastTransitionTime().AsTime()
	notReady.Store(false)
	n = waitNode(t, cs, "node-2", "not Ready after the check passed", func(n *corev1.Node) bool { return cond(n, "Ready").GetStatus() == "True" })
	if r := cond(n, "Ready"); r.GetReason() != "KubeletReady" || !r.GetLastTransitionTime().AsTime().After(notReadySince) {
		t.Errorf("Ready %v: want KubeletReady with a new transition time", r)
	}
}

func TestPodCIDR(t *testing.T) {
	cs := newClient(t)
	t.Run("assigned by the controller-manager", func(t *testing.T) {
		a := start(t, cs, nodestatus.Config{NodeName: "node-3", NodeIP: "192.0.2.12"})
		got := make(chan string, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cidr, err := a.PodCIDR(ctx)
			if err != nil {
				cidr = err.Error()
			}
			got <- cidr
		}()
		n := waitNode(t, cs, "node-3", "not registered", func(*corev1.Node) bool { return true })
		select {
		case c := <-got:
			t.Fatalf("PodCIDR returned %q before the node had one", c)
		case <-time.After(1500 * time.Millisecond):
		}
		// what the controller-manager's node IPAM does (retrying lost
		// races with the agent's status writes)
		for try := 1; ; try++ {
			n.Spec.PodCidr, n.Spec.PodCidrs = "10.244.7.0/24", []string{"10.244.7.0/24"}
			_, err := cs.CoreV1().Nodes().Update(context.Background(), n)
			if err == nil {
				break
			}
			if !client.IsConflict(err) || try == 20 {
				t.Fatal(err)
			}
			n = getNode(t, cs, "node-3")
		}
		select {
		case c := <-got:
			if c != "10.244.7.0/24" {
				t.Errorf("PodCIDR = %q, want 10.244.7.0/24", c)
			}
		case <-time.After(time.Minute):
			t.Fatal("PodCIDR did not return after spec.podCIDR was set")
		}
	})
	t.Run("standalone --pod-cidr", func(t *testing.T) {
		a := start(t, cs, nodestatus.Config{NodeName: "node-4", NodeIP: "192.0.2.13", PodCIDR: "10.244.9.0/24"})
		if c, err := a.PodCIDR(context.Background()); err != nil || c != "10.244.9.0/24" {
			t.Errorf("PodCIDR = %q, %v", c, err)
		}
		waitNode(t, cs, "node-4", "spec.podCIDR not the flag's", func(n *corev1.Node) bool { return n.GetSpec().GetPodCidr() == "10.244.9.0/24" })
	})
	t.Run("waiting ends with the context", func(t *testing.T) {
		a := start(t, cs, nodestatus.Config{NodeName: "node-5", NodeIP: "192.0.2.14"})
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		if _, err := a.PodCIDR(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "--pod-cidr") {
			t.Errorf("PodCIDR = %v, want a deadline error hinting at --pod-cidr", err)
		}
	})
}

func TestBadConfig(t *testing.T) {
	a := nodestatus.New(nil, nil, nodestatus.Config{NodeName: "n", NodeIP: "not-an-ip"})
	if err := a.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "not-an-ip") {
		t.Errorf("Run = %v, want the bad node IP named", err)
	}
}
