package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// probe is how the lab tells a daemon is healthy: an HTTP GET answered
// 200 inside the host's namespace, or a unix socket accepting connections.
type probe struct {
	host   Host
	url    string
	tls    bool
	socket string
}

func httpProbe(h Host, port int, path string, useTLS bool) probe {
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	return probe{host: h, tls: useTLS, url: fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(h.IP, strconv.Itoa(port)), path)}
}

func (p probe) String() string {
	if p.socket != "" {
		return "unix:" + p.socket
	}
	return p.url
}

// HTTPClient returns a client whose connections are made inside the
// network namespace of host, trusting the lab's CA: tests and tools reach
// lab addresses from the machine's own namespace without a route to them.
func (l *Lab) HTTPClient(host string) (*http.Client, error) {
	h, err := l.Host(host)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{DialContext: DialContextIn(h.NetNSPath()), DisableKeepAlives: true}
	if !l.cfg.Insecure {
		pool, err := l.caPool()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}, nil
}

func (l *Lab) caPool() (*x509.CertPool, error) {
	b, err := os.ReadFile(l.pkiPath("ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("lab CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("lab CA %s: no certificate in it", l.pkiPath("ca.crt"))
	}
	return pool, nil
}

// check runs the probe once.
func (l *Lab) check(ctx context.Context, p probe) error {
	if p.socket != "" {
		c, err := net.DialTimeout("unix", p.socket, 2*time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
	client, err := l.HTTPClient(p.host.Name)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", p.url, resp.Status, body)
	}
	return nil
}
