// Package scheduler is the scheduling loop: it pops a pending pod, runs the
// framework's filters and scores over a snapshot of the cache, assumes the
// pod onto the best node and binds it in the background, recording the
// Scheduled or FailedScheduling event a user reads in `describe`.
package scheduler

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/scheduler/internal/cache"
	"skiff.dev/scheduler/internal/framework"
	"skiff.dev/scheduler/internal/queue"
)

// DefaultSchedulerName is the spec.schedulerName this scheduler serves.
const DefaultSchedulerName = "default-scheduler"

// Binder writes a binding: the pods/binding subresource.
type Binder interface {
	Bind(ctx context.Context, namespace, name, node string) error
}

// BinderFunc adapts a function to Binder.
type BinderFunc func(ctx context.Context, namespace, name, node string) error

// Bind implements Binder.
func (f BinderFunc) Bind(ctx context.Context, namespace, name, node string) error {
	return f(ctx, namespace, name, node)
}

// ClientBinder binds through a Clientset.
func ClientBinder(cs *client.Clientset) Binder {
	return BinderFunc(func(ctx context.Context, namespace, name, node string) error {
		return cs.CoreV1().Pods(namespace).Bind(ctx, name, node)
	})
}

// PodConditionWriter records on a pod why it is not scheduled: the
// PodScheduled=False condition that `describe pod` shows.
type PodConditionWriter interface {
	SetPodCondition(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition) error
}

// ClientConditionWriter writes pod conditions through a Clientset, on the
// pod's status subresource, re-reading the pod on conflicts. A pod bound or
// gone meanwhile is left alone.
func ClientConditionWriter(cs *client.Clientset) PodConditionWriter {
	return conditionWriterFunc(func(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition) error {
		pods := cs.CoreV1().Pods(pod.GetMetadata().GetNamespace())
		for attempt := 0; ; attempt++ {
			cur, err := pods.Get(ctx, pod.GetMetadata().GetName())
			if client.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if cur.GetSpec().GetNodeName() != "" || cur.GetMetadata().GetUid() != pod.GetMetadata().GetUid() || !setCondition(cur, cond) {
				return nil
			}
			_, err = pods.UpdateStatus(ctx, cur)
			if !client.IsConflict(err) || attempt >= 3 {
				return err
			}
		}
	})
}

type conditionWriterFunc func(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition) error

func (f conditionWriterFunc) SetPodCondition(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition) error {
	return f(ctx, pod, cond)
}

// setCondition puts cond into pod's status, keeping lastTransitionTime
// when the status does not change; it reports whether anything changed.
func setCondition(pod *corev1.Pod, cond *corev1.PodCondition) bool {
	if pod.Status == nil {
		pod.Status = &corev1.PodStatus{}
	}
	for i, c := range pod.Status.Conditions {
		if c.GetType() != cond.GetType() {
			continue
		}
		if c.GetStatus() == cond.GetStatus() && c.GetReason() == cond.GetReason() && c.GetMessage() == cond.GetMessage() {
			return false
		}
		next := proto.Clone(cond).(*corev1.PodCondition)
		if c.GetStatus() == cond.GetStatus() {
			next.LastTransitionTime = c.GetLastTransitionTime()
		}
		pod.Status.Conditions[i] = next
		return true
	}
	pod.Status.Conditions = append(pod.Status.Conditions, proto.Clone(cond).(*corev1.PodCondition))
	return true
}

// Config configures a Scheduler.
type Config struct {
	// SchedulerName is the spec.schedulerName served; empty is
	// DefaultSchedulerName.
	SchedulerName string
	// Profile is the plugin set; the zero value is framework.DefaultProfile.
	Profile framework.Profile
	// Binder writes bindings. Required.
	Binder Binder
	// Recorder records events; nil records none.
	Recorder client.Recorder
	// Conditions writes PodScheduled=False on unschedulable pods; nil
	// writes none.
	Conditions PodConditionWriter
	// Services lists the Services of a namespace, for spreading; nil is none.
	Services func(namespace string) []*corev1.Service
	// Metrics receives measurements; nil measures nothing.
	Metrics *Metrics
	// BindTimeout bounds one binding call; 0 is 30 s.
	BindTimeout time.Duration
	// QueueOptions configure the scheduling queue (tests).
	QueueOptions []queue.Option
}

// Scheduler schedules pods. Feed it through its event handlers (see
// Handlers) and run it with Run.
type Scheduler struct {
	lg    *zap.Logger
	cfg   Config
	Cache *cache.Cache
	Queue *queue.Queue

	binds sync.WaitGroup
}

// New returns a Scheduler with an empty cache and queue.
func New(lg *zap.Logger, cfg Config) (*Scheduler, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.Binder == nil {
		return nil, errors.New("scheduler config: binder: required")
	}
	if cfg.SchedulerName == "" {
		cfg.SchedulerName = DefaultSchedulerName
	}
	if len(cfg.Profile.Filters) == 0 && len(cfg.Profile.Scores) == 0 {
		cfg.Profile = framework.DefaultProfile()
	}
	if cfg.Recorder == nil {
		cfg.Recorder = nopRecorder{}
	}
	if cfg.Services == nil {
		cfg.Services = func(string) []*corev1.Service { return nil }
	}
	if cfg.BindTimeout == 0 {
		cfg.BindTimeout = 30 * time.Second
	}
	s := &Scheduler{lg: lg, cfg: cfg, Cache: cache.New(lg), Queue: queue.New(cfg.QueueOptions...)}
	if cfg.Metrics != nil {
		cfg.Metrics.watchQueue(s.Queue)
	}
	return s, nil
}

type nopRecorder struct{}

func (nopRecorder) Event(client.Object, string, string, string, ...any) {}

