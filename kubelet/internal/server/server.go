// Package server is the kubelet's HTTP API, the one the apiserver calls to
// reach a node: GET /containerLogs/{namespace}/{pod}/{container} (what
// `skiffctl logs` reads through the apiserver), /exec/{namespace}/{pod}/{container}
// (`skiffctl exec`), /portForward/{namespace}/{pod} (`skiffctl port-forward`),
// /stats/summary (`skiffctl top`) and /healthz.
//
// It serves TLS and authenticates callers by client certificate against a
// client CA, as Kubernetes' kubelet does with --client-ca-file; plain HTTP
// only when configured as insecure.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"skiff.dev/kubelet/internal/logs"
	corev1 "skiff.dev/proto/core/v1"
)

// PodLookup finds the uid of a pod of this node by namespace and name.
type PodLookup func(namespace, name string) (uid string, ok bool)

// ContainerRunning says whether a container of a pod of this node runs now.
type ContainerRunning func(namespace, pod, container string) bool

// followSettle is how long a followed log is still read after its
// container was first seen stopped: the log driver may still be writing
// the container's last lines.
const followSettle = 2 * time.Second

// Config configures the kubelet's HTTP API.
type Config struct {
	// LogRoot holds the container logs; empty is logs.DefaultRoot.
	LogRoot string
	// PodLookup finds a pod's uid; nil looks for the pod's log folder,
	// <LogRoot>/<namespace>_<pod>_<uid>, instead.
	PodLookup PodLookup
	// FollowPollInterval is how often a followed log is checked for new
	// lines; 0 is logs.DefaultPollInterval.
	FollowPollInterval time.Duration
	// ContainerRunning, when set, ends a followed log once its container
	// has stopped (kubectl logs -f ends when the container exits, as in
	// Kubernetes); nil follows until the container restarts or the caller
	// goes away.
	ContainerRunning ContainerRunning

	// CertFile and KeyFile are the serving certificate and key (PEM);
	// required unless Insecure.
	CertFile string
	KeyFile  string
	// ClientCAFile, when set, is the CA bundle callers' client certificates
	// must chain to; callers without one get 401. Empty lets any caller in.
	ClientCAFile string
	// Insecure serves plain HTTP with no authentication (development only).
	Insecure bool

	// Exec runs a command in a container for /exec; nil answers 501.
	Exec ExecFunc
	// PortForward connects to a pod's port for /portForward; nil answers 501.
	PortForward PortForwardFunc
	// Summary is the answer of /stats/summary; nil answers 501.
	Summary SummaryFunc

	// Now is the clock of sinceSeconds; nil is time.Now.
	Now func() time.Time
}

// Server serves the kubelet's HTTP API.
type Server struct {
	lg        *zap.Logger
	cfg       Config
	mux       *http.ServeMux
	tls       *tls.Config
	clientCAs *x509.CertPool
	http      *http.Server
}

// New checks the configuration and loads the TLS material.
func New(lg *zap.Logger, cfg Config) (*Server, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.LogRoot == "" {
		cfg.LogRoot = logs.DefaultRoot
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{lg: lg, cfg: cfg, mux: http.NewServeMux()}
	if cfg.Insecure {
		if cfg.CertFile != "" || cfg.ClientCAFile != "" {
			return nil, errors.New("kubelet server: a serving certificate or client CA was given together with insecure mode: choose one")
		}
	} else {
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return nil, errors.New("kubelet server: a serving certificate and key are required, or run insecure for local development")
		}
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kubelet server: load serving certificate %s: %w", cfg.CertFile, err)
		}
		// Client certificates are requested, not required, so that a caller
		// without a valid one gets a 401 rather than a failed handshake.
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
			ClientAuth: tls.RequestClientCert, NextProtos: []string{"h2", "http/1.1"}}
		if cfg.ClientCAFile != "" {
			pem, err := os.ReadFile(cfg.ClientCAFile)
			if err != nil {
				return nil, fmt.Errorf("kubelet server: read client CA: %w", err)
			}
			s.clientCAs = x509.NewCertPool()
			if !s.clientCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kubelet server: client CA %s holds no PEM certificate", cfg.ClientCAFile)
			}
		}
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	s.mux.Handle("GET /containerLogs/{namespace}/{pod}/{container}", s.authenticated(http.HandlerFunc(s.containerLogs)))
	s.mux.Handle("/exec/{namespace}/{pod}/{container}", s.authenticated(http.HandlerFunc(s.exec)))
	s.mux.Handle("/portForward/{namespace}/{pod}", s.authenticated(http.HandlerFunc(s.portForward)))
	s.mux.Handle("GET /stats/summary", s.authenticated(http.HandlerFunc(s.statsSummary)))
	return s, nil
}

