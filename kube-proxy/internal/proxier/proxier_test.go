package proxier

import (
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the rendered rules")

// fakeIPTables records what the proxier applies.
type fakeIPTables struct {
	restores [][]byte
	chains   map[string][]string
	jumps    []string
	fail     error
}

func (f *fakeIPTables) Restore(_ context.Context, data []byte) error {
	if f.fail != nil {
		return f.fail
	}
	f.restores = append(f.restores, slices.Clone(data))
	return nil
}
func (f *fakeIPTables) Save(_ context.Context, table string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, c := range f.chains[table] {
		out[c] = nil
	}
	return out, nil
}
func (f *fakeIPTables) EnsureChain(string, string) error { return nil }
func (f *fakeIPTables) EnsureJump(table, chain string, rule []string) error {
	f.jumps = append(f.jumps, table+"/"+chain+" "+strings.Join(rule, " "))
	return nil
}
func (f *fakeIPTables) DeleteJump(string, string, []string) error { return nil }

func (f *fakeIPTables) last(t *testing.T) string {
	t.Helper()
	if len(f.restores) == 0 {
		t.Fatal("nothing was restored")
	}
	return string(f.restores[len(f.restores)-1])
}

type port struct {
	name, protocol string
	port           int32
	target         string
	nodePort       int32
}

func service(name, clusterIP, typ string, ports ...port) *corev1.Service {
	s := &corev1.Service{
		Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:     &corev1.ServiceSpec{ClusterIp: clusterIP, Type: typ},
	}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Name: p.name, Protocol: p.protocol, Port: p.port,
			TargetPort: p.target, NodePort: p.nodePort})
	}
	return s
}

type epPort struct {
	name, protocol string
	port           int32
}

func endpoints(name string, ips []string, ports ...epPort) *corev1.Endpoints {
	ss := &corev1.EndpointSubset{}
	for _, ip := range ips {
		ss.Addresses = append(ss.Addresses, &corev1.EndpointAddress{Ip: ip})
	}
	for _, p := range ports {
		ss.Ports = append(ss.Ports, &corev1.EndpointPort{Name: p.name, Protocol: p.protocol, Port: p.port})
	}
	return &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: name}, Subsets: []*corev1.EndpointSubset{ss}}
}

