package pods

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
)

// worker keeps one pod converged.
type worker struct {
	m   *Manager
	lg  *zap.Logger
	uid string

	mu      sync.Mutex
	pod     *corev1.Pod
	deleted bool // gone from the apiserver
	kick    chan struct{}

	net      PodNetwork
	netReady bool
	sandbox  *podruntime.Container
	attempt  int // sandbox attempts
	// containers is the worker's own; other goroutines read it (and each
	// one's cur) under mu, so once the worker is shared (after adopt) it
	// writes both under mu.
	containers map[string]*containerState
	startTime  time.Time
	written    *corev1.PodStatus // last status written
	terminal   bool              // phase Succeeded or Failed reached
}

// containerState is what the worker knows of one container of the spec.
type containerState struct {
	name     string
	cur      *podruntime.Container // latest run
	prev     *podruntime.Container // the run before, for lastState
	restarts int
	imageRef string

	backOff   time.Duration
	nextStart time.Time

	waitingReason, waitingMessage string

	probes *probeSet
}

func newWorker(m *Manager, pod *corev1.Pod, found []*podruntime.Container) *worker {
	w := &worker{
		m: m, lg: m.lg.With(zap.String("pod", podKey(pod))), uid: pod.GetMetadata().GetUid(),
		pod: pod, kick: make(chan struct{}, 1), containers: map[string]*containerState{},
	}
	w.adopt(found)
	return w
}

// adopt takes over the containers a restarted kubelet found for the pod:
// the newest sandbox and the newest run of each container.
func (w *worker) adopt(found []*podruntime.Container) {
	for _, c := range found {
		if c.Name == podruntime.SandboxName {
			if w.sandbox == nil || c.RestartCount > w.attempt {
				if w.sandbox != nil {
					w.garbage(w.sandbox)
				}
				w.sandbox, w.attempt = c, c.RestartCount
				if c.Pod.NetNSPath != "" {
					w.net = PodNetwork{NetNSPath: c.Pod.NetNSPath, IP: parseIP(c.Pod.IP)}
				}
			} else {
				w.garbage(c)
			}
			continue
		}
		cs := w.container(c.Name)
		switch {
		case cs.cur == nil:
			cs.cur = c
		case c.RestartCount > cs.cur.RestartCount:
			if cs.prev != nil {
				w.garbage(cs.prev)
			}
			cs.prev, cs.cur = cs.cur, c
		case cs.prev == nil || c.RestartCount > cs.prev.RestartCount:
			if cs.prev != nil {
				w.garbage(cs.prev)
			}
			cs.prev = c
		default:
			w.garbage(c)
		}
		cs.restarts = cs.cur.RestartCount
	}
	for _, cs := range w.containers {
		if cs.cur != nil {
			w.watchExit(cs.cur)
		}
	}
	if w.sandbox != nil {
		w.watchExit(w.sandbox)
		if st := w.sandbox.State(); !st.StartedAt.IsZero() {
			w.startTime = st.StartedAt
		}
	}
}

// garbage removes a container no longer needed, in the background.
func (w *worker) garbage(c *podruntime.Container) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := w.m.rt.Remove(ctx, c); err != nil {
			w.lg.Warn("remove old container", zap.String("container", c.ID), zap.Error(err))
		}
	}()
}

func (w *worker) container(name string) *containerState {
	cs, ok := w.containers[name]
	if !ok {
		cs = &containerState{name: name}
		w.mu.Lock()
		w.containers[name] = cs
		w.mu.Unlock()
	}
	return cs
}

// current is the latest run of a container of the pod, nil before its
// first; safe to call from any goroutine.
func (w *worker) current(name string) *podruntime.Container {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cs := w.containers[name]; cs != nil {
		return cs.cur
	}
	return nil
}

func (w *worker) update(pod *corev1.Pod, deleted bool) {
	w.mu.Lock()
	w.pod, w.deleted = pod, w.deleted || deleted
	w.mu.Unlock()
	w.poke()
}

func (w *worker) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *worker) watchExit(c *podruntime.Container) {
	go func() {
		<-c.Exited()
		w.poke()
	}()
}

func (w *worker) run(ctx context.Context) {
	t := time.NewTicker(w.m.cfg.SyncPeriod)
	defer t.Stop()
	for {
		if w.sync(ctx) {
			return
		}
		select {
		case <-ctx.Done():
			w.stopProbes()
			return
		case <-w.kick:
		case <-t.C:
		}
	}
}

