package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"skiff.dev/kubelet/internal/kubelet"
	"skiff.dev/kubelet/internal/network"
	"skiff.dev/kubelet/internal/nodestatus"
	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/kubelet/internal/pods"
	"skiff.dev/kubelet/internal/server"
	"skiff.dev/kubelet/internal/stats"
	"skiff.dev/proto/client"
	"skiff.dev/proto/component"
	"skiff.dev/proto/informer"
)

// RunDaemon runs the kubelet until ctx ends; pods keep running after it.
func RunDaemon(ctx context.Context, lg *zap.Logger, cfg Config) error {
	if lg == nil {
		lg = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	cs, err := client.New(client.Options{
		Kubeconfig: cfg.Kubeconfig, Server: cfg.Server, QPS: cfg.KubeAPIQPS, Burst: cfg.KubeAPIBurst,
		UserAgent: "skiff-kubelet", Logger: lg.Named("client"),
	})
	if err != nil {
		return fmt.Errorf("apiserver client: %w", err)
	}
	defer func() { _ = cs.Close() }()

	netMgr, err := network.New(lg.Named("network"), network.Config{
		ClusterCIDR: cfg.ClusterCIDR, ServiceCIDR: cfg.ServiceCIDR, StateDir: filepath.Join(cfg.RootDir, "network"),
		HostNetNS: cfg.HostNetNS, NodeName: cfg.NodeName, NetNSPrefix: cfg.NetNSPrefix,
	})
	if err != nil {
		return err
	}
	defer func() { _ = netMgr.Close() }()

	exe, err := executable()
	if err != nil {
		return err
	}
	k, err := kubelet.New(lg, cs, kubelet.NetworkOf(netMgr), kubelet.Config{
		Runtime: podruntime.Config{
			Address: cfg.ContainerdAddress, Namespace: cfg.ContainerdNamespace, RootDir: cfg.RootDir,
			PodLogDir: cfg.PodLogDir, LogDriver: exe, PauseImage: cfg.PauseImage,
			InsecureRegistries: cfg.InsecureRegistry, DockerConfig: cfg.DockerConfig,
		},
		Pods:     pods.Config{NodeName: cfg.NodeName},
		ImageDir: cfg.ImageDir,
	})
	if err != nil {
		return err
	}
	runtimeVersion, err := k.Runtime.Version(ctx)
	if err != nil {
		return err
	}
	agent := nodestatus.New(lg.Named("nodestatus"), cs, nodestatus.Config{
		NodeName: cfg.NodeName, NodeIP: cfg.NodeIP, PodCIDR: cfg.PodCIDR, KubeletPort: cfg.Port,
		ContainerRuntimeVersion: "containerd://" + runtimeVersion, KubeletVersion: component.ServerGitVersion(component.Version), RootDir: cfg.RootDir,
		ReadyCheck: func() error {
			vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if _, err := k.Runtime.Version(vctx); err != nil {
				return fmt.Errorf("container runtime is down: %w", err)
			}
			return nil
		},
	})
	nodeIP, err := agent.InternalIP()
	if err != nil {
		return fmt.Errorf("node IP: %w", err)
	}
	k.Manager.SetHostIP(nodeIP.String())

	summary := stats.New(lg.Named("stats"), stats.Config{
		NodeName: cfg.NodeName, Running: k.Manager.Running, CgroupPath: k.Runtime.CgroupPath,
	})
	api, err := server.New(lg.Named("api"), server.Config{
		LogRoot: cfg.PodLogDir, PodLookup: k.Lookup, Exec: k.Manager.Exec, ContainerRunning: k.Manager.ContainerRunning,
		PortForward: k.Manager.PortForward, Summary: summary.Summary,
		CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSPrivateKeyFile, ClientCAFile: cfg.ClientCAFile, Insecure: cfg.InsecureHTTP,
	})
	if err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("--address/--port: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	health := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return agent.Run(gctx) })
	g.Go(func() error { return summary.Run(gctx) })
	g.Go(func() error {
		podCIDR, err := agent.PodCIDR(gctx)
		if err != nil {
			return err
		}
		if err := netMgr.EnsureNode(gctx, podCIDR); err != nil {
			return fmt.Errorf("node network: %w", err)
		}
		lg.Info("node network ready", zap.String("podCIDR", podCIDR))
		factory := informer.NewSharedInformerFactory(cs, 0)
		nodes := factory.Core().V1().Nodes()
		factory.Start(gctx)
		g.Go(func() error { return netMgr.RunNodeRoutes(gctx, nodes) })
		return k.Run(gctx)
	})
	g.Go(func() error {
		return serveUntil(gctx, cfg.ShutdownTimeout, func() error { return api.Serve(apiLn) }, api.Shutdown)
	})
	if cfg.HealthzPort > 0 {
		hln, err := net.Listen("tcp", net.JoinHostPort(cfg.HealthzBindAddr, strconv.Itoa(cfg.HealthzPort)))
		if err != nil {
			return fmt.Errorf("--healthz-bind-address/--healthz-port: %w", err)
		}
		g.Go(func() error {
			return serveUntil(gctx, cfg.ShutdownTimeout, func() error { return health.Serve(hln) }, health.Shutdown)
		})
	}
	lg.Info("kubelet started", zap.String("node", cfg.NodeName), zap.String("api", apiLn.Addr().String()))
	component.NotifyReady(lg)
	go func() {
		<-gctx.Done()
		component.NotifyStopping(lg)
	}()
	err = g.Wait()
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	return err
}

// serveUntil serves until ctx ends, then shuts the server down.
func serveUntil(ctx context.Context, timeout time.Duration, serve func() error, shutdown func(context.Context) error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		_ = shutdown(sctx)
		return nil
	}
}
