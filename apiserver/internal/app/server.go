package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"skiff.dev/apiserver/internal/authn"
	"skiff.dev/apiserver/internal/authz"
	"skiff.dev/apiserver/internal/etcd"
	"skiff.dev/apiserver/internal/kubelet"
	"skiff.dev/apiserver/internal/registry"
	"skiff.dev/apiserver/internal/server"
	"skiff.dev/apiserver/internal/storage"
	"skiff.dev/proto/component"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// Build information; GitVersion is component.Version, set with -ldflags -X.
var (
	GitVersion = component.Version
	GitCommit  = "unknown"
	BuildDate  = "unknown"
)

// APIServer is a running apiserver: etcd (embedded or external), the
// registry and its watch caches, and the one HTTP server.
type APIServer struct {
	lg    *zap.Logger
	cfg   Config
	etcd  *embed.Etcd
	cli   *clientv3.Client
	reg   *registry.Registry
	http  *http.Server
	grpc  *grpc.Server
	split *server.Splitter
	lis   net.Listener

	cancel context.CancelFunc
	done   chan struct{}
	err    error
	ready  bool
	mu     sync.Mutex
}

// Start brings the apiserver up and returns once it serves.
func Start(ctx context.Context, lg *zap.Logger, cfg Config) (*APIServer, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	cfg.EtcdServers = splitList(cfg.EtcdServers)
	cfg.KubeletPreferredAddressTypes = splitList(cfg.KubeletPreferredAddressTypes)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &APIServer{lg: lg, cfg: cfg, done: make(chan struct{})}
	if err := a.start(ctx); err != nil {
		a.cleanup()
		return nil, err
	}
	return a, nil
}

