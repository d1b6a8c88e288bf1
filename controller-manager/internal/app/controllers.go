package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	"skiff.dev/proto/informer"
)

// ControllerContext is what every controller's start function gets.
type ControllerContext struct {
	// Logger is named after the controller.
	Logger *zap.Logger
	// Client talks to the apiservers.
	Client *client.Clientset
	// Informers is shared by every controller: ask it for the informers
	// you read; the app starts them once every controller has started.
	Informers *informer.SharedInformerFactory
	// Recorder writes Events as "skiff-controller-manager".
	Recorder client.Recorder
	// Options is the daemon's configuration (worker counts, CIDRs, ...).
	Options Config
	// Metrics registers the controller's metrics on /metrics.
	Metrics prometheus.Registerer
	// QueueMetrics exports work queue metrics; pass it as
	// controller.Options.MetricsProvider.
	QueueMetrics *controller.PrometheusMetrics

	wg *sync.WaitGroup
}

// Go runs f in a goroutine the daemon waits for on shutdown; start
// functions run their controllers with it:
//
//	cc.Go(func() { c.Run(ctx) })
func (cc *ControllerContext) Go(f func()) {
	cc.wg.Add(1)
	go func() {
		defer cc.wg.Done()
		f()
	}()
}

// Common is the configuration every controller takes, with workers.
func (cc *ControllerContext) Common(workers int) controller.Common {
	return controller.Common{Workers: workers, Recorder: cc.Recorder, MetricsProvider: cc.QueueMetrics}
}

// Run runs c with cc.Go until ctx ends.
func (cc *ControllerContext) Run(ctx context.Context, c interface{ Run(context.Context) bool }) {
	cc.Go(func() { c.Run(ctx) })
}

// StartFunc starts one controller: it makes it, registers its informer
// handlers, and runs it with cc.Go until ctx ends. It must not block. An
// error (bad configuration) stops the daemon.
type StartFunc func(ctx context.Context, cc *ControllerContext) error

// ControllerDescriptor is one entry of the controller table.
type ControllerDescriptor struct {
	// Name is the controller's name in --controllers, as
	// kube-controller-manager's.
	Name string
	// EnabledByDefault controllers run under "*".
	EnabledByDefault bool
	// Start starts it.
	Start StartFunc
}

// Controllers is the table of every controller, in start order.
func Controllers() []ControllerDescriptor {
	return []ControllerDescriptor{
		// Workloads and service plumbing (branch cm).
		{Name: "replicaset", EnabledByDefault: true, Start: startReplicaSetController},
		{Name: "deployment", EnabledByDefault: true, Start: startDeploymentController},
		{Name: "endpoint", EnabledByDefault: true, Start: startEndpointsController},
		{Name: "nodeipam", EnabledByDefault: true, Start: startNodeIPAMController},

		// Node lifecycle, namespaces, garbage collection, service accounts,
		// daemon sets and jobs (branch cm2).
		{Name: "nodelifecycle", EnabledByDefault: true, Start: startNodeLifecycleController},
		{Name: "namespace", EnabledByDefault: true, Start: startNamespaceController},
		{Name: "garbagecollector", EnabledByDefault: true, Start: startGarbageCollector},
		{Name: "serviceaccount", EnabledByDefault: true, Start: startServiceAccountController},
		{Name: "serviceaccount-token", EnabledByDefault: true, Start: startServiceAccountTokenController},
		{Name: "daemonset", EnabledByDefault: true, Start: startDaemonSetController},
		{Name: "job", EnabledByDefault: true, Start: startJobController},
	}
}

// EnabledControllers applies a --controllers list to the table: "*" turns
// on every controller enabled by default, "name" turns one on, "-name" turns
// one off; the last word about a controller wins over "*". Unknown names
// are an error.
func EnabledControllers(selection []string, table []ControllerDescriptor) ([]ControllerDescriptor, error) {
	known := map[string]bool{}
	for _, d := range table {
		known[d.Name] = true
	}
	star := false
	explicit := map[string]bool{}
	for _, s := range selection {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case s == "*":
			star = true
		case strings.HasPrefix(s, "-"):
			name := s[1:]
			if !known[name] {
				return nil, unknownController(name, table)
			}
			explicit[name] = false
		default:
			if !known[s] {
				return nil, unknownController(s, table)
			}
			explicit[s] = true
		}
	}
	var out []ControllerDescriptor
	for _, d := range table {
		on, ok := explicit[d.Name]
		if !ok {
			on = star && d.EnabledByDefault
		}
		if on {
			out = append(out, d)
		}
	}
	return out, nil
}

func unknownController(name string, table []ControllerDescriptor) error {
	names := make([]string, 0, len(table))
	for _, d := range table {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	return fmt.Errorf("unknown controller %q; known controllers: %s (use * for all, -name to disable one)",
		name, strings.Join(names, ", "))
}