// ServeHTTP serves one request of the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Serve answers on lis until Shutdown; it returns http.ErrServerClosed then.
func (s *Server) Serve(lis net.Listener) error {
	s.http = &http.Server{
		Handler:           s,
		TLSConfig:         s.tls,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          zap.NewStdLog(s.lg.Named("http").WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
	}
	switch {
	case s.cfg.Insecure:
		s.lg.Warn("INSECURE MODE: the kubelet API serves plain HTTP with NO authentication; use only for local development",
			zap.String("address", lis.Addr().String()))
		return s.http.Serve(lis)
	case s.clientCAs == nil:
		s.lg.Warn("no client CA: the kubelet API lets every caller in", zap.String("address", lis.Addr().String()))
	}
	return s.http.ServeTLS(lis, "", "")
}

// Shutdown stops serving: requests get until ctx ends, then followed logs
// are cut.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	if err := s.http.Shutdown(ctx); err != nil {
		return s.http.Close()
	}
	return nil
}

// authenticated lets through callers whose client certificate chains to
// the client CA, when there is one.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.clientCAs == nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "Unauthorized: a client certificate signed by the kubelet's client CA is required", http.StatusUnauthorized)
			return
		}
		certs := r.TLS.PeerCertificates
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: s.clientCAs, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			s.lg.Info("rejected client certificate", zap.String("subject", certs[0].Subject.String()), zap.Error(err))
			http.Error(w, "Unauthorized: the client certificate is not valid for the kubelet's client CA", http.StatusUnauthorized)
			return
		}
		s.lg.Debug("authenticated", zap.String("user", certs[0].Subject.CommonName), zap.String("path", r.URL.Path))
		next.ServeHTTP(w, r)
	})
}

// name is what namespace, pod and container names look like (RFC 1123);
// it keeps paths built from them inside the log root.
var name = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// containerLogs serves GET /containerLogs/{namespace}/{pod}/{container}
// with Kubernetes' query parameters: follow, previous, timestamps,
// tailLines, sinceSeconds, limitBytes.
// validPathNames checks the namespace, pod and (when the route has one)
// container names of r's path, answering 400 for the first that is not a
// valid name; it returns them and whether all were valid.
func validPathNames(w http.ResponseWriter, r *http.Request, withContainer bool) (ns, pod, ctr string, ok bool) {
	ns, pod, ctr = r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	checks := []struct{ what, value string }{{"namespace", ns}, {"pod", pod}}
	if withContainer {
		checks = append(checks, struct{ what, value string }{"container", ctr})
	}
	for _, v := range checks {
		if len(v.value) > 253 || !name.MatchString(v.value) {
			http.Error(w, fmt.Sprintf("invalid %s name %q: must be lower-case letters, digits, '-' and '.'", v.what, v.value), http.StatusBadRequest)
			return "", "", "", false
		}
	}
	return ns, pod, ctr, true
}