func newTestProxier(t *testing.T, ipt *fakeIPTables, rc RenderConfig) *Proxier {
	t.Helper()
	p, err := New(zaptest.NewLogger(t), Config{RenderConfig: rc, IPTables: ipt, MinSyncPeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRenderGolden(t *testing.T) {
	affinity := service("sticky", "10.96.0.30", "ClusterIP", port{name: "http", protocol: "TCP", port: 80, target: "8080"})
	affinity.Spec.SessionAffinity = "ClientIP"
	shortAffinity := service("sticky-short", "10.96.0.31", "ClusterIP", port{protocol: "TCP", port: 80, target: "8080"})
	shortAffinity.Spec.SessionAffinity = "ClientIP"
	timeout := int32(60)
	shortAffinity.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIp: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}

	tests := []struct {
		name      string
		rc        RenderConfig
		services  []*corev1.Service
		endpoints []*corev1.Endpoints
	}{
		{
			name:      "clusterip",
			rc:        RenderConfig{ClusterCIDR: "10.244.0.0/16"},
			services:  []*corev1.Service{service("web", "10.96.0.10", "ClusterIP", port{protocol: "TCP", port: 80, target: "8080"})},
			endpoints: []*corev1.Endpoints{endpoints("web", []string{"10.244.1.3", "10.244.1.2", "10.244.2.7"}, epPort{port: 8080, protocol: "TCP"})},
		},
		{
			name:      "nodeport",
			rc:        RenderConfig{ClusterCIDR: "10.244.0.0/16"},
			services:  []*corev1.Service{service("web", "10.96.0.11", "NodePort", port{name: "http", protocol: "TCP", port: 80, target: "8080", nodePort: 30080})},
			endpoints: []*corev1.Endpoints{endpoints("web", []string{"10.244.1.2", "10.244.1.3"}, epPort{name: "http", port: 8080, protocol: "TCP"})},
		},
		{
			name:      "nodeport-addresses",
			rc:        RenderConfig{MasqueradeAll: true, NodePortAddresses: []string{"192.0.2.10", "198.51.100.4"}},
			services:  []*corev1.Service{service("web", "10.96.0.11", "NodePort", port{name: "http", protocol: "TCP", port: 80, target: "8080", nodePort: 30080})},
			endpoints: []*corev1.Endpoints{endpoints("web", []string{"10.244.1.2"}, epPort{name: "http", port: 8080, protocol: "TCP"})},
		},
		{
			name: "multiport",
			rc:   RenderConfig{ClusterCIDR: "10.244.0.0/16"},
			services: []*corev1.Service{service("api", "10.96.0.12", "ClusterIP",
				port{name: "http", protocol: "TCP", port: 80, target: "8080"},
				port{name: "grpc", protocol: "TCP", port: 9090, target: "9090"})},
			endpoints: []*corev1.Endpoints{endpoints("api", []string{"10.244.1.2", "10.244.1.3"},
				epPort{name: "http", port: 8080, protocol: "TCP"}, epPort{name: "grpc", port: 9090, protocol: "TCP"})},
		},
		{
			// targetPort "web" is a container port name: the Endpoints
			// port named as the service port carries its number.
			name:      "named-ports",
			rc:        RenderConfig{ClusterCIDR: "10.244.0.0/16"},
			services:  []*corev1.Service{service("named", "10.96.0.13", "ClusterIP", port{name: "http", protocol: "TCP", port: 80, target: "web"})},
			endpoints: []*corev1.Endpoints{endpoints("named", []string{"10.244.1.2", "10.244.1.3"}, epPort{name: "http", port: 8081, protocol: "TCP"})},
		},
		{
			name:     "affinity",
			rc:       RenderConfig{ClusterCIDR: "10.244.0.0/16"},
			services: []*corev1.Service{affinity, shortAffinity},
			endpoints: []*corev1.Endpoints{
				endpoints("sticky", []string{"10.244.1.2", "10.244.1.3"}, epPort{name: "http", port: 8080, protocol: "TCP"}),
				endpoints("sticky-short", []string{"10.244.1.4"}, epPort{port: 8080, protocol: "TCP"}),
			},
		},
		{
			name: "no-endpoints",
			rc:   RenderConfig{ClusterCIDR: "10.244.0.0/16"},
			services: []*corev1.Service{
				service("empty", "10.96.0.14", "NodePort", port{name: "http", protocol: "TCP", port: 80, target: "8080", nodePort: 30081}),
				service("missing", "10.96.0.15", "ClusterIP", port{protocol: "TCP", port: 80, target: "8080"}),
			},
			endpoints: []*corev1.Endpoints{endpoints("empty", nil, epPort{name: "http", port: 8080, protocol: "TCP"})},
		},
		{
			name:      "udp",
			rc:        RenderConfig{ClusterCIDR: "10.244.0.0/16"},
			services:  []*corev1.Service{service("dns", "10.96.0.10", "ClusterIP", port{name: "dns", protocol: "UDP", port: 53, target: "53"}, port{name: "dns-tcp", protocol: "TCP", port: 53, target: "53"})},
			endpoints: []*corev1.Endpoints{endpoints("dns", []string{"10.244.1.5", "10.244.1.6"}, epPort{name: "dns", port: 53, protocol: "UDP"}, epPort{name: "dns-tcp", port: 53, protocol: "TCP"})},
		},
		{
			name: "headless-and-externalname-skipped",
			rc:   RenderConfig{ClusterCIDR: "10.244.0.0/16"},
			services: []*corev1.Service{
				service("headless", "None", "ClusterIP", port{protocol: "TCP", port: 80}),
				service("ext", "", "ExternalName", port{protocol: "TCP", port: 80}),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ipt := &fakeIPTables{chains: map[string][]string{tableNAT: {"PREROUTING", "KUBE-SVC-LEFTOVER0000000", "KUBE-MARK-DROP"}}}
			p := newTestProxier(t, ipt, RenderConfig{ClusterCIDR: tt.rc.ClusterCIDR, MasqueradeAll: tt.rc.MasqueradeAll})
			if tt.rc.NodePortAddresses != nil {
				for _, a := range tt.rc.NodePortAddresses {
					_, n, _ := net.ParseCIDR(a + "/32")
					p.cfg.NodePortCIDRs = append(p.cfg.NodePortCIDRs, n)
				}
				p.cfg.LocalAddresses = func() ([]net.IP, error) {
					return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("198.51.100.4"), net.ParseIP("192.0.2.10")}, nil
				}
			}
			for _, s := range tt.services {
				p.OnServiceUpdate(s)
			}
			for _, e := range tt.endpoints {
				p.OnEndpointsUpdate(e)
			}
			p.SetSynced()
			if err := p.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := ipt.last(t)
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestRenderGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("rules differ from %s (go test -run TestRenderGolden -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
