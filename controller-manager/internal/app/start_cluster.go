package app

import (
	"context"

	"skiff.dev/controller-manager/internal/controller/garbagecollector"
	"skiff.dev/controller-manager/internal/controller/namespace"
	"skiff.dev/controller-manager/internal/controller/nodelifecycle"
)

// The start functions of the node lifecycle, namespace, garbage collector,
// service account, daemon set and job controllers.

func startNodeLifecycleController(ctx context.Context, cc *ControllerContext) error {
	c := nodelifecycle.New(cc.Logger, cc.Client, cc.Informers, nodelifecycle.Config{
		MonitorPeriod: cc.Options.NodeMonitorPeriod, GracePeriod: cc.Options.NodeMonitorGracePeriod,
		StartupGracePeriod: cc.Options.NodeStartupGracePeriod, PodEvictionTimeout: cc.Options.PodEvictionTimeout,
		Recorder: cc.Recorder, MetricsProvider: cc.QueueMetrics,
	})
	cc.Go(func() { c.Run(ctx) })
	return nil
}

func startNamespaceController(ctx context.Context, cc *ControllerContext) error {
	c := namespace.New(cc.Logger, cc.Client, cc.Informers, namespace.Config{
		Workers: cc.Options.ConcurrentNamespaceSyncs, MetricsProvider: cc.QueueMetrics,
	})
	cc.Go(func() { c.Run(ctx) })
	return nil
}

func startGarbageCollector(ctx context.Context, cc *ControllerContext) error {
	c := garbagecollector.New(cc.Logger, cc.Client, cc.Informers, garbagecollector.Config{
		Workers: cc.Options.ConcurrentGCSyncs, MetricsProvider: cc.QueueMetrics,
	})
	cc.Go(func() { c.Run(ctx) })
	return nil
}
