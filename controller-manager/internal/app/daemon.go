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

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/leaderelection"
)

// ErrLeadershipLost is returned when the controller manager stops leading
// while it should still run: it exits, and its supervisor restarts it as a
// standby.
var ErrLeadershipLost = errors.New("leader election lost")

// RunDaemon runs the controller manager until ctx ends or leadership is lost.
func RunDaemon(ctx context.Context, lg *zap.Logger, cfg Config) error {
	return runDaemon(ctx, lg, cfg, nil)
}

// RunDaemonWithClient is RunDaemon over a client made by the caller
// (benchmarks count its calls); it does not close it.
func RunDaemonWithClient(ctx context.Context, lg *zap.Logger, cfg Config, cs *client.Clientset) error {
	return runDaemonWith(ctx, lg, cfg, nil, cs)
}

// daemon is one running controller manager.
type daemon struct {
	lg       *zap.Logger
	cfg      Config
	cs       *client.Clientset
	reg      *prometheus.Registry
	qm       *controller.PrometheusMetrics
	enabled  []ControllerDescriptor
	host     string
	leading  atomic.Bool
	synced   atomic.Bool
	stopping atomic.Bool
}

// runDaemon is RunDaemon; listening, if set, receives the address of the
// health and metrics server.
func runDaemon(ctx context.Context, lg *zap.Logger, cfg Config, listening func(addr string)) error {
	return runDaemonWith(ctx, lg, cfg, listening, nil)
}

func runDaemonWith(ctx context.Context, lg *zap.Logger, cfg Config, listening func(addr string), cs *client.Clientset) error {
	if lg == nil {
		lg = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	enabled, err := EnabledControllers(cfg.Controllers, Controllers())
	if err != nil {
		return fmt.Errorf("--controllers: %w", err)
	}
	if cs == nil {
		if cs, err = client.New(client.Options{
			Kubeconfig: cfg.Kubeconfig, Server: cfg.Server, QPS: cfg.KubeAPIQPS, Burst: cfg.KubeAPIBurst,
			UserAgent: "skiff-controller-manager", Logger: lg.Named("client"),
		}); err != nil {
			return fmt.Errorf("apiserver client: %w", err)
		}
		defer func() { _ = cs.Close() }()
	}

	host, _ := os.Hostname()
	d := &daemon{lg: lg, cfg: cfg, cs: cs, reg: prometheus.NewRegistry(), enabled: enabled, host: host}
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.qm = controller.NewPrometheusMetrics(d.reg)

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.SecurePort)))
	if err != nil {
		return fmt.Errorf("--bind-address/--secure-port: %w", err)
	}
	srv := &http.Server{Handler: d.healthMux(), ReadHeaderTimeout: 10 * time.Second}
	lg.Info("serving health and metrics", zap.String("address", ln.Addr().String()))
	if listening != nil {
		listening(ln.Addr().String())
	}
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

	// Not ready as soon as shutdown starts, before controllers stop.
	go func() {
		<-runCtx.Done()
		d.stopping.Store(true)
	}()
	var runErr error
	if cfg.LeaderElect {
		runErr = d.runElected(runCtx, host+"_"+randomSuffix())
	} else {
		runErr = d.runControllers(runCtx)
	}

	// Shutdown: not ready (above), controllers and informers stopped, then
	// the health server and the client (deferred).
	stopRun()
	d.stopping.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := g.Wait(); err != nil && runErr == nil {
		runErr = err
	}
	lg.Info("controller manager stopped")
	return runErr
}

// runControllers starts the enabled controllers and their informers, and
// runs them until ctx ends.
func (d *daemon) runControllers(ctx context.Context) error {
	d.leading.Store(true)
	defer d.leading.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	factory := informer.NewSharedInformerFactory(d.cs, 0)
	var wg sync.WaitGroup
	var recorders []*client.EventRecorder
	defer func() {
		// Controllers first, then the informers they read, then their
		// queued events.
		cancel()
		wg.Wait()
		factory.Shutdown()
		sctx, stop := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		defer stop()
		for _, r := range recorders {
			r.Shutdown(sctx)
		}
	}()
	var started []string
	for _, desc := range d.enabled {
		if desc.Start == nil {
			d.lg.Warn("controller not available in this build, skipping", zap.String("controller", desc.Name))
			continue
		}
		rec := client.NewRecorder(d.cs, desc.Name+"-controller", d.host)
		recorders = append(recorders, rec)
		cc := &ControllerContext{
			Logger: d.lg.Named(desc.Name), Client: d.cs, Informers: factory, Recorder: rec,
			Options: d.cfg, Metrics: d.reg, QueueMetrics: d.qm, wg: &wg,
		}
		if err := desc.Start(ctx, cc); err != nil {
			return fmt.Errorf("starting controller %s: %w", desc.Name, err)
		}
		started = append(started, desc.Name)
	}
	factory.Start(ctx)
	d.lg.Info("controllers started", zap.Strings("controllers", started))
	if factory.WaitForCacheSync(ctx) {
		d.synced.Store(true)
		d.lg.Info("caches synced")
	}
	<-ctx.Done()
	d.synced.Store(false)
	return nil
}

// runElected runs the controllers while this replica holds the Lease; it
// returns ErrLeadershipLost if leadership ends before ctx does.
func (d *daemon) runElected(ctx context.Context, identity string) error {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		runErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	le, err := leaderelection.New(leaderelection.Config{
		Lock: leaderelection.LeaseLock{
			Namespace: d.cfg.LeaderElectResourceNamespace,
			Name:      d.cfg.LeaderElectResourceName,
			Identity:  identity,
			Client:    d.cs.CoordinationV1().Raw().Leases,
		},
		LeaseDuration:   d.cfg.LeaderElectLeaseDuration,
		RenewDeadline:   d.cfg.LeaderElectRenewDeadline,
		RetryPeriod:     d.cfg.LeaderElectRetryPeriod,
		ReleaseOnCancel: true,
		Name:            d.cfg.LeaderElectResourceName,
		Logger:          d.lg.Named("leaderelection"),
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: func(lctx context.Context) {
				wg.Add(1)
				defer wg.Done()
				if err := d.runControllers(lctx); err != nil {
					mu.Lock()
					runErr = err
					mu.Unlock()
					cancel() // a controller that cannot start stops the daemon
				}
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return err
	}
	le.Run(ctx)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case runErr != nil:
		return runErr
	case ctx.Err() == nil:
		return ErrLeadershipLost
	}
	return nil
}

// healthMux serves /healthz, /readyz (503 while a leader's caches have not
// synced and while shutting down; a standby is ready) and /metrics.
func (d *daemon) healthMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case d.stopping.Load():
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case d.leading.Load() && !d.synced.Load():
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	})
	mux.Handle("/metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg}))
	return mux
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
