// Package apiservertest runs a real skiff-apiserver in-process, on real
// embedded etcd and a loopback port, for integration tests of the apiserver
// and of every client of it.
package apiservertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/internal/app"
	"skiff.dev/apiserver/internal/etcd"
	"skiff.dev/apiserver/internal/pki"
)

// Options configures a test apiserver; the zero value runs an insecure
// apiserver on an ephemeral loopback port over embedded etcd in a temp dir.
type Options struct {
	EtcdServers    []string // external etcd endpoints; empty runs embedded etcd in DataDir
	DataDir        string   // embedded etcd data dir; empty is t.TempDir()
	Port           int      // 0 picks a free loopback port
	WatchCacheSize int      // events kept per resource; 0 is the default
	// CompactionInterval enables the apiserver's own compactor (0: off).
	CompactionInterval time.Duration
	// Logger receives the apiserver's logs; nil logs to the test on failure only.
	Logger *zap.Logger

	// Secure serves TLS with a fresh development PKI (Server.PKIDir:
	// ca.crt, admin.crt/key in system:masters, the components'
	// certificates), client-certificate and token authentication, and
	// ABAC authorization.
	Secure bool
	// Tokens is the static token file (token,user,uid[,"group1,group2"]
	// lines) of a Secure server.
	Tokens string
	// Policy is the ABAC policy file (one JSON policy per line) of a
	// Secure server; the built-in policy of the components always applies.
	Policy string
	// ServiceAccountKeyFiles verify service account tokens on a Secure
	// server (--service-account-key-file); empty is the PKI's sa.pub,
	// whose private half is PKIDir/sa.key.
	ServiceAccountKeyFiles []string

	// How the apiserver calls kubelets (for pods' logs): by default over
	// HTTPS, without a client certificate and without verifying theirs.
	KubeletClientCert   string // --kubelet-client-certificate
	KubeletClientKey    string // --kubelet-client-key
	KubeletCA           string // --kubelet-certificate-authority
	KubeletInsecureHTTP bool   // --kubelet-insecure-http: plain HTTP, as kubelettest serves without TLS
}

// Server is a running apiserver.
type Server struct {
	Address       string   // 127.0.0.1:PORT, serving gRPC and REST
	URL           string   // http://127.0.0.1:PORT, or https:// when Secure
	PKIDir        string   // the certificates of a Secure server
	EtcdEndpoints []string // the etcd it uses (embedded or external)
	DataDir       string

	t    testing.TB
	cfg  app.Config
	lg   *zap.Logger
	mu   sync.Mutex
	srv  *app.APIServer
	stop bool
}

// Start runs an apiserver until Stop or the test's cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	lg := opts.Logger
	if lg == nil {
		lg = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	port := opts.Port
	if port == 0 {
		port = FreePort(t)
	}
	s := &Server{t: t, lg: lg, DataDir: opts.DataDir}
	cfg := app.Config{}
	defaults(&cfg)
	cfg.Insecure = true
	cfg.BindAddress = "127.0.0.1"
	cfg.SecurePort = port
	cfg.EtcdServers = opts.EtcdServers
	cfg.EtcdCompactionInterval = opts.CompactionInterval
	cfg.ShutdownTimeout = 2 * time.Second
	cfg.KubeletClientCertificate = opts.KubeletClientCert
	cfg.KubeletClientKey = opts.KubeletClientKey
	cfg.KubeletCertificateAuthority = opts.KubeletCA
	cfg.KubeletInsecureHTTP = opts.KubeletInsecureHTTP
	if opts.WatchCacheSize > 0 {
		cfg.WatchCacheSize = opts.WatchCacheSize
	}
	if len(opts.EtcdServers) == 0 {
		if s.DataDir == "" {
			s.DataDir = filepath.Join(t.TempDir(), "etcd")
		}
		cfg.DataDir = s.DataDir
		cfg.EmbeddedEtcdClientURL = fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))
		cfg.EmbeddedEtcdPeerURL = fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))
		s.EtcdEndpoints = []string{cfg.EmbeddedEtcdClientURL}
	} else {
		s.EtcdEndpoints = opts.EtcdServers
	}
	s.Address = fmt.Sprintf("127.0.0.1:%d", port)
	s.URL = "http://" + s.Address
	if opts.Secure {
		s.secure(t, &cfg, opts)
	}
	s.cfg = cfg
	s.start(t)
	t.Cleanup(s.Stop)
	return s
}