// Run schedules pods until ctx ends, then waits for bindings in flight.
func (s *Scheduler) Run(ctx context.Context) {
	s.lg.Info("scheduling started", zap.String("schedulerName", s.cfg.SchedulerName))
	go s.Queue.Run(ctx)
	for {
		pi, err := s.Queue.Pop(ctx)
		if err != nil {
			break
		}
		s.scheduleOne(ctx, pi)
	}
	s.binds.Wait()
	s.lg.Info("scheduling stopped")
}

// scheduleOne runs one scheduling cycle for pi and starts its binding.
func (s *Scheduler) scheduleOne(ctx context.Context, pi *queue.PodInfo) {
	pod := pi.Pod
	key := pi.Key()
	cycle := s.Queue.SchedulingCycle()
	defer s.Queue.Done(key)
	if pod.GetSpec().GetNodeName() != "" || pod.GetMetadata().GetDeletionTimestamp() != nil || s.Cache.IsAssumed(pod) {
		return
	}
	start := time.Now()

	state := &framework.CycleState{Services: s.servicesFor(pod)}
	nodes := s.Cache.Snapshot()
	feasible, err := s.cfg.Profile.Filter(ctx, state, pod, nodes)
	if err != nil {
		var fitErr *framework.FitError
		if errors.As(err, &fitErr) {
			s.cfg.Metrics.attempt("unschedulable", time.Since(start))
			s.lg.Debug("pod is unschedulable", zap.String("pod", key), zap.String("reason", err.Error()))
			s.cfg.Recorder.Event(pod, client.EventTypeWarning, "FailedScheduling", "%s", err.Error())
			s.markUnschedulable(ctx, pod, err.Error())
			s.Queue.AddUnschedulable(pi, cycle)
			return
		}
		s.cfg.Metrics.attempt("error", time.Since(start))
		s.lg.Warn("scheduling failed", zap.String("pod", key), zap.Error(err))
		s.Queue.AddBackoff(pi)
		return
	}
	scores := s.cfg.Profile.Score(ctx, state, pod, feasible)
	node := feasible[framework.SelectHost(scores)].Name()

	assumed := proto.Clone(pod).(*corev1.Pod)
	assumed.Spec.NodeName = node
	if err := s.Cache.AssumePod(assumed); err != nil {
		s.cfg.Metrics.attempt("error", time.Since(start))
		s.lg.Warn("cannot assume pod", zap.String("pod", key), zap.Error(err))
		s.Queue.AddBackoff(pi)
		return
	}
	s.cfg.Metrics.attempt("scheduled", time.Since(start))

	s.binds.Add(1)
	go func() {
		defer s.binds.Done()
		s.bind(ctx, pi, assumed, node)
	}()
}

// bind writes the binding; on failure it un-assumes the pod and retries it
// after a backoff, unless the pod is gone or was bound by someone else.
func (s *Scheduler) bind(ctx context.Context, pi *queue.PodInfo, assumed *corev1.Pod, node string) {
	pod := pi.Pod
	key := pi.Key()
	bctx, cancel := context.WithTimeout(ctx, s.cfg.BindTimeout)
	defer cancel()
	err := s.cfg.Binder.Bind(bctx, pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName(), node)
	if err == nil {
		s.cfg.Metrics.bound(time.Since(pi.InitialAttempt))
		s.lg.Debug("bound pod", zap.String("pod", key), zap.String("node", node))
		s.cfg.Recorder.Event(pod, client.EventTypeNormal, "Scheduled", "Successfully assigned %s to %s", key, node)
		return
	}
	s.Cache.ForgetPod(assumed)
	s.cfg.Metrics.bindError()
	if client.IsConflict(err) || client.IsNotFound(err) {
		// Bound elsewhere (another scheduler), being deleted, or gone: the
		// informer brings the truth.
		s.lg.Info("binding rejected", zap.String("pod", key), zap.String("node", node), zap.Error(err))
		return
	}
	s.lg.Warn("binding failed", zap.String("pod", key), zap.String("node", node), zap.Error(err))
	s.cfg.Recorder.Event(pod, client.EventTypeWarning, "FailedScheduling", "Binding rejected: %v", err)
	s.Queue.AddBackoff(pi)
}

// markUnschedulable sets the pod's PodScheduled condition to False with
// reason Unschedulable and the filters' verdict, as kube-scheduler does,
// unless the pod already says so.
func (s *Scheduler) markUnschedulable(ctx context.Context, pod *corev1.Pod, msg string) {
	if s.cfg.Conditions == nil {
		return
	}
	cond := &corev1.PodCondition{Type: "PodScheduled", Status: "False", Reason: "Unschedulable", Message: msg,
		LastTransitionTime: timestamppb.Now()}
	if !setCondition(proto.Clone(pod).(*corev1.Pod), cond) {
		return
	}
	s.binds.Add(1)
	go func() {
		defer s.binds.Done()
		cctx, cancel := context.WithTimeout(ctx, s.cfg.BindTimeout)
		defer cancel()
		if err := s.cfg.Conditions.SetPodCondition(cctx, pod, cond); err != nil && ctx.Err() == nil {
			s.lg.Warn("cannot record the pod's PodScheduled condition", zap.String("pod", pod.GetMetadata().GetNamespace()+"/"+pod.GetMetadata().GetName()), zap.Error(err))
		}
	}()
}

// servicesFor returns the Services of pod's namespace that select it.
func (s *Scheduler) servicesFor(pod *corev1.Pod) []*corev1.Service {
	var out []*corev1.Service
	for _, svc := range s.cfg.Services(pod.GetMetadata().GetNamespace()) {
		if framework.SelectorMatches(svc.GetSpec().GetSelector(), pod.GetMetadata().GetLabels()) {
			out = append(out, svc)
		}
	}
	return out
}
