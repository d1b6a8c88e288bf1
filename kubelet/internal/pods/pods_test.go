package pods

import (
	"slices"
	"testing"
	"time"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"

	"skiff.dev/kubelet/internal/podruntime"
)

func TestPhase(t *testing.T) {
	tests := []struct {
		policy                              string
		pending, running, succeeded, failed int
		want                                string
	}{
		{"Always", 1, 1, 0, 0, "Pending"},
		{"Always", 0, 2, 0, 0, "Running"},
		{"Always", 0, 1, 0, 1, "Running"},
		{"Always", 0, 0, 1, 0, "Running"}, // it will be restarted
		{"OnFailure", 0, 0, 2, 0, "Succeeded"},
		{"OnFailure", 0, 0, 1, 1, "Running"}, // the failed one restarts
		{"Never", 0, 0, 1, 1, "Failed"},
		{"Never", 0, 0, 2, 0, "Succeeded"},
		{"Never", 0, 0, 0, 0, "Pending"},
	}
	for _, tt := range tests {
		if got := phase(tt.policy, tt.pending, tt.running, tt.succeeded, tt.failed); got != tt.want {
			t.Errorf("phase(%s, pending %d running %d succeeded %d failed %d) = %s, want %s",
				tt.policy, tt.pending, tt.running, tt.succeeded, tt.failed, got, tt.want)
		}
	}
}

func TestServiceEnv(t *testing.T) {
	svc := func(name, ip string, ports ...*corev1.ServicePort) *corev1.Service {
		return &corev1.Service{Metadata: &metav1.ObjectMeta{Name: name}, Spec: &corev1.ServiceSpec{ClusterIp: ip, Ports: ports}}
	}
	got := serviceEnv([]*corev1.Service{
		svc("web-db", "10.96.0.10", &corev1.ServicePort{Name: "sql", Port: 5432}, &corev1.ServicePort{Name: "metrics", Port: 9100, Protocol: "TCP"}),
		svc("headless", "None", &corev1.ServicePort{Port: 80}),
		svc("noports", "10.96.0.11"),
	})
	for _, want := range []string{
		"WEB_DB_SERVICE_HOST=10.96.0.10", "WEB_DB_SERVICE_PORT=5432", "WEB_DB_SERVICE_PORT_SQL=5432",
		"WEB_DB_SERVICE_PORT_METRICS=9100", "WEB_DB_PORT=tcp://10.96.0.10:5432",
		"WEB_DB_PORT_5432_TCP=tcp://10.96.0.10:5432", "WEB_DB_PORT_5432_TCP_PROTO=tcp",
		"WEB_DB_PORT_5432_TCP_PORT=5432", "WEB_DB_PORT_5432_TCP_ADDR=10.96.0.10",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("serviceEnv lacks %s; got %v", want, got)
		}
	}
	for _, v := range got {
		if len(v) >= 8 && (v[:8] == "HEADLESS" || v[:7] == "NOPORTS") {
			t.Errorf("serviceEnv has %s: headless services and services without ports have none", v)
		}
	}
}

func TestResources(t *testing.T) {
	tests := []struct {
		name             string
		requests, limits map[string]string
		want             podruntime.ContainerSpec
		wantErr          bool
	}{
		{"none", nil, nil, podruntime.ContainerSpec{}, false},
		{"limits only: request = limit", nil, map[string]string{"cpu": "500m", "memory": "64Mi"},
			podruntime.ContainerSpec{MemoryLimit: 64 << 20, CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000}, false},
		{"request below limit", map[string]string{"cpu": "250m"}, map[string]string{"cpu": "2"},
			podruntime.ContainerSpec{CPUShares: 256, CPUQuota: 200000, CPUPeriod: 100000}, false},
		{"tiny request has 2 shares", map[string]string{"cpu": "1m"}, nil, podruntime.ContainerSpec{CPUShares: 2}, false},
		{"bad quantity", nil, map[string]string{"memory": "lots"}, podruntime.ContainerSpec{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got podruntime.ContainerSpec
			err := resources(&corev1.Container{Name: "c", Resources: &corev1.ResourceRequirements{Requests: tt.requests, Limits: tt.limits}}, &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && (got.MemoryLimit != tt.want.MemoryLimit || got.CPUShares != tt.want.CPUShares ||
				got.CPUQuota != tt.want.CPUQuota || got.CPUPeriod != tt.want.CPUPeriod) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestGracePeriod(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	pod := &corev1.Pod{Spec: &corev1.PodSpec{}}
	if got := gracePeriod(pod, nil); got != 30*time.Second {
		t.Errorf("default grace = %s, want 30s", got)
	}
	pod.Spec.TerminationGracePeriodSeconds = i32(5)
	if got := gracePeriod(pod, nil); got != 5*time.Second {
		t.Errorf("pod's grace = %s, want 5s", got)
	}
	if got := gracePeriod(pod, i32(0)); got != 0 {
		t.Errorf("deletion's grace = %s, want 0", got)
	}
}

func TestResolvePort(t *testing.T) {
	c := &corev1.Container{Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	for port, want := range map[string]int{"9090": 9090, "http": 8080} {
		if got, err := resolvePort(port, c); err != nil || got != want {
			t.Errorf("resolvePort(%q) = %d, %v; want %d", port, got, err, want)
		}
	}
	if _, err := resolvePort("grpc", c); err == nil {
		t.Error("resolvePort of an unknown name: want an error")
	}
}
