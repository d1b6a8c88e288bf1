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
	cc.Run(ctx, replicaset.New(cc.Logger, cc.Client, cc.Informers,
		replicaset.Config{Common: cc.Common(cc.Options.ConcurrentReplicaSetSyncs)}))
	return nil
}

func startDeploymentController(ctx context.Context, cc *ControllerContext) error {
	cc.Run(ctx, deployment.New(cc.Logger, cc.Client, cc.Informers, cc.Common(cc.Options.ConcurrentDeploymentSyncs)))
	return nil
}

func startEndpointsController(ctx context.Context, cc *ControllerContext) error {
	cc.Run(ctx, endpoints.New(cc.Logger, cc.Client, cc.Informers, cc.Common(cc.Options.ConcurrentEndpointSyncs)))
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
	cc.Run(ctx, c)
	return nil
}
