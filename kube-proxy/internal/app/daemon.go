package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"skiff.dev/kube-proxy/internal/proxier"
	"skiff.dev/proto/client"
	"skiff.dev/proto/component"
	"skiff.dev/proto/informer"
)

// RunDaemon keeps the node's rules in step with the cluster until ctx
// ends. It applies nothing before the Services and Endpoints caches have
// synced.
func RunDaemon(ctx context.Context, lg *zap.Logger, cfg Config) error {
	if lg == nil {
		lg = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	nodeName := cfg.HostnameOverride
	if nodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("hostname (set --hostname-override): %w", err)
		}
		nodeName = h
	}
	lg = lg.With(zap.String("node", nodeName))
	ipt, err := proxier.NewIPTables()
	if err != nil {
		return err
	}
	ct, err := proxier.NewConntrack()
	if err != nil {
		lg.Warn("no conntrack", zap.Error(err))
		ct = nil
	}
	cs, err := client.New(client.Options{
		Kubeconfig: cfg.Kubeconfig, Server: cfg.Server, QPS: cfg.KubeAPIQPS, Burst: cfg.KubeAPIBurst,
		UserAgent: "skiff-kube-proxy", Logger: lg.Named("client"),
	})
	if err != nil {
		return fmt.Errorf("apiserver client: %w", err)
	}
	defer func() { _ = cs.Close() }()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	npCIDRs, _ := cfg.nodePortCIDRs() // validated
	p, err := proxier.New(lg.Named("proxier"), proxier.Config{
		RenderConfig:  proxier.RenderConfig{ClusterCIDR: cfg.ClusterCIDR, MasqueradeAll: cfg.MasqueradeAll},
		NodePortCIDRs: npCIDRs,
		SyncPeriod:    cfg.SyncPeriod,
		MinSyncPeriod: cfg.MinSyncPeriod,
		IPTables:      ipt,
		Conntrack:     ct,
		Metrics:       proxier.NewMetrics(reg),
	})
	if err != nil {
		return err
	}
	factory := informer.NewSharedInformerFactory(cs, 0)
	p.AddEventHandlers(factory)

	var servers []*http.Server
	g, gctx := errgroup.WithContext(ctx)
	serve := func(flag, addr string, h http.Handler) error {
		if addr == "" {
			return nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		lg.Info("serving", zap.String("flag", flag), zap.String("address", ln.Addr().String()))
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s: %w", flag, err)
			}
			return nil
		})
		return nil
	}
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		for _, s := range servers {
			if err := s.Shutdown(sctx); err != nil {
				_ = s.Close()
			}
		}
	}
	for _, s := range []struct {
		flag, addr string
		h          http.Handler
	}{
		{"--healthz-bind-address", cfg.HealthzBindAddress, healthMux(p, nil)},
		{"--metrics-bind-address", cfg.MetricsBindAddress, healthMux(p, reg)},
	} {
		if err := serve(s.flag, s.addr, s.h); err != nil {
			shutdown()
			_ = g.Wait()
			return err
		}
	}

	informerCtx, stopInformers := context.WithCancel(context.Background())
	factory.Start(informerCtx)
	if factory.WaitForCacheSync(gctx) {
		lg.Info("caches synced, syncing rules")
		p.SetSynced()
		component.NotifyReady(lg)
		p.Run(gctx)
	}
	component.NotifyStopping(lg)
	stopInformers()
	factory.Shutdown()
	shutdown()
	err = g.Wait()
	lg.Info("kube-proxy stopped")
	return err
}

// RunCleanup removes every rule and chain of skiff-kube-proxy.
func RunCleanup(ctx context.Context, lg *zap.Logger) error {
	ipt, err := proxier.NewIPTables()
	if err != nil {
		return err
	}
	if err := proxier.Cleanup(ctx, ipt); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	lg.Info("removed all skiff-kube-proxy rules")
	return nil
}

// healthMux serves /healthz and /livez (503 "stale…" when the rules are
// stale), and /metrics when reg is set.
func healthMux(p *proxier.Proxier, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	health := func(w http.ResponseWriter, _ *http.Request) {
		if err := p.Healthy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}
	mux.HandleFunc("/healthz", health)
	mux.HandleFunc("/livez", health)
	if reg != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	}
	return mux
}
