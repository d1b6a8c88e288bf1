package server_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"skiff.dev/kubelet/kubelettest"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestContainerLogs(t *testing.T) {
	k := kubelettest.Start(t, kubelettest.Options{})
	k.WriteRecords(t, "ns", "web", "uid-1", "app", 0, kubelettest.Record{Time: t0, Content: "first run"})
	k.WriteRecords(t, "ns", "web", "uid-1", "app", 1,
		kubelettest.Record{Time: t0.Add(time.Second), Content: "one"},
		kubelettest.Record{Time: t0.Add(2 * time.Second), Stream: "stderr", Content: "two"},
		kubelettest.Record{Time: t0.Add(3 * time.Second), Partial: true, Content: "thr"},
		kubelettest.Record{Time: t0.Add(4 * time.Second), Content: "ee"})
	k.WriteLog(t, "ns", "fresh", "uid-2", "app", 0, "just now")
	if err := os.MkdirAll(filepath.Join(k.LogRoot, "ns_web_uid-1", "waiting"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		path     string
		wantCode int
		want     string
	}{
		{"whole log", "/containerLogs/ns/web/app", 200, "one\ntwo\nthree\n"},
		{"tailLines", "/containerLogs/ns/web/app?tailLines=2", 200, "two\nthree\n"},
		{"tailLines=0", "/containerLogs/ns/web/app?tailLines=0", 200, ""},
		{"previous", "/containerLogs/ns/web/app?previous=true", 200, "first run\n"},
		{"previous=false", "/containerLogs/ns/web/app?previous=false&tailLines=1", 200, "three\n"},
		{"timestamps", "/containerLogs/ns/web/app?timestamps=true&tailLines=1", 200, "2024-05-01T10:00:03.000000000Z three\n"},
		{"limitBytes", "/containerLogs/ns/web/app?limitBytes=6", 200, "one\ntw"},
		{"sinceSeconds keeps new lines", "/containerLogs/ns/fresh/app?sinceSeconds=3600", 200, "just now\n"},
		{"sinceSeconds drops old lines", "/containerLogs/ns/web/app?sinceSeconds=60", 200, ""},
		{"unknown pod", "/containerLogs/ns/nope/app", 404, `pod "nope" in namespace "ns" not found on this node` + "\n"},
		{"pod in another namespace", "/containerLogs/other/web/app", 404, `pod "web" in namespace "other" not found on this node` + "\n"},
		{"unknown container", "/containerLogs/ns/web/nope", 404, `container "nope" in pod "web" not found` + "\n"},
		{"container not started", "/containerLogs/ns/web/waiting", 404, `container "waiting" in pod "web" is waiting to start: no log yet` + "\n"},
		{"no previous", "/containerLogs/ns/fresh/app?previous=true", 404, `previous terminated container "app" in pod "fresh" not found` + "\n"},
		{"bad tailLines", "/containerLogs/ns/web/app?tailLines=-1", 400, `tailLines: must be an integer >= 0, got "-1"` + "\n"},
		{"bad limitBytes", "/containerLogs/ns/web/app?limitBytes=0", 400, `limitBytes: must be an integer >= 1, got "0"` + "\n"},
		{"bad sinceSeconds", "/containerLogs/ns/web/app?sinceSeconds=x", 400, `sinceSeconds: must be an integer >= 1, got "x"` + "\n"},
		{"bad follow", "/containerLogs/ns/web/app?follow=maybe", 400, `follow: must be true or false, got "maybe"` + "\n"},
		{"bad container name", "/containerLogs/ns/web/a_b", 400, "invalid container name \"a_b\": must be lower-case letters, digits, '-' and '.'\n"},
		{"bad pod name", "/containerLogs/ns/Web/app", 400, "invalid pod name \"Web\": must be lower-case letters, digits, '-' and '.'\n"},
		{"healthz", "/healthz", 200, "ok"},
		{"unknown path", "/pods", 404, "404 page not found\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, http.DefaultClient, k.URL+tc.path)
			if code != tc.wantCode || body != tc.want {
				t.Errorf("GET %s: %d %q, want %d %q", tc.path, code, body, tc.wantCode, tc.want)
			}
		})
	}
}

func TestPodLookup(t *testing.T) {
	uids := map[string]string{"ns/web": "uid-2"}
	k := kubelettest.Start(t, kubelettest.Options{PodLookup: func(ns, name string) (string, bool) {
		uid, ok := uids[ns+"/"+name]
		return uid, ok
	}})
	// An older pod of the same name left its logs; the lookup picks the current one.
	k.WriteLog(t, "ns", "web", "uid-1", "app", 0, "old pod")
	k.WriteLog(t, "ns", "web", "uid-2", "app", 0, "current pod")
	k.WriteLog(t, "ns", "gone", "uid-3", "app", 0, "unknown to the lookup")
	tests := []struct {
		path     string
		wantCode int
		want     string
	}{
		{"/containerLogs/ns/web/app", 200, "current pod\n"},
		{"/containerLogs/ns/gone/app", 404, `pod "gone" in namespace "ns" not found on this node` + "\n"},
	}
	for _, tc := range tests {
		if code, body := get(t, http.DefaultClient, k.URL+tc.path); code != tc.wantCode || body != tc.want {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, code, body, tc.wantCode, tc.want)
		}
	}
}

