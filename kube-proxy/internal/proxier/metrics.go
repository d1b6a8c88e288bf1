package proxier

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the proxier's Prometheus metrics, named as kube-proxy's
// under skiff_. A nil *Metrics measures nothing.
type Metrics struct {
	syncDuration *prometheus.HistogramVec
	programming  prometheus.Histogram
	lastSync     prometheus.Gauge
	failures     *prometheus.CounterVec
	ruleCount    *prometheus.GaugeVec
}

// NewMetrics registers the proxier's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "skiff", Subsystem: "kubeproxy", Name: "sync_proxy_rules_duration_seconds",
			Help:    "Time of one sync of the iptables rules (render and iptables-restore), by kind: full or partial.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"kind"}),
		programming: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "skiff", Subsystem: "kubeproxy", Name: "network_programming_duration_seconds",
			Help: "Time from an Endpoints change (its " + triggerAnnotation +
				" annotation, else when the watch delivered it) to the rules for it being applied.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "skiff", Subsystem: "kubeproxy", Name: "sync_proxy_rules_last_timestamp_seconds",
			Help: "When the rules were last synced successfully (unix seconds).",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "skiff", Subsystem: "kubeproxy", Name: "sync_proxy_rules_iptables_restore_failures_total",
			Help: "Syncs that failed, by kind: full or partial.",
		}, []string{"kind"}),
		ruleCount: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "skiff", Subsystem: "kubeproxy", Name: "sync_proxy_rules_iptables_total",
			Help: "Rules skiff-kube-proxy keeps, by table.",
		}, []string{"table"}),
	}
	for _, k := range []string{"full", "partial"} {
		m.syncDuration.WithLabelValues(k)
		m.failures.WithLabelValues(k)
	}
	reg.MustRegister(m.syncDuration, m.programming, m.lastSync, m.failures, m.ruleCount)
	return m
}

func kind(full bool) string {
	if full {
		return "full"
	}
	return "partial"
}

func (m *Metrics) synced(full bool, d time.Duration, at time.Time) {
	if m == nil {
		return
	}
	m.syncDuration.WithLabelValues(kind(full)).Observe(d.Seconds())
	m.lastSync.Set(float64(at.UnixNano()) / 1e9)
}

func (m *Metrics) syncFailed(full bool) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(kind(full)).Inc()
}

func (m *Metrics) programmed(d time.Duration) {
	if m == nil {
		return
	}
	m.programming.Observe(d.Seconds())
}

func (m *Metrics) rules(nat, filter int) {
	if m == nil {
		return
	}
	m.ruleCount.WithLabelValues(tableNAT).Set(float64(nat))
	m.ruleCount.WithLabelValues(tableFilter).Set(float64(filter))
}
