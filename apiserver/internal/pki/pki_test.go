package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

func generate(t *testing.T, dir string, opts Options) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	if err := Generate(dir, opts); err != nil {
		t.Fatalf("Generate: %v", err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	generate(t, dir, Options{Hosts: []string{"192.0.2.10", "api.skiff.test", "127.0.0.1"}, Nodes: []string{"node-1", "node-2"}})

	ca, _, err := LoadCA(dir)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	if ca.Subject.CommonName != CACommonName || !ca.IsCA {
		t.Errorf("CA subject %q IsCA=%v, want %q and a CA", ca.Subject.CommonName, ca.IsCA, CACommonName)
	}
	if got := ca.NotAfter.Sub(time.Now()); got < CAValidity-2*time.Hour || got > CAValidity {
		t.Errorf("CA valid for another %v, want about 10 years", got)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	tests := []struct {
		name     string
		cn       string
		org      []string
		usage    x509.ExtKeyUsage
		notUsage x509.ExtKeyUsage
		dns      []string
		ips      []string
	}{
		{"apiserver", APIServerCommonName, nil, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth,
			[]string{"localhost", "api.skiff.test"}, []string{"127.0.0.1", "::1", "192.0.2.10"}},
		{"admin", "admin", []string{"system:masters"}, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth, nil, nil},
		{"scheduler", "system:kube-scheduler", nil, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth, nil, nil},
		{"controller-manager", "system:kube-controller-manager", nil, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth, nil, nil},
		{"kube-proxy", "system:kube-proxy", nil, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth, nil, nil},
		{"apiserver-kubelet-client", "skiff-apiserver-kubelet-client", []string{"system:masters"}, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth, nil, nil},
		{"kubelet-node-1", "system:node:node-1", []string{"system:nodes"}, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth, nil, nil},
		{"kubelet-node-2", "system:node:node-2", []string{"system:nodes"}, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, key, err := loadKeyPair(dir, tt.name)
			if err != nil {
				t.Fatalf("load key pair: %v", err)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{tt.usage}}); err != nil {
				t.Errorf("verify for usage %v: %v", tt.usage, err)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{tt.notUsage}}); err == nil {
				t.Errorf("verifies for usage %v, want only %v", tt.notUsage, tt.usage)
			}
			if cert.Subject.CommonName != tt.cn {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tt.cn)
			}
			if !slices.Equal(cert.Subject.Organization, tt.org) {
				t.Errorf("O = %q, want %q", cert.Subject.Organization, tt.org)
			}
			if !slices.Equal(cert.DNSNames, tt.dns) {
				t.Errorf("DNS SANs = %q, want %q", cert.DNSNames, tt.dns)
			}
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.ips) {
				t.Errorf("IP SANs = %q, want %q", ips, tt.ips)
			}
			if k, ok := key.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
				t.Errorf("key is %T, want ECDSA P-256", key)
			}
			if got := cert.NotAfter.Sub(time.Now()); got < CertValidity-2*time.Hour || got > CertValidity {
				t.Errorf("valid for another %v, want about one year", got)
			}
		})
	}

	// Keys are private to their owner, certificates readable by all.
	for _, name := range []string{"ca", "apiserver", "admin", "kubelet-node-1"} {
		for ext, want := range map[string]os.FileMode{".key": 0o600, ".crt": 0o644} {
			fi, err := os.Stat(filepath.Join(dir, name+ext))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s%s mode = %v, want %v", name, ext, got, want)
			}
		}
	}
}

// TestTLSHandshake runs a real mutual-TLS handshake on loopback with the
// generated files, as the apiserver and skiffctl will.
func TestTLSHandshake(t *testing.T) {
	dir, otherDir := t.TempDir(), t.TempDir()
	generate(t, dir, Options{})
	generate(t, otherDir, Options{})

	serverCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "apiserver.key"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		clientDir  string // where the client's admin.crt comes from
		rootsDir   string // whose ca.crt the client trusts
		serverName string
		// wantServerErr and wantClientErr are in the error of the side that
		// rejects the other's certificate; both empty for success.
		wantServerErr, wantClientErr string
	}{
		{"admin certificate from the cluster CA", dir, dir, "127.0.0.1", "", ""},
		{"server name localhost", dir, dir, "localhost", "", ""},
		{"client certificate from another CA", otherDir, dir, "127.0.0.1", "certificate signed by unknown authority", ""},
		{"client trusts another CA", dir, otherDir, "127.0.0.1", "", "certificate signed by unknown authority"},
		{"server name not in the certificate", dir, dir, "apiserver.elsewhere.test", "", "not apiserver.elsewhere.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clientCert, err := tls.LoadX509KeyPair(filepath.Join(tt.clientDir, "admin.crt"), filepath.Join(tt.clientDir, "admin.key"))
			if err != nil {
				t.Fatal(err)
			}
			serverErr, clientErr := handshake(t,
				&tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool(t, dir)},
				&tls.Config{Certificates: []tls.Certificate{clientCert}, RootCAs: pool(t, tt.rootsDir), ServerName: tt.serverName},
			)
			if tt.wantServerErr == "" && tt.wantClientErr == "" {
				if serverErr != nil || clientErr != nil {
					t.Fatalf("handshake failed: server: %v, client: %v", serverErr, clientErr)
				}
				return
			}
			if !strings.Contains(errString(serverErr), tt.wantServerErr) || !strings.Contains(errString(clientErr), tt.wantClientErr) ||
				(serverErr == nil && clientErr == nil) {
				t.Errorf("handshake errors: server: %v, client: %v; want server error containing %q, client error containing %q",
					serverErr, clientErr, tt.wantServerErr, tt.wantClientErr)
			}
		})
	}
}

