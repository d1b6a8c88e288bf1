package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"skiff.dev/kube-proxy/internal/proxier"
)

// failingIPTables fails every restore while fail is set.
type failingIPTables struct{ fail bool }

func (f *failingIPTables) Restore(context.Context, []byte) error {
	if f.fail {
		return errors.New("iptables-restore: exit status 4: Another app is currently holding the xtables lock")
	}
	return nil
}
func (f *failingIPTables) Save(context.Context, string) (map[string][]string, error) {
	return map[string][]string{}, nil
}
func (f *failingIPTables) EnsureChain(string, string) error          { return nil }
func (f *failingIPTables) EnsureJump(string, string, []string) error { return nil }
func (f *failingIPTables) DeleteJump(string, string, []string) error { return nil }

func TestHealthzStaleWhenSyncsFail(t *testing.T) {
	ipt := &failingIPTables{}
	reg := prometheus.NewRegistry()
	p, err := proxier.New(zaptest.NewLogger(t), proxier.Config{IPTables: ipt, SyncPeriod: time.Minute, Metrics: proxier.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	p.SetSynced()
	srv := httptest.NewServer(healthMux(p, reg))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	ctx := context.Background()
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok" {
		t.Errorf("/healthz after a good sync: %d %q", code, body)
	}
	ipt.fail = true
	p.RequestFullSync()
	if err := p.Sync(ctx); err == nil {
		t.Fatal("sync succeeded with a failing iptables-restore")
	}
	if code, body := get("/healthz"); code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "stale: last sync failed: iptables-restore") {
		t.Errorf("/healthz after a failed sync: %d %q, want 503 stale", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, `skiff_kubeproxy_sync_proxy_rules_iptables_restore_failures_total{kind="full"} 1`) {
		t.Errorf("/metrics does not count the failure: %d\n%s", code, body)
	}
}
