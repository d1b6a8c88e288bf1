package app

import (
	"context"
	"fmt"
	"os"

	"skiff.dev/controller-manager/internal/controller/daemonset"
	"skiff.dev/controller-manager/internal/controller/garbagecollector"
	"skiff.dev/controller-manager/internal/controller/job"
	"skiff.dev/controller-manager/internal/controller/namespace"
	"skiff.dev/controller-manager/internal/controller/nodelifecycle"
	"skiff.dev/controller-manager/internal/controller/serviceaccount"
)

// The start functions of the node lifecycle, namespace, garbage collector,
// service account, daemon set and job controllers.

func startNodeLifecycleController(ctx context.Context, cc *ControllerContext) error {
	c := nodelifecycle.New(cc.Logger, cc.Client, cc.Informers, nodelifecycle.Config{
		MonitorPeriod: cc.Options.NodeMonitorPeriod, GracePeriod: cc.Options.NodeMonitorGracePeriod,
		StartupGracePeriod: cc.Options.NodeStartupGracePeriod, PodEvictionTimeout: cc.Options.PodEvictionTimeout,
		KeepPods: !cc.Options.EnableTaintManager,
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

func startServiceAccountController(ctx context.Context, cc *ControllerContext) error {
	c := serviceaccount.New(cc.Logger, cc.Client, cc.Informers, serviceaccount.Config{
		Workers: 1, MetricsProvider: cc.QueueMetrics,
	})
	cc.Go(func() { c.Run(ctx) })
	return nil
}

// startServiceAccountTokenController runs the token controller when
// --service-account-private-key-file is set, as kube-controller-manager.
func startServiceAccountTokenController(ctx context.Context, cc *ControllerContext) error {
	if cc.Options.ServiceAccountKeyFile == "" {
		cc.Logger.Warn("--service-account-private-key-file is not set: service account token secrets are not created")
		return nil
	}
	signer, err := serviceaccount.LoadSigner(cc.Options.ServiceAccountKeyFile)
	if err != nil {
		return fmt.Errorf("--service-account-private-key-file: %w", err)
	}
	var rootCA []byte
	if cc.Options.RootCAFile != "" {
		if rootCA, err = os.ReadFile(cc.Options.RootCAFile); err != nil {
			return fmt.Errorf("--root-ca-file: %w", err)
		}
	}
	c, err := serviceaccount.NewTokens(cc.Logger, cc.Client, cc.Informers, serviceaccount.TokensConfig{
		Workers: cc.Options.ConcurrentServiceAccountTokenSyncs, Signer: signer, RootCA: rootCA, MetricsProvider: cc.QueueMetrics,
	})
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx) })
	return nil
}

func startDaemonSetController(ctx context.Context, cc *ControllerContext) error {
	c := daemonset.New(cc.Logger, cc.Client, cc.Informers, daemonset.Config{
		Workers: cc.Options.ConcurrentDaemonSetSyncs, Recorder: cc.Recorder, MetricsProvider: cc.QueueMetrics,
	})
	cc.Go(func() { c.Run(ctx) })
	return nil
}

func startJobController(ctx context.Context, cc *ControllerContext) error {
	c := job.New(cc.Logger, cc.Client, cc.Informers, job.Config{
		Workers: cc.Options.ConcurrentJobSyncs, Recorder: cc.Recorder, MetricsProvider: cc.QueueMetrics,
	})
	cc.Go(func() { c.Run(ctx) })
	return nil
}
