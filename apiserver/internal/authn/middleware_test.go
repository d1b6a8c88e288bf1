package authn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

const unauthorizedBody = `{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}` + "\n"

func testTokens(t *testing.T) *TokenFile {
	t.Helper()
	tf, err := ParseTokenFile("tokens.csv", strings.NewReader("alice-token,alice,uid-1,dev\n"))
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

func TestMiddlewareREST(t *testing.T) {
	a := Union(BearerToken(testTokens(t)))
	tests := []struct {
		name        string
		path        string
		header      string // Authorization
		contentType string
		wantCode    int
		wantUser    string
		wantGroups  []string
	}{
		{name: "no credentials", path: "/api/v1/pods", wantCode: http.StatusUnauthorized},
		{name: "invalid token", path: "/api/v1/pods", header: "Bearer nope", wantCode: http.StatusUnauthorized},
		{name: "valid token", path: "/api/v1/pods", header: "Bearer alice-token", wantCode: http.StatusOK,
			wantUser: "alice", wantGroups: []string{"dev", AuthenticatedGroup}},
		{name: "healthz without credentials", path: "/healthz", wantCode: http.StatusOK,
			wantUser: AnonymousUser, wantGroups: []string{UnauthenticatedGroup}},
		{name: "readyz without credentials", path: "/readyz", wantCode: http.StatusOK, wantUser: AnonymousUser, wantGroups: []string{UnauthenticatedGroup}},
		{name: "livez without credentials", path: "/livez", wantCode: http.StatusOK, wantUser: AnonymousUser, wantGroups: []string{UnauthenticatedGroup}},
		{name: "version without credentials", path: "/version", wantCode: http.StatusOK, wantUser: AnonymousUser, wantGroups: []string{UnauthenticatedGroup}},
		{name: "healthz with a valid token", path: "/healthz", header: "Bearer alice-token", wantCode: http.StatusOK,
			wantUser: "alice", wantGroups: []string{"dev", AuthenticatedGroup}},
		{name: "healthz with an invalid token", path: "/healthz", header: "Bearer nope", wantCode: http.StatusUnauthorized},
		{name: "below healthz is not public", path: "/healthz/etcd", wantCode: http.StatusUnauthorized},
		{name: "metrics are not public", path: "/metrics", wantCode: http.StatusUnauthorized},
		{name: "gRPC-Web gets the REST answer", path: "/skiff.core.v1.PodService/List", contentType: "application/grpc-web+proto", wantCode: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *User
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = UserFrom(r.Context())
				w.WriteHeader(http.StatusOK)
			})
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			Middleware(zaptest.NewLogger(t), a, next).ServeHTTP(w, r)

			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tt.wantCode)
			}
			if tt.wantCode == http.StatusUnauthorized {
				if got != nil {
					t.Error("handler called for an unauthorized request")
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
				if w.Body.String() != unauthorizedBody {
					t.Errorf("body\n%s\nwant\n%s", w.Body, unauthorizedBody)
				}
				return
			}
			if got == nil || got.Name != tt.wantUser || !slices.Equal(got.Groups, tt.wantGroups) {
				t.Errorf("user in context %+v, want %q in %q", got, tt.wantUser, tt.wantGroups)
			}
		})
	}
}

