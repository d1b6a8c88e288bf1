package leaderelection_test

import (
	"context"
	"os"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	coordinationv1 "skiff.dev/proto/coordination/v1"
	"skiff.dev/proto/leaderelection"
)

// A component elects one active replica over its apiserver connection; the
// generated Lease client plugs in directly.
func ExampleRunOrDie() {
	var conn *grpc.ClientConn // dialled to the apiserver
	lg := zap.NewExample()
	ctx := context.Background() // signal.NotifyContext in a daemon
	hostname, _ := os.Hostname()

	leaderelection.RunOrDie(ctx, leaderelection.Config{
		Lock: leaderelection.LeaseLock{
			Namespace: "kube-system",
			Name:      "skiff-controller-manager",
			Identity:  hostname + "_" + "random-suffix",
			Client:    coordinationv1.NewLeaseServiceClient(conn),
		},
		LeaseDuration:   leaderelection.DefaultLeaseDuration,
		RenewDeadline:   leaderelection.DefaultRenewDeadline,
		RetryPeriod:     leaderelection.DefaultRetryPeriod,
		ReleaseOnCancel: true,
		Name:            "skiff-controller-manager",
		Logger:          lg,
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: func(ctx context.Context) {
				// run the controllers until ctx is cancelled
				<-ctx.Done()
			},
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					lg.Fatal("leader election lost")
				}
			},
		},
	})
}