func (w *worker) stopProbes() {
	for _, cs := range w.containers {
		if cs.probes != nil {
			cs.probes.stop()
			cs.probes = nil
		}
	}
}

// sync converges the pod once; it reports whether the worker is done (the
// pod was terminated and its deletion confirmed).
func (w *worker) sync(ctx context.Context) bool {
	w.mu.Lock()
	pod, deleted := w.pod, w.deleted
	w.mu.Unlock()
	if deleted || pod.GetMetadata().GetDeletionTimestamp() != nil {
		return w.terminate(ctx, pod, deleted)
	}
	if w.startTime.IsZero() {
		w.mu.Lock() // Running reads it
		w.startTime = time.Now()
		w.mu.Unlock()
	}
	if !w.terminal {
		if err := w.converge(ctx, pod); err != nil && ctx.Err() == nil {
			w.lg.Warn("sync pod", zap.Error(err))
		}
	}
	w.writeStatus(ctx, pod)
	if w.terminal && w.sandbox != nil && w.sandbox.State().Running {
		// A finished pod keeps its record, not its sandbox.
		if err := w.m.rt.Stop(ctx, w.sandbox, 0); err != nil && ctx.Err() == nil {
			w.lg.Warn("stop the sandbox of a finished pod", zap.Error(err))
		}
	}
	return false
}