// handshake runs one TLS handshake over loopback and returns both sides' errors.
func handshake(t *testing.T, serverConf, clientConf *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(time.Minute))
		srv := tls.Server(conn, serverConf)
		err = srv.Handshake()
		if err == nil {
			// In TLS 1.3 the server checks the client's certificate after
			// the client's handshake has finished: read so the client
			// learns of a rejection.
			_, err = srv.Write([]byte("ok"))
		}
		done <- err
	}()
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	client := tls.Client(conn, clientConf)
	clientErr = client.Handshake()
	if clientErr == nil {
		buf := make([]byte, 2)
		_, clientErr = client.Read(buf)
	}
	_ = conn.Close()
	return <-done, clientErr
}

func pool(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(readFile(t, filepath.Join(dir, "ca.crt"))) {
		t.Fatal("no certificate in ca.crt")
	}
	return p
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestGenerateIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	generate(t, dir, Options{Nodes: []string{"node-1"}, Now: func() time.Time { return start }})
	files := []string{"ca", "apiserver", "admin", "scheduler", "controller-manager", "kube-proxy", "apiserver-kubelet-client", "kubelet-node-1"}
	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		for _, f := range files {
			for _, ext := range []string{".crt", ".key"} {
				m[f+ext] = readFile(t, filepath.Join(dir, f+ext))
			}
		}
		return m
	}
	// changed lists the files whose contents differ between two snapshots.
	changed := func(before, after map[string][]byte) []string {
		var out []string
		for _, f := range files {
			if !bytes.Equal(before[f+".crt"], after[f+".crt"]) || !bytes.Equal(before[f+".key"], after[f+".key"]) {
				out = append(out, f)
			}
		}
		return out
	}

	steps := []struct {
		name        string
		prepare     func(t *testing.T)
		opts        Options
		wantChanged []string
	}{
		{"rerun with the same options", nil, Options{Nodes: []string{"node-1"}}, nil},
		{"rerun without the node keeps its certificate", nil, Options{}, nil},
		{"missing client certificate is made anew", func(t *testing.T) {
			if err := os.Remove(filepath.Join(dir, "admin.crt")); err != nil {
				t.Fatal(err)
			}
		}, Options{}, []string{"admin"}},
		{"missing key is made anew", func(t *testing.T) {
			if err := os.Remove(filepath.Join(dir, "scheduler.key")); err != nil {
				t.Fatal(err)
			}
		}, Options{}, []string{"scheduler"}},
		{"new host renews the serving certificate", nil, Options{Hosts: []string{"10.96.0.1"}}, []string{"apiserver"}},
		{"certificate signed by another CA is made anew", func(t *testing.T) {
			other := t.TempDir()
			generate(t, other, Options{})
			for _, ext := range []string{".crt", ".key"} {
				if err := os.WriteFile(filepath.Join(dir, "kube-proxy"+ext), readFile(t, filepath.Join(other, "kube-proxy"+ext)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}, Options{Hosts: []string{"10.96.0.1"}}, []string{"kube-proxy"}},
		{"certificates close to expiry are renewed, the CA is kept", nil,
			Options{Hosts: []string{"10.96.0.1"}, Nodes: []string{"node-1"}, Now: func() time.Time { return start.Add(CertValidity - 10*24*time.Hour) }},
			[]string{"apiserver", "admin", "scheduler", "controller-manager", "kube-proxy", "apiserver-kubelet-client", "kubelet-node-1"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := snapshot()
			if s.prepare != nil {
				s.prepare(t)
			}
			generate(t, dir, s.opts)
			after := snapshot()
			if got := changed(before, after); !slices.Equal(got, s.wantChanged) {
				t.Errorf("changed files %q, want %q", got, s.wantChanged)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		opts    Options
		wantErr string
	}{
		{"CA key missing", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "ca.key")); err != nil {
				t.Fatal(err)
			}
		}, Options{}, "ca.key is missing"},
		{"CA certificate missing", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "ca.crt")); err != nil {
				t.Fatal(err)
			}
		}, Options{}, "ca.crt is missing"},
		{"CA key of another CA", func(t *testing.T, dir string) {
			other := t.TempDir()
			generate(t, other, Options{})
			if err := os.WriteFile(filepath.Join(dir, "ca.key"), readFile(t, filepath.Join(other, "ca.key")), 0o600); err != nil {
				t.Fatal(err)
			}
		}, Options{}, "ca.key does not match the public key of"},
		{"CA is not a CA", func(t *testing.T, dir string) {
			for _, ext := range []string{".crt", ".key"} {
				if err := os.WriteFile(filepath.Join(dir, "ca"+ext), readFile(t, filepath.Join(dir, "admin"+ext)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}, Options{}, "not a CA certificate"},
		{"CA expired", nil, Options{Now: func() time.Time { return time.Now().Add(CAValidity + time.Hour) }}, "ca.crt expired at"},
		{"bad node name", nil, Options{Nodes: []string{"node-1", "Node_2"}}, `nodes[1]: "Node_2" is not a valid node name`},
		{"bad host", nil, Options{Hosts: []string{"10.0.0.1", "bad host"}}, `hosts[1]: "bad host" is neither an IP address nor a lower-case DNS name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			generate(t, dir, Options{})
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			caBefore, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
			err := Generate(dir, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Generate error = %v, want one containing %q", err, tt.wantErr)
			}
			if caAfter, _ := os.ReadFile(filepath.Join(dir, "ca.crt")); !bytes.Equal(caBefore, caAfter) {
				t.Error("Generate changed ca.crt")
			}
		})
	}
}

func TestNewCertificate(t *testing.T) {
	dir := t.TempDir()
	generate(t, dir, Options{})
	ca, key, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		req     CertRequest
		wantErr string
	}{
		{"server and client", CertRequest{CommonName: "node-1", Hosts: []string{"node-1", "127.0.0.1"}, Usage: ServerAuth | ClientAuth}, ""},
		{"no common name", CertRequest{Usage: ClientAuth}, "common name is required"},
		{"no usage", CertRequest{CommonName: "x"}, "usage must be ServerAuth, ClientAuth or both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, keyPEM, err := NewCertificate(ca, key, tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatalf("certificate and key do not form a pair: %v", err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca)
			opts := x509.VerifyOptions{Roots: roots, DNSName: "node-1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			if _, err := pair.Leaf.Verify(opts); err != nil {
				t.Errorf("verify as server: %v", err)
			}
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
			if _, err := pair.Leaf.Verify(opts); err != nil {
				t.Errorf("verify as client: %v", err)
			}
		})
	}
}

// TestServiceAccountKeyPair: Generate makes sa.key and its sa.pub once, as
// kubeadm; a lost sa.pub is derived again from sa.key, a lost sa.key makes
// a new pair.
func TestServiceAccountKeyPair(t *testing.T) {
	dir := t.TempDir()
	generate(t, dir, Options{})
	keyPath, pubPath := filepath.Join(dir, ServiceAccountKey), filepath.Join(dir, ServiceAccountPublic)
	matching := func() (key, pub []byte) {
		t.Helper()
		key, pub = readFile(t, keyPath), readFile(t, pubPath)
		signer, err := parseKey(key)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(pub)
		if block == nil || block.Type != "PUBLIC KEY" {
			t.Fatalf("sa.pub is not a PEM PUBLIC KEY: %q", pub)
		}
		p, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(p) {
			t.Fatal("sa.pub is not the public key of sa.key")
		}
		if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("sa.key mode %v (%v), want 0600", fi.Mode(), err)
		}
		return key, pub
	}
	key1, pub1 := matching()
	generate(t, dir, Options{})
	if key, pub := matching(); !bytes.Equal(key, key1) || !bytes.Equal(pub, pub1) {
		t.Error("a rerun replaced the service account key pair")
	}
	if err := os.Remove(pubPath); err != nil {
		t.Fatal(err)
	}
	generate(t, dir, Options{})
	if key, pub := matching(); !bytes.Equal(key, key1) || !bytes.Equal(pub, pub1) {
		t.Error("sa.pub was not derived again from the same sa.key")
	}
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	generate(t, dir, Options{})
	if key, _ := matching(); bytes.Equal(key, key1) {
		t.Error("a lost sa.key was not made anew")
	}
}
