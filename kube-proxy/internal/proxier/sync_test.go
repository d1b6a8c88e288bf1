package proxier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// A change to one Service's endpoints rewrites that Service's chains
// only, and deletes the chain of the endpoint that went away.
func TestPartialSyncWritesOnlyChangedChains(t *testing.T) {
	ipt := &fakeIPTables{}
	p := newTestProxier(t, ipt, RenderConfig{ClusterCIDR: "10.244.0.0/16"})
	p.OnServiceUpdate(service("web", "10.96.0.10", "ClusterIP", port{protocol: "TCP", port: 80}))
	p.OnServiceUpdate(service("other", "10.96.0.11", "ClusterIP", port{protocol: "TCP", port: 80}))
	p.OnEndpointsUpdate(endpoints("web", []string{"10.244.1.2", "10.244.1.3"}, epPort{port: 8080, protocol: "TCP"}))
	p.OnEndpointsUpdate(endpoints("other", []string{"10.244.1.9"}, epPort{port: 8080, protocol: "TCP"}))
	ctx := context.Background()
	if err := p.Sync(ctx); err != nil || len(ipt.restores) != 0 {
		t.Fatalf("before SetSynced: err %v, %d restores; want nothing applied", err, len(ipt.restores))
	}
	p.SetSynced()
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ipt.jumps) != len(jumps) {
		t.Errorf("full sync ensured %d jumps, want %d", len(ipt.jumps), len(jumps))
	}

	// Nothing changed: nothing written.
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ipt.restores) != 1 {
		t.Fatalf("an unchanged sync restored %q", ipt.last(t))
	}

	p.OnEndpointsUpdate(endpoints("web", []string{"10.244.1.2", "10.244.1.4"}, epPort{port: 8080, protocol: "TCP"}))
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got := ipt.last(t)
	svc := serviceChainName("ns/web", "tcp")
	gone := endpointChainName("ns/web", "tcp", "10.244.1.3:8080")
	added := endpointChainName("ns/web", "tcp", "10.244.1.4:8080")
	kept := endpointChainName("ns/web", "tcp", "10.244.1.2:8080")
	want := []string{"*nat\n", ":" + svc + " ", ":" + added + " ", "-X " + gone + "\n", "-A " + added + " "}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("partial restore lacks %q:\n%s", w, got)
		}
	}
	notWant := []string{"*filter", ":KUBE-SERVICES", ":" + kept, serviceChainName("ns/other", "tcp")}
	for _, w := range notWant {
		if strings.Contains(got, w) {
			t.Errorf("partial restore rewrites %q, which did not change:\n%s", w, got)
		}
	}

	// The Service goes: its chains are deleted, KUBE-SERVICES rewritten.
	p.OnServiceDelete(service("web", "10.96.0.10", "ClusterIP"))
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got = ipt.last(t)
	for _, w := range []string{"-X " + svc + "\n", "-X " + kept + "\n", "-X " + added + "\n", ":KUBE-SERVICES - [0:0]"} {
		if !strings.Contains(got, w) {
			t.Errorf("restore after delete lacks %q:\n%s", w, got)
		}
	}
}

// A failed sync makes the next one full, and /healthz stale meanwhile.
func TestFailedSyncRetriesFullAndReportsStale(t *testing.T) {
	ipt := &fakeIPTables{}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newTestProxier(t, ipt, RenderConfig{})
	p.cfg.Now = func() time.Time { return now }
	p.lastSuccess.Store(now.UnixNano())
	p.OnServiceUpdate(service("web", "10.96.0.10", "ClusterIP", port{protocol: "TCP", port: 80}))
	p.SetSynced()
	ctx := context.Background()
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Healthy(); err != nil {
		t.Fatalf("healthy after a sync: %v", err)
	}
	ipt.fail = errors.New("iptables-restore: exit status 1")
	p.OnEndpointsUpdate(endpoints("web", []string{"10.244.1.2"}, epPort{port: 80, protocol: "TCP"}))
	if err := p.Sync(ctx); err == nil {
		t.Fatal("sync succeeded with a failing iptables-restore")
	}
	if err := p.Healthy(); err == nil || !strings.HasPrefix(err.Error(), "stale") {
		t.Fatalf("Healthy after a failed sync = %v, want stale", err)
	}
	ipt.fail = nil
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ipt.last(t); !strings.Contains(got, ":KUBE-MARK-MASQ") {
		t.Errorf("sync after a failure is not full:\n%s", got)
	}
	if err := p.Healthy(); err != nil {
		t.Fatalf("healthy again after a good sync: %v", err)
	}
	now = now.Add(2*p.cfg.SyncPeriod + time.Second)
	if err := p.Healthy(); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("Healthy with no sync for 2 sync periods = %v, want stale", err)
	}
}

