// Package pods runs the pods bound to this node: one worker per pod keeps
// its sandbox and containers converged on the pod's spec (restart policy
// with crash-loop back-off, probes, graceful termination) and writes the
// pod's status when it changes. Containers are found again in containerd
// after a kubelet restart, by their labels.
package pods

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/labels"
)

// PodNetwork is where a pod's network lives.
type PodNetwork struct {
	NetNSPath string
	IP        net.IP
}

// Network gives pods their network namespaces and IPs; both calls are
// idempotent, and a set-up pod keeps its namespace and IP across kubelet
// restarts.
type Network interface {
	SetUpPod(ctx context.Context, uid, namespace, name string) (PodNetwork, error)
	TearDownPod(ctx context.Context, uid string) error
}

// NetworkLister is a Network that knows which pods it has set up, so that
// networks of pods deleted while the kubelet was down are torn down.
type NetworkLister interface {
	PodUIDs() []string
}

// Config configures the pod manager.
type Config struct {
	NodeName string
	// HostIP is the node's IP, the hostIP of pods and podIP of hostNetwork pods.
	HostIP string
	// SyncPeriod is how often a worker re-checks its pod; 0 is 1 s.
	SyncPeriod time.Duration
	// BackOffBase and BackOffMax bound the crash-loop back-off; 0 is
	// Kubernetes' 10 s and 5 m. A container that ran BackOffReset (10 m)
	// starts over.
	BackOffBase, BackOffMax, BackOffReset time.Duration
	// GCPeriod is how often exited containers and leftovers are collected; 0 is 10 s.
	GCPeriod time.Duration
}

// Manager runs the node's pods.
type Manager struct {
	lg       *zap.Logger
	cfg      Config
	cs       *client.Clientset
	rt       *podruntime.Runtime
	net      Network
	recorder client.Recorder

	factory    *informer.SharedInformerFactory
	podFactory *informer.SharedInformerFactory
	runCtx     context.Context
	pods       informer.Lister[*corev1.Pod]
	services   informer.Lister[*corev1.Service]
	synced     func() bool

	mu      sync.Mutex
	workers map[string]*worker // by pod uid
	found   map[string][]*podruntime.Container
	wg      sync.WaitGroup
}

// New makes a manager; net may be nil when only hostNetwork pods run.
func New(lg *zap.Logger, cs *client.Clientset, rt *podruntime.Runtime, net Network, recorder client.Recorder, cfg Config) *Manager {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.SyncPeriod == 0 {
		cfg.SyncPeriod = time.Second
	}
	if cfg.BackOffBase == 0 {
		cfg.BackOffBase = 10 * time.Second
	}
	if cfg.BackOffMax == 0 {
		cfg.BackOffMax = 5 * time.Minute
	}
	if cfg.BackOffReset == 0 {
		cfg.BackOffReset = 10 * time.Minute
	}
	if cfg.GCPeriod == 0 {
		cfg.GCPeriod = 10 * time.Second
	}
	m := &Manager{lg: lg, cfg: cfg, cs: cs, rt: rt, net: net, recorder: recorder, workers: map[string]*worker{}}
	podFactory := informer.NewSharedInformerFactory(cs, 0, informer.WithTweakListOptions(func(o *client.ListOptions) {
		o.FieldSelector = "spec.nodeName=" + cfg.NodeName
	}))
	m.factory = informer.NewSharedInformerFactory(cs, 0)
	podInf := podFactory.Core().V1().Pods()
	svcInf := m.factory.Core().V1().Services()
	m.pods, m.services = podInf.Lister(), svcInf.Lister()
	podInf.Informer().AddEventHandler(informer.ResourceEventHandlerFuncs{
		AddFunc:    func(o informer.Object) { m.podChanged(o.(*corev1.Pod), false) },
		UpdateFunc: func(_, o informer.Object) { m.podChanged(o.(*corev1.Pod), false) },
		DeleteFunc: func(o informer.Object) { m.podChanged(o.(*corev1.Pod), true) },
	})
	m.synced = func() bool { return podInf.Informer().HasSynced() && svcInf.Informer().HasSynced() }
	m.podFactory = podFactory
	return m
}