// secure makes the PKI, token and policy files of a Secure server.
func (s *Server) secure(t testing.TB, cfg *app.Config, opts Options) {
	t.Helper()
	dir := t.TempDir()
	s.PKIDir = filepath.Join(dir, "pki")
	if err := pki.Generate(s.PKIDir, pki.Options{}); err != nil {
		t.Fatalf("apiservertest: make certificates: %v", err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatalf("apiservertest: %v", err)
		}
		return p
	}
	cfg.Insecure = false
	cfg.TLSCertFile = filepath.Join(s.PKIDir, "apiserver.crt")
	cfg.TLSPrivateKeyFile = filepath.Join(s.PKIDir, "apiserver.key")
	cfg.ClientCAFile = filepath.Join(s.PKIDir, "ca.crt")
	cfg.AuthorizationMode = []string{"ABAC"}
	if opts.Tokens != "" {
		cfg.TokenAuthFile = write("tokens.csv", opts.Tokens)
	}
	if opts.Policy != "" {
		cfg.AuthorizationPolicyFile = write("policy.jsonl", opts.Policy)
	}
	cfg.ServiceAccountKeyFiles = opts.ServiceAccountKeyFiles
	if len(cfg.ServiceAccountKeyFiles) == 0 {
		cfg.ServiceAccountKeyFiles = []string{filepath.Join(s.PKIDir, pki.ServiceAccountPublic)}
	}
	s.URL = "https://" + s.Address
}

func defaults(cfg *app.Config) {
	d := app.Defaults()
	cfg.ServiceClusterIPRange = d["service-cluster-ip-range"].(string)
	cfg.ServiceNodePortRange = d["service-node-port-range"].(string)
	cfg.WatchCacheSize = d["default-watch-cache-size"].(int)
	cfg.KubeletPreferredAddressTypes = d["kubelet-preferred-address-types"].([]string)
	cfg.KubeletTimeout = d["kubelet-timeout"].(time.Duration)
	cfg.LogFormat = "console"
	cfg.LogLevel = "warn"
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := app.Start(ctx, s.lg, s.cfg)
	if err != nil {
		t.Fatalf("apiservertest: start apiserver: %v", err)
	}
	s.mu.Lock()
	s.srv, s.stop = srv, false
	s.mu.Unlock()
}

// Stop shuts the apiserver down; it is safe to call twice.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Shutdown()
	}
}

// Restart stops the apiserver and starts it again on the same port and data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

// StartEtcd runs a standalone embedded etcd on loopback, for several
// apiservers to share; it stops at the test's cleanup.
func StartEtcd(t testing.TB) []string {
	t.Helper()
	client := fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))
	e, err := etcd.StartEmbedded(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), etcd.EmbeddedConfig{
		DataDir: filepath.Join(t.TempDir(), "etcd"), ClientURL: client,
		PeerURL: fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))})
	if err != nil {
		t.Fatalf("apiservertest: start etcd: %v", err)
	}
	t.Cleanup(func() { stopEtcd(e) })
	return []string{client}
}

func stopEtcd(e *embed.Etcd) {
	e.Close()
	<-e.Server.StopNotify()
}

// handedOut holds the ports FreePort returned in this process: the kernel may
// give a port that was just closed to the next bind(:0), so an apiserver and
// its embedded etcd, given ports one after the other, could get the same one.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort is a loopback TCP port that was free a moment ago and that
// FreePort has not returned before in this process.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 1000 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("apiservertest: find a free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		handedOut.Lock()
		fresh := !handedOut.ports[port]
		handedOut.ports[port] = true
		handedOut.Unlock()
		if fresh {
			return port
		}
	}
	t.Fatal("apiservertest: every free port the kernel offered was handed out before")
	return 0
}
