package nodestatus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/proto/client"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/resource"
)

// The well-known labels every Node gets.
const (
	LabelHostname = "kubernetes.io/hostname"
	LabelOS       = "kubernetes.io/os"
	LabelArch     = "kubernetes.io/arch"
)

// Agent keeps this node's Node and Lease on the apiserver.
type Agent struct {
	lg  *zap.Logger
	cs  *client.Clientset
	cfg Config
	err error // of the Config, returned by Run and PodCIDR

	memTh, diskTh, pidTh threshold
	reserved             resource.List // system + kube reserved

	mu       sync.Mutex
	nodeUID  string
	lastPost time.Time
}

// New makes an Agent; a bad Config is reported by Run and PodCIDR.
func New(lg *zap.Logger, cs *client.Clientset, cfg Config) *Agent {
	if lg == nil {
		lg = zap.NewNop()
	}
	cfg.setDefaults()
	a := &Agent{lg: lg, cs: cs, cfg: cfg, err: cfg.Validate()}
	if a.err != nil {
		return a
	}
	a.memTh, _ = parseThreshold(cfg.MemoryThreshold)
	a.diskTh, _ = parseThreshold(cfg.DiskThreshold)
	a.pidTh, _ = parseThreshold(cfg.PIDThreshold)
	a.reserved, _ = resource.ParseList(cfg.SystemReserved)
	kube, _ := resource.ParseList(cfg.KubeReserved)
	if err := a.reserved.Add(kube); err != nil {
		a.err = fmt.Errorf("nodestatus: system + kube reserved: %w", err)
	}
	return a
}