// Stale UDP flows are flushed: to endpoints that went away, and to a
// Service that had none.
func TestStaleUDPFlowsFlushed(t *testing.T) {
	ipt := &fakeIPTables{}
	ct := &fakeConntrack{}
	p := newTestProxier(t, ipt, RenderConfig{})
	p.cfg.Conntrack = ct
	p.OnServiceUpdate(service("dns", "10.96.0.10", "ClusterIP", port{protocol: "UDP", port: 53}))
	p.SetSynced()
	ctx := context.Background()
	steps := []struct {
		ips  []string
		want []string
	}{
		{nil, nil},
		{[]string{"10.244.1.5", "10.244.1.6"}, []string{"-p udp --orig-dst 10.96.0.10"}},
		{[]string{"10.244.1.6"}, []string{"-p udp --orig-dst 10.96.0.10 --dst-nat 10.244.1.5"}},
	}
	for i, s := range steps {
		ct.calls = nil
		p.OnEndpointsUpdate(endpoints("dns", s.ips, epPort{port: 53, protocol: "UDP"}))
		if err := p.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if strings.Join(ct.calls, ";") != strings.Join(s.want, ";") {
			t.Errorf("step %d: conntrack -D %q, want %q", i, ct.calls, s.want)
		}
	}
}

type fakeConntrack struct{ calls []string }

func (f *fakeConntrack) Delete(_ context.Context, args ...string) error {
	f.calls = append(f.calls, strings.Join(args, " "))
	return nil
}

// A full sync compares the chains with what iptables has and rewrites
// the ones someone changed; the others stay as they are.
func TestFullSyncRepairsChangedChains(t *testing.T) {
	ipt := &fakeIPTables{}
	p := newTestProxier(t, ipt, RenderConfig{})
	p.OnServiceUpdate(service("web", "10.96.0.10", "ClusterIP", port{protocol: "TCP", port: 80}))
	p.OnEndpointsUpdate(endpoints("web", []string{"10.244.1.2", "10.244.1.3"}, epPort{port: 8080, protocol: "TCP"}))
	p.SetSynced()
	ctx := context.Background()
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	svc := serviceChainName("ns/web", "tcp")
	sep2 := endpointChainName("ns/web", "tcp", "10.244.1.2:8080")
	sep3 := endpointChainName("ns/web", "tcp", "10.244.1.3:8080")
	saved := `*nat
:KUBE-SERVICES - [0:0]
:` + svc + ` - [0:0]
:` + sep2 + ` - [0:0]
:` + sep3 + ` - [0:0]
:KUBE-SEP-STALE0000000000 - [0:0]
-A ` + svc + ` -m comment --comment "ns/web -> 10.244.1.2:8080" -m statistic --mode random --probability 0.50000000000 -j ` + sep2 + `
-A ` + svc + ` -m comment --comment "ns/web -> 10.244.1.3:8080" -j ` + sep3 + `
-A ` + sep2 + ` -s 10.244.1.2/32 -m comment --comment ns/web -j KUBE-MARK-MASQ
-A ` + sep2 + ` -p tcp -m comment --comment ns/web -m tcp -j DNAT --to-destination 10.244.1.2:8080
-A ` + sep3 + ` -s 10.244.1.3/32 -m comment --comment ns/web -j KUBE-MARK-MASQ
COMMIT
`
	actual, err := parseSave([]byte(saved))
	if err != nil {
		t.Fatal(err)
	}
	p.cfg.IPTables = &savedIPTables{fakeIPTables: ipt, actual: actual}
	p.RequestFullSync()
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got := ipt.last(t)
	for _, w := range []string{":" + sep3 + " ", "-X KUBE-SEP-STALE0000000000\n", ":KUBE-SERVICES ", ":KUBE-MARK-MASQ "} {
		if !strings.Contains(got, w) {
			t.Errorf("full sync lacks %q:\n%s", w, got)
		}
	}
	for _, w := range []string{":" + svc, ":" + sep2} {
		if strings.Contains(got, w) {
			t.Errorf("full sync rewrites %q, which iptables has as applied:\n%s", w, got)
		}
	}
}

