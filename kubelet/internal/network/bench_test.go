package network_test

import (
	"context"
	"fmt"
	"testing"

	"skiff.dev/kubelet/internal/nettest"
	"skiff.dev/kubelet/internal/network"
)

// BenchmarkSetUpTearDownPod is one pod's network made and removed, inside
// a namespace of the benchmark's own (go test -bench SetUpTearDown -run ^$).
func BenchmarkSetUpTearDownPod(b *testing.B) {
	p := nettest.Prefix(b)
	host := nettest.NewNS(b, p+"-host")
	m, err := network.New(nil, network.Config{BridgeName: "skn0", StateDir: b.TempDir(), NetNSDir: nettest.NetNSDir,
		NetNSPrefix: p + "-host-", VethPrefix: "skn", HostNetNS: host, MasqueradeChain: "SKN-POSTROUTING"})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	if err := m.EnsureNode(ctx, "10.99.8.0/24"); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		uid := fmt.Sprintf("pod-%d", i)
		if _, err := m.SetUpPod(ctx, network.PodRef{UID: uid, Namespace: "default", Name: uid}); err != nil {
			b.Fatal(err)
		}
		if err := m.TearDownPod(ctx, uid); err != nil {
			b.Fatal(err)
		}
	}
}
