package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func validService() *corev1.Service {
	return &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports: []*corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: "http"},
				{Name: "metrics", Port: 9090},
			},
		},
	}
}

func defaultedService() *corev1.Service {
	s := validService()
	DefaultService(s)
	return s
}

func TestDefaultService(t *testing.T) {
	s := validService()
	DefaultService(s)
	sp := s.Spec
	checks := []struct {
		what      string
		got, want any
	}{
		{"type", sp.Type, "ClusterIP"},
		{"sessionAffinity", sp.SessionAffinity, "None"},
		{"internalTrafficPolicy", sp.InternalTrafficPolicy, "Cluster"},
		{"externalTrafficPolicy of ClusterIP", sp.ExternalTrafficPolicy, ""},
		{"protocol", sp.Ports[0].Protocol, "TCP"},
		{"named targetPort kept", sp.Ports[0].TargetPort, "http"},
		{"targetPort from port", sp.Ports[1].TargetPort, "9090"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	expectIdempotent(t, validService(), DefaultService)

	np := &corev1.Service{Spec: &corev1.ServiceSpec{Type: "NodePort", ClusterIp: "10.96.0.10"}}
	DefaultService(np)
	if np.Spec.ExternalTrafficPolicy != "Cluster" {
		t.Errorf("NodePort externalTrafficPolicy = %q, want Cluster", np.Spec.ExternalTrafficPolicy)
	}
	if len(np.Spec.ClusterIps) != 1 || np.Spec.ClusterIps[0] != "10.96.0.10" {
		t.Errorf("clusterIPs = %v, want [10.96.0.10]", np.Spec.ClusterIps)
	}
	expectIdempotent(t, np, DefaultService)
	expectIdempotent(t, &corev1.Service{}, DefaultService)
}

func TestValidateService(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *corev1.Service)
		want   []string
	}{
		{"valid", func(s *corev1.Service) {}, nil},
		{"single unnamed port", func(s *corev1.Service) {
			s.Spec.Ports = []*corev1.ServicePort{{Port: 80, TargetPort: "8080", Protocol: "UDP"}}
		}, nil},
		{"cluster IP", func(s *corev1.Service) { s.Spec.ClusterIp, s.Spec.ClusterIps = "10.96.0.10", []string{"10.96.0.10"} }, nil},
		{"headless without ports", func(s *corev1.Service) {
			s.Spec.ClusterIp, s.Spec.ClusterIps, s.Spec.Ports = "None", []string{"None"}, nil
		}, nil},
		{"node port", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalTrafficPolicy = "NodePort", "Local"
			s.Spec.Ports[0].NodePort = 30080
		}, nil},
		{"dotted name", func(s *corev1.Service) { s.Metadata.Name = "web.v1" }, []string{"metadata.name" + invalid}},
		{"no ports", func(s *corev1.Service) { s.Spec.Ports = nil }, []string{"spec.ports" + required}},
		{"port 0", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 }, []string{"spec.ports[0].port" + invalid}},
		{"port too big", func(s *corev1.Service) { s.Spec.Ports[0].Port = 65536 }, []string{"spec.ports[0].port" + invalid}},
		{"unnamed port among two", func(s *corev1.Service) { s.Spec.Ports[1].Name = "" }, []string{"spec.ports[1].name" + required}},
		{"duplicate port name", func(s *corev1.Service) { s.Spec.Ports[1].Name = "http" }, []string{"spec.ports[1].name" + duplicate}},
		{"bad port name", func(s *corev1.Service) { s.Spec.Ports[1].Name = "Metrics" }, []string{"spec.ports[1].name" + invalid}},
		{"same port twice", func(s *corev1.Service) { s.Spec.Ports[1].Port = 80 }, []string{"spec.ports[1]" + duplicate}},
		{"bad protocol", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "ICMP" }, []string{"spec.ports[0].protocol" + notSupported}},
		{"bad target port", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = "70000" }, []string{"spec.ports[0].targetPort" + invalid}},
		{"bad target port name", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = "web_http" }, []string{"spec.ports[0].targetPort" + invalid}},
		{"LoadBalancer", func(s *corev1.Service) { s.Spec.Type = "LoadBalancer" }, []string{"spec.type" + notSupported}},
		{"ExternalName", func(s *corev1.Service) { s.Spec.Type = "ExternalName" }, []string{"spec.type" + notSupported}},
		{"node port on ClusterIP", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 }, []string{"spec.ports[0].nodePort" + forbidden}},
		{"node port out of range", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalTrafficPolicy = "NodePort", "Cluster"
			s.Spec.Ports[0].NodePort = 70000
		}, []string{"spec.ports[0].nodePort" + invalid}},
		{"node port twice", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalTrafficPolicy = "NodePort", "Cluster"
			s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort = 30080, 30080
		}, []string{"spec.ports[1].nodePort" + duplicate}},
		{"bad cluster IP", func(s *corev1.Service) { s.Spec.ClusterIp = "10.96.0" }, []string{"spec.clusterIP" + invalid}},
		{"headless NodePort", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalTrafficPolicy, s.Spec.ClusterIp = "NodePort", "Cluster", "None"
		}, []string{"spec.clusterIP" + invalid}},
		{"clusterIPs disagree", func(s *corev1.Service) { s.Spec.ClusterIp, s.Spec.ClusterIps = "10.96.0.10", []string{"10.96.0.11"} },
			[]string{"spec.clusterIPs[0]" + invalid}},
		{"bad selector", func(s *corev1.Service) { s.Spec.Selector["app"] = "web server" }, []string{"spec.selector" + invalid}},
		{"bad session affinity", func(s *corev1.Service) { s.Spec.SessionAffinity = "Sticky" }, []string{"spec.sessionAffinity" + notSupported}},
		{"external policy on ClusterIP", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = "Local" }, []string{"spec.externalTrafficPolicy" + invalid}},
		{"bad external policy", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalTrafficPolicy = "NodePort", "Nearest"
		}, []string{"spec.externalTrafficPolicy" + notSupported}},
		{"bad internal policy", func(s *corev1.Service) { s.Spec.InternalTrafficPolicy = "Nearest" }, []string{"spec.internalTrafficPolicy" + notSupported}},
		{"bad external IP", func(s *corev1.Service) { s.Spec.ExternalIps = []string{"1.2.3.4.5"} }, []string{"spec.externalIPs[0]" + invalid}},
		{"no spec", func(s *corev1.Service) { s.Spec = nil }, []string{"spec" + required}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultedService()
			tt.mutate(s)
			expectErrors(t, ValidateService(s), tt.want...)
		})
	}
}

