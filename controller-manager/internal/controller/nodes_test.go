package controller

import (
	"testing"

	corev1 "skiff.dev/proto/core/v1"
)

func TestToleratesTaint(t *testing.T) {
	taint := &corev1.Taint{Key: "dedicated", Value: "db", Effect: "NoSchedule"}
	tests := []struct {
		name string
		tol  *corev1.Toleration
		want bool
	}{
		{"equal key and value", &corev1.Toleration{Key: "dedicated", Value: "db", Effect: "NoSchedule"}, true},
		{"default operator is Equal", &corev1.Toleration{Key: "dedicated", Operator: "Equal", Value: "db"}, true},
		{"other value", &corev1.Toleration{Key: "dedicated", Value: "web"}, false},
		{"exists", &corev1.Toleration{Key: "dedicated", Operator: "Exists"}, true},
		{"exists with another effect", &corev1.Toleration{Key: "dedicated", Operator: "Exists", Effect: "NoExecute"}, false},
		{"empty key with Exists tolerates everything", &corev1.Toleration{Operator: "Exists"}, true},
		{"empty key with Equal tolerates nothing", &corev1.Toleration{Value: "db"}, false},
		{"other key", &corev1.Toleration{Key: "gpu", Operator: "Exists"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToleratesTaint([]*corev1.Toleration{tt.tol}, taint) != nil; got != tt.want {
				t.Errorf("ToleratesTaint(%v, %v) = %v, want %v", tt.tol, taint, got, tt.want)
			}
		})
	}
}

func TestToleratesAll(t *testing.T) {
	taints := []*corev1.Taint{{Key: "a", Effect: "NoSchedule"}, {Key: "b", Effect: "NoExecute"}, {Key: "c", Effect: "PreferNoSchedule"}}
	tolA := &corev1.Toleration{Key: "a", Operator: "Exists"}
	tolB := &corev1.Toleration{Key: "b", Operator: "Exists"}
	tests := []struct {
		name    string
		tols    []*corev1.Toleration
		effects []string
		want    bool
	}{
		{"both hard taints tolerated", []*corev1.Toleration{tolA, tolB}, []string{"NoSchedule", "NoExecute"}, true},
		{"NoExecute only", []*corev1.Toleration{tolB}, []string{"NoExecute"}, true},
		{"NoSchedule not tolerated", []*corev1.Toleration{tolB}, []string{"NoSchedule", "NoExecute"}, false},
		{"every effect", []*corev1.Toleration{tolA, tolB}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToleratesAll(tt.tols, taints, tt.effects...); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
