package app

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
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"skiff.dev/apiserver/internal/pki"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSecureServing runs the apiserver with TLS, client-certificate and
// token authentication, and checks what a user without, with wrong and with
// right credentials gets over REST and gRPC.
func TestSecureServing(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "pki")
	if err := pki.Generate(certs, pki.Options{}); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte("s3cret,alice,1001,\"dev,ops\"\nb0b,bob,1002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.jsonl")
	if err := os.WriteFile(policy, []byte(`{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"group": "ops", "readonly": true, "namespace": "*", "resource": "*", "apiGroup": "*"}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{}
	d := Defaults()
	cfg.SecurePort = freePort(t)
	cfg.BindAddress = "127.0.0.1"
	cfg.TLSCertFile = filepath.Join(certs, "apiserver.crt")
	cfg.TLSPrivateKeyFile = filepath.Join(certs, "apiserver.key")
	cfg.ClientCAFile = filepath.Join(certs, "ca.crt")
	cfg.TokenAuthFile = tokens
	cfg.AuthorizationMode = []string{"ABAC"}
	cfg.AuthorizationPolicyFile = policy
	cfg.DataDir = filepath.Join(dir, "etcd")
	cfg.EmbeddedEtcdClientURL = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	cfg.EmbeddedEtcdPeerURL = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	cfg.ServiceClusterIPRange = d["service-cluster-ip-range"].(string)
	cfg.ServiceNodePortRange = d["service-node-port-range"].(string)
	cfg.ShutdownTimeout = time.Second
	cfg.LogFormat = "console"
	a, err := Start(context.Background(), zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })

	caPEM, _ := os.ReadFile(cfg.ClientCAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	admin, err := tls.LoadX509KeyPair(filepath.Join(certs, "admin.crt"), filepath.Join(certs, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + a.Addr()

	get := func(tc *tls.Config, token, path string) (int, string) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	rest := []struct {
		name     string
		tls      *tls.Config
		token    string
		path     string
		wantCode int
		wantBody string
	}{
		{"no credentials", &tls.Config{RootCAs: pool}, "", "/api/v1/namespaces", 401, `"reason":"Unauthorized"`},
		{"wrong token", &tls.Config{RootCAs: pool}, "nope", "/api/v1/namespaces", 401, `"code":401`},
		{"token", &tls.Config{RootCAs: pool}, "s3cret", "/api/v1/namespaces", 200, `"kind":"NamespaceList"`},
		{"client certificate", &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{admin}}, "", "/api/v1/namespaces", 200, `"name":"kube-system"`},
		{"healthz is public", &tls.Config{RootCAs: pool}, "", "/healthz", 200, "ok"},
		{"no policy for bob", &tls.Config{RootCAs: pool}, "b0b", "/api/v1/namespaces", 403,
			`"message":"namespaces is forbidden: User \"bob\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope: No policy matched."`},
		{"bob may discover", &tls.Config{RootCAs: pool}, "b0b", "/apis", 200, `"APIGroupList"`},
		{"bob may not read metrics", &tls.Config{RootCAs: pool}, "b0b", "/metrics", 403, `forbidden: User \"bob\" cannot get path \"/metrics\"`},
	}
	for _, tc := range rest {
		t.Run("REST "+tc.name, func(t *testing.T) {
			code, body := get(tc.tls, tc.token, tc.path)
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("GET %s = %d %s; want %d containing %s", tc.path, code, body, tc.wantCode, tc.wantBody)
			}
		})
	}

	dial := func(tc *tls.Config, opts ...grpc.DialOption) corev1.NamespaceServiceClient {
		conn, err := grpc.NewClient(a.Addr(), append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return corev1.NewNamespaceServiceClient(conn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = dial(&tls.Config{RootCAs: pool}).Get(ctx, &metav1.GetOptions{Name: "default"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC without credentials: got %v, want Unauthenticated", err)
	}
	ns, err := dial(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{admin}}).Get(ctx, &metav1.GetOptions{Name: "default"})
	if err != nil || ns.GetMetadata().GetName() != "default" {
		t.Fatalf("gRPC with client certificate: %v %v", ns, err)
	}
	_, err = dial(&tls.Config{RootCAs: pool}, grpc.WithPerRPCCredentials(bearer("s3cret"))).Get(ctx, &metav1.GetOptions{Name: "default"})
	if err != nil {
		t.Fatalf("gRPC with token: %v", err)
	}
	_, err = dial(&tls.Config{RootCAs: pool}, grpc.WithPerRPCCredentials(bearer("s3cret"))).Delete(ctx, &metav1.DeleteOptions{Name: "default"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), `namespaces "default" is forbidden: User "alice" cannot delete resource "namespaces" in API group "" in the namespace "default"`) {
		t.Fatalf("gRPC delete by a read-only user: got %v, want PermissionDenied", err)
	}
	_, err = dial(&tls.Config{RootCAs: pool}, grpc.WithPerRPCCredentials(bearer("b0b"))).Get(ctx, &metav1.GetOptions{Name: "default"})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("gRPC get with no policy: got %v, want PermissionDenied", err)
	}
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no TLS without --insecure", Config{DataDir: "/x", LogFormat: "json"}, "--tls-cert-file and --tls-private-key-file are required"},
		{"no authentication", Config{DataDir: "/x", LogFormat: "json", TLSCertFile: "a", TLSPrivateKeyFile: "b"}, "no authentication configured"},
		{"bad etcd URL", Config{Insecure: true, LogFormat: "json", EtcdServers: []string{"etcd:2379"}}, `--etcd-servers: "etcd:2379" is not an http(s)://host:port URL`},
		{"bad port", Config{Insecure: true, DataDir: "/x", LogFormat: "json", SecurePort: 70000}, "--secure-port: must be 0-65535, got 70000"},
		{"bad log format", Config{Insecure: true, DataDir: "/x", LogFormat: "xml"}, `--log-format: want json or console, got "xml"`},
		{"kubelet HTTP needs --insecure", Config{DataDir: "/x", LogFormat: "json", KubeletInsecureHTTP: true}, "--kubelet-insecure-http: plain HTTP to kubelets is only for a development cluster run with --insecure"},
		{"kubelet HTTP with certificates", Config{Insecure: true, DataDir: "/x", LogFormat: "json", KubeletInsecureHTTP: true, KubeletCertificateAuthority: "ca.crt"}, "--kubelet-insecure-http calls kubelets without TLS"},
		{"kubelet certificate without key", Config{Insecure: true, DataDir: "/x", LogFormat: "json", KubeletClientCertificate: "c.crt"}, "--kubelet-client-certificate and --kubelet-client-key go together"},
		{"bad kubelet address type", Config{Insecure: true, DataDir: "/x", LogFormat: "json", KubeletPreferredAddressTypes: []string{"InternalIP,Internal"}}, `--kubelet-preferred-address-types: "Internal" is not one of Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v; want an error containing %q", err, tc.want)
			}
		})
	}
	ok := Config{Insecure: true, DataDir: "/x", LogFormat: "json"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid insecure config: %v", err)
	}
	ok = Config{Insecure: true, DataDir: "/x", LogFormat: "json", KubeletInsecureHTTP: true, KubeletPreferredAddressTypes: []string{"Hostname,InternalIP"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid insecure config with plain HTTP to kubelets: %v", err)
	}
}
