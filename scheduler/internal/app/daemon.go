package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"skiff.dev/proto/client"
	"skiff.dev/proto/component"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/leaderelection"
	"skiff.dev/scheduler/internal/scheduler"
)

// ErrLeadershipLost is returned when the scheduler stops leading while it
// should still run: it exits, and its supervisor restarts it as a standby.
var ErrLeadershipLost = errors.New("leader election lost")

// newBinder makes the scheduler's binder; tests wrap it.
var newBinder = scheduler.ClientBinder

// RunDaemon runs the scheduler until ctx ends or leadership is lost.
func RunDaemon(ctx context.Context, lg *zap.Logger, cfg Config) error {
	return runDaemon(ctx, lg, cfg, nil)
}

// runDaemon is RunDaemon; listening, if set, receives the address of the
// health and metrics server.
func runDaemon(ctx context.Context, lg *zap.Logger, cfg Config, listening func(addr string)) error {
	if lg == nil {
		lg = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	cs, err := client.New(client.Options{
		Kubeconfig: cfg.Kubeconfig, Server: cfg.Server, QPS: cfg.KubeAPIQPS, Burst: cfg.KubeAPIBurst,
		UserAgent: "skiff-scheduler", Logger: lg.Named("client"),
	})
	if err != nil {
		return fmt.Errorf("apiserver client: %w", err)
	}
	defer func() { _ = cs.Close() }()

	host, _ := os.Hostname()
	identity := host + "_" + randomSuffix()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rec := client.NewRecorder(cs, cfg.SchedulerName, host)
	sched, err := scheduler.New(lg, scheduler.Config{
		SchedulerName: cfg.SchedulerName,
		Binder:        newBinder(cs),
		Recorder:      rec,
		Conditions:    scheduler.ClientConditionWriter(cs),
		Metrics:       scheduler.NewMetrics(reg),
	})
	if err != nil {
		return err
	}
	factory := informer.NewSharedInformerFactory(cs, 0)
	sched.AddEventHandlers(factory)

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.SecurePort)))
	if err != nil {
		return fmt.Errorf("--bind-address/--secure-port: %w", err)
	}
	var ready atomic.Bool
	srv := &http.Server{Handler: healthMux(reg, &ready), ReadHeaderTimeout: 10 * time.Second}
	lg.Info("serving health and metrics", zap.String("address", ln.Addr().String()))
	if listening != nil {
		listening(ln.Addr().String())
	}

	informerCtx, stopInformers := context.WithCancel(context.Background())
	defer stopInformers()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()

	g := new(errgroup.Group)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			stopRun()
			return fmt.Errorf("health server: %w", err)
		}
		return nil
	})

	factory.Start(informerCtx)
	var runErr error
	if factory.WaitForCacheSync(runCtx) {
		ready.Store(true)
		lg.Info("caches synced", zap.Int("nodes", sched.Cache.NodeCount()))
		// Ready as /readyz says: leading or a standby waiting for the Lease.
		component.NotifyReady(lg)
		if cfg.LeaderElect {
			runErr = runElected(runCtx, lg, cfg, cs, identity, rec, sched)
		} else {
			sched.Run(runCtx)
		}
	}

	// Shutdown: not ready, leader-only loops stopped (above), informers,
	// the health server, queued events, then the client (deferred).
	ready.Store(false)
	component.NotifyStopping(lg)
	stopInformers()
	factory.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	rec.Shutdown(sctx)
	if err := g.Wait(); err != nil && runErr == nil {
		runErr = err
	}
	lg.Info("scheduler stopped")
	return runErr
}

// runElected schedules while this replica holds the Lease; it returns
// ErrLeadershipLost if leadership ends before ctx does.
func runElected(ctx context.Context, lg *zap.Logger, cfg Config, cs *client.Clientset, identity string,
	rec *client.EventRecorder, sched *scheduler.Scheduler) error {
	var wg sync.WaitGroup
	le, err := leaderelection.New(leaderelection.Config{
		Lock: leaderelection.LeaseLock{
			Namespace: cfg.LeaderElectResourceNamespace,
			Name:      cfg.LeaderElectResourceName,
			Identity:  identity,
			Client:    cs.CoordinationV1().Raw().Leases,
		},
		LeaseDuration:   cfg.LeaderElectLeaseDuration,
		RenewDeadline:   cfg.LeaderElectRenewDeadline,
		RetryPeriod:     cfg.LeaderElectRetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.LeaderElectResourceName,
		Logger:          lg.Named("leaderelection"),
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: func(lctx context.Context) {
				wg.Add(1)
				defer wg.Done()
				sched.Run(lctx)
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return err
	}
	le.Run(ctx)
	wg.Wait()
	if ctx.Err() == nil {
		return ErrLeadershipLost
	}
	return nil
}

// healthMux serves /healthz, /readyz (503 until the caches synced and
// while shutting down) and /metrics.
func healthMux(reg *prometheus.Registry, ready *atomic.Bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
