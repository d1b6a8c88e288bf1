package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"

	"skiff.dev/apiserver/internal/pki"
)

// TestSplitter sends HTTP/1.1, HTTP/2 REST and gRPC to one port, in
// plaintext and over TLS, and checks that each reached the right server,
// that REST over HTTP/2 keeps working after its first request, and that
// both servers see the connection's TLS state.
func TestSplitter(t *testing.T) {
	dir := t.TempDir()
	if err := pki.Generate(dir, pki.Options{}); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "apiserver.key"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", secure), func(t *testing.T) {
			var serverTLS *tls.Config
			if secure {
				serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
			}
			addr := startSplit(t, serverTLS)

			restTests := []struct {
				name      string
				protocols func(*http.Protocols)
				want      string
			}{
				{"HTTP/1.1", func(p *http.Protocols) { p.SetHTTP1(true) }, "rest HTTP/1.1"},
				{"HTTP/2", func(p *http.Protocols) { p.SetHTTP2(true); p.SetUnencryptedHTTP2(true) }, "rest HTTP/2.0"},
			}
			for _, tc := range restTests {
				t.Run("REST "+tc.name, func(t *testing.T) {
					tr := &http.Transport{Protocols: new(http.Protocols)}
					tc.protocols(tr.Protocols)
					scheme := "http"
					if secure {
						scheme, tr.TLSClientConfig = "https", &tls.Config{RootCAs: pool}
					}
					defer tr.CloseIdleConnections()
					c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
					want := fmt.Sprintf("%s tls=%v", tc.want, secure)
					for i := range 3 { // the same connection serves every request
						resp, err := c.Get(scheme + "://" + addr + "/api")
						if err != nil {
							t.Fatalf("request %d: %v", i, err)
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if string(b) != want {
							t.Fatalf("request %d: got %q, want %q", i, b, want)
						}
					}
				})
			}

			t.Run("gRPC", func(t *testing.T) {
				creds := insecure.NewCredentials()
				if secure {
					creds = credentials.NewTLS(&tls.Config{RootCAs: pool})
				}
				conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				// An idle connection stays open past the splitter's deadline.
				conn.Connect()
				for st := conn.GetState(); st != connectivity.Ready; st = conn.GetState() {
					if !conn.WaitForStateChange(ctx, st) {
						t.Fatalf("connection not ready: %v", conn.GetState())
					}
				}
				time.Sleep(3 * splitTimeout)
				if st := conn.GetState(); st != connectivity.Ready {
					t.Fatalf("idle connection: state %v, want READY (the splitter must not close it)", st)
				}
				for i := range 3 {
					resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: fmt.Sprintf("tls=%v", secure)})
					if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
						t.Fatalf("call %d: %v, %v; want SERVING (the gRPC server saw the TLS state it should)", i, resp, err)
					}
				}
			})
		})
	}
}

// splitTimeout is the splitters' deadline for the TLS handshake and the
// HTTP/2 preface in these tests: short, so that the idle connection test
// outlasts it.
const splitTimeout = 300 * time.Millisecond

// startSplit serves a Splitter on loopback: REST answers "rest <proto>
// tls=<whether it has the TLS state>", gRPC is a health server whose
// service "tls=<bool>" is SERVING only if the call's peer matches.
func startSplit(t *testing.T, tlsConfig *tls.Config) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sp := NewSplitter(zaptest.NewLogger(t), lis, tlsConfig, splitTimeout)
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "rest %s tls=%v", r.Proto, TLSFromContext(r.Context()) != nil)
		}),
		ConnContext: ConnContext,
		Protocols:   new(http.Protocols),
	}
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	hsrv := health.NewServer()
	gs := grpc.NewServer(grpc.Creds(Credentials()), grpc.UnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			p, _ := peer.FromContext(ctx)
			_, isTLS := p.AuthInfo.(credentials.TLSInfo)
			want := req.(*healthpb.HealthCheckRequest).GetService()
			if want != fmt.Sprintf("tls=%v", isTLS) {
				return h(ctx, &healthpb.HealthCheckRequest{Service: "mismatch"})
			}
			return h(ctx, &healthpb.HealthCheckRequest{})
		}))
	healthpb.RegisterHealthServer(gs, hsrv)
	go func() { _ = hs.Serve(sp.HTTP()) }()
	go func() { _ = gs.Serve(sp.GRPC()) }()
	go func() { _ = sp.Serve() }()
	t.Cleanup(func() {
		_ = sp.Close()
		gs.Stop()
		_ = hs.Close()
	})
	return lis.Addr().String()
}

func TestIsGRPCContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/grpc":          true,
		"application/grpc+proto":    true,
		"application/grpc;charset":  true,
		"application/grpc-web":      false,
		"application/json":          false,
		"":                          false,
		"application/grpc-web+json": false,
	} {
		if got := isGRPCContentType(ct); got != want {
			t.Errorf("isGRPCContentType(%q) = %v, want %v", ct, got, want)
		}
	}
}
