package authn

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// startTLSServer runs handler on a loopback HTTPS server (HTTP/2 enabled)
// that asks for client certificates without verifying them, as the
// apiserver does, and returns it.
func startTLSServer(t *testing.T, handler http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// clientFor returns an HTTP client of srv that presents certs.
func clientFor(srv *httptest.Server, certs ...tls.Certificate) *http.Client {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = certs
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// authResult is what authHandler reports of one Authenticate call.
type authResult struct {
	User   string   `json:"user"`
	Groups []string `json:"groups"`
	OK     bool     `json:"ok"`
	Err    string   `json:"err"`
}

// authHandler answers every request with what a says of it.
func authHandler(a Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res authResult
		u, ok, err := a.Authenticate(r)
		res.OK = ok
		if u != nil {
			res.User, res.Groups = u.Name, u.Groups
		}
		if err != nil {
			res.Err = err.Error()
		}
		_ = json.NewEncoder(w).Encode(res)
	})
}

func get(t *testing.T, c *http.Client, url string) authResult {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var res authResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return res
}

func TestX509(t *testing.T) {
	ca := newTestCA(t, "cluster-ca")
	other := newTestCA(t, "other-ca")
	inter, interCert := ca.intermediate(t, "intermediate-ca")
	srv := startTLSServer(t, authHandler(NewX509(ca.pool)))

	viaIntermediate := inter.issue(t, certOpts{cn: "bob", org: []string{"dev"}})
	viaIntermediate.Certificate = append(viaIntermediate.Certificate, interCert.Certificate[0])

	tests := []struct {
		name       string
		certs      []tls.Certificate
		wantOK     bool
		wantUser   string
		wantGroups []string
		wantErr    string
	}{
		{name: "no client certificate"},
		{name: "valid certificate", certs: []tls.Certificate{ca.issue(t, certOpts{cn: "alice", org: []string{"dev", "ops"}})},
			wantOK: true, wantUser: "alice", wantGroups: []string{"dev", "ops"}},
		{name: "certificate without groups", certs: []tls.Certificate{ca.issue(t, certOpts{cn: "system:kube-scheduler"})},
			wantOK: true, wantUser: "system:kube-scheduler"},
		{name: "through an intermediate CA the client sends", certs: []tls.Certificate{viaIntermediate},
			wantOK: true, wantUser: "bob", wantGroups: []string{"dev"}},
		{name: "expired", certs: []tls.Certificate{ca.issue(t, certOpts{cn: "alice", notBefore: time.Now().Add(-2 * time.Hour), notAfter: time.Now().Add(-time.Hour)})},
			wantErr: "certificate has expired"},
		{name: "not yet valid", certs: []tls.Certificate{ca.issue(t, certOpts{cn: "alice", notBefore: time.Now().Add(time.Hour), notAfter: time.Now().Add(2 * time.Hour)})},
			wantErr: "not yet valid"},
		{name: "signed by another CA", certs: []tls.Certificate{other.issue(t, certOpts{cn: "alice"})},
			wantErr: "certificate signed by unknown authority"},
		{name: "server certificate", certs: []tls.Certificate{ca.issue(t, certOpts{cn: "alice", usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})},
			wantErr: "incompatible key usage"},
		{name: "no common name", certs: []tls.Certificate{ca.issue(t, certOpts{org: []string{"dev"}})},
			wantErr: "no common name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(t, clientFor(srv, tt.certs...), srv.URL+"/api/v1/pods")
			if got.OK != tt.wantOK || got.User != tt.wantUser || !slices.Equal(got.Groups, tt.wantGroups) {
				t.Errorf("got user %q groups %q ok=%v, want %q %q ok=%v", got.User, got.Groups, got.OK, tt.wantUser, tt.wantGroups, tt.wantOK)
			}
			if tt.wantErr == "" && got.Err != "" || !strings.Contains(got.Err, tt.wantErr) {
				t.Errorf("error %q, want one containing %q", got.Err, tt.wantErr)
			}
		})
	}

	t.Run("plain HTTP request", func(t *testing.T) {
		if _, ok, err := NewX509(ca.pool).Authenticate(httptest.NewRequest(http.MethodGet, "/api/v1/pods", nil)); ok || err != nil {
			t.Errorf("got ok=%v err=%v, want no credentials", ok, err)
		}
	})
}

func TestNewX509FromFile(t *testing.T) {
	ca := newTestCA(t, "cluster-ca")
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.crt")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		wantErr string
	}{
		{good, ""},
		{empty, "empty.crt: no PEM CERTIFICATE found"},
		{filepath.Join(dir, "missing.crt"), "missing.crt: no such file"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			a, err := NewX509FromFile(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{ca.issue(t, certOpts{cn: "alice"}).Leaf}}
			if u, ok, err := a.Authenticate(r); !ok || err != nil || u.Name != "alice" {
				t.Errorf("Authenticate = %v, %v, %v; want alice", u, ok, err)
			}
		})
	}
}
