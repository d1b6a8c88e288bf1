package app

import (
	"context"
	"fmt"
	"net/netip"

	"skiff.dev/controller-manager/internal/controller/deployment"
	"skiff.dev/controller-manager/internal/controller/endpoints"
	"skiff.dev/controller-manager/internal/controller/nodeipam"
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

func startEndpointsController(ctx context.Context, cc *ControllerContext) error {
	c := endpoints.New(cc.Logger, cc.Client, cc.Informers, endpoints.Config{
		Workers: cc.Options.ConcurrentEndpointSyncs, Recorder: cc.Recorder, MetricsProvider: cc.QueueMetrics,
	})
	cc.Go(func() { c.Run(ctx) })
	return nil
}

func startNodeIPAMController(ctx context.Context, cc *ControllerContext) error {
	if !cc.Options.AllocateNodeCIDRs {
		cc.Logger.Info("--allocate-node-cidrs is off: nodes get no pod CIDR from the controller manager")
		return nil
	}
	cidr, err := netip.ParsePrefix(cc.Options.ClusterCIDR)
	if err != nil {
		return fmt.Errorf("--cluster-cidr: %w", err)
	}
	c, err := nodeipam.New(cc.Logger, cc.Client, cc.Informers, nodeipam.Config{
		ClusterCIDR: cidr, NodeCIDRMaskSize: cc.Options.NodeCIDRMaskSize, Recorder: cc.Recorder, MetricsProvider: cc.QueueMetrics,
	})
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx) })
	return nil
}
