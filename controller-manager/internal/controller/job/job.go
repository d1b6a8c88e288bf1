// Package job is the Job controller: it runs a Job's pods (owned by the
// Job, labelled job-name and controller-uid by the apiserver's defaulting)
// until spec.completions of them have succeeded, at most spec.parallelism
// at a time, re-creating failed ones with exponential back-off; it fails
// the Job once more pods failed than spec.backoffLimit (BackoffLimitExceeded)
// or once it ran longer than activeDeadlineSeconds (DeadlineExceeded), and
// reports active, ready, succeeded, failed, startTime, completionTime and
// the Complete/Failed conditions, as Kubernetes'.
//
// Counts come from the Job's pods, which are kept once finished (no
// tracking finalizers); they never go down. Indexed completion mode and
// pod failure policies are not implemented; a suspended Job keeps no
// active pods.
package job

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/controller-manager/internal/controller"
	batchv1 "skiff.dev/proto/batch/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

// Config configures the controller.
type Config struct {
	controller.Common
	// BackoffBase is the wait before re-creating pods after the first
	// failure, doubled for each further one up to BackoffMax (10s, 6m).
	BackoffBase, BackoffMax time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Controller is the Job controller.
type Controller struct {
	lg   *zap.Logger
	cs   *client.Clientset
	cfg  Config
	jobs informer.Lister[*batchv1.Job]
	pods informer.Lister[*corev1.Pod]
	exp  *controller.Expectations

	mu       sync.Mutex
	failures map[string]failureSeen // job key → when its failure count last grew

	*controller.Controller
}

type failureSeen struct {
	count int32
	at    time.Time
}

// New makes the controller; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 10 * time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 6 * time.Minute
	}
	cfg.Common = cfg.Common.Defaulted()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	jobInf, podInf := f.Batch().V1().Jobs(), f.Core().V1().Pods()
	c := &Controller{lg: lg, cs: cs, cfg: cfg, jobs: jobInf.Lister(), pods: podInf.Lister(), exp: controller.NewExpectations(),
		failures: map[string]failureSeen{}}
	c.Controller = controller.New(lg, controller.Options{
		Name: "job", Workers: cfg.Workers, Reconcile: c.sync, MetricsProvider: cfg.MetricsProvider,
		HasSynced: []func() bool{jobInf.Informer().HasSynced, podInf.Informer().HasSynced},
	})
	jobInf.Informer().AddEventHandler(c.Handler())
	podInf.Informer().AddEventHandler(controller.OwnedPodHandler("Job", c.exp, c.EnqueueKey))
	return c
}