func TestFollow(t *testing.T) {
	k := kubelettest.Start(t, kubelettest.Options{})
	k.WriteLog(t, "ns", "web", "u", "app", 0, "one")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, k.URL+"/containerLogs/ns/web/app?follow=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(want string) {
		t.Helper()
		select {
		case l := <-lines:
			if l != want {
				t.Fatalf("got line %q, want %q", l, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no line %q within 30s", want)
		}
	}
	next("one")
	k.WriteLog(t, "ns", "web", "u", "app", 0, "two", "three")
	next("two")
	next("three")
	// The container restarts: the followed log ends, as its container did.
	k.WriteLog(t, "ns", "web", "u", "app", 1, "second run")
	select {
	case l, ok := <-lines:
		if ok {
			t.Fatalf("got line %q after the container restarted", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("followed log did not end when the container restarted")
	}
}

// pki is a throwaway CA with a kubelet serving certificate and client
// certificates.
type pki struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.caFile = filepath.Join(p.dir, "ca.crt")
	writePEM(t, p.caFile, "CERTIFICATE", der)
	return p
}

// issue writes name.crt and name.key and returns their paths.
func (p *pki) issue(t *testing.T, name string, usage x509.ExtKeyUsage, ips ...net.IP) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	crt, k := filepath.Join(p.dir, name+".crt"), filepath.Join(p.dir, name+".key")
	writePEM(t, crt, "CERTIFICATE", der)
	writePEM(t, k, "EC PRIVATE KEY", keyDER)
	return crt, k
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestClientCertificates(t *testing.T) {
	ca, other := newPKI(t, "cluster-ca"), newPKI(t, "other-ca")
	crt, key := ca.issue(t, "kubelet", x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	k := kubelettest.Start(t, kubelettest.Options{CertFile: crt, KeyFile: key, ClientCAFile: ca.caFile})
	k.WriteLog(t, "ns", "web", "u", "app", 0, "secret line")
	if !strings.HasPrefix(k.URL, "https://") {
		t.Fatalf("URL %s is not https", k.URL)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.ca)
	client := func(certFile, keyFile string) *http.Client {
		tc := &tls.Config{RootCAs: roots}
		if certFile != "" {
			c, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{c}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	apiCrt, apiKey := ca.issue(t, "skiff-apiserver-kubelet-client", x509.ExtKeyUsageClientAuth)
	strangerCrt, strangerKey := other.issue(t, "stranger", x509.ExtKeyUsageClientAuth)
	serverOnlyCrt, serverOnlyKey := ca.issue(t, "not-a-client", x509.ExtKeyUsageServerAuth)
	tests := []struct {
		name     string
		c        *http.Client
		path     string
		wantCode int
		want     string
	}{
		{"client certificate of the CA", client(apiCrt, apiKey), "/containerLogs/ns/web/app", 200, "secret line\n"},
		{"no client certificate", client("", ""), "/containerLogs/ns/web/app", 401,
			"Unauthorized: a client certificate signed by the kubelet's client CA is required\n"},
		{"certificate of another CA", client(strangerCrt, strangerKey), "/containerLogs/ns/web/app", 401,
			"Unauthorized: the client certificate is not valid for the kubelet's client CA\n"},
		{"certificate not for clients", client(serverOnlyCrt, serverOnlyKey), "/containerLogs/ns/web/app", 401,
			"Unauthorized: the client certificate is not valid for the kubelet's client CA\n"},
		{"healthz needs no certificate", client("", ""), "/healthz", 200, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, tc.c, k.URL+tc.path)
			if code != tc.wantCode || body != tc.want {
				t.Errorf("GET %s: %d %q, want %d %q", tc.path, code, body, tc.wantCode, tc.want)
			}
		})
	}
	// Plain HTTP to a TLS kubelet gets nothing.
	if code, _ := get(t, http.DefaultClient, "http://"+k.Address+"/healthz"); code != 400 {
		t.Errorf("plain HTTP to the TLS port: %d, want 400", code)
	}
}

// TestFollowEndsWhenContainerStops: a followed log ends once its container
// is no longer running, after the lines it wrote last, as kubectl logs -f
// ends when the container exits in Kubernetes.
func TestFollowEndsWhenContainerStops(t *testing.T) {
	var running atomic.Bool
	running.Store(true)
	k := kubelettest.Start(t, kubelettest.Options{ContainerRunning: func(ns, pod, ctr string) bool {
		return !(ns == "ns" && pod == "web" && ctr == "app") || running.Load()
	}})
	k.WriteLog(t, "ns", "web", "u", "app", 0, "one")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, k.URL+"/containerLogs/ns/web/app?follow=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	body := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(resp.Body)
		body <- string(b)
	}()
	time.Sleep(200 * time.Millisecond) // several polls while it runs
	select {
	case b := <-body:
		t.Fatalf("the followed log of a running container ended: %q", b)
	default:
	}
	// The container writes its last line and stops.
	k.WriteLog(t, "ns", "web", "u", "app", 0, "last words")
	running.Store(false)
	select {
	case b := <-body:
		if b != "one\nlast words\n" {
			t.Errorf("followed log %q, want both lines", b)
		}
	case <-ctx.Done():
		t.Fatal("the followed log did not end when its container stopped")
	}
}
