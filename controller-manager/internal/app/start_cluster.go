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
	cc.Run(ctx, nodelifecycle.New(cc.Logger, cc.Client, cc.Informers, nodelifecycle.Config{
		Common: cc.Common(1), MonitorPeriod: cc.Options.NodeMonitorPeriod, GracePeriod: cc.Options.NodeMonitorGracePeriod,
		StartupGracePeriod: cc.Options.NodeStartupGracePeriod, PodEvictionTimeout: cc.Options.PodEvictionTimeout,
		KeepPods: !cc.Options.EnableTaintManager,
	}))
	return nil
}

func startNamespaceController(ctx context.Context, cc *ControllerContext) error {
	cc.Run(ctx, namespace.New(cc.Logger, cc.Client, cc.Informers, namespace.Config{Common: cc.Common(cc.Options.ConcurrentNamespaceSyncs)}))
	return nil
}

func startGarbageCollector(ctx context.Context, cc *ControllerContext) error {
	cc.Run(ctx, garbagecollector.New(cc.Logger, cc.Client, cc.Informers, garbagecollector.Config{Common: cc.Common(cc.Options.ConcurrentGCSyncs)}))
	return nil
}

func startServiceAccountController(ctx context.Context, cc *ControllerContext) error {
	cc.Run(ctx, serviceaccount.New(cc.Logger, cc.Client, cc.Informers, serviceaccount.Config{Common: cc.Common(1)}))
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
		Common: cc.Common(cc.Options.ConcurrentServiceAccountTokenSyncs), Signer: signer, RootCA: rootCA,
	})
	if err != nil {
		return err
	}
	cc.Run(ctx, c)
	return nil
}

func startDaemonSetController(ctx context.Context, cc *ControllerContext) error {
	cc.Run(ctx, daemonset.New(cc.Logger, cc.Client, cc.Informers, daemonset.Config{Common: cc.Common(cc.Options.ConcurrentDaemonSetSyncs)}))
	return nil
}

func startJobController(ctx context.Context, cc *ControllerContext) error {
	cc.Run(ctx, job.New(cc.Logger, cc.Client, cc.Informers, job.Config{Common: cc.Common(cc.Options.ConcurrentJobSyncs)}))
	return nil
}
