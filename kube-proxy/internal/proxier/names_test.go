package proxier

import "testing"

// The names Kubernetes' own tests expect, so rules read as kube-proxy's.
func TestChainNamesAsKubernetes(t *testing.T) {
	tests := []struct{ got, want string }{
		{serviceChainName("ns1/svc1:p80", "tcp"), "KUBE-SVC-XPGD46QRK7WJZT7O"},
		{endpointChainName("ns1/svc1:p80", "tcp", "10.180.0.1:80"), "KUBE-SEP-SXIVWICOYRO3J4NJ"},
		{serviceChainName("ns2/svc2:p8080", "tcp"), "KUBE-SVC-2VJB64SDSIJUP5T6"},
		{endpointChainName("ns2/svc2:p8080", "tcp", "10.0.2.1:8080"), "KUBE-SEP-UHEGFW77JX3KXTOV"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}

func TestProbability(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{2, "0.5000000000"}, {3, "0.3333333333"}, {5, "0.2000000000"}, {7, "0.1428571429"}}
	for _, tt := range tests {
		if got := probability(tt.n); got != tt.want {
			t.Errorf("probability(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
}
