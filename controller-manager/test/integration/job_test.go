package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/controller-manager/internal/controller/job"
	batchv1 "skiff.dev/proto/batch/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

func startJobs(e *env) {
	e.start("job", func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable {
		return job.New(lg, cs, f, job.Config{Common: controller.Common{Workers: 2, Recorder: rec}, BackoffBase: 100 * time.Millisecond})
	})
}

func newJob(name string, completions, parallelism, backoffLimit int32) *batchv1.Job {
	return &batchv1.Job{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &batchv1.JobSpec{Completions: &completions, Parallelism: &parallelism, BackoffLimit: &backoffLimit,
			Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{RestartPolicy: "Never",
				Containers: []*corev1.Container{{Name: "work", Image: "busybox", Command: []string{"true"}}}}}},
	}
}

// finishRunning plays the kubelet's last word for the job's running pods:
// each ends Succeeded or Failed; it returns how many are running.
func (e *env) finishRunning(jobName, phase string) int {
	running := 0
	for _, p := range e.pods("job-name=" + jobName) {
		if p.GetStatus().GetPhase() != "Running" || p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		running++
		next := controller.Clone(p)
		next.Status.Phase = phase
		next.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: "False"}}
		_, _ = e.cs.CoreV1().Pods(e.ns).UpdateStatus(e.ctx, next)
	}
	return running
}

func jobCondition(j *batchv1.Job, t string) *batchv1.JobCondition {
	for _, c := range j.GetStatus().GetConditions() {
		if c.GetType() == t && c.GetStatus() == "True" {
			return c
		}
	}
	return nil
}

// TestJobRunsToCompletion: 3 completions, 2 at a time; the pods are owned
// and labelled, and the status and events are Kubernetes'.
func TestJobRunsToCompletion(t *testing.T) {
	e := newEnv(t)
	startJobs(e)
	e.startNodes(nil, "node-a")
	j, err := e.cs.BatchV1().Jobs(e.ns).Create(e.ctx, newJob("pi", 3, 2, 6))
	if err != nil {
		t.Fatal(err)
	}
	var over []string
	e.eventually("job complete", func() (bool, string) {
		active := 0
		for _, p := range e.pods("job-name=pi") {
			if controller.IsPodActive(p) {
				active++
			}
		}
		if active > 2 {
			over = append(over, fmt.Sprint(active))
		}
		e.finishRunning("pi", "Succeeded")
		got, err := e.cs.BatchV1().Jobs(e.ns).Get(e.ctx, "pi")
		return err == nil && jobCondition(got, "Complete") != nil, fmt.Sprint(got.GetStatus(), err)
	})
	if len(over) > 0 {
		t.Errorf("more pods active than parallelism 2: %v", over)
	}
	got, err := e.cs.BatchV1().Jobs(e.ns).Get(e.ctx, "pi")
	if err != nil {
		t.Fatal(err)
	}
	s := got.GetStatus()
	if s.GetSucceeded() != 3 || s.GetActive() != 0 || s.GetFailed() != 0 || s.GetStartTime() == nil || s.GetCompletionTime() == nil {
		t.Errorf("status %v: want succeeded 3, active 0, failed 0, startTime and completionTime", s)
	}
	pods := e.pods("job-name=pi")
	if len(pods) != 3 {
		t.Errorf("%d pods, want 3", len(pods))
	}
	for _, p := range pods {
		l := p.GetMetadata().GetLabels()
		if !controller.IsControlledBy(p.GetMetadata(), j.GetMetadata().GetUid()) || l["controller-uid"] != j.GetMetadata().GetUid() || l["batch.kubernetes.io/job-name"] != "pi" {
			t.Errorf("pod %s: owners %v, labels %v", p.GetMetadata().GetName(), p.GetMetadata().GetOwnerReferences(), l)
		}
	}
	evs := e.events("Job", "pi")
	if countPrefix(evs, "SuccessfulCreate Created pod: pi-") != 3 || countPrefix(evs, "Completed Job completed") != 1 {
		t.Errorf("events %q: want 3 SuccessfulCreate and Completed", evs)
	}
}

// TestJobBackoffLimit: pods that keep failing are re-created until more
// than backoffLimit failed, then the Job fails with BackoffLimitExceeded.
func TestJobBackoffLimit(t *testing.T) {
	e := newEnv(t)
	startJobs(e)
	e.startNodes(nil, "node-a")
	if _, err := e.cs.BatchV1().Jobs(e.ns).Create(e.ctx, newJob("flaky", 1, 1, 2)); err != nil {
		t.Fatal(err)
	}
	e.eventually("job failed", func() (bool, string) {
		e.finishRunning("flaky", "Failed")
		got, err := e.cs.BatchV1().Jobs(e.ns).Get(e.ctx, "flaky")
		return err == nil && jobCondition(got, "Failed") != nil, fmt.Sprint(got.GetStatus(), err)
	})
	got, err := e.cs.BatchV1().Jobs(e.ns).Get(e.ctx, "flaky")
	if err != nil {
		t.Fatal(err)
	}
	c := jobCondition(got, "Failed")
	if c.GetReason() != "BackoffLimitExceeded" || got.GetStatus().GetFailed() != 3 || got.GetStatus().GetActive() != 0 || got.GetStatus().GetSucceeded() != 0 {
		t.Errorf("status %v: want Failed/BackoffLimitExceeded after 3 failures (backoffLimit 2)", got.GetStatus())
	}
	if evs := strings.Join(e.events("Job", "flaky"), "\n"); !strings.Contains(evs, "BackoffLimitExceeded Job has reached the specified backoff limit") {
		t.Errorf("events lack BackoffLimitExceeded:\n%s", evs)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(e.pods("job-name=flaky")); n != 3 {
		t.Errorf("%d pods after the job failed, want the 3 failed ones", n)
	}
}

// TestJobActiveDeadline: a Job running longer than activeDeadlineSeconds
// fails with DeadlineExceeded and its active pods are deleted.
func TestJobActiveDeadline(t *testing.T) {
	e := newEnv(t)
	startJobs(e)
	e.startNodes(nil, "node-a")
	j := newJob("slow", 1, 2, 6)
	j.Spec.ActiveDeadlineSeconds = new(int32(2))
	if _, err := e.cs.BatchV1().Jobs(e.ns).Create(e.ctx, j); err != nil {
		t.Fatal(err)
	}
	e.eventually("job failed by its deadline, its pods deleted", func() (bool, string) {
		got, err := e.cs.BatchV1().Jobs(e.ns).Get(e.ctx, "slow")
		active := 0
		for _, p := range e.pods("job-name=slow") {
			if controller.IsPodActive(p) {
				active++
			}
		}
		c := jobCondition(got, "Failed")
		return err == nil && c.GetReason() == "DeadlineExceeded" && active == 0 && got.GetStatus().GetActive() == 0,
			fmt.Sprintf("%v, %d active pods, %v", got.GetStatus(), active, err)
	})
	if evs := strings.Join(e.events("Job", "slow"), "\n"); !strings.Contains(evs, "DeadlineExceeded Job was active longer than specified deadline") ||
		!strings.Contains(evs, "SuccessfulDelete Deleted pod: slow-") {
		t.Errorf("events lack DeadlineExceeded and SuccessfulDelete:\n%s", evs)
	}
}
