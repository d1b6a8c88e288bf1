package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/proto/batch/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func jobTemplate() *corev1.PodTemplateSpec {
	t := validTemplate()
	t.Spec.RestartPolicy = "OnFailure"
	return t
}

func validJob() *batchv1.Job {
	return &batchv1.Job{
		Metadata: &metav1.ObjectMeta{Name: "pi", Namespace: "default"},
		Spec:     &batchv1.JobSpec{Selector: webSelector(), Template: jobTemplate(), ManualSelector: new(true)},
	}
}

func TestDefaultJob(t *testing.T) {
	j := &batchv1.Job{Metadata: &metav1.ObjectMeta{Name: "pi"}, Spec: &batchv1.JobSpec{Template: validTemplate()}}
	DefaultJob(j)
	s := j.Spec
	checks := []struct {
		what      string
		got, want any
	}{
		{"parallelism", s.GetParallelism(), int32(1)},
		{"completions", s.GetCompletions(), int32(1)},
		{"backoffLimit", s.GetBackoffLimit(), int32(6)},
		{"completionMode", s.CompletionMode, "NonIndexed"},
		{"suspend set", s.Suspend != nil, true},
		{"labels from template", j.Metadata.Labels["tier"], "front"},
		{"template restartPolicy kept empty", s.Template.Spec.RestartPolicy, ""},
		{"template dnsPolicy", s.Template.Spec.DnsPolicy, "ClusterFirst"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	expectIdempotent(t, j, DefaultJob)
	expectIdempotent(t, validJob(), DefaultJob)
	expectIdempotent(t, &batchv1.Job{}, DefaultJob)

	// A work queue: parallelism given, completions stays unset.
	wq := &batchv1.Job{Spec: &batchv1.JobSpec{Parallelism: new(int32(5))}}
	DefaultJob(wq)
	if wq.Spec.Completions != nil || wq.Spec.GetParallelism() != 5 {
		t.Errorf("work queue job: completions=%v parallelism=%d, want unset and 5", wq.Spec.Completions, wq.Spec.GetParallelism())
	}
	// Own labels are kept.
	own := validJob()
	own.Metadata.Labels = map[string]string{"team": "a"}
	DefaultJob(own)
	if len(own.Metadata.Labels) != 1 {
		t.Errorf("job labels = %v, want only its own", own.Metadata.Labels)
	}
}

func TestGenerateJobSelector(t *testing.T) {
	j := &batchv1.Job{Metadata: &metav1.ObjectMeta{Name: "pi", Namespace: "default", Uid: "6f1e"}, Spec: &batchv1.JobSpec{Template: jobTemplate()}}
	GenerateJobSelector(j)
	DefaultJob(j)
	if got := j.Spec.Selector.GetMatchLabels()["batch.kubernetes.io/controller-uid"]; got != "6f1e" {
		t.Errorf("selector controller-uid = %q, want the job's uid", got)
	}
	for _, k := range []string{"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"} {
		if j.Spec.Template.Metadata.Labels[k] == "" {
			t.Errorf("template has no %s label: %v", k, j.Spec.Template.Metadata.Labels)
		}
	}
	expectErrors(t, ValidateJob(j))

	manual := validJob()
	before := proto.Clone(manual)
	GenerateJobSelector(manual)
	if !proto.Equal(before, manual) {
		t.Errorf("manualSelector job changed: %v", manual)
	}
}

func TestValidateJob(t *testing.T) {
	runWorkloadCases(t, func(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) []string {
		j := validJob()
		if tmpl != nil {
			tmpl.Spec.RestartPolicy = "Never"
		}
		j.Spec.Selector, j.Spec.Template = sel, tmpl
		j.Metadata.Labels = map[string]string{"app": "pi"} // not copied from a bad template
		DefaultJob(j)
		return errStrings(ValidateJob(j))
	})
	tests := []struct {
		name   string
		mutate func(j *batchv1.Job)
		want   []string
	}{
		{"valid", func(j *batchv1.Job) {}, nil},
		{"indexed", func(j *batchv1.Job) { j.Spec.CompletionMode, j.Spec.Completions = "Indexed", new(int32(5)) }, nil},
		{"restartPolicy Never", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "Never" }, nil},
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "Always" },
			[]string{"spec.template.spec.restartPolicy" + notSupported}},
		{"no restartPolicy", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" },
			[]string{"spec.template.spec.restartPolicy" + required}},
		{"negative parallelism", func(j *batchv1.Job) { j.Spec.Parallelism = new(int32(-1)) }, []string{"spec.parallelism" + invalid}},
		{"negative completions", func(j *batchv1.Job) { j.Spec.Completions = new(int32(-1)) }, []string{"spec.completions" + invalid}},
		{"negative backoffLimit", func(j *batchv1.Job) { j.Spec.BackoffLimit = new(int32(-1)) }, []string{"spec.backoffLimit" + invalid}},
		{"negative activeDeadlineSeconds", func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = new(int32(-1)) },
			[]string{"spec.activeDeadlineSeconds" + invalid}},
		{"negative ttl", func(j *batchv1.Job) { j.Spec.TtlSecondsAfterFinished = new(int32(-1)) }, []string{"spec.ttlSecondsAfterFinished" + invalid}},
		{"bad completion mode", func(j *batchv1.Job) { j.Spec.CompletionMode = "Ordered" }, []string{"spec.completionMode" + notSupported}},
		{"indexed without completions", func(j *batchv1.Job) { j.Spec.CompletionMode, j.Spec.Completions = "Indexed", nil },
			[]string{"spec.completions" + required}},
		{"no spec", func(j *batchv1.Job) { j.Spec = nil }, []string{"spec" + required}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := validJob()
			DefaultJob(j)
			tt.mutate(j)
			expectErrors(t, ValidateJob(j), tt.want...)
		})
	}
}

