package controller

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"skiff.dev/proto/workqueue"
)

func TestControllerRetriesErrorsAndPanics(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan string, 10)
	var synced atomic.Bool
	c := New(zaptest.NewLogger(t), Options{
		Name:        "test",
		Workers:     2,
		HasSynced:   []func() bool{synced.Load},
		RateLimiter: workqueue.NewItemExponentialFailureRateLimiter(time.Millisecond, 10*time.Millisecond),
		Reconcile: func(_ context.Context, key string) (Result, error) {
			mu.Lock()
			calls[key]++
			n := calls[key]
			mu.Unlock()
			switch {
			case key == "ns/panics" && n == 1:
				panic("boom")
			case key == "ns/fails" && n < 3:
				return Result{}, errors.New("transient")
			case key == "ns/requeue" && n == 1:
				return Result{RequeueAfter: 5 * time.Millisecond}, nil
			}
			done <- key
			return Result{}, nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan bool)
	go func() { stopped <- c.Run(ctx) }()
	for _, k := range []string{"ns/panics", "ns/fails", "ns/requeue", "ns/ok"} {
		c.EnqueueKey(k)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	if len(calls) != 0 {
		t.Errorf("reconciled %v before the caches synced", calls)
	}
	mu.Unlock()
	synced.Store(true)
	got := map[string]bool{}
	for len(got) < 4 {
		select {
		case k := <-done:
			got[k] = true
		case <-time.After(30 * time.Second):
			t.Fatalf("only %v finished", got)
		}
	}
	cancel()
	if !<-stopped {
		t.Error("Run() = false after the caches synced")
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"ns/panics": 2, "ns/fails": 3, "ns/requeue": 2, "ns/ok": 1}
	for k, n := range want {
		if calls[k] != n {
			t.Errorf("%s reconciled %d times, want %d", k, calls[k], n)
		}
	}
	if c.Queue.NumRequeues("ns/fails") != 0 {
		t.Errorf("ns/fails still has %d requeues after success, want it forgotten", c.Queue.NumRequeues("ns/fails"))
	}
}

func TestControllerDropsKeyAfterMaxRetries(t *testing.T) {
	var calls atomic.Int32
	c := New(zaptest.NewLogger(t), Options{
		Name:        "test",
		MaxRetries:  3,
		RateLimiter: workqueue.NewItemExponentialFailureRateLimiter(time.Millisecond, time.Millisecond),
		Reconcile: func(context.Context, string) (Result, error) {
			calls.Add(1)
			return Result{}, errors.New("permanent")
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan bool)
	go func() { stopped <- c.Run(ctx) }()
	defer func() { cancel(); <-stopped }()
	c.EnqueueKey("ns/x")
	deadline := time.Now().Add(30 * time.Second)
	for calls.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := calls.Load(); n != 4 {
		t.Errorf("reconciled %d times, want 4 (first try and 3 retries)", n)
	}
}