type savedIPTables struct {
	*fakeIPTables
	actual map[string][]string
}

func (s *savedIPTables) Save(context.Context, string) (map[string][]string, error) {
	return s.actual, nil
}

// A jump someone deleted from a built-in chain is put back by the next
// full sync; the ones in place are not touched.
func TestFullSyncRestoresDeletedJump(t *testing.T) {
	ipt := &fakeIPTables{}
	p := newTestProxier(t, ipt, RenderConfig{})
	p.SetSynced()
	ctx := context.Background()
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	saved := map[string][]string{}
	for _, c := range fixedChainNames {
		saved[c.chain] = nil
	}
	saved["PREROUTING"] = []string{`-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`}
	saved["POSTROUTING"] = []string{`-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`}
	saved["OUTPUT"] = []string{`-A OUTPUT -d 10.123.0.2/32 -j RETURN`, // not ours, and no jump of ours
		`-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`} // filter's
	saved["INPUT"] = []string{`-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`}
	saved["FORWARD"] = []string{`-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`}
	ipt.jumps = nil
	p.cfg.IPTables = &savedIPTables{fakeIPTables: ipt, actual: saved}
	p.RequestFullSync()
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// (savedIPTables answers for both tables with one map.)
	for _, j := range ipt.jumps {
		if strings.HasPrefix(j, "nat/PREROUTING") || strings.HasPrefix(j, "nat/POSTROUTING") || strings.HasPrefix(j, "filter/INPUT") {
			t.Errorf("re-ensured a jump that is in place: %s", j)
		}
	}
	delete(saved, "PREROUTING")
	ipt.jumps = nil
	p.RequestFullSync()
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ipt.jumps) != 1 || !strings.HasPrefix(ipt.jumps[0], "nat/PREROUTING") {
		t.Errorf("ensured %q, want the deleted nat/PREROUTING jump only", ipt.jumps)
	}
}

// Run coalesces a burst of changes: syncs are at least MinSyncPeriod
// apart, however many changes arrive.
func TestRunCoalescesChanges(t *testing.T) {
	ipt := &countingIPTables{}
	p, err := New(zaptest.NewLogger(t), Config{IPTables: ipt, SyncPeriod: time.Hour, MinSyncPeriod: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.OnServiceUpdate(service("web", "10.96.0.10", "ClusterIP", port{protocol: "TCP", port: 80}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	p.SetSynced()
	start := time.Now()
	for i := range 100 {
		p.OnEndpointsUpdate(endpoints("web", []string{fmt.Sprintf("10.244.1.%d", i+1)}, epPort{port: 80, protocol: "TCP"}))
		time.Sleep(10 * time.Millisecond)
	}
	deadline := time.Now().Add(30 * time.Second)
	for ipt.restores.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	elapsed := time.Since(start)
	n := ipt.restores.Load()
	if n == 0 {
		t.Fatal("no sync within 30s")
	}
	if limit := int64(elapsed/(300*time.Millisecond)) + 1; n > limit {
		t.Errorf("%d syncs in %v for 100 changes; with --min-sync-period 300ms at most %d", n, elapsed, limit)
	}
}

type countingIPTables struct {
	fakeIPTables
	restores atomic.Int64
}

func (c *countingIPTables) Restore(context.Context, []byte) error {
	c.restores.Add(1)
	return nil
}