// TestMiddlewareGRPCTrailers checks the raw answer to a gRPC request
// without credentials: HTTP 200, then the status in trailers.
func TestMiddlewareGRPCTrailers(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/grpc.health.v1.Health/Check", nil)
	r.Header.Set("Content-Type", "application/grpc+proto")
	w := httptest.NewRecorder()
	Middleware(nil, Union(), http.NotFoundHandler()).ServeHTTP(w, r)
	res := w.Result()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/grpc" {
		t.Errorf("status %d Content-Type %q, want 200 application/grpc", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if s, m := res.Trailer.Get("Grpc-Status"), res.Trailer.Get("Grpc-Message"); s != "16" || m != "Unauthorized" {
		t.Errorf("trailers grpc-status %q grpc-message %q, want 16 Unauthorized", s, m)
	}
}

func TestEncodeGRPCMessage(t *testing.T) {
	for in, want := range map[string]string{
		"Unauthorized": "Unauthorized",
		"100% sure":    "100%25 sure",
		"line\nbreak":  "line%0Abreak",
		"café":         "caf%C3%A9",
	} {
		if got := encodeGRPCMessage(in); got != want {
			t.Errorf("encodeGRPCMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// tokenCredentials sends a bearer token with every RPC, as the Skiff
// client will.
type tokenCredentials string

func (c tokenCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(c)}, nil
}

func (tokenCredentials) RequireTransportSecurity() bool { return true }

// TestMiddlewareGRPC runs a real gRPC client against grpc.Server.ServeHTTP
// behind Middleware on a loopback TLS server, as the apiserver serves gRPC
// and REST on one port.
func TestMiddlewareGRPC(t *testing.T) {
	ca := newTestCA(t, "cluster-ca")
	a := Union(NewX509(ca.pool), BearerToken(testTokens(t)))

	// seen records the user each RPC found in its context.
	var (
		mu   sync.Mutex
		seen []*User
	)
	record := func(ctx context.Context) {
		u, _ := UserFrom(ctx)
		mu.Lock()
		seen = append(seen, u)
		mu.Unlock()
	}
	gs := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			record(ctx)
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			record(ss.Context())
			return h(srv, ss)
		}),
	)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	t.Cleanup(gs.Stop)
	srv := startTLSServer(t, Middleware(zaptest.NewLogger(t), a, gs))

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	expired := ca.issue(t, certOpts{cn: "admin", notBefore: time.Now().Add(-2 * time.Hour), notAfter: time.Now().Add(-time.Hour)})

	tests := []struct {
		name       string
		token      string
		certs      []tls.Certificate
		watch      bool // a streaming RPC instead of a unary one
		wantCode   codes.Code
		wantUser   string
		wantGroups []string
	}{
		{name: "no credentials", wantCode: codes.Unauthenticated},
		{name: "no credentials, streaming", watch: true, wantCode: codes.Unauthenticated},
		{name: "invalid token", token: "nope", wantCode: codes.Unauthenticated},
		{name: "expired client certificate", certs: []tls.Certificate{expired}, wantCode: codes.Unauthenticated},
		{name: "valid token", token: "alice-token", wantCode: codes.OK, wantUser: "alice", wantGroups: []string{"dev", AuthenticatedGroup}},
		{name: "valid token, streaming", token: "alice-token", watch: true, wantCode: codes.OK, wantUser: "alice", wantGroups: []string{"dev", AuthenticatedGroup}},
		{name: "client certificate", certs: []tls.Certificate{ca.issue(t, certOpts{cn: "admin", org: []string{"system:masters"}})},
			wantCode: codes.OK, wantUser: "admin", wantGroups: []string{"system:masters", AuthenticatedGroup}},
		{name: "expired certificate but a valid token", token: "alice-token", certs: []tls.Certificate{expired},
			wantCode: codes.OK, wantUser: "alice", wantGroups: []string{"dev", AuthenticatedGroup}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: tt.certs}))}
			if tt.token != "" {
				opts = append(opts, grpc.WithPerRPCCredentials(tokenCredentials(tt.token)))
			}
			conn, err := grpc.NewClient(srv.Listener.Addr().String(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			client := healthpb.NewHealthClient(conn)
			if tt.watch {
				var stream grpc.ServerStreamingClient[healthpb.HealthCheckResponse]
				stream, err = client.Watch(ctx, &healthpb.HealthCheckRequest{})
				if err == nil {
					var resp *healthpb.HealthCheckResponse
					if resp, err = stream.Recv(); err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
						t.Errorf("health %v, want SERVING", resp.GetStatus())
					}
				}
			} else {
				var resp *healthpb.HealthCheckResponse
				if resp, err = client.Check(ctx, &healthpb.HealthCheckRequest{}); err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					t.Errorf("health %v, want SERVING", resp.GetStatus())
				}
			}
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("code %v (%v), want %v", st.Code(), err, tt.wantCode)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.wantCode != codes.OK {
				if st.Message() != "Unauthorized" {
					t.Errorf("message %q, want Unauthorized", st.Message())
				}
				if len(seen) != 0 {
					t.Errorf("the RPC ran for an unauthenticated call, as %+v", seen[0])
				}
				return
			}
			if len(seen) != 1 || seen[0] == nil || seen[0].Name != tt.wantUser || !slices.Equal(seen[0].Groups, tt.wantGroups) {
				t.Errorf("users seen by the RPC %+v, want one: %q in %q", seen, tt.wantUser, tt.wantGroups)
			}
		})
	}
}
