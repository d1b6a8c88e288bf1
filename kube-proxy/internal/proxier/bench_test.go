package proxier_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"skiff.dev/kube-proxy/internal/proxier"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// BenchmarkProxierSync measures syncs against real iptables: a full sync
// of 1,000 and 10,000 Services of 5 endpoints each, and a sync applying
// one endpoint's change among 10,000 Services. It writes real rules, so it
// refuses to run outside a network namespace of its own: `make
// bench-proxy` makes one and runs it there.
func BenchmarkProxierSync(b *testing.B) {
	if rootNetns() {
		b.Fatal("BenchmarkProxierSync writes iptables rules: run it in a network namespace (make bench-proxy)")
	}
	real, err := proxier.NewIPTables()
	if err != nil {
		b.Fatal(err)
	}
	ipt := &timedIPTables{IPTables: real}
	ctx := context.Background()
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("full/services=%d", n), func(b *testing.B) {
			p := loaded(b, ipt, n)
			start, cpu := time.Now(), cpuTime()
			if err := p.Sync(ctx); err != nil { // creates every chain
				b.Fatal(err)
			}
			firstWall, firstCPU := time.Since(start), cpuTime()-cpu
			b.ResetTimer()
			cpu = cpuTime()
			for range b.N {
				p.RequestFullSync()
				if err := p.Sync(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/full-sync")
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/full-sync")
			// the first sync creates every chain; later full syncs check
			// them against iptables-save and rewrite what differs
			b.ReportMetric(float64(firstWall.Milliseconds()), "ms/first-sync")
			b.ReportMetric(float64(firstCPU.Milliseconds()), "cpu-ms/first-sync")
			cleanup(b, ipt)
		})
	}
	b.Run("one-endpoint-change/services=10000", func(b *testing.B) {
		p := loaded(b, ipt, 10000)
		if err := p.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		const changes = 20
		var total time.Duration
		b.ResetTimer()
		ipt.restore, ipt.bytes = 0, 0
		cpu := cpuTime()
		for i := range b.N * changes {
			ep := endpointsOf(i%10000, 5)
			ep.Subsets[0].Addresses[2].Ip = fmt.Sprintf("10.245.%d.%d", i/250%250, i%250+1)
			p.OnEndpointsUpdate(ep)
			start := time.Now()
			if err := p.Sync(ctx); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
		}
		b.StopTimer()
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N*changes), "ms/change")
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N*changes), "cpu-ms/change")
		b.ReportMetric(float64(ipt.restore.Microseconds())/1000/float64(b.N*changes), "restore-ms/change")
		b.ReportMetric(float64(ipt.bytes)/float64(b.N*changes), "restore-bytes/change")
		cleanup(b, ipt)
	})
}

// loaded is a synced Proxier over n Services of 5 endpoints each.
func loaded(b *testing.B, ipt proxier.IPTables, n int) *proxier.Proxier {
	b.Helper()
	p, err := proxier.New(nil, proxier.Config{
		RenderConfig: proxier.RenderConfig{ClusterCIDR: "10.244.0.0/16"}, IPTables: ipt,
		SyncPeriod: time.Hour, MinSyncPeriod: time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		p.OnServiceUpdate(&corev1.Service{
			Metadata: &metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("svc-%05d", i)},
			Spec: &corev1.ServiceSpec{ClusterIp: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1), Type: "ClusterIP",
				Ports: []*corev1.ServicePort{{Name: "http", Protocol: "TCP", Port: 80, TargetPort: "8080"}}},
		})
		p.OnEndpointsUpdate(endpointsOf(i, 5))
	}
	p.SetSynced()
	return p
}

func endpointsOf(i, n int) *corev1.Endpoints {
	ss := &corev1.EndpointSubset{Ports: []*corev1.EndpointPort{{Name: "http", Protocol: "TCP", Port: 8080}}}
	for j := range n {
		k := i*n + j
		ss.Addresses = append(ss.Addresses, &corev1.EndpointAddress{Ip: fmt.Sprintf("10.244.%d.%d", k/250, k%250+1)})
	}
	return &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("svc-%05d", i)},
		Subsets: []*corev1.EndpointSubset{ss}}
}

func cleanup(b *testing.B, ipt proxier.IPTables) {
	b.Helper()
	if err := proxier.Cleanup(context.Background(), ipt); err != nil {
		b.Fatal(err)
	}
}

// timedIPTables adds up the time spent in iptables-restore.
type timedIPTables struct {
	proxier.IPTables
	restore time.Duration
	bytes   int
}

func (t *timedIPTables) Restore(ctx context.Context, data []byte) error {
	t.bytes += len(data)
	start := time.Now()
	defer func() { t.restore += time.Since(start) }()
	return t.IPTables.Restore(ctx, data)
}

// cpuTime is the user and system time of this process and its waited-for
// children (iptables-restore and friends).
func cpuTime() time.Duration {
	var self, children unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &self)
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &children)
	d := func(tv unix.Timeval) time.Duration { return time.Duration(tv.Nano()) }
	return d(self.Utime) + d(self.Stime) + d(children.Utime) + d(children.Stime)
}

// rootNetns reports whether this process is outside every named network
// namespace (/run/netns/*), as in the machine's own.
func rootNetns() bool {
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		return true
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		var st unix.Stat_t
		if unix.Stat(filepath.Join("/run/netns", e.Name()), &st) == nil && st.Ino == self.Ino && st.Dev == self.Dev {
			return false
		}
	}
	return true
}
