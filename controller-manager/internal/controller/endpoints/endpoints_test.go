package endpoints

import (
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func pod(name, ip string, ready bool, mutate ...func(*corev1.Pod)) *corev1.Pod {
	status := "False"
	if ready {
		status = "True"
	}
	p := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name},
		Spec: &corev1.PodSpec{NodeName: "node1", Containers: []*corev1.Container{{Name: "web",
			Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "dns", ContainerPort: 53, Protocol: "UDP"}}}}},
		Status: &corev1.PodStatus{Phase: "Running", PodIp: ip, Conditions: []*corev1.PodCondition{{Type: "Ready", Status: status}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func addr(name, ip string) string {
	return `ip:"` + ip + `" node_name:"node1" target_ref:{kind:"Pod" namespace:"default" name:"` + name + `" uid:"uid-` + name + `"}`
}

func TestSubsets(t *testing.T) {
	svc := func(ports ...*corev1.ServicePort) *corev1.Service {
		return &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: &corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: ports}}
	}
	named := &corev1.ServicePort{Name: "http", Port: 80, TargetPort: "http", Protocol: "TCP"}
	tests := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want string // prototext of the subsets, joined by " | "
	}{
		{"ready and not ready", svc(named), []*corev1.Pod{pod("b", "10.0.0.2", true), pod("a", "10.0.0.1", false), pod("c", "10.0.0.3", true)},
			"addresses:{" + addr("b", "10.0.0.2") + "} addresses:{" + addr("c", "10.0.0.3") + "} not_ready_addresses:{" + addr("a", "10.0.0.1") +
				`} ports:{name:"http" port:8080 protocol:"TCP"}`},
		{"numeric and default target ports", svc(&corev1.ServicePort{Name: "a", Port: 80, TargetPort: "9376"}, &corev1.ServicePort{Name: "b", Port: 81}),
			[]*corev1.Pod{pod("a", "10.0.0.1", true)},
			"addresses:{" + addr("a", "10.0.0.1") + `} ports:{name:"a" port:9376 protocol:"TCP"} ports:{name:"b" port:81 protocol:"TCP"}`},
		{"named port of another protocol", svc(&corev1.ServicePort{Name: "dns", Port: 53, TargetPort: "dns", Protocol: "UDP"}),
			[]*corev1.Pod{pod("a", "10.0.0.1", true)},
			"addresses:{" + addr("a", "10.0.0.1") + `} ports:{name:"dns" port:53 protocol:"UDP"}`},
		{"pods without the named port, IP, or being deleted, or finished are left out", svc(named), []*corev1.Pod{
			pod("noport", "10.0.0.1", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil }),
			pod("noip", "", true),
			pod("deleting", "10.0.0.3", true, func(p *corev1.Pod) { p.Metadata.DeletionTimestamp = timestamppb.Now() }),
			pod("done", "10.0.0.4", false, func(p *corev1.Pod) { p.Status.Phase = "Succeeded" }),
			pod("ok", "10.0.0.5", true),
		}, "addresses:{" + addr("ok", "10.0.0.5") + `} ports:{name:"http" port:8080 protocol:"TCP"}`},
		{"pods with different ports get their own subsets", svc(named), []*corev1.Pod{
			pod("a", "10.0.0.1", true),
			pod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 }),
		}, "addresses:{" + addr("a", "10.0.0.1") + `} ports:{name:"http" port:8080 protocol:"TCP"} | ` +
			"addresses:{" + addr("b", "10.0.0.2") + `} ports:{name:"http" port:9090 protocol:"TCP"}`},
		{"no pods", svc(named), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			for i, s := range Subsets(tt.svc, tt.pods) {
				if i > 0 {
					got += " | "
				}
				b, _ := prototext.MarshalOptions{}.Marshal(s)
				got += string(b)
			}
			if norm(got) != norm(tt.want) {
				t.Errorf("Subsets() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// norm removes the spaces prototext may or may not print.
func norm(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r != ' ' && r != '\u00a0' {
			out = append(out, r)
		}
	}
	return string(out)
}
