package workqueue

// GaugeMetric goes up and down; a prometheus.Gauge satisfies it.
type GaugeMetric interface {
	Inc()
	Dec()
}

// CounterMetric only goes up; a prometheus.Counter satisfies it.
type CounterMetric interface {
	Inc()
}

// HistogramMetric observes durations in seconds; a prometheus.Observer
// (Histogram or Summary) satisfies it.
type HistogramMetric interface {
	Observe(seconds float64)
}

// MetricsProvider makes the metrics of one named queue. A component that
// exports Prometheus metrics implements it with vectors labelled by name;
// this package never imports Prometheus.
type MetricsProvider interface {
	// NewDepthMetric is the number of keys waiting to be handed out.
	NewDepthMetric(name string) GaugeMetric
	// NewAddsMetric counts Adds that queued a key (duplicates not counted).
	NewAddsMetric(name string) CounterMetric
	// NewLatencyMetric observes how long a key waited between Add and Get.
	NewLatencyMetric(name string) HistogramMetric
	// NewWorkDurationMetric observes how long a key took between Get and Done.
	NewWorkDurationMetric(name string) HistogramMetric
	// NewRetriesMetric counts delayed and rate-limited adds.
	NewRetriesMetric(name string) CounterMetric
}

type noopMetric struct{}

func (noopMetric) Inc()            {}
func (noopMetric) Dec()            {}
func (noopMetric) Observe(float64) {}

// NoopMetricsProvider makes metrics that record nothing; it is the default.
type NoopMetricsProvider struct{}

var _ MetricsProvider = NoopMetricsProvider{}

func (NoopMetricsProvider) NewDepthMetric(string) GaugeMetric            { return noopMetric{} }
func (NoopMetricsProvider) NewAddsMetric(string) CounterMetric           { return noopMetric{} }
func (NoopMetricsProvider) NewLatencyMetric(string) HistogramMetric      { return noopMetric{} }
func (NoopMetricsProvider) NewWorkDurationMetric(string) HistogramMetric { return noopMetric{} }
func (NoopMetricsProvider) NewRetriesMetric(string) CounterMetric        { return noopMetric{} }

// queueMetrics records one queue's metrics; callers hold the queue's lock,
// except for retries.
type queueMetrics struct {
	clock        Clock
	depth        GaugeMetric
	adds         CounterMetric
	latency      HistogramMetric
	workDuration HistogramMetric
	retries      CounterMetric

	addTimes        map[string]int64 // key -> unix nanos of the Add that queued it
	processingStart map[string]int64 // key -> unix nanos of its Get
}

func newQueueMetrics(name string, p MetricsProvider, clk Clock) *queueMetrics {
	if p == nil {
		p = NoopMetricsProvider{}
	}
	return &queueMetrics{
		clock:           clk,
		depth:           p.NewDepthMetric(name),
		adds:            p.NewAddsMetric(name),
		latency:         p.NewLatencyMetric(name),
		workDuration:    p.NewWorkDurationMetric(name),
		retries:         p.NewRetriesMetric(name),
		addTimes:        map[string]int64{},
		processingStart: map[string]int64{},
	}
}

func (m *queueMetrics) add(key string) {
	m.adds.Inc()
	m.depth.Inc()
	if _, ok := m.addTimes[key]; !ok {
		m.addTimes[key] = m.clock.Now().UnixNano()
	}
}

func (m *queueMetrics) get(key string) {
	now := m.clock.Now().UnixNano()
	m.depth.Dec()
	m.processingStart[key] = now
	if t, ok := m.addTimes[key]; ok {
		m.latency.Observe(seconds(now - t))
		delete(m.addTimes, key)
	}
}

func (m *queueMetrics) done(key string) {
	if t, ok := m.processingStart[key]; ok {
		m.workDuration.Observe(seconds(m.clock.Now().UnixNano() - t))
		delete(m.processingStart, key)
	}
}

func (m *queueMetrics) retry() { m.retries.Inc() }

func seconds(nanos int64) float64 { return float64(nanos) / 1e9 }
