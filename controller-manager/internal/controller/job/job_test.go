package job

import (
	"testing"
	"time"

	batchv1 "skiff.dev/proto/batch/v1"
)

func TestComplete(t *testing.T) {
	three := int32(3)
	tests := []struct {
		name              string
		completions       *int32
		succeeded, active int32
		want              bool
	}{
		{"fewer than completions", &three, 2, 1, false},
		{"completions reached", &three, 3, 0, true},
		{"completions reached, extras still active", &three, 3, 1, true},
		{"work queue: none succeeded", nil, 0, 2, false},
		{"work queue: one succeeded, others still running", nil, 1, 1, false},
		{"work queue: one succeeded, none running", nil, 1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := complete(&batchv1.JobSpec{Completions: tt.completions}, tt.succeeded, tt.active); got != tt.want {
				t.Errorf("complete = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	c := &Controller{cfg: Config{BackoffBase: 10 * time.Second, BackoffMax: 40 * time.Second}, failures: map[string]failureSeen{}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		failed int32
		at     time.Duration
		want   time.Duration
	}{
		{0, 0, 0},
		{1, 0, 10 * time.Second},                // first failure: the base
		{1, 4 * time.Second, 6 * time.Second},   // counted from when it was seen
		{1, 12 * time.Second, 0},                // waited out
		{2, 12 * time.Second, 20 * time.Second}, // doubled
		{3, 40 * time.Second, 40 * time.Second},
		{5, 100 * time.Second, 40 * time.Second}, // capped at BackoffMax
	}
	for _, s := range steps {
		if got := c.backoff("ns/j", s.failed, t0.Add(s.at)); got != s.want {
			t.Errorf("backoff(failed=%d, at +%v) = %v, want %v", s.failed, s.at, got, s.want)
		}
	}
}