func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, ctr, ok := validPathNames(w, r, true)
	if !ok {
		return
	}
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	uid, err := s.podUID(ns, pod)
	if err != nil {
		s.fail(w, err)
		return
	}
	c := logs.Container{Root: s.cfg.LogRoot, Namespace: ns, Pod: pod, UID: uid, Name: ctr}
	find := c.Current
	if opts.GetPrevious() {
		find = c.Previous
	}
	l, err := find()
	if err != nil {
		s.fail(w, err)
		return
	}
	read := logs.Options{TailLines: opts.TailLines, Timestamps: opts.GetTimestamps(), Follow: opts.GetFollow(),
		LimitBytes: opts.GetLimitBytes(), PollInterval: s.cfg.FollowPollInterval}
	if opts.SinceSeconds != nil {
		read.Since = s.cfg.Now().Add(-time.Duration(opts.GetSinceSeconds()) * time.Second)
	}
	if running := s.cfg.ContainerRunning; running != nil && read.Follow {
		var stoppedAt time.Time
		read.StopFollowing = func() bool {
			if running(ns, pod, ctr) {
				stoppedAt = time.Time{}
				return false
			}
			if stoppedAt.IsZero() {
				stoppedAt = time.Now()
			}
			return time.Since(stoppedAt) >= followSettle
		}
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	var out io.Writer = w
	if f, ok := w.(http.Flusher); ok && read.Follow {
		// The caller sees the answer start at once, and every line as it comes.
		f.Flush()
		out = flushWriter{w: w, f: f}
	}
	s.lg.Debug("serving container log", zap.String("pod", ns+"/"+pod), zap.String("container", ctr),
		zap.Int("restartCount", l.RestartCount), zap.Bool("follow", read.Follow))
	if err := l.Read(r.Context(), read, out); err != nil && r.Context().Err() == nil {
		// The answer has started: all that is left is to end it early.
		s.lg.Info("container log cut short", zap.String("pod", ns+"/"+pod), zap.String("container", ctr), zap.Error(err))
	}
}

// podUID finds the pod through the lookup or its log folder.
func (s *Server) podUID(ns, pod string) (string, error) {
	if s.cfg.PodLookup == nil {
		return logs.FindPodUID(s.cfg.LogRoot, ns, pod)
	}
	uid, ok := s.cfg.PodLookup(ns, pod)
	if !ok {
		return "", logs.PodNotFound(ns, pod)
	}
	if uid == "" || uid == "." || uid == ".." || strings.ContainsAny(uid, `/\`) {
		return "", fmt.Errorf("pod %q in namespace %q has an unusable uid %q", pod, ns, uid)
	}
	return uid, nil
}

// fail answers with the error: 404 for what does not exist, else 500.
func (s *Server) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, logs.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	s.lg.Error("container logs", zap.Error(err))
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

// parseLogOptions reads the query parameters of /containerLogs, with
// Kubernetes' names and checks.
func parseLogOptions(q map[string][]string) (*corev1.PodLogOptions, error) {
	opts := &corev1.PodLogOptions{}
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	for _, b := range []struct {
		key string
		to  *bool
	}{{"follow", &opts.Follow}, {"previous", &opts.Previous}, {"timestamps", &opts.Timestamps}} {
		v, ok := get(b.key)
		if !ok {
			continue
		}
		if v == "" {
			*b.to = true
			continue
		}
		p, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s: must be true or false, got %q", b.key, v)
		}
		*b.to = p
	}
	for _, n := range []struct {
		key string
		min int64
		to  **int64
	}{{"tailLines", 0, &opts.TailLines}, {"sinceSeconds", 1, &opts.SinceSeconds}, {"limitBytes", 1, &opts.LimitBytes}} {
		v, ok := get(n.key)
		if !ok {
			continue
		}
		p, err := strconv.ParseInt(v, 10, 64)
		if err != nil || p < n.min {
			return nil, fmt.Errorf("%s: must be an integer >= %d, got %q", n.key, n.min, v)
		}
		*n.to = &p
	}
	return opts, nil
}

// flushWriter sends every write to the caller at once.
type flushWriter struct {
	w io.Writer
	f http.Flusher
}

func (fw flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	fw.f.Flush()
	return n, err
}