func TestValidateServiceUpdate(t *testing.T) {
	tests := []struct {
		name      string
		oldIP     string
		mutate    func(s *corev1.Service)
		want      []string
		wantInMsg string
	}{
		{"cluster IP allocated", "", func(s *corev1.Service) { s.Spec.ClusterIp, s.Spec.ClusterIps = "10.96.0.9", []string{"10.96.0.9"} }, nil, ""},
		{"cluster IP kept", "10.96.0.8", func(s *corev1.Service) {}, nil, ""},
		{"ports change", "10.96.0.8", func(s *corev1.Service) { s.Spec.Ports[1].Port = 9091 }, nil, ""},
		{"type to NodePort with user node port", "10.96.0.8", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalTrafficPolicy = "NodePort", "Cluster"
			s.Spec.Ports[0].NodePort = 30001
		}, nil, ""},
		{"cluster IP changed", "10.96.0.8", func(s *corev1.Service) { s.Spec.ClusterIp, s.Spec.ClusterIps = "10.0.0.9", []string{"10.0.0.9"} },
			[]string{"spec.clusterIP" + invalid}, `spec.clusterIP: Invalid value: "10.0.0.9": field is immutable`},
		{"cluster IP cleared", "10.96.0.8", func(s *corev1.Service) { s.Spec.ClusterIp, s.Spec.ClusterIps = "", nil },
			[]string{"spec.clusterIP" + invalid}, "field is immutable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := defaultedService()
			old.Spec.ClusterIp = tt.oldIP
			DefaultService(old)
			newObj := proto.Clone(old).(*corev1.Service)
			tt.mutate(newObj)
			errs := ValidateServiceUpdate(newObj, old)
			expectErrors(t, errs, tt.want...)
			if tt.wantInMsg != "" {
				expectDetail(t, errs, "spec.clusterIP", tt.wantInMsg)
			}
		})
	}
}

func TestPreserveAllocatedServiceValues(t *testing.T) {
	old := defaultedService()
	old.Spec.Type, old.Spec.ExternalTrafficPolicy = "NodePort", "Cluster"
	old.Spec.ClusterIp, old.Spec.ClusterIps = "10.96.0.8", []string{"10.96.0.8"}
	old.Spec.Ports[0].NodePort, old.Spec.Ports[1].NodePort = 30080, 30090

	// A re-applied manifest: no cluster IP, metrics port given its old http
	// node port by the user, http port without one.
	newObj := defaultedService()
	newObj.Spec.Type, newObj.Spec.ExternalTrafficPolicy = "NodePort", "Cluster"
	newObj.Spec.Ports[1].NodePort = 30080
	PreserveAllocatedServiceValues(newObj, old)

	if newObj.Spec.ClusterIp != "10.96.0.8" || len(newObj.Spec.ClusterIps) != 1 {
		t.Errorf("clusterIP = %q %v, want the old 10.96.0.8", newObj.Spec.ClusterIp, newObj.Spec.ClusterIps)
	}
	if got := newObj.Spec.Ports[0].NodePort; got != 0 {
		t.Errorf("http nodePort = %d, want 0 (30080 is taken by metrics now, the allocator picks anew)", got)
	}
	if got := newObj.Spec.Ports[1].NodePort; got != 30080 {
		t.Errorf("metrics nodePort = %d, want the user's 30080", got)
	}
	expectErrors(t, ValidateServiceUpdate(newObj, old))

	again := defaultedService()
	again.Spec.Type, again.Spec.ExternalTrafficPolicy = "NodePort", "Cluster"
	PreserveAllocatedServiceValues(again, old)
	if again.Spec.Ports[0].NodePort != 30080 || again.Spec.Ports[1].NodePort != 30090 {
		t.Errorf("nodePorts = %d, %d, want the old 30080, 30090", again.Spec.Ports[0].NodePort, again.Spec.Ports[1].NodePort)
	}
}

func TestValidateServiceStatusUpdate(t *testing.T) {
	old := defaultedService()
	newObj := defaultedService()
	newObj.Status = &corev1.ServiceStatus{LoadBalancer: &corev1.LoadBalancerStatus{Ingress: []*corev1.LoadBalancerIngress{{Ip: "1.2.3"}}}}
	expectErrors(t, ValidateServiceStatusUpdate(newObj, old), "status.loadBalancer.ingress[0].ip"+invalid)
}
