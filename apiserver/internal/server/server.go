// Package server is the apiserver's front: one HTTP server on one port that
// serves gRPC (HTTP/2, by content type) and the REST API (grpc-gateway over
// the same service implementations), plus watch streaming, discovery,
// health, version and metrics.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/authn"
	"skiff.dev/apiserver/internal/authz"
	"skiff.dev/apiserver/internal/compat"
	"skiff.dev/apiserver/internal/registry"
	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	"skiff.dev/proto/codec"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// Config configures the front.
type Config struct {
	Version  *metav1.Version
	Gatherer prometheus.Gatherer
	// Ready reports whether the apiserver can serve (etcd reachable, caches ready).
	Ready func(ctx context.Context) error
	// Authenticate wraps the whole handler; nil serves everyone (--insecure).
	Authenticate func(http.Handler) http.Handler
	// Authenticator authenticates the gRPC calls that a Splitter sends to
	// the gRPC server's own transport, as Authenticate does those served
	// through ServeHTTP; nil with Authenticate nil (--insecure).
	Authenticator authn.Authenticator
	// PodExec proxies an exec request (a websocket upgrade) to the kubelet
	// of the pod's node; it returns an error only when it has not answered
	// yet. Nil answers 503.
	PodExec func(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, container string) error
	// PodPortForward proxies a port-forward request (a websocket upgrade)
	// to the kubelet of the pod's node, as PodExec does. Nil answers 503.
	PodPortForward func(w http.ResponseWriter, r *http.Request, pod *corev1.Pod) error
	// NodeProxy passes a GET of path to the named node's kubelet; it
	// returns an error only when it has not answered yet. Nil answers 503.
	NodeProxy func(w http.ResponseWriter, r *http.Request, node, path string) error
	// Authorize decides on every authenticated request, REST and gRPC;
	// nil allows all (--insecure).
	Authorize authz.Authorizer
}

// Server is the HTTP handler of the apiserver's one port.
type Server struct {
	lg      *zap.Logger
	cfg     Config
	reg     *registry.Registry
	grpc    *grpc.Server
	gateway *gwruntime.ServeMux
	handler http.Handler
}

// New builds the handler over reg.
func New(lg *zap.Logger, reg *registry.Registry, cfg Config) (*Server, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	s := &Server{lg: lg, cfg: cfg, reg: reg}
	unary := []grpc.UnaryServerInterceptor{s.recoverUnary}
	stream := []grpc.StreamServerInterceptor{s.recoverStream}
	if cfg.Authenticator != nil {
		unary = append(unary, s.authenticateUnary)
		stream = append(stream, s.authenticateStream)
	}
	var az *authorizer
	if cfg.Authorize != nil {
		az = newAuthorizer(lg, cfg.Authorize, reg.Infos())
		unary = append(unary, az.unary)
		stream = append(stream, az.stream)
	}
	s.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(maxBodyBytes),
		grpc.Creds(Credentials()),
		grpc.MaxConcurrentStreams(2000),
		// As the HTTP server's HTTP/2 settings: ping an idle connection
		// after 30 s, drop it when the ping gets no answer in 15 s; and let
		// clients ping every 30 s with no call in flight (proto/client).
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 15 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	reg.RegisterGRPC(s.grpc)

	s.gateway = gwruntime.NewServeMux(
		gwruntime.WithMarshalerOption(gwruntime.MIMEWildcard, &jsonMarshaler{}),
		gwruntime.WithMarshalerOption("application/json", &jsonMarshaler{}),
		gwruntime.WithMarshalerOption("application/yaml", &jsonMarshaler{yaml: true}),
		tableMarshalers(),
		gwruntime.WithErrorHandler(func(ctx context.Context, _ *gwruntime.ServeMux, _ gwruntime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, err)
		}),
		gwruntime.WithRoutingErrorHandler(func(ctx context.Context, _ *gwruntime.ServeMux, _ gwruntime.Marshaler, w http.ResponseWriter, r *http.Request, code int) {
			if code == http.StatusMethodNotAllowed {
				writeError(w, apierrors.New(apierrors.ReasonMethodNotAllowed, "", "", fmt.Sprintf("the server does not allow this method on the requested resource: %s %s", r.Method, r.URL.Path)))
				return
			}
			writeError(w, apierrors.NotFound("path", r.URL.Path))
		}),
		gwruntime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
	)
	if err := registerGateway(context.Background(), s.gateway, reg); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /livez", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /version", s.version)
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api", s.discoveryAPI)
	mux.HandleFunc("GET /apis", s.discoveryAPIs)
	openapi, err := newOpenAPI(reg, cfg.Version)
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /openapi/", openapi)
	mux.Handle("/", http.HandlerFunc(s.rest))

	var h http.Handler = mux
	if az != nil {
		h = az.http(h)
	}
	if cfg.Authenticate != nil {
		h = cfg.Authenticate(h)
	}
	front := h
	s.handler = s.recoverHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			if cfg.Authenticate != nil {
				cfg.Authenticate(s.grpc).ServeHTTP(w, r)
				return
			}
			s.grpc.ServeHTTP(w, r)
			return
		}
		front.ServeHTTP(w, r)
	}))
	return s, nil
}

// ServeHTTP serves gRPC and REST. A request on a connection from a
// Splitter gets back the TLS state the Splitter terminated.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		r.TLS = TLSFromContext(r.Context())
	}
	s.handler.ServeHTTP(w, r)
}

// GRPC is the gRPC server, stopped with the HTTP server.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