func TestValidateJobUpdate(t *testing.T) {
	old := validJob()
	DefaultJob(old)
	tests := []struct {
		name   string
		mutate func(j *batchv1.Job)
		want   []string
		detail string
	}{
		{"parallelism", func(j *batchv1.Job) { j.Spec.Parallelism = new(int32(4)) }, nil, ""},
		{"suspend", func(j *batchv1.Job) { j.Spec.Suspend = new(true) }, nil, ""},
		{"deadline", func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = new(int32(100)) }, nil, ""},
		{"template", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5.40" }, []string{"spec.template" + invalid},
			`spec.template: Invalid value: "spec.template.spec.containers[0].image": field is immutable`},
		{"selector", func(j *batchv1.Job) { j.Spec.Selector.MatchExpressions = nil }, []string{"spec.selector" + invalid}, "field is immutable"},
		{"completions", func(j *batchv1.Job) { j.Spec.Completions = new(int32(3)) }, []string{"spec.completions" + invalid}, "field is immutable"},
		{"completion mode", func(j *batchv1.Job) { j.Spec.CompletionMode = "Indexed" }, []string{"spec.completionMode" + invalid}, "field is immutable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newObj := proto.Clone(old).(*batchv1.Job)
			tt.mutate(newObj)
			errs := ValidateJobUpdate(newObj, old)
			expectErrors(t, errs, tt.want...)
			if tt.detail != "" {
				expectDetail(t, errs, tt.want[0][:len(tt.want[0])-len(invalid)], tt.detail)
			}
		})
	}

	t.Run("status", func(t *testing.T) {
		newObj := proto.Clone(old).(*batchv1.Job)
		newObj.Status = &batchv1.JobStatus{Active: 1, Succeeded: 2, Conditions: []*batchv1.JobCondition{{Type: "Complete", Status: "True"}}}
		expectErrors(t, ValidateJobStatusUpdate(newObj, old))
		newObj.Status = &batchv1.JobStatus{Failed: -1, Conditions: []*batchv1.JobCondition{{Type: "Failed", Status: "Maybe"}}}
		expectErrors(t, ValidateJobStatusUpdate(newObj, old), "status.failed"+invalid, "status.conditions[0].status"+notSupported)
	})
}
