package kubelet

import (
	"net/url"
	"strings"
	"testing"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func TestNodeAddress(t *testing.T) {
	node := func(port int32, addrs ...string) *corev1.Node {
		n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n1"}, Status: &corev1.NodeStatus{}}
		if port != 0 {
			n.Status.DaemonEndpoints = &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: port}}
		}
		for i := 0; i < len(addrs); i += 2 {
			n.Status.Addresses = append(n.Status.Addresses, &corev1.NodeAddress{Type: addrs[i], Address: addrs[i+1]})
		}
		return n
	}
	all := []string{"Hostname", "n1.example", "ExternalIP", "203.0.113.7", "InternalIP", "10.0.0.5"}
	tests := []struct {
		name      string
		node      *corev1.Node
		preferred []string
		want      string
		wantErr   string
	}{
		{"InternalIP first by default", node(10250, all...), DefaultPreferredAddressTypes, "10.0.0.5:10250", ""},
		{"kube-apiserver's order", node(10250, all...), AddressTypes, "n1.example:10250", ""},
		{"the first type present wins", node(0, all...), []string{"InternalDNS", "ExternalIP"}, "203.0.113.7:10250", ""},
		{"port from the node", node(11250, all...), DefaultPreferredAddressTypes, "10.0.0.5:11250", ""},
		{"default port", node(0, "InternalIP", "10.0.0.5"), DefaultPreferredAddressTypes, "10.0.0.5:10250", ""},
		{"IPv6", node(10250, "InternalIP", "fd00::5"), DefaultPreferredAddressTypes, "[fd00::5]:10250", ""},
		{"empty address skipped", node(10250, "InternalIP", "", "Hostname", "n1"), DefaultPreferredAddressTypes, "n1:10250", ""},
		{"no address", node(10250), DefaultPreferredAddressTypes, "",
			`node "n1" has no address of the types [InternalIP Hostname InternalDNS ExternalDNS ExternalIP]`},
		{"no address of the types", node(10250, all...), []string{"InternalDNS"}, "", `node "n1" has no address of the types [InternalDNS]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NodeAddress(tc.node, tc.preferred)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got %q, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestLogQuery(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		opts *corev1.PodLogOptions
		want url.Values
	}{
		{"nothing", &corev1.PodLogOptions{Container: "c"}, url.Values{}},
		{"everything", &corev1.PodLogOptions{Follow: true, Previous: true, Timestamps: true, TailLines: n(0), SinceSeconds: n(60), LimitBytes: n(100)},
			url.Values{"follow": {"true"}, "previous": {"true"}, "timestamps": {"true"}, "tailLines": {"0"}, "sinceSeconds": {"60"}, "limitBytes": {"100"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := logQuery(tc.opts); got.Encode() != tc.want.Encode() {
				t.Errorf("got %s, want %s", got.Encode(), tc.want.Encode())
			}
		})
	}
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{}, ""},
		{"insecure HTTP", Config{InsecureHTTP: true}, ""},
		{"bad address type", Config{PreferredAddressTypes: []string{"InternalIP", "Internal"}}, `kubelet address type "Internal": must be one of`},
		{"HTTP with certificates", Config{InsecureHTTP: true, CAFile: "/ca.crt"}, "plain HTTP was asked for together with TLS certificates"},
		{"missing CA file", Config{CAFile: "/nonexistent/ca.crt"}, "kubelet certificate authority: open /nonexistent/ca.crt"},
		{"missing client certificate", Config{ClientCertFile: "/nonexistent/c.crt", ClientKeyFile: "/nonexistent/c.key"}, "kubelet client certificate: open /nonexistent/c.crt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(nil, nil, tc.cfg)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("New: %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}
