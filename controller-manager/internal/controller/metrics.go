package controller

import (
	"github.com/prometheus/client_golang/prometheus"

	"skiff.dev/proto/workqueue"
)

// PrometheusMetrics exports work queue metrics as Kubernetes' controllers
// do (workqueue_depth, workqueue_adds_total, ...), labelled by queue name.
type PrometheusMetrics struct {
	depth    *prometheus.GaugeVec
	adds     *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
}

var _ workqueue.MetricsProvider = (*PrometheusMetrics)(nil)

// NewPrometheusMetrics registers the work queue metrics with reg.
func NewPrometheusMetrics(reg prometheus.Registerer) *PrometheusMetrics {
	buckets := prometheus.ExponentialBuckets(1e-5, 10, 8) // 10µs .. 100s
	m := &PrometheusMetrics{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "workqueue_depth",
			Help: "Keys waiting in the queue."}, []string{"name"}),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "workqueue_adds_total",
			Help: "Keys added to the queue."}, []string{"name"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "workqueue_queue_duration_seconds",
			Help: "How long a key waits in the queue before a worker takes it.", Buckets: buckets}, []string{"name"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "workqueue_work_duration_seconds",
			Help: "How long reconciling a key takes.", Buckets: buckets}, []string{"name"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "workqueue_retries_total",
			Help: "Keys requeued with back-off after an error."}, []string{"name"}),
	}
	reg.MustRegister(m.depth, m.adds, m.latency, m.duration, m.retries)
	return m
}

// NewDepthMetric implements workqueue.MetricsProvider.
func (m *PrometheusMetrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return m.depth.WithLabelValues(name)
}

// NewAddsMetric implements workqueue.MetricsProvider.
func (m *PrometheusMetrics) NewAddsMetric(name string) workqueue.CounterMetric {
	return m.adds.WithLabelValues(name)
}

// NewLatencyMetric implements workqueue.MetricsProvider.
func (m *PrometheusMetrics) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return m.latency.WithLabelValues(name)
}

// NewWorkDurationMetric implements workqueue.MetricsProvider.
func (m *PrometheusMetrics) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return m.duration.WithLabelValues(name)
}

// NewRetriesMetric implements workqueue.MetricsProvider.
func (m *PrometheusMetrics) NewRetriesMetric(name string) workqueue.CounterMetric {
	return m.retries.WithLabelValues(name)
}
