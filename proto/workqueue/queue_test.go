package workqueue_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"skiff.dev/proto/workqueue"
)

// getAll takes every key waiting in q, in order, marking each Done.
func getAll(t *testing.T, q workqueue.Interface) []string {
	t.Helper()
	var keys []string
	for q.Len() > 0 {
		k, shutdown := q.Get()
		if shutdown {
			t.Fatalf("Get: shutdown with %d keys queued", q.Len())
		}
		keys = append(keys, k)
		q.Done(k)
	}
	return keys
}

func TestAddDeduplicatesWaitingKeys(t *testing.T) {
	tests := []struct {
		name string
		adds []string
		want []string
	}{
		{"one", []string{"a"}, []string{"a"}},
		{"fifo", []string{"a", "b", "c"}, []string{"a", "b", "c"}},
		{"duplicates collapse in first position", []string{"a", "b", "a", "c", "b", "a"}, []string{"a", "b", "c"}},
		{"same key many times", []string{"x", "x", "x", "x"}, []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := workqueue.New(tt.name)
			defer q.ShutDown()
			for _, k := range tt.adds {
				q.Add(k)
			}
			if got := q.Len(); got != len(tt.want) {
				t.Errorf("Len() = %d, want %d", got, len(tt.want))
			}
			if got := getAll(t, q); !slices.Equal(got, tt.want) {
				t.Errorf("Get order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAddWhileProcessingRequeuesAfterDone(t *testing.T) {
	q := workqueue.New("t")
	defer q.ShutDown()

	q.Add("a")
	key, _ := q.Get()
	if key != "a" {
		t.Fatalf("Get() = %q, want a", key)
	}

	// Added twice while a worker holds it: not handed out, not duplicated.
	q.Add("a")
	q.Add("a")
	q.Add("b")
	if got := q.Len(); got != 1 {
		t.Fatalf("Len() while a is processed = %d, want 1 (only b)", got)
	}
	if k, _ := q.Get(); k != "b" {
		t.Fatalf("Get() = %q, want b: a must not be handed out while processed", k)
	}
	q.Done("b")

	q.Done("a")
	if got := q.Len(); got != 1 {
		t.Fatalf("Len() after Done(a) = %d, want 1: a was dirty", got)
	}
	if k, _ := q.Get(); k != "a" {
		t.Fatalf("Get() = %q, want a again", k)
	}
	q.Done("a")
	if got := q.Len(); got != 0 {
		t.Fatalf("Len() after second Done(a) = %d, want 0", got)
	}
}

// TestNoKeyToTwoWorkers runs many workers and adders on few keys and checks
// that no key is ever processed twice at once, and that every Add is
// followed by a processing of that key that started after it.
func TestNoKeyToTwoWorkers(t *testing.T) {
	const (
		workers      = 8
		adders       = 4
		addsPerAdder = 3000
		numKeys      = 10
	)
	q := workqueue.New("stress")

	var (
		active    [numKeys]atomic.Int32 // workers processing key i now
		addSeq    [numKeys]atomic.Int64 // bumped before every Add of key i
		seenMu    sync.Mutex
		seenAtGet [numKeys]int64 // max addSeq observed right after a Get of key i
		overlaps  atomic.Int32
		processed atomic.Int64
	)
	keyIndex := func(k string) int {
		var i int
		fmt.Sscanf(k, "key-%d", &i)
		return i
	}

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				k, shutdown := q.Get()
				if shutdown {
					return
				}
				i := keyIndex(k)
				seq := addSeq[i].Load()
				if active[i].Add(1) != 1 {
					overlaps.Add(1)
				}
				seenMu.Lock()
				seenAtGet[i] = max(seenAtGet[i], seq)
				seenMu.Unlock()
				runtime.Gosched() // widen the window for an overlap
				active[i].Add(-1)
				processed.Add(1)
				q.Done(k)
			}
		})
	}

	var addWG sync.WaitGroup
	for a := range adders {
		addWG.Go(func() {
			r := rand.New(rand.NewPCG(uint64(a), 7))
			for range addsPerAdder {
				i := r.IntN(numKeys)
				addSeq[i].Add(1)
				q.Add(fmt.Sprintf("key-%d", i))
				if r.IntN(4) == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	addWG.Wait()
	q.ShutDownWithDrain()
	wg.Wait()

	if n := overlaps.Load(); n != 0 {
		t.Errorf("a key was handed to two workers at once %d times", n)
	}
	for i := range numKeys {
		if last := addSeq[i].Load(); last > 0 && seenAtGet[i] != last {
			t.Errorf("key-%d: last Add was #%d but the last processing started after Add #%d: an Add was lost", i, last, seenAtGet[i])
		}
	}
	if processed.Load() == 0 {
		t.Fatal("nothing was processed")
	}
	t.Logf("%d adds, %d processings", adders*addsPerAdder, processed.Load())
}

func TestShutDownHandsOutQueuedKeysThenStops(t *testing.T) {
	q := workqueue.New("t")
	q.Add("a")
	q.Add("b")
	q.ShutDown()

	if !q.ShuttingDown() {
		t.Error("ShuttingDown() = false after ShutDown")
	}
	q.Add("c") // ignored
	q.AddAfter("d", 0)
	q.AddRateLimited("e")

	var got []string
	for {
		k, shutdown := q.Get()
		if shutdown {
			break
		}
		got = append(got, k)
		q.Done(k)
	}
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("keys after ShutDown = %v, want %v", got, want)
	}
	if k, shutdown := q.Get(); !shutdown || k != "" {
		t.Errorf("Get() on a drained shut-down queue = (%q, %v), want (\"\", true)", k, shutdown)
	}
}

func TestShutDownWakesBlockedWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := workqueue.New("t")
		var stopped atomic.Int32
		for range 3 {
			go func() {
				if _, shutdown := q.Get(); shutdown {
					stopped.Add(1)
				}
			}()
		}
		synctest.Wait() // all three blocked in Get
		q.ShutDown()
		synctest.Wait()
		if n := stopped.Load(); n != 3 {
			t.Errorf("%d of 3 blocked workers saw shutdown", n)
		}
	})
}

func TestShutDownWithDrainWaitsForDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := workqueue.New("t")
		q.Add("a")
		q.Add("b")
		a, _ := q.Get()
		q.Add("a") // dirty: must still be handed out during the drain

		var drained atomic.Bool
		go func() {
			q.ShutDownWithDrain()
			drained.Store(true)
		}()
		synctest.Wait()
		if drained.Load() {
			t.Fatal("ShutDownWithDrain returned while a was being processed")
		}
		if !q.ShuttingDown() {
			t.Fatal("ShuttingDown() = false during the drain")
		}

		q.Done(a)
		var rest []string
		for {
			k, shutdown := q.Get()
			if shutdown {
				break
			}
			rest = append(rest, k)
			q.Done(k)
		}
		synctest.Wait()
		if !drained.Load() {
			t.Error("ShutDownWithDrain did not return after every key was Done")
		}
		if want := []string{"b", "a"}; !slices.Equal(rest, want) {
			t.Errorf("keys handed out during the drain = %v, want %v", rest, want)
		}
	})
}

func TestShutDownEndsDrainWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := workqueue.New("t")
		q.Add("a")
		q.Get()
		var drained atomic.Bool
		go func() {
			q.ShutDownWithDrain()
			drained.Store(true)
		}()
		synctest.Wait()
		q.ShutDown()
		synctest.Wait()
		if !drained.Load() {
			t.Error("ShutDown did not end a ShutDownWithDrain wait")
		}
	})
}

// TestNoGoroutineLeft relies on synctest.Test failing when a goroutine the
// queue started is still blocked after the test function returns.
func TestNoGoroutineLeft(t *testing.T) {
	tests := []struct {
		name string
		stop func(q *workqueue.Queue)
	}{
		{"ShutDown", func(q *workqueue.Queue) { q.ShutDown() }},
		{"ShutDownWithDrain", func(q *workqueue.Queue) { q.ShutDownWithDrain() }},
		{"ShutDown twice", func(q *workqueue.Queue) { q.ShutDown(); q.ShutDownWithDrain() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := workqueue.NewWithConfig(workqueue.Config{Name: "t", Clock: newFakeClock()})
				q.AddAfter("later", time.Hour)
				q.AddRateLimited("retry")
				q.Add("now")
				var wg sync.WaitGroup
				for range 2 {
					wg.Go(func() {
						for {
							k, shutdown := q.Get()
							if shutdown {
								return
							}
							q.Done(k)
						}
					})
				}
				tt.stop(q)
				wg.Wait()
			})
		})
	}
}

func TestAddAfterHandsOutInReadyOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		q := workqueue.NewWithConfig(workqueue.Config{Name: "t", Clock: clk})
		defer q.ShutDown()

		q.AddAfter("c", 3*time.Second)
		q.AddAfter("a", 1*time.Second)
		q.AddAfter("b", 2*time.Second)
		q.AddAfter("now", 0)
		q.AddAfter("neg", -time.Second)
		q.AddAfter("b", 5*time.Second)         // later again: keeps 2s
		q.AddAfter("e", 10*time.Second)        //
		q.AddAfter("e", 1500*time.Millisecond) // earlier: moves to 1.5s
		synctest.Wait()

		steps := []struct {
			step time.Duration
			want []string
		}{
			{0, []string{"now", "neg"}},
			{999 * time.Millisecond, nil},
			{time.Millisecond, []string{"a"}},
			{500 * time.Millisecond, []string{"e"}},
			{500 * time.Millisecond, []string{"b"}},
			{5 * time.Second, []string{"c"}},
			{time.Hour, nil},
		}
		for i, s := range steps {
			clk.Step(s.step)
			synctest.Wait()
			if got := getAll(t, q); !slices.Equal(got, s.want) {
				t.Errorf("step %d (+%v): got %v, want %v", i, s.step, got, s.want)
			}
		}
	})
}

func TestAddAfterAllDueAtOnceComeOutInReadyOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		q := workqueue.NewWithConfig(workqueue.Config{Name: "t", Clock: clk})
		defer q.ShutDown()
		var want []string
		for i := 20; i > 0; i-- {
			q.AddAfter(fmt.Sprintf("k%02d", i), time.Duration(i)*time.Second)
		}
		for i := 1; i <= 20; i++ {
			want = append(want, fmt.Sprintf("k%02d", i))
		}
		synctest.Wait()
		clk.Step(time.Minute)
		synctest.Wait()
		if got := getAll(t, q); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestShutDownDropsDelayedKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		q := workqueue.NewWithConfig(workqueue.Config{Name: "t", Clock: clk})
		q.AddAfter("a", time.Second)
		synctest.Wait()
		q.ShutDown()
		clk.Step(time.Minute)
		synctest.Wait()
		if k, shutdown := q.Get(); !shutdown {
			t.Errorf("Get() = %q after ShutDown: a delayed key was added after shutdown", k)
		}
	})
}