// Run registers the Node, then renews the Lease and updates the status
// until ctx ends (it returns nil then). Failures are logged and retried;
// only a bad Config is returned.
func (a *Agent) Run(ctx context.Context) error {
	if a.err != nil {
		return a.err
	}
	for backoff := 500 * time.Millisecond; ; backoff = min(2*backoff, 7*time.Second) {
		err := a.register(ctx)
		if err == nil {
			break
		}
		a.lg.Warn("could not register the node, retrying", zap.String("node", a.cfg.NodeName), zap.Duration("in", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.every(ctx, a.cfg.LeaseRenewInterval, "renew the node lease", a.renewLease) }()
	go func() {
		defer wg.Done()
		a.every(ctx, a.cfg.StatusUpdateFrequency, "update the node status", func(ctx context.Context) error { return a.syncStatus(ctx, false) })
	}()
	wg.Wait()
	return nil
}

// every runs fn now and every interval until ctx ends; a failure is tried
// again up to 4 times, 500 ms apart, before the next interval.
func (a *Agent) every(ctx context.Context, interval time.Duration, what string, fn func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for try := 1; ; try++ {
			err := fn(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			a.lg.Warn("could not "+what, zap.String("node", a.cfg.NodeName), zap.Int("try", try), zap.Error(err))
			if try == 5 {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PodCIDR is Config.PodCIDR if set, else the Node's spec.podCIDR, waiting
// for the controller-manager's node IPAM to assign one.
func (a *Agent) PodCIDR(ctx context.Context) (string, error) {
	if a.err != nil {
		return "", a.err
	}
	if a.cfg.PodCIDR != "" {
		return a.cfg.PodCIDR, nil
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		n, err := a.cs.CoreV1().Nodes().Get(ctx, a.cfg.NodeName)
		if err == nil && n.GetSpec().GetPodCidr() != "" {
			return n.GetSpec().GetPodCidr(), nil
		}
		if err != nil && !client.IsNotFound(err) && ctx.Err() == nil {
			a.lg.Debug("could not read the node's podCIDR", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("nodestatus: waiting for node %s to get spec.podCIDR (is the controller-manager's node IPAM running? or set --pod-cidr): %w",
				a.cfg.NodeName, ctx.Err())
		case <-t.C:
		}
	}
}

// register creates the Node, or takes over an existing one (adding the
// labels it lacks), and posts its status.
func (a *Agent) register(ctx context.Context) error {
	nodes := a.cs.CoreV1().Nodes()
	want := &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: a.cfg.NodeName, Labels: a.labels()},
		Spec:     &corev1.NodeSpec{},
	}
	if a.cfg.PodCIDR != "" {
		want.Spec.PodCidr, want.Spec.PodCidrs = a.cfg.PodCIDR, []string{a.cfg.PodCIDR}
	}
	n, err := nodes.Create(ctx, want)
	if client.IsAlreadyExists(err) {
		if n, err = nodes.Get(ctx, a.cfg.NodeName); err == nil {
			n, err = a.adopt(ctx, n)
		}
	} else if err == nil {
		a.lg.Info("registered node", zap.String("node", a.cfg.NodeName))
	}
	if err != nil {
		return fmt.Errorf("nodestatus: register node %s: %w", a.cfg.NodeName, err)
	}
	return a.postStatus(ctx, n, true)
}

// adopt adds the labels an existing Node lacks.
func (a *Agent) adopt(ctx context.Context, n *corev1.Node) (*corev1.Node, error) {
	changed := false
	for k, v := range a.labels() {
		if n.GetMetadata().GetLabels()[k] != v {
			if n.Metadata.Labels == nil {
				n.Metadata.Labels = map[string]string{}
			}
			n.Metadata.Labels[k] = v
			changed = true
		}
	}
	if !changed {
		return n, nil
	}
	return a.cs.CoreV1().Nodes().Update(ctx, n)
}

func (a *Agent) labels() map[string]string {
	l := map[string]string{LabelHostname: a.cfg.Hostname, LabelOS: runtime.GOOS, LabelArch: runtime.GOARCH}
	for k, v := range a.cfg.Labels {
		l[k] = v
	}
	return l
}

// syncStatus posts the status when it changed or when the last post is
// StatusReportFrequency old, and registers the Node again if it is gone.
func (a *Agent) syncStatus(ctx context.Context, force bool) error {
	n, err := a.cs.CoreV1().Nodes().Get(ctx, a.cfg.NodeName)
	if client.IsNotFound(err) {
		a.lg.Warn("node object is gone, registering again", zap.String("node", a.cfg.NodeName))
		return a.register(ctx)
	}
	if err != nil {
		return fmt.Errorf("nodestatus: get node %s: %w", a.cfg.NodeName, err)
	}
	return a.postStatus(ctx, n, force)
}

func (a *Agent) postStatus(ctx context.Context, n *corev1.Node, force bool) error {
	now := a.cfg.Now()
	a.mu.Lock()
	a.nodeUID = n.GetMetadata().GetUid()
	due := force || now.Sub(a.lastPost) >= a.cfg.StatusReportFrequency
	a.mu.Unlock()
	status, err := a.status(n.GetStatus(), now)
	if err != nil {
		return err
	}
	if !due && equalButHeartbeats(n.GetStatus(), status) {
		return nil
	}
	n.Status = status
	if _, err := a.cs.CoreV1().Nodes().UpdateStatus(ctx, n); err != nil {
		return fmt.Errorf("nodestatus: update status of node %s: %w", a.cfg.NodeName, err)
	}
	a.mu.Lock()
	a.lastPost = now
	a.mu.Unlock()
	return nil
}

func equalButHeartbeats(x, y *corev1.NodeStatus) bool {
	strip := func(s *corev1.NodeStatus) *corev1.NodeStatus {
		s = proto.Clone(s).(*corev1.NodeStatus)
		for _, c := range s.GetConditions() {
			c.LastHeartbeatTime = nil
		}
		return s
	}
	if x == nil {
		x = &corev1.NodeStatus{}
	}
	return proto.Equal(strip(x), strip(y))
}

// status is the Node's status now, keeping old's transition times of the
// conditions that did not change.
func (a *Agent) status(old *corev1.NodeStatus, now time.Time) (*corev1.NodeStatus, error) {
	s := &corev1.NodeStatus{}
	if old != nil {
		s = proto.Clone(old).(*corev1.NodeStatus)
	}
	addrs, err := a.addresses()
	if err != nil {
		return nil, err
	}
	s.Addresses = addrs
	memTotal, memAvail, err := memInfo()
	if err != nil {
		return nil, fmt.Errorf("nodestatus: memory: %w", err)
	}
	diskTotal, diskAvail, err := diskInfo(a.cfg.RootDir)
	if err != nil {
		return nil, fmt.Errorf("nodestatus: disk: %w", err)
	}
	pidMax, pidAvail, err := pidInfo()
	if err != nil {
		return nil, fmt.Errorf("nodestatus: PIDs: %w", err)
	}
	s.Capacity, s.Allocatable = a.resources(memTotal, diskTotal)
	s.DaemonEndpoints = &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: int32(a.cfg.KubeletPort)}}
	s.NodeInfo = &corev1.NodeSystemInfo{
		MachineId:               readTrimmed("/etc/machine-id"),
		SystemUuid:              readTrimmed("/sys/class/dmi/id/product_uuid"),
		BootId:                  readTrimmed("/proc/sys/kernel/random/boot_id"),
		KernelVersion:           kernelVersion(),
		OsImage:                 osImage(),
		ContainerRuntimeVersion: a.cfg.ContainerRuntimeVersion,
		KubeletVersion:          a.cfg.KubeletVersion,
		OperatingSystem:         runtime.GOOS,
		Architecture:            runtime.GOARCH,
	}
	ready := condition{"Ready", true, "KubeletReady", "kubelet is posting ready status"}
	if a.cfg.ReadyCheck != nil {
		if err := a.cfg.ReadyCheck(); err != nil {
			ready = condition{"Ready", false, "KubeletNotReady", err.Error()}
		}
	}
	conds := []condition{
		pressure("MemoryPressure", a.memTh.below(memAvail, memTotal),
			"KubeletHasInsufficientMemory", "kubelet has insufficient memory available",
			"KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		pressure("DiskPressure", a.diskTh.below(diskAvail, diskTotal),
			"KubeletHasDiskPressure", "kubelet has disk pressure",
			"KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		pressure("PIDPressure", a.pidTh.below(pidAvail, pidMax),
			"KubeletHasInsufficientPID", "kubelet has insufficient PID available",
			"KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		ready,
	}
	s.Conditions = mergeConditions(s.GetConditions(), conds, now)
	return s, nil
}

type condition struct {
	typ             string
	status          bool
	reason, message string
}

func pressure(typ string, on bool, onReason, onMsg, offReason, offMsg string) condition {
	if on {
		return condition{typ, true, onReason, onMsg}
	}
	return condition{typ, false, offReason, offMsg}
}

// mergeConditions sets the conditions of ours in old to conds, with
// heartbeat now and the old transition time when the status is the same;
// other conditions (NetworkUnavailable, say) stay as they are.
func mergeConditions(old []*corev1.NodeCondition, conds []condition, now time.Time) []*corev1.NodeCondition {
	ts := timestamppb.New(now)
	prev := map[string]*corev1.NodeCondition{}
	var out []*corev1.NodeCondition
	ours := map[string]bool{}
	for _, c := range conds {
		ours[c.typ] = true
	}
	for _, c := range old {
		prev[c.GetType()] = c
		if !ours[c.GetType()] {
			out = append(out, c)
		}
	}
	for _, c := range conds {
		st := "False"
		if c.status {
			st = "True"
		}
		nc := &corev1.NodeCondition{Type: c.typ, Status: st, Reason: c.reason, Message: c.message, LastHeartbeatTime: ts, LastTransitionTime: ts}
		if p := prev[c.typ]; p != nil && p.GetStatus() == st && p.GetLastTransitionTime() != nil {
			nc.LastTransitionTime = p.GetLastTransitionTime()
		}
		out = append(out, nc)
	}
	return out
}

// resources are capacity (the machine's CPUs, memory, root filesystem,
// MaxPods) and allocatable (capacity minus system and kube reserved and
// the memory and disk thresholds, as Kubernetes subtracts eviction-hard).
func (a *Agent) resources(memTotal, diskTotal int64) (capacity, allocatable map[string]string) {
	cpuMilli := int64(runtime.NumCPU()) * 1000
	capacity = map[string]string{
		resource.CPU:              strconv.Itoa(runtime.NumCPU()),
		resource.Memory:           strconv.FormatInt(memTotal/1024, 10) + "Ki",
		resource.EphemeralStorage: strconv.FormatInt(diskTotal/1024, 10) + "Ki",
		resource.Pods:             strconv.Itoa(a.cfg.MaxPods),
	}
	res := func(name string) int64 { return a.reserved.Get(name).Value() }
	allocCPU := max(cpuMilli-a.reserved.Get(resource.CPU).MilliValue(), 0)
	allocMem := max(memTotal-res(resource.Memory)-a.memTh.amount(memTotal), 0)
	allocDisk := max(diskTotal-res(resource.EphemeralStorage)-a.diskTh.amount(diskTotal), 0)
	allocatable = map[string]string{
		resource.CPU:              resource.NewMilliQuantity(allocCPU, resource.DecimalSI).String(),
		resource.Memory:           strconv.FormatInt(allocMem/1024, 10) + "Ki",
		resource.EphemeralStorage: strconv.FormatInt(allocDisk/1024, 10) + "Ki",
		resource.Pods:             strconv.Itoa(a.cfg.MaxPods),
	}
	return capacity, allocatable
}

func (a *Agent) addresses() ([]*corev1.NodeAddress, error) {
	ip := a.cfg.NodeIP
	if ip == "" {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("nodestatus: netlink: %w", err)
		}
		defer h.Close()
		dip, err := defaultRouteIP(h)
		if err != nil {
			return nil, fmt.Errorf("nodestatus: node IP: %w", err)
		}
		ip = dip.String()
	}
	return []*corev1.NodeAddress{{Type: "InternalIP", Address: ip}, {Type: "Hostname", Address: a.cfg.Hostname}}, nil
}

// renewLease creates or renews kube-node-lease/<node>, owned by the Node.
func (a *Agent) renewLease(ctx context.Context) error {
	leases := a.cs.CoordinationV1().Leases(LeaseNamespace)
	now := timestamppb.New(a.cfg.Now())
	a.mu.Lock()
	uid := a.nodeUID
	a.mu.Unlock()
	owner := []*metav1.OwnerReference{{ApiVersion: "v1", Kind: "Node", Name: a.cfg.NodeName, Uid: uid}}
	holder, dur := a.cfg.NodeName, int32(a.cfg.LeaseDuration/time.Second)
	l, err := leases.Get(ctx, a.cfg.NodeName)
	if client.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			Metadata: &metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: LeaseNamespace, OwnerReferences: owner},
			Spec:     &coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: now},
		})
		if err != nil {
			return fmt.Errorf("nodestatus: create lease %s/%s: %w", LeaseNamespace, a.cfg.NodeName, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("nodestatus: get lease %s/%s: %w", LeaseNamespace, a.cfg.NodeName, err)
	}
	if l.Spec == nil {
		l.Spec = &coordinationv1.LeaseSpec{}
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &holder, &dur, now
	if uid != "" && !sameOwner(l.GetMetadata().GetOwnerReferences(), uid) {
		l.Metadata.OwnerReferences = owner // the Node was registered again
	}
	if _, err := leases.Update(ctx, l); err != nil {
		return fmt.Errorf("nodestatus: renew lease %s/%s: %w", LeaseNamespace, a.cfg.NodeName, err)
	}
	return nil
}

func sameOwner(refs []*metav1.OwnerReference, uid string) bool {
	return len(refs) == 1 && refs[0].GetUid() == uid && refs[0].GetKind() == "Node"
}

// InternalIP is the node's InternalIP as registered: Config.NodeIP or the
// default route's address.
func (a *Agent) InternalIP() (net.IP, error) {
	addrs, err := a.addresses()
	if err != nil {
		return nil, err
	}
	return net.ParseIP(addrs[0].GetAddress()), nil
}

var errNotRegistered = errors.New("nodestatus: node not registered yet")

// NodeUID is the UID of the registered Node (for owner references).
func (a *Agent) NodeUID() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nodeUID == "" {
		return "", errNotRegistered
	}
	return a.nodeUID, nil
}
