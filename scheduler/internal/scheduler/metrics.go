package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"skiff.dev/scheduler/internal/queue"
)

// Metrics are the scheduler's Prometheus metrics. A nil *Metrics measures
// nothing.
type Metrics struct {
	reg      prometheus.Registerer
	attempts *prometheus.CounterVec
	attemptD *prometheus.HistogramVec
	e2e      prometheus.Histogram
	bindErrs prometheus.Counter
}

// NewMetrics registers the scheduler's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "skiff", Subsystem: "scheduler", Name: "schedule_attempts_total",
			Help: "Scheduling attempts by result: scheduled, unschedulable or error.",
		}, []string{"result"}),
		attemptD: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "skiff", Subsystem: "scheduler", Name: "scheduling_attempt_duration_seconds",
			Help:    "Time of one scheduling cycle (filter, score, assume), by result.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"result"}),
		e2e: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "skiff", Subsystem: "scheduler", Name: "e2e_scheduling_duration_seconds",
			Help:    "Time from a pod entering the scheduling queue to its binding, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18),
		}),
		bindErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "skiff", Subsystem: "scheduler", Name: "binding_errors_total",
			Help: "Bindings the apiserver rejected or that failed.",
		}),
	}
	for _, r := range []string{"scheduled", "unschedulable", "error"} {
		m.attempts.WithLabelValues(r)
	}
	reg.MustRegister(m.attempts, m.attemptD, m.e2e, m.bindErrs)
	return m
}

// watchQueue exports the queue's pending pods as a gauge.
func (m *Metrics) watchQueue(q *queue.Queue) {
	desc := prometheus.NewDesc("skiff_scheduler_pending_pods",
		"Pods waiting to be scheduled, by queue: active, backoff or unschedulable.", []string{"queue"}, nil)
	m.reg.MustRegister(pendingCollector{desc: desc, q: q})
}

type pendingCollector struct {
	desc *prometheus.Desc
	q    *queue.Queue
}

func (c pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c pendingCollector) Collect(ch chan<- prometheus.Metric) {
	for name, n := range c.q.Pending() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), name)
	}
}

func (m *Metrics) attempt(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(result).Inc()
	m.attemptD.WithLabelValues(result).Observe(d.Seconds())
}

func (m *Metrics) bound(e2e time.Duration) {
	if m != nil {
		m.e2e.Observe(e2e.Seconds())
	}
}

func (m *Metrics) bindError() {
	if m != nil {
		m.bindErrs.Inc()
	}
}