func (a *APIServer) start(ctx context.Context) error {
	lg, cfg := a.lg, a.cfg
	endpoints := cfg.EtcdServers
	if len(endpoints) == 0 {
		e, err := etcd.StartEmbedded(lg, etcd.EmbeddedConfig{DataDir: cfg.DataDir, ClientURL: cfg.EmbeddedEtcdClientURL,
			PeerURL: cfg.EmbeddedEtcdPeerURL, UnsafeNoFsync: cfg.EmbeddedEtcdUnsafeNoFsync})
		if err != nil {
			return err
		}
		a.etcd = e
		endpoints = []string{cfg.EmbeddedEtcdClientURL}
		lg.Info("embedded etcd started", zap.String("data-dir", cfg.DataDir), zap.String("client-url", cfg.EmbeddedEtcdClientURL))
	}
	cli, err := etcd.NewClient(lg, etcd.ClientConfig{Endpoints: endpoints, CAFile: cfg.EtcdCAFile, CertFile: cfg.EtcdCertFile, KeyFile: cfg.EtcdKeyFile})
	if err != nil {
		return err
	}
	a.cli = cli

	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	store := storage.New(cli)
	reg, err := registry.New(registry.Deps{
		Logger:  lg.Named("registry"),
		Store:   store,
		Cacher:  storage.CacherConfig{Capacity: cfg.WatchCacheSize},
		Metrics: registry.NewMetrics(promReg),
	}, registry.Config{ServiceClusterIPRange: cfg.ServiceClusterIPRange, ServiceNodePortRange: cfg.ServiceNodePortRange})
	if err != nil {
		return err
	}
	a.reg = reg
	kc, err := kubelet.New(lg.Named("kubelet-client"), func(ctx context.Context, name string) (*corev1.Node, error) {
		return reg.Nodes.Get(ctx, &metav1.GetOptions{Name: name})
	}, kubelet.Config{
		PreferredAddressTypes: cfg.KubeletPreferredAddressTypes,
		ClientCertFile:        cfg.KubeletClientCertificate,
		ClientKeyFile:         cfg.KubeletClientKey,
		CAFile:                cfg.KubeletCertificateAuthority,
		InsecureHTTP:          cfg.KubeletInsecureHTTP,
		Timeout:               cfg.KubeletTimeout,
	})
	if err != nil {
		return err
	}
	reg.Pods.Logs = kc.ContainerLogs

	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	reg.Run(runCtx)
	waitCtx, waitCancel := context.WithTimeout(ctx, 60*time.Second)
	defer waitCancel()
	if err := reg.WaitReady(waitCtx); err != nil {
		return fmt.Errorf("watch caches did not start (is etcd at %v reachable?): %w", endpoints, err)
	}
	if err := reg.EnsureSystemNamespaces(waitCtx); err != nil {
		return err
	}
	go store.RunCompactor(runCtx, lg.Named("compactor"), cfg.EtcdCompactionInterval)

	var authenticate func(http.Handler) http.Handler
	var authenticator authn.Authenticator
	var authorize authz.Authorizer
	if !cfg.Insecure {
		az, err := authz.New(authz.Config{Modes: splitList(cfg.AuthorizationMode), PolicyFile: cfg.AuthorizationPolicyFile})
		if err != nil {
			return err
		}
		authorize = az
		var auths []authn.Authenticator
		if cfg.ClientCAFile != "" {
			x, err := authn.NewX509FromFile(cfg.ClientCAFile)
			if err != nil {
				return fmt.Errorf("--client-ca-file: %w", err)
			}
			auths = append(auths, x)
		}
		if cfg.TokenAuthFile != "" {
			tf, err := authn.LoadTokenFile(cfg.TokenAuthFile)
			if err != nil {
				return fmt.Errorf("--token-auth-file: %w", err)
			}
			auths = append(auths, authn.BearerToken(tf))
		}
		if len(cfg.ServiceAccountKeyFiles) > 0 {
			keys, err := authn.LoadPublicKeys(cfg.ServiceAccountKeyFiles)
			if err != nil {
				return fmt.Errorf("--service-account-key-file: %w", err)
			}
			auths = append(auths, authn.BearerToken(authn.NewServiceAccountTokens(keys, serviceAccountLookup{reg})))
		}
		a := authn.Union(auths...)
		authenticator = a
		authenticate = func(next http.Handler) http.Handler { return authn.Middleware(lg.Named("authn"), a, next) }
	} else {
		lg.Warn("INSECURE MODE: serving plaintext HTTP and gRPC with NO authentication; use only for local development")
	}
	srv, err := server.New(lg.Named("server"), reg, server.Config{
		// The Kubernetes version whose API Skiff serves, so that kubectl
		// warns of no skew; Skiff's own in the build metadata.
		Version: &metav1.Version{Major: component.KubernetesMajor, Minor: component.KubernetesMinor,
			GitVersion: component.ServerGitVersion(GitVersion), GitCommit: GitCommit, BuildDate: BuildDate,
			GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH},
		Gatherer:      promReg,
		Ready:         a.readyCheck,
		Authenticate:  authenticate,
		Authenticator: authenticator,
		Authorize:     authorize,
		PodExec:       kc.ProxyExec,
	})
	if err != nil {
		return err
	}

	host := cfg.BindAddress
	if host == "" {
		host = "0.0.0.0"
		if cfg.Insecure {
			host = "127.0.0.1"
		}
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.SecurePort)))
	if err != nil {
		return fmt.Errorf("listen on --bind-address %s --secure-port %d: %w", host, cfg.SecurePort, err)
	}
	a.lis = lis
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: 2000,
			SendPingTimeout:      30 * time.Second,
			PingTimeout:          15 * time.Second,
		},
		// The splitter terminates TLS: HTTP/2 reaches the server as prior
		// knowledge, and the TLS state through the connection's context.
		ConnContext: server.ConnContext,
		ErrorLog:    zap.NewStdLog(lg.Named("http").WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
	}
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	var tlsConfig *tls.Config
	if !cfg.Insecure {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSPrivateKeyFile)
		if err != nil {
			_ = lis.Close()
			return fmt.Errorf("--tls-cert-file/--tls-private-key-file: %w", err)
		}
		// Client certificates are requested, not required: the x509
		// authenticator checks them, so a bad certificate can fall back to a token.
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
			ClientAuth: tls.RequestClientCert, NextProtos: []string{"h2", "http/1.1"}}
	}
	// One port: gRPC connections go to grpc-go's own transport, the rest
	// (REST, discovery, health, metrics) to the HTTP server.
	a.split = server.NewSplitter(lg.Named("split"), lis, tlsConfig, hs.ReadHeaderTimeout)
	a.http = hs
	a.grpc = srv.GRPC()
	fail := func(err error) {
		// Shutdown closes the splitter first: its listeners then report
		// net.ErrClosed to the servers.
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) && !errors.Is(err, net.ErrClosed) {
			lg.Error("server stopped", zap.Error(err))
			a.setErr(err)
			a.cancel()
		}
	}
	go func() { fail(hs.Serve(a.split.HTTP())) }()
	go func() { fail(a.grpc.Serve(a.split.GRPC())) }()
	go func() { fail(a.split.Serve()) }()
	a.mu.Lock()
	a.ready = true
	a.mu.Unlock()
	lg.Info("serving gRPC and REST", zap.String("address", lis.Addr().String()), zap.Bool("tls", !cfg.Insecure))
	component.NotifyReady(lg)
	return nil
}

func (a *APIServer) setErr(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err == nil {
		a.err = err
	}
}

func (a *APIServer) readyCheck(ctx context.Context) error {
	a.mu.Lock()
	ready := a.ready
	a.mu.Unlock()
	if !ready {
		return errors.New("shutting down")
	}
	if _, err := a.cli.Get(ctx, "/skiff/~health", clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	return nil
}

// Addr is the address the apiserver serves on.
func (a *APIServer) Addr() string { return a.lis.Addr().String() }

// Shutdown stops serving: not ready first, then in-flight requests get
// until the shutdown timeout, then watches are cut, caches stop and etcd
// closes.
func (a *APIServer) Shutdown() error {
	a.mu.Lock()
	a.ready = false
	a.mu.Unlock()
	component.NotifyStopping(a.lg)
	if a.http != nil {
		_ = a.split.Close()
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := a.http.Shutdown(ctx); err != nil {
				// Watch streams never end on their own: cut them.
				_ = a.http.Close()
			}
		})
		wg.Go(func() {
			stopped := make(chan struct{})
			go func() { a.grpc.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-ctx.Done():
				a.grpc.Stop()
				<-stopped
			}
		})
		wg.Wait()
		cancel()
	}
	a.cleanup()
	a.lg.Info("apiserver stopped")
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *APIServer) cleanup() {
	if a.cancel != nil {
		a.cancel()
	}
	if a.cli != nil {
		_ = a.cli.Close()
	}
	if a.etcd != nil {
		a.etcd.Close()
		<-a.etcd.Server.StopNotify()
	}
}
