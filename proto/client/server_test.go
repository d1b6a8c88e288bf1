package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// cmServer is a ConfigMapService that records its calls.
type cmServer struct {
	mu     sync.Mutex
	calls  []string // verbs served
	auth   []string // authorization metadata seen
	fail   codes.Code
	block  bool // Get waits for the call's context to end
	events []*corev1.ConfigMapWatchEvent
	delay  time.Duration // before the watch sends its events
}

var _ corev1.ConfigMapServiceServer = (*cmServer)(nil)

func (s *cmServer) record(ctx context.Context, verb string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, verb)
	s.auth = append(s.auth, md.Get("authorization")...)
	if s.fail != codes.OK {
		return status.Errorf(s.fail, "injected %v", s.fail)
	}
	return nil
}

func (s *cmServer) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *cmServer) Auth() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

func cm(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func (s *cmServer) Create(ctx context.Context, r *corev1.ConfigMapRequest) (*corev1.ConfigMap, error) {
	if err := s.record(ctx, "create"); err != nil {
		return nil, err
	}
	return r.GetObject(), nil
}

func (s *cmServer) Get(ctx context.Context, o *metav1.GetOptions) (*corev1.ConfigMap, error) {
	if err := s.record(ctx, "get"); err != nil {
		return nil, err
	}
	if s.block {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return cm(o.GetNamespace(), o.GetName()), nil
}

func (s *cmServer) List(ctx context.Context, o *metav1.ListOptions) (*corev1.ConfigMapList, error) {
	if err := s.record(ctx, "list"); err != nil {
		return nil, err
	}
	return &corev1.ConfigMapList{Metadata: &metav1.ListMeta{ResourceVersion: "7"}}, nil
}

func (s *cmServer) Update(ctx context.Context, r *corev1.ConfigMapRequest) (*corev1.ConfigMap, error) {
	if err := s.record(ctx, "update"); err != nil {
		return nil, err
	}
	return r.GetObject(), nil
}

func (s *cmServer) Delete(ctx context.Context, o *metav1.DeleteOptions) (*corev1.ConfigMap, error) {
	if err := s.record(ctx, "delete"); err != nil {
		return nil, err
	}
	return cm(o.GetNamespace(), o.GetName()), nil
}

func (s *cmServer) Watch(o *metav1.ListOptions, st grpc.ServerStreamingServer[corev1.ConfigMapWatchEvent]) error {
	if err := s.record(st.Context(), "watch"); err != nil {
		return err
	}
	select {
	case <-time.After(s.delay):
	case <-st.Context().Done():
		return nil
	}
	for _, ev := range s.events {
		if err := st.Send(ev); err != nil {
			return err
		}
	}
	<-st.Context().Done()
	return nil
}

// testServer is a gRPC server on a loopback port.
type testServer struct {
	addr string
	srv  *grpc.Server
	cm   *cmServer
}

func startServer(t *testing.T, cm *cmServer, opts ...grpc.ServerOption) *testServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	corev1.RegisterConfigMapServiceServer(srv, cm)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return &testServer{addr: lis.Addr().String(), srv: srv, cm: cm}
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	dir                 string
	caFile              string
	serverCert          tls.Certificate
	clientCrt, clientKy string
	pool                *x509.CertPool
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &testPKI{dir: dir, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.crt", "CERTIFICATE", caDER)

	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ip bool) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	srvDER, srvKey := issue(2, "apiserver", x509.ExtKeyUsageServerAuth, true)
	p.serverCert = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	cliDER, cliKey := issue(3, "admin", x509.ExtKeyUsageClientAuth, false)
	p.clientCrt = writePEM(t, dir, "admin.crt", "CERTIFICATE", cliDER)
	keyDER, _ := x509.MarshalECPrivateKey(cliKey)
	p.clientKy = writePEM(t, dir, "admin.key", "EC PRIVATE KEY", keyDER)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *testPKI) serverCreds(requireClientCert bool) grpc.ServerOption {
	tc := &tls.Config{Certificates: []tls.Certificate{p.serverCert}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		tc.ClientAuth = tls.RequireAndVerifyClientCert
		tc.ClientCAs = p.pool
	}
	return grpc.Creds(credentials.NewTLS(tc))
}
