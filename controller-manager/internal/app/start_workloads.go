package app

import (
	"context"

	"skiff.dev/controller-manager/internal/controller/deployment"
	"skiff.dev/controller-manager/internal/controller/replicaset"
)

// The start functions of the workload and service controllers.

func startReplicaSetController(ctx context.Context, cc *ControllerContext) error {
	c := replicaset.New(cc.Logger, cc.Client, cc.Informers, replicaset.Config{
		Workers: cc.Options.ConcurrentReplicaSetSyncs, Recorder: cc.Recorder, MetricsProvider: cc.QueueMetrics,
	})
	cc.Go(func() { c.Run(ctx) })
	return nil
}

func startDeploymentController(ctx context.Context, cc *ControllerContext) error {
	c := deployment.New(cc.Logger, cc.Client, cc.Informers, deployment.Config{
		Workers: cc.Options.ConcurrentDeploymentSyncs, Recorder: cc.Recorder, MetricsProvider: cc.QueueMetrics,
	})
	cc.Go(func() { c.Run(ctx) })
	return nil
}
