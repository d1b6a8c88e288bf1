package deployment

import (
	"strings"
	"testing"

	appsv1 "skiff.dev/proto/apps/v1"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/rollout"
)

func TestMaxSurgeAndUnavailable(t *testing.T) {
	tests := []struct {
		replicas                   int32
		strategy                   string
		surge, unavailable         string
		wantSurge, wantUnavailable int32
		wantErr                    string
	}{
		{10, "RollingUpdate", "", "", 3, 2, ""}, // 25% of 10: surge rounds up, unavailable down
		{4, "RollingUpdate", "25%", "25%", 1, 1, ""},
		{1, "RollingUpdate", "25%", "25%", 1, 0, ""},
		{3, "RollingUpdate", "0", "0", 0, 1, ""},  // both zero: one may be unavailable
		{5, "RollingUpdate", "2", "10", 2, 5, ""}, // unavailable at most replicas
		{1000, "RollingUpdate", "10%", "1%", 100, 10, ""},
		{10, "Recreate", "", "", 0, 0, ""},
		{10, "RollingUpdate", "abc", "", 0, 0, "spec.strategy.rollingUpdate.maxSurge"},
	}
	for _, tt := range tests {
		d := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Replicas: &tt.replicas, Strategy: &appsv1.DeploymentStrategy{
			Type: tt.strategy, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: tt.surge, MaxUnavailable: tt.unavailable}}}}
		s, u, err := maxSurgeAndUnavailable(d)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%d %s/%s: error %v, want %q", tt.replicas, tt.surge, tt.unavailable, err, tt.wantErr)
			}
			continue
		}
		if err != nil || s != tt.wantSurge || u != tt.wantUnavailable {
			t.Errorf("%d replicas, %s %q/%q: surge %d unavailable %d (%v), want %d %d",
				tt.replicas, tt.strategy, tt.surge, tt.unavailable, s, u, err, tt.wantSurge, tt.wantUnavailable)
		}
	}
}

func TestProportion(t *testing.T) {
	rs := func(replicas int32, maxReplicas string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{Metadata: &metav1.ObjectMeta{Annotations: map[string]string{rollout.MaxReplicasAnnotation: maxReplicas}},
			Spec: &appsv1.ReplicaSetSpec{Replicas: &replicas}}
	}
	dep := func(replicas int32) *appsv1.Deployment {
		return &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Replicas: &replicas}}
	}
	tests := []struct {
		name                  string
		rs                    *appsv1.ReplicaSet
		d                     *appsv1.Deployment
		allowed, toAdd, added int32
		want                  int32
	}{
		// 10 -> 20 replicas (13 -> 25 allowed) mid-rollout: a ReplicaSet of
		// 8 out of 13 grows to round(8*25/13) = 15.
		{"grows in proportion", rs(8, "13"), dep(20), 25, 12, 0, 7},
		{"capped by what is left to add", rs(8, "13"), dep(20), 25, 12, 10, 2},
		{"shrinks in proportion", rs(8, "13"), dep(5), 7, -6, 0, -4},
		{"to zero with the deployment", rs(8, "13"), dep(0), 0, -13, 0, -8},
		{"an empty ReplicaSet stays empty", rs(0, "13"), dep(20), 25, 12, 0, 0},
	}
	for _, tt := range tests {
		if got := proportion(tt.rs, tt.d, tt.allowed, tt.toAdd, tt.added); got != tt.want {
			t.Errorf("%s: proportion = %d, want %d", tt.name, got, tt.want)
		}
	}
}
