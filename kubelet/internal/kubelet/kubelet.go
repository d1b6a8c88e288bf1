// Package kubelet assembles the node agent's pod side: the containerd
// runtime (with the images of the image dir imported at start) and the pod
// manager, plus the lookup the log API needs.
package kubelet

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"skiff.dev/kubelet/internal/network"
	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/kubelet/internal/pods"
	"skiff.dev/proto/client"
)

// Config configures the pod side of a kubelet.
type Config struct {
	Runtime podruntime.Config
	Pods    pods.Config
	// ImageDir holds OCI/Docker image archives imported at start; empty: none.
	ImageDir string
}

// Kubelet runs the node's pods.
type Kubelet struct {
	lg       *zap.Logger
	cfg      Config
	Runtime  *podruntime.Runtime
	Manager  *pods.Manager
	recorder *client.EventRecorder
}

// New connects to containerd; net may be nil when only hostNetwork pods run.
func New(lg *zap.Logger, cs *client.Clientset, net pods.Network, cfg Config) (*Kubelet, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	rt, err := podruntime.New(lg.Named("runtime"), cfg.Runtime)
	if err != nil {
		return nil, err
	}
	rec := client.NewRecorder(cs, "kubelet", cfg.Pods.NodeName)
	return &Kubelet{
		lg: lg, cfg: cfg, Runtime: rt, recorder: rec,
		Manager: pods.New(lg.Named("pods"), cs, rt, net, rec, cfg.Pods),
	}, nil
}

// Run imports the image dir, then runs the pods until ctx ends; the
// containers keep running afterwards.
func (k *Kubelet) Run(ctx context.Context) error {
	defer k.Runtime.Close()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		k.recorder.Shutdown(sctx)
	}()
	if k.cfg.ImageDir != "" {
		names, err := k.Runtime.ImportDir(ctx, k.cfg.ImageDir)
		if err != nil {
			return fmt.Errorf("import images: %w", err)
		}
		k.lg.Info("images imported", zap.Strings("images", names))
	}
	return k.Manager.Run(ctx)
}

// Lookup finds the uid of a pod of this node, for the log API.
func (k *Kubelet) Lookup(namespace, name string) (string, bool) {
	return k.Manager.Lookup(namespace, name)
}

// NetworkOf adapts the network manager to what the pod workers use.
func NetworkOf(m *network.Manager) pods.Network { return netAdapter{m} }

type netAdapter struct{ m *network.Manager }

func (a netAdapter) SetUpPod(ctx context.Context, uid, namespace, name string) (pods.PodNetwork, error) {
	r, err := a.m.SetUpPod(ctx, network.PodRef{UID: uid, Namespace: namespace, Name: name})
	return pods.PodNetwork{NetNSPath: r.NetNSPath, IP: r.IP}, err
}

func (a netAdapter) TearDownPod(ctx context.Context, uid string) error {
	return a.m.TearDownPod(ctx, uid)
}