// Run picks up the containers already in containerd, then runs the pods'
// workers and the garbage collector until ctx ends. Containers keep
// running when it returns.
func (m *Manager) Run(ctx context.Context) error {
	found, err := m.rt.List(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.runCtx = ctx
	m.found = map[string][]*podruntime.Container{}
	for _, c := range found {
		m.found[c.Pod.UID] = append(m.found[c.Pod.UID], c)
	}
	m.mu.Unlock()
	m.lg.Info("found containers", zap.Int("containers", len(found)))
	m.factory.Start(ctx)
	m.podFactory.Start(ctx)
	if !m.factory.WaitForCacheSync(ctx) || !m.podFactory.WaitForCacheSync(ctx) {
		return ctx.Err()
	}
	m.gcLoop(ctx)
	m.wg.Wait()
	m.factory.Shutdown()
	m.podFactory.Shutdown()
	return nil
}

// Lookup finds the uid of a pod of this node, for the log API.
func (m *Manager) Lookup(namespace, name string) (string, bool) {
	p, err := m.pods.Get(namespace, name)
	if err != nil {
		return "", false
	}
	return p.GetMetadata().GetUid(), true
}

func (m *Manager) podChanged(pod *corev1.Pod, deleted bool) {
	uid := pod.GetMetadata().GetUid()
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.workers[uid]
	if !ok {
		if deleted {
			return
		}
		w = newWorker(m, pod, m.found[uid])
		delete(m.found, uid)
		m.workers[uid] = w
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			w.run(m.runCtx)
			m.mu.Lock()
			delete(m.workers, uid)
			m.mu.Unlock()
		}()
		return
	}
	w.update(pod, deleted)
}

// gcLoop removes, every GCPeriod, the containers of pods that no worker
// owns (deleted while the kubelet was down, or unknown leftovers) with
// their networks, and the exited containers that are no pod's latest.
func (m *Manager) gcLoop(ctx context.Context) {
	t := time.NewTicker(m.cfg.GCPeriod)
	defer t.Stop()
	for {
		m.collectOrphans(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Manager) collectOrphans(ctx context.Context) {
	known := map[string]bool{}
	for _, p := range m.pods.List(labels.Everything()) {
		known[p.GetMetadata().GetUid()] = true
	}
	m.mu.Lock()
	orphans := map[string][]*podruntime.Container{}
	for uid, cs := range m.found {
		if !known[uid] {
			orphans[uid] = cs
			delete(m.found, uid)
		}
	}
	for uid := range m.workers {
		known[uid] = true
	}
	m.mu.Unlock()
	if lister, ok := m.net.(NetworkLister); ok {
		for _, uid := range lister.PodUIDs() {
			if _, ok := orphans[uid]; !ok && !known[uid] {
				orphans[uid] = nil
			}
		}
	}
	for uid, cs := range orphans {
		m.lg.Info("removing containers of a pod no longer on this node", zap.String("uid", uid), zap.Int("containers", len(cs)))
		for _, c := range cs {
			if err := m.rt.Stop(ctx, c, 2*time.Second); err != nil {
				m.lg.Warn("stop leftover container", zap.String("container", c.ID), zap.Error(err))
			}
			if err := m.rt.Remove(ctx, c); err != nil {
				m.lg.Warn("remove leftover container", zap.String("container", c.ID), zap.Error(err))
			}
		}
		if m.net != nil {
			if err := m.net.TearDownPod(ctx, uid); err != nil {
				m.lg.Warn("tear down leftover pod network", zap.String("uid", uid), zap.Error(err))
			}
		}
	}
}

func podKey(p *corev1.Pod) string {
	return fmt.Sprintf("%s/%s", p.GetMetadata().GetNamespace(), p.GetMetadata().GetName())
}

// ServiceCached reports whether the kubelet's cache holds a Service, whose
// env vars containers started from now on get.
func (m *Manager) ServiceCached(namespace, name string) (*corev1.Service, bool) {
	s, err := m.services.Get(namespace, name)
	return s, err == nil
}

// SetHostIP sets the node's IP (pods' hostIP) before Run.
func (m *Manager) SetHostIP(ip string) { m.cfg.HostIP = ip }
