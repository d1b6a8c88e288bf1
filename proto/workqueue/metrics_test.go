package workqueue_test

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"skiff.dev/proto/workqueue"
)

// recorder is a MetricsProvider that keeps what it was told.
type recorder struct {
	mu           sync.Mutex
	name         string
	depth        int
	adds         int
	retries      int
	latency      []float64
	workDuration []float64
}

type recGauge struct{ r *recorder }

func (g recGauge) Inc() { g.r.mu.Lock(); g.r.depth++; g.r.mu.Unlock() }
func (g recGauge) Dec() { g.r.mu.Lock(); g.r.depth--; g.r.mu.Unlock() }

type recCounter struct {
	n *int
	r *recorder
}

func (c recCounter) Inc() { c.r.mu.Lock(); *c.n++; c.r.mu.Unlock() }

type recHist struct {
	s *[]float64
	r *recorder
}

func (h recHist) Observe(v float64) { h.r.mu.Lock(); *h.s = append(*h.s, v); h.r.mu.Unlock() }

func (r *recorder) NewDepthMetric(name string) workqueue.GaugeMetric {
	r.name = name
	return recGauge{r}
}
func (r *recorder) NewAddsMetric(string) workqueue.CounterMetric { return recCounter{&r.adds, r} }
func (r *recorder) NewLatencyMetric(string) workqueue.HistogramMetric {
	return recHist{&r.latency, r}
}
func (r *recorder) NewWorkDurationMetric(string) workqueue.HistogramMetric {
	return recHist{&r.workDuration, r}
}
func (r *recorder) NewRetriesMetric(string) workqueue.CounterMetric { return recCounter{&r.retries, r} }

func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		rec := &recorder{}
		q := workqueue.NewWithConfig(workqueue.Config{Name: "pods", Clock: clk, MetricsProvider: rec})
		defer q.ShutDown()

		q.Add("a")
		q.Add("a") // duplicate: not an add
		q.Add("b")
		if rec.name != "pods" || rec.adds != 2 || rec.depth != 2 {
			t.Errorf("after 3 adds of 2 keys: name %q adds %d depth %d, want pods 2 2", rec.name, rec.adds, rec.depth)
		}

		clk.Step(3 * time.Second)
		k, _ := q.Get()
		clk.Step(2 * time.Second)
		q.Done(k)
		if rec.depth != 1 {
			t.Errorf("depth after one Get = %d, want 1", rec.depth)
		}
		if !slices.Equal(rec.latency, []float64{3}) {
			t.Errorf("latency = %v, want [3] seconds", rec.latency)
		}
		if !slices.Equal(rec.workDuration, []float64{2}) {
			t.Errorf("work duration = %v, want [2] seconds", rec.workDuration)
		}

		q.AddAfter("c", time.Second)
		q.AddRateLimited("d")
		if rec.retries != 2 {
			t.Errorf("retries = %d, want 2", rec.retries)
		}
	})
}