func condition(st *batchv1.JobStatus, t string) *batchv1.JobCondition {
	for _, c := range st.GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

// finished reports whether the Job is Complete or Failed.
func finished(j *batchv1.Job) bool {
	for _, t := range []string{"Complete", "Failed"} {
		if c := condition(j.GetStatus(), t); c != nil && c.GetStatus() == "True" {
			return true
		}
	}
	return false
}

// sync converges one Job.
func (c *Controller) sync(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	j, err := c.jobs.Get(ns, name)
	if client.IsNotFound(err) {
		c.exp.Delete(key)
		c.mu.Lock()
		delete(c.failures, key)
		c.mu.Unlock()
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	needsSync := c.exp.Satisfied(key)
	var active []*corev1.Pod
	var succeeded, failed, restarts, ready int32
	owned, claimErr := controller.ClaimPods(ctx, c.cs, j, j.GetSpec().GetSelector(), c.pods.ListNamespace(ns, nil), func(ctx context.Context) (client.Object, error) {
		return c.cs.BatchV1().Jobs(ns).Get(ctx, name)
	})
	for _, p := range owned {
		switch p.GetStatus().GetPhase() {
		case "Succeeded":
			succeeded++
		case "Failed":
			failed++
		default:
			if p.GetMetadata().GetDeletionTimestamp() == nil {
				active = append(active, p)
				if controller.IsPodReady(p) {
					ready++
				}
				for _, cs := range p.GetStatus().GetContainerStatuses() {
					restarts += cs.GetRestartCount()
				}
			}
		}
	}
	old := j.GetStatus()
	st := &batchv1.JobStatus{StartTime: old.GetStartTime(), CompletionTime: old.GetCompletionTime(),
		Succeeded: max(succeeded, old.GetSucceeded()), Failed: max(failed, old.GetFailed()),
		Conditions: cloneConditions(old.GetConditions())}
	now := c.cfg.Now()
	if st.StartTime == nil && !j.GetSpec().GetSuspend() {
		st.StartTime = timestamppb.New(now)
	}
	var res controller.Result
	var manageErr error
	if !finished(j) && j.GetMetadata().GetDeletionTimestamp() == nil {
		var reason, message string
		spec := j.GetSpec()
		if st.Failed+restarts > spec.GetBackoffLimit() && st.Failed+restarts > 0 {
			reason, message = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
		} else if d := spec.ActiveDeadlineSeconds; d != nil && st.StartTime != nil {
			deadline := st.StartTime.AsTime().Add(time.Duration(*d) * time.Second)
			if !now.Before(deadline) {
				reason, message = "DeadlineExceeded", "Job was active longer than specified deadline"
			} else {
				res.RequeueAfter = deadline.Sub(now) + 100*time.Millisecond
			}
		}
		switch {
		case reason != "":
			manageErr = c.deletePods(ctx, j, active)
			active = nil
			setCondition(st, "Failed", reason, message, now)
			c.cfg.Recorder.Event(j, "Warning", reason, "%s", message)
			c.lg.Info("job failed", zap.String("job", key), zap.String("reason", reason))
		case complete(spec, st.Succeeded, int32(len(active))):
			manageErr = c.deletePods(ctx, j, active)
			active = nil
			st.CompletionTime = timestamppb.New(now)
			setCondition(st, "Complete", "", "", now)
			c.cfg.Recorder.Event(j, "Normal", "Completed", "Job completed")
			c.lg.Info("job completed", zap.String("job", key))
		case needsSync:
			var wait time.Duration
			active, wait, manageErr = c.manage(ctx, j, active, st, now)
			if wait > 0 && (res.RequeueAfter == 0 || wait < res.RequeueAfter) {
				res.RequeueAfter = wait
			}
		}
	}
	st.Active = int32(len(active))
	if st.Active == 0 {
		ready = 0
	}
	st.Ready = &ready
	if !proto.Equal(st, old) {
		next := controller.Clone(j)
		next.Status = st
		if _, err := c.cs.BatchV1().Jobs(ns).UpdateStatus(ctx, next); err != nil && !client.IsNotFound(err) {
			return res, errors.Join(manageErr, fmt.Errorf("update status of job %s: %w", key, err))
		}
	}
	return res, errors.Join(claimErr, manageErr)
}

// complete reports whether enough pods succeeded: completions of them, or
// (with no completions, a work queue) one, once none is active.
func complete(spec *batchv1.JobSpec, succeeded, active int32) bool {
	if spec.Completions != nil {
		return succeeded >= spec.GetCompletions()
	}
	return succeeded > 0 && active == 0
}

// manage creates or deletes pods so that min(parallelism, completions left)
// are active, waiting out the back-off after failures; it returns the
// active pods and how long to wait before creating more.
func (c *Controller) manage(ctx context.Context, j *batchv1.Job, active []*corev1.Pod, st *batchv1.JobStatus, now time.Time) ([]*corev1.Pod, time.Duration, error) {
	spec := j.GetSpec()
	want := spec.GetParallelism()
	switch {
	case spec.GetSuspend():
		want = 0
	case spec.Completions != nil:
		want = min(want, spec.GetCompletions()-st.Succeeded)
	case st.Succeeded > 0:
		want = 0
	}
	want = max(want, 0)
	key := controller.KeyFunc(j)
	n := int32(len(active))
	if n > want {
		// Delete the newest first: they have done the least work.
		sort.Slice(active, func(a, b int) bool {
			return active[a].GetMetadata().GetCreationTimestamp().AsTime().After(active[b].GetMetadata().GetCreationTimestamp().AsTime())
		})
		extra := active[:n-want]
		return active[n-want:], 0, c.deletePods(ctx, j, extra)
	}
	if n == want {
		return active, 0, nil
	}
	if wait := c.backoff(key, st.Failed, now); wait > 0 {
		return active, wait, nil
	}
	create := int(want - n)
	c.exp.ExpectCreations(key, create)
	done, err := controller.SlowStartBatch(create, controller.SlowStartInitialBatchSize, func() error {
		err := c.createPod(ctx, j)
		if err != nil {
			c.exp.CreationObserved(key)
		}
		return err
	})
	for range create - done - countErrs(err) {
		c.exp.CreationObserved(key) // skipped after a failed batch
	}
	return active, 0, err
}

func countErrs(err error) int {
	if err == nil {
		return 0
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return len(j.Unwrap())
	}
	return 1
}

// backoff is how long to wait before creating pods again after failures:
// BackoffBase doubled for each failure beyond the first, from when the
// failure count last grew.
func (c *Controller) backoff(key string, failed int32, now time.Time) time.Duration {
	if failed == 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := c.failures[key]
	if failed > seen.count {
		seen = failureSeen{count: failed, at: now}
		c.failures[key] = seen
	}
	d := c.cfg.BackoffBase
	for i := int32(1); i < failed && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.BackoffMax)
	return max(seen.at.Add(d).Sub(now), 0)
}

func (c *Controller) createPod(ctx context.Context, j *batchv1.Job) error {
	tmpl := j.GetSpec().GetTemplate()
	meta := &metav1.ObjectMeta{GenerateName: j.GetMetadata().GetName() + "-", Namespace: j.GetMetadata().GetNamespace(),
		OwnerReferences: []*metav1.OwnerReference{controller.NewControllerRef(j)}}
	if tm := tmpl.GetMetadata(); tm != nil {
		meta.Labels, meta.Annotations = cloneMap(tm.GetLabels()), cloneMap(tm.GetAnnotations())
	}
	pod := &corev1.Pod{Metadata: meta, Spec: proto.Clone(tmpl.GetSpec()).(*corev1.PodSpec)}
	created, err := c.cs.CoreV1().Pods(meta.GetNamespace()).Create(ctx, pod)
	if err != nil {
		if client.IsForbidden(err) {
			return nil // the namespace is terminating
		}
		c.cfg.Recorder.Event(j, "Warning", "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create pod of job %s: %w", controller.KeyFunc(j), err)
	}
	c.cfg.Recorder.Event(j, "Normal", "SuccessfulCreate", "Created pod: %s", created.GetMetadata().GetName())
	return nil
}

func (c *Controller) deletePods(ctx context.Context, j *batchv1.Job, pods []*corev1.Pod) error {
	return controller.DeletePods(ctx, c.cs, c.cfg.Recorder, c.exp, j, pods)
}

func setCondition(st *batchv1.JobStatus, t, reason, message string, now time.Time) {
	ts := timestamppb.New(now)
	if c := condition(st, t); c != nil {
		c.Status, c.Reason, c.Message, c.LastProbeTime, c.LastTransitionTime = "True", reason, message, ts, ts
		return
	}
	st.Conditions = append(st.Conditions, &batchv1.JobCondition{Type: t, Status: "True", Reason: reason, Message: message,
		LastProbeTime: ts, LastTransitionTime: ts})
}

func cloneConditions(in []*batchv1.JobCondition) []*batchv1.JobCondition {
	out := make([]*batchv1.JobCondition, 0, len(in))
	for _, c := range in {
		out = append(out, proto.Clone(c).(*batchv1.JobCondition))
	}
	return out
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
