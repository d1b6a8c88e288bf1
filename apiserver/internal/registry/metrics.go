package registry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"skiff.dev/apiserver/internal/apierrors"
)

// Metrics are the apiserver's request metrics, named as Kubernetes'.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the request metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Requests by verb, resource and result reason.",
		}, []string{"verb", "resource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Request latency by verb and resource (watches: stream lifetime).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb", "resource"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency)
	}
	return m
}

func (r *Resource[T, L, EV, R]) observe(verb string, start time.Time, err *error) {
	m := r.deps.Metrics
	if m == nil {
		return
	}
	code := "OK"
	if *err != nil {
		code = apierrors.ReasonOf(*err)
	}
	m.requests.WithLabelValues(verb, r.Resource, code).Inc()
	m.latency.WithLabelValues(verb, r.Resource).Observe(time.Since(start).Seconds())
}