func registerGateway(ctx context.Context, mux *gwruntime.ServeMux, reg *registry.Registry) error {
	for _, f := range []func() error{
		func() error { return corev1.RegisterNamespaceServiceHandlerServer(ctx, mux, reg.Namespaces) },
		func() error { return corev1.RegisterPodServiceHandlerServer(ctx, mux, reg.Pods) },
		func() error { return corev1.RegisterNodeServiceHandlerServer(ctx, mux, reg.Nodes) },
		func() error { return corev1.RegisterServiceServiceHandlerServer(ctx, mux, reg.Services) },
		func() error { return corev1.RegisterEndpointsServiceHandlerServer(ctx, mux, reg.Endpoints) },
		func() error { return corev1.RegisterEventServiceHandlerServer(ctx, mux, reg.Events) },
		func() error { return corev1.RegisterConfigMapServiceHandlerServer(ctx, mux, reg.ConfigMaps) },
		func() error { return corev1.RegisterSecretServiceHandlerServer(ctx, mux, reg.Secrets) },
		func() error { return corev1.RegisterServiceAccountServiceHandlerServer(ctx, mux, reg.ServiceAccounts) },
		func() error { return appsv1.RegisterReplicaSetServiceHandlerServer(ctx, mux, reg.ReplicaSets) },
		func() error { return appsv1.RegisterDeploymentServiceHandlerServer(ctx, mux, reg.Deployments) },
		func() error { return appsv1.RegisterDaemonSetServiceHandlerServer(ctx, mux, reg.DaemonSets) },
		func() error { return batchv1.RegisterJobServiceHandlerServer(ctx, mux, reg.Jobs) },
		func() error { return coordinationv1.RegisterLeaseServiceHandlerServer(ctx, mux, reg.Leases) },
	} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// rest routes a REST request: watches and logs stream here, the rest goes
// to the gateway; creates answer 201 as Kubernetes' do.
func (s *Server) rest(w http.ResponseWriter, r *http.Request) {
	if refuseDryRun(w, r) {
		return
	}
	media := ""
	if t, ok := parsePath(r.URL.Path); ok && !t.discovery && !t.groupDiscovery && t.sub != "log" && t.sub != "exec" {
		if media, ok = negotiate(w, r); !ok {
			return
		}
		streams := r.Method == http.MethodGet && (t.watch || t.name == "" && isTrue(r.URL.Query().Get("watch")))
		if media == compat.MediaProtobuf && !streams { // a watch writes its own frames
			p := &protobufWriter{w: w}
			defer p.finish()
			w = p
		}
	}
	if r.Method == http.MethodGet {
		if t, ok := parsePath(r.URL.Path); ok {
			table, ok := negotiateTable(w, r, t)
			if !ok {
				return
			}
			switch {
			case t.discovery:
				s.discoveryGroupVersion(w, r, t)
				return
			case t.watch || isTrue(r.URL.Query().Get("watch")):
				if t.name == "" || t.watch {
					s.watch(w, r, t, table, media)
					return
				}
			case t.sub == "log" && t.resource == "pods":
				s.podLog(w, r, t)
				return
			case t.sub == "proxy" && t.resource == "nodes" && t.group == "" && t.namespace == "" && t.name != "":
				s.nodeProxy(w, r, t)
				return
			}
		}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodPost {
		if t, ok := parsePath(r.URL.Path); ok && t.resource == "pods" && t.group == "" {
			switch t.sub {
			case "exec":
				s.podExec(w, r, t)
				return
			case "portforward":
				s.podPortForward(w, r, t)
				return
			}
		}
	}
	if r.Method == http.MethodPatch {
		if t, ok := parsePath(r.URL.Path); ok && !t.discovery && !t.groupDiscovery {
			s.patch(w, r, t)
			return
		}
	}
	if r.Method == http.MethodDelete && r.ContentLength != 0 {
		if err := deleteOptionsFromBody(r); err != nil {
			writeError(w, err)
			return
		}
	}
	if !s.validateBody(w, r) {
		return
	}
	if r.Method == http.MethodPost {
		w = &createdWriter{ResponseWriter: w}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	s.gateway.ServeHTTP(w, r)
}

func isTrue(v string) bool { return v == "true" || v == "1" }

// createdWriter turns the gateway's 200 for a POST into 201 Created.
type createdWriter struct {
	http.ResponseWriter
	wrote bool
}

func (c *createdWriter) WriteHeader(code int) {
	if !c.wrote && code == http.StatusOK {
		code = http.StatusCreated
	}
	c.wrote = true
	c.ResponseWriter.WriteHeader(code)
}

func (c *createdWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

func (c *createdWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// writeError answers with a Kubernetes Status body.
func writeError(w http.ResponseWriter, err error) {
	st, code := apierrors.ToStatus(err)
	b, _ := codec.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, v any) {
	var b []byte
	if m, ok := v.(proto.Message); ok {
		b, _ = codec.Marshal(m)
	} else {
		b, _ = json.Marshal(v)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.cfg.Version)
}

func (s *Server) recoverHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.lg.Error("panic serving request", zap.String("path", r.URL.Path), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
				writeError(w, apierrors.Internal("internal error: %v", p))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.lg.Error("panic serving call", zap.String("method", info.FullMethod), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			err = status.Errorf(codes.Internal, "internal error: %v", p)
		}
	}()
	return h(ctx, req)
}

func (s *Server) recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.lg.Error("panic serving stream", zap.String("method", info.FullMethod), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			err = status.Errorf(codes.Internal, "internal error: %v", p)
		}
	}()
	return h(srv, ss)
}

var errNoFlush = errors.New("streaming is not supported by this connection")
