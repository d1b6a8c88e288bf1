package workqueue_test

import (
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"skiff.dev/proto/workqueue"
)

func TestItemExponentialFailureRateLimiter(t *testing.T) {
	r := workqueue.NewItemExponentialFailureRateLimiter(5*time.Millisecond, time.Second)

	want := []time.Duration{
		5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
		80 * time.Millisecond, 160 * time.Millisecond, 320 * time.Millisecond, 640 * time.Millisecond,
		time.Second, time.Second, // capped
	}
	for i, w := range want {
		if got := r.When("a"); got != w {
			t.Errorf("When(a) #%d = %v, want %v", i+1, got, w)
		}
	}
	if got := r.NumRequeues("a"); got != len(want) {
		t.Errorf("NumRequeues(a) = %d, want %d", got, len(want))
	}
	if got := r.When("b"); got != 5*time.Millisecond {
		t.Errorf("When(b) = %v, want 5ms: keys back off independently", got)
	}

	r.Forget("a")
	if got := r.NumRequeues("a"); got != 0 {
		t.Errorf("NumRequeues(a) after Forget = %d, want 0", got)
	}
	if got := r.When("a"); got != 5*time.Millisecond {
		t.Errorf("When(a) after Forget = %v, want 5ms", got)
	}
	if got := r.NumRequeues("b"); got != 1 {
		t.Errorf("NumRequeues(b) = %d, want 1: Forget(a) must not touch b", got)
	}
}

func TestItemExponentialFailureRateLimiterSaturates(t *testing.T) {
	r := workqueue.NewItemExponentialFailureRateLimiter(workqueue.DefaultBaseDelay, workqueue.DefaultMaxDelay)
	var last time.Duration
	for i := range 200 { // 2^200 overflows any integer
		d := r.When("a")
		if d < last || d <= 0 || d > workqueue.DefaultMaxDelay {
			t.Fatalf("When #%d = %v after %v: want growing up to %v", i+1, d, last, workqueue.DefaultMaxDelay)
		}
		last = d
	}
	if last != workqueue.DefaultMaxDelay {
		t.Errorf("When after 200 failures = %v, want %v", last, workqueue.DefaultMaxDelay)
	}
}

func TestBucketRateLimiter(t *testing.T) {
	clk := newFakeClock()
	r := &workqueue.BucketRateLimiter{Limiter: rate.NewLimiter(10, 3), Clock: clk}
	want := []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond}
	for i, w := range want {
		if got := r.When("any"); got != w {
			t.Errorf("When #%d = %v, want %v", i+1, got, w)
		}
	}
	clk.Step(time.Second) // refills, minus the two tokens borrowed
	if got := r.When("x"); got != 0 {
		t.Errorf("When after refill = %v, want 0", got)
	}
	if got := r.NumRequeues("any"); got != 0 {
		t.Errorf("NumRequeues = %d, want 0: a bucket tracks no key", got)
	}
}

func TestMaxOfRateLimiterTakesLongest(t *testing.T) {
	clk := newFakeClock()
	r := workqueue.NewMaxOfRateLimiter(
		workqueue.NewItemExponentialFailureRateLimiter(workqueue.DefaultBaseDelay, workqueue.DefaultMaxDelay),
		&workqueue.BucketRateLimiter{Limiter: rate.NewLimiter(workqueue.DefaultQPS, workqueue.DefaultBurst), Clock: clk},
	)
	// Within the burst, each new key waits the per-key base delay.
	for i := range workqueue.DefaultBurst {
		if got := r.When(string(rune('A' + i))); got != workqueue.DefaultBaseDelay {
			t.Fatalf("When of new key #%d = %v, want %v", i+1, got, workqueue.DefaultBaseDelay)
		}
	}
	// Past the burst, the bucket dominates: 1/10 s per token.
	if got := r.When("late"); got != 100*time.Millisecond {
		t.Errorf("When past the burst = %v, want 100ms", got)
	}
	// A key failing often is dominated by its own back-off.
	for range 10 {
		r.When("hot")
	}
	if got := r.NumRequeues("hot"); got != 10 {
		t.Errorf("NumRequeues(hot) = %d, want 10", got)
	}
	if got, want := r.When("hot"), workqueue.DefaultBaseDelay<<10; got != want {
		t.Errorf("When(hot) #11 = %v, want %v", got, want)
	}
	r.Forget("hot")
	if got := r.NumRequeues("hot"); got != 0 {
		t.Errorf("NumRequeues(hot) after Forget = %d, want 0", got)
	}
}

func TestQueueAddRateLimitedBacksOffAndForgetResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		q := workqueue.NewWithConfig(workqueue.Config{
			Name:        "t",
			Clock:       clk,
			RateLimiter: workqueue.NewItemExponentialFailureRateLimiter(time.Second, time.Minute),
		})
		defer q.ShutDown()

		// Each failure doubles the wait: 1s, 2s, 4s, 8s.
		for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
			q.AddRateLimited("a")
			if got := q.NumRequeues("a"); got != i+1 {
				t.Fatalf("NumRequeues after %d failures = %d", i+1, got)
			}
			synctest.Wait()
			clk.Step(wait - time.Millisecond)
			synctest.Wait()
			if n := q.Len(); n != 0 {
				t.Fatalf("failure %d: a handed out before its %v back-off", i+1, wait)
			}
			clk.Step(time.Millisecond)
			synctest.Wait()
			if got := getAll(t, q); len(got) != 1 || got[0] != "a" {
				t.Fatalf("failure %d: after %v got %v, want [a]", i+1, wait, got)
			}
		}

		q.Forget("a")
		if got := q.NumRequeues("a"); got != 0 {
			t.Fatalf("NumRequeues after Forget = %d, want 0", got)
		}
		q.AddRateLimited("a")
		synctest.Wait()
		clk.Step(time.Second)
		synctest.Wait()
		if got := q.Len(); got != 1 {
			t.Errorf("after Forget, a was not back after the base delay of 1s")
		}
	})
}
