package proxier

import (
	"context"
	"fmt"
	"testing"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// BenchmarkRenderOneChange is the proxier's own part of a sync applying
// one endpoint's change among 10,000 Services (iptables faked).
func BenchmarkRenderOneChange(b *testing.B) {
	ipt := &fakeIPTables{}
	p, err := New(nil, Config{IPTables: ipt, RenderConfig: RenderConfig{ClusterCIDR: "10.244.0.0/16"}})
	if err != nil {
		b.Fatal(err)
	}
	eps := func(i int, third string) *corev1.Endpoints {
		ss := &corev1.EndpointSubset{Ports: []*corev1.EndpointPort{{Name: "http", Protocol: "TCP", Port: 8080}}}
		for j := range 5 {
			ip := fmt.Sprintf("10.244.%d.%d", (i*5+j)/250, (i*5+j)%250+1)
			if j == 2 && third != "" {
				ip = third
			}
			ss.Addresses = append(ss.Addresses, &corev1.EndpointAddress{Ip: ip})
		}
		return &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Namespace: "b", Name: fmt.Sprintf("s%05d", i)}, Subsets: []*corev1.EndpointSubset{ss}}
	}
	for i := range 10000 {
		p.OnServiceUpdate(&corev1.Service{Metadata: &metav1.ObjectMeta{Namespace: "b", Name: fmt.Sprintf("s%05d", i)},
			Spec: &corev1.ServiceSpec{ClusterIp: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1),
				Ports: []*corev1.ServicePort{{Name: "http", Protocol: "TCP", Port: 80}}}})
		p.OnEndpointsUpdate(eps(i, ""))
	}
	p.SetSynced()
	ctx := context.Background()
	if err := p.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		p.OnEndpointsUpdate(eps(i%10000, fmt.Sprintf("10.245.%d.%d", i/250%250, i%250+1)))
		if err := p.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