// converge makes the sandbox and containers what the spec asks.
func (w *worker) converge(ctx context.Context, pod *corev1.Pod) error {
	if err := w.ensureSandbox(ctx, pod); err != nil {
		return err
	}
	var errs []error
	for _, c := range pod.GetSpec().GetContainers() {
		if err := w.syncContainer(ctx, pod, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ensureSandbox sets up the pod's network and runs its pause container; a
// dead sandbox takes the app containers down with it, and a new one
// (same network) is made.
func (w *worker) ensureSandbox(ctx context.Context, pod *corev1.Pod) error {
	if w.sandbox != nil && w.sandbox.State().Running {
		return nil
	}
	hostNet := pod.GetSpec().GetHostNetwork()
	if !hostNet && !w.netReady {
		if w.m.net == nil {
			return fmt.Errorf("pod network: this kubelet has no network manager, only hostNetwork pods run")
		}
		n, err := w.m.net.SetUpPod(ctx, w.uid, pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName())
		if err != nil {
			return fmt.Errorf("set up pod network: %w", err)
		}
		w.mu.Lock() // PortForward reads the network
		w.net, w.netReady = n, true
		w.mu.Unlock()
	}
	if w.sandbox != nil {
		w.lg.Info("sandbox exited, restarting the pod's containers")
		for _, cs := range w.containers {
			if cs.cur != nil && cs.cur.State().Running {
				_ = w.m.rt.Stop(ctx, cs.cur, 0)
			}
		}
		w.garbage(w.sandbox)
		w.attempt++
	}
	ref := podruntime.PodRef{UID: w.uid, Namespace: pod.GetMetadata().GetNamespace(), Name: pod.GetMetadata().GetName()}
	if !hostNet {
		ref.NetNSPath = w.net.NetNSPath
		if w.net.IP != nil {
			ref.IP = w.net.IP.String()
		}
	}
	if err := w.ensureImage(ctx, pod, w.m.rt.PauseImage(), w.m.rt.PauseImage(), podruntime.PullIfNotPresent, nil); err != nil {
		return err
	}
	sb, err := w.m.rt.StartSandbox(ctx, ref, w.attempt)
	if err != nil {
		return err
	}
	w.sandbox = sb
	w.watchExit(sb)
	return nil
}

// ensureImage makes an image present per policy, with Kubernetes' events.
func (w *worker) ensureImage(ctx context.Context, pod *corev1.Pod, ref, image, policy string, cs *containerState) error {
	start := time.Now()
	pulled, err := w.m.rt.EnsureImage(ctx, ref, policy, func() {
		if cs != nil {
			w.event(pod, client.EventTypeNormal, "Pulling", "Pulling image %q", image)
		}
	})
	if cs == nil {
		return err
	}
	switch {
	case errors.Is(err, podruntime.ErrImageNeverPull):
		cs.waitingReason, cs.waitingMessage = "ErrImageNeverPull", fmt.Sprintf("Container image %q is not present with pull policy of Never", image)
		w.event(pod, client.EventTypeWarning, "ErrImageNeverPull", "%s", cs.waitingMessage)
	case err != nil:
		cs.waitingReason, cs.waitingMessage = "ErrImagePull", err.Error()
		w.event(pod, client.EventTypeWarning, "Failed", "Failed to pull image %q: %v", image, err)
	case pulled:
		w.event(pod, client.EventTypeNormal, "Pulled", "Successfully pulled image %q in %s", image, time.Since(start).Round(time.Millisecond))
	default:
		w.event(pod, client.EventTypeNormal, "Pulled", "Container image %q already present on machine", image)
	}
	return err
}

func (w *worker) event(pod *corev1.Pod, typ, reason, format string, args ...any) {
	if w.m.recorder != nil {
		w.m.recorder.Event(pod, typ, reason, format, args...)
	}
}

// syncContainer starts, restarts (per policy, with back-off) or kills
// (failed liveness) one container.
func (w *worker) syncContainer(ctx context.Context, pod *corev1.Pod, spec *corev1.Container) error {
	cs := w.container(spec.GetName())
	if cs.cur != nil && cs.cur.State().Running {
		if cs.probes != nil {
			if reason := cs.probes.restartReason(); reason != "" {
				w.event(pod, client.EventTypeNormal, "Killing", "Container %s %s, will be restarted", spec.GetName(), reason)
				if err := w.m.rt.Stop(ctx, cs.cur, gracePeriod(pod, nil)); err != nil {
					return err
				}
				w.containerExited(cs)
				return nil
			}
		}
		return nil
	}
	if cs.cur != nil {
		w.containerExited(cs)
		st := cs.cur.State()
		policy := pod.GetSpec().GetRestartPolicy()
		if policy == "Never" || policy == "OnFailure" && st.ExitCode == 0 {
			return nil
		}
		if now := time.Now(); now.Before(cs.nextStart) {
			if cs.waitingReason != "CrashLoopBackOff" {
				w.event(pod, client.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)",
					spec.GetName(), pod.GetMetadata().GetName(), pod.GetMetadata().GetNamespace(), w.uid)
			}
			cs.waitingReason = "CrashLoopBackOff"
			cs.waitingMessage = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", cs.backOff,
				spec.GetName(), pod.GetMetadata().GetName(), pod.GetMetadata().GetNamespace(), w.uid)
			return nil
		}
	}
	return w.startContainer(ctx, pod, spec, cs)
}

// containerExited settles a run that ended: probes stop, and the back-off
// for the next start grows (or starts over after a long run).
func (w *worker) containerExited(cs *containerState) {
	if cs.probes != nil {
		cs.probes.stop()
		cs.probes = nil
	}
	if !cs.nextStart.IsZero() || cs.cur == nil {
		return
	}
	st := cs.cur.State()
	switch {
	case st.FinishedAt.Sub(st.StartedAt) >= w.m.cfg.BackOffReset:
		cs.backOff = 0
	case cs.backOff == 0:
		cs.backOff = w.m.cfg.BackOffBase
	default:
		cs.backOff = min(2*cs.backOff, w.m.cfg.BackOffMax)
	}
	if cs.restarts == 0 && cs.prev == nil {
		// The first restart is at once, as Kubernetes'.
		cs.nextStart = st.FinishedAt
		cs.backOff = 0
		return
	}
	cs.nextStart = st.FinishedAt.Add(cs.backOff)
}

func (w *worker) startContainer(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, cs *containerState) error {
	ref, err := podruntime.NormalizeImage(spec.GetImage())
	if err != nil {
		cs.waitingReason, cs.waitingMessage = "InvalidImageName", err.Error()
		return err
	}
	policy := spec.GetImagePullPolicy()
	if policy == "" {
		policy = podruntime.DefaultPullPolicy(spec.GetImage())
	}
	if err := w.ensureImage(ctx, pod, ref, spec.GetImage(), policy, cs); err != nil {
		return err
	}
	cspec, err := w.containerSpec(ctx, pod, spec, ref)
	if err != nil {
		cs.waitingReason, cs.waitingMessage = "CreateContainerConfigError", err.Error()
		w.event(pod, client.EventTypeWarning, "Failed", "Error: %v", err)
		return err
	}
	restart := 0
	if cs.cur != nil {
		restart = cs.restarts + 1
	}
	c, err := w.m.rt.StartContainer(ctx, w.sandbox, cspec, restart)
	if err != nil {
		cs.waitingReason, cs.waitingMessage = "CreateContainerError", err.Error()
		w.event(pod, client.EventTypeWarning, "Failed", "Error: %v", err)
		return err
	}
	w.event(pod, client.EventTypeNormal, "Created", "Created container %s", spec.GetName())
	w.event(pod, client.EventTypeNormal, "Started", "Started container %s", spec.GetName())
	if cs.prev != nil {
		w.garbage(cs.prev)
	}
	w.mu.Lock()
	cs.prev, cs.cur, cs.restarts, cs.imageRef = cs.cur, c, restart, ref
	w.mu.Unlock()
	cs.waitingReason, cs.waitingMessage, cs.nextStart = "", "", time.Time{}
	cs.probes = w.startProbes(pod, spec, c)
	w.watchExit(c)
	return nil
}

// terminate stops the pod's containers within the grace period, tears the
// network down and confirms the deletion to the apiserver.
func (w *worker) terminate(ctx context.Context, pod *corev1.Pod, gone bool) bool {
	grace := gracePeriod(pod, pod.GetMetadata().DeletionGracePeriodSeconds)
	w.stopProbes()
	var wg sync.WaitGroup
	for _, spec := range pod.GetSpec().GetContainers() {
		cs := w.containers[spec.GetName()]
		if cs == nil || cs.cur == nil || !cs.cur.State().Running {
			continue
		}
		w.event(pod, client.EventTypeNormal, "Killing", "Stopping container %s", spec.GetName())
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, grace+30*time.Second)
			defer cancel()
			if err := w.m.rt.Stop(sctx, cs.cur, grace); err != nil {
				w.lg.Warn("stop container", zap.String("container", spec.GetName()), zap.Error(err))
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return true
	}
	var all []*podruntime.Container
	for _, cs := range w.containers {
		all = append(all, cs.cur, cs.prev)
	}
	all = append(all, w.sandbox)
	for _, c := range all {
		if c == nil {
			continue
		}
		if err := w.m.rt.Remove(ctx, c); err != nil {
			w.lg.Warn("remove container", zap.String("container", c.ID), zap.Error(err))
			return false
		}
	}
	if !pod.GetSpec().GetHostNetwork() && w.m.net != nil {
		if err := w.m.net.TearDownPod(ctx, w.uid); err != nil {
			w.lg.Warn("tear down pod network", zap.Error(err))
			return false
		}
	}
	w.m.rt.RemovePodDir(w.uid)
	if !gone {
		zero := int64(0)
		err := w.m.cs.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Delete(ctx, pod.GetMetadata().GetName(),
			client.DeleteOptions{GracePeriodSeconds: &zero, PreconditionUID: w.uid})
		if err != nil && !client.IsNotFound(err) {
			w.lg.Warn("confirm pod deletion", zap.Error(err))
			return false
		}
	}
	w.lg.Info("pod terminated")
	return true
}

// gracePeriod is the deletion's grace period, else the pod's, else 30 s.
func gracePeriod(pod *corev1.Pod, deletion *int32) time.Duration {
	switch {
	case deletion != nil:
		return time.Duration(*deletion) * time.Second
	case pod.GetSpec().TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.GetSpec().TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// writeStatus writes the pod's status when it differs from the last written.
func (w *worker) writeStatus(ctx context.Context, pod *corev1.Pod) {
	status := w.status(pod)
	if w.written == nil {
		w.written = pod.GetStatus()
	}
	if proto.Equal(status, w.written) {
		return
	}
	next := proto.Clone(pod).(*corev1.Pod)
	next.Status = status
	updated, err := w.m.cs.CoreV1().Pods(pod.GetMetadata().GetNamespace()).UpdateStatus(ctx, next)
	if err != nil {
		if ctx.Err() == nil && !client.IsNotFound(err) {
			w.lg.Warn("update pod status", zap.Error(err))
		}
		return
	}
	w.written = status
	if p := status.GetPhase(); p == "Succeeded" || p == "Failed" {
		w.terminal = true
	}
	w.mu.Lock()
	if w.pod.GetMetadata().GetResourceVersion() == pod.GetMetadata().GetResourceVersion() {
		w.pod = updated
	}
	w.mu.Unlock()
}
