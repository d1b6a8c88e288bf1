package validation

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// Object metadata rules are shared by every kind; they are tested here
// through ConfigMap, which has no other rules that could interfere.
func TestValidateObjectMeta(t *testing.T) {
	ctrl := func(kind, name string) *metav1.OwnerReference {
		return &metav1.OwnerReference{ApiVersion: "apps/v1", Kind: kind, Name: name, Uid: "u-" + name, Controller: new(true)}
	}
	tests := []struct {
		name   string
		mutate func(m *metav1.ObjectMeta)
		want   []string
	}{
		{"valid", func(m *metav1.ObjectMeta) {}, nil},
		{"dotted name", func(m *metav1.ObjectMeta) { m.Name = "web.config.v1" }, nil},
		{"generateName only", func(m *metav1.ObjectMeta) { m.Name, m.GenerateName = "", "web-" }, nil},
		{"no name", func(m *metav1.ObjectMeta) { m.Name = "" }, []string{"metadata.name" + required}},
		{"upper-case name", func(m *metav1.ObjectMeta) { m.Name = "Web" }, []string{"metadata.name" + invalid}},
		{"name too long", func(m *metav1.ObjectMeta) { m.Name = strings.Repeat("a", 254) }, []string{"metadata.name" + invalid}},
		{"bad generateName", func(m *metav1.ObjectMeta) { m.Name, m.GenerateName = "", "Web-" }, []string{"metadata.generateName" + invalid}},
		{"no namespace", func(m *metav1.ObjectMeta) { m.Namespace = "" }, []string{"metadata.namespace" + required}},
		{"dotted namespace", func(m *metav1.ObjectMeta) { m.Namespace = "a.b" }, []string{"metadata.namespace" + invalid}},
		{"negative generation", func(m *metav1.ObjectMeta) { m.Generation = -1 }, []string{"metadata.generation" + invalid}},
		{"bad label key", func(m *metav1.ObjectMeta) { m.Labels["-app"] = "x" }, []string{"metadata.labels" + invalid}},
		{"bad label prefix", func(m *metav1.ObjectMeta) { m.Labels["Example.com/app"] = "x" }, []string{"metadata.labels" + invalid}},
		{"bad label value", func(m *metav1.ObjectMeta) { m.Labels["app"] = "web server" }, []string{"metadata.labels" + invalid}},
		{"long label value", func(m *metav1.ObjectMeta) { m.Labels["app"] = strings.Repeat("a", 64) }, []string{"metadata.labels" + invalid}},
		{"bad annotation key", func(m *metav1.ObjectMeta) { m.Annotations["a b"] = "x" }, []string{"metadata.annotations" + invalid}},
		{"any annotation value", func(m *metav1.ObjectMeta) { m.Annotations["note"] = "any text, even {json}" }, nil},
		{"annotations too large", func(m *metav1.ObjectMeta) { m.Annotations["big"] = strings.Repeat("x", 256*1024) }, []string{"metadata.annotations" + tooLong}},
		{"annotations just fit", func(m *metav1.ObjectMeta) {
			m.Annotations = map[string]string{"big": strings.Repeat("x", 256*1024-3)}
		}, nil},
		{"owner reference", func(m *metav1.ObjectMeta) { m.OwnerReferences = []*metav1.OwnerReference{ctrl("ReplicaSet", "web")} }, nil},
		{"owner reference without uid", func(m *metav1.ObjectMeta) {
			m.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "web"}}
		}, []string{"metadata.ownerReferences[0].uid" + required}},
		{"empty owner reference", func(m *metav1.ObjectMeta) { m.OwnerReferences = []*metav1.OwnerReference{{}} }, []string{
			"metadata.ownerReferences[0].apiVersion" + required, "metadata.ownerReferences[0].kind" + required,
			"metadata.ownerReferences[0].name" + required, "metadata.ownerReferences[0].uid" + required,
		}},
		{"two controllers", func(m *metav1.ObjectMeta) {
			m.OwnerReferences = []*metav1.OwnerReference{ctrl("ReplicaSet", "a"), ctrl("ReplicaSet", "b")}
		}, []string{"metadata.ownerReferences" + invalid}},
		{"finalizer", func(m *metav1.ObjectMeta) { m.Finalizers = []string{"example.com/cleanup", "foregroundDeletion"} }, nil},
		{"bad finalizer", func(m *metav1.ObjectMeta) { m.Finalizers = []string{"clean up"} }, []string{"metadata.finalizers" + invalid}},
		{"orphan and foreground", func(m *metav1.ObjectMeta) { m.Finalizers = []string{"orphan", "foregroundDeletion"} }, []string{"metadata.finalizers" + invalid}},
		{"grace period without deletion", func(m *metav1.ObjectMeta) { m.DeletionGracePeriodSeconds = new(int32(30)) }, []string{"metadata.deletionGracePeriodSeconds" + forbidden}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfigMap()
			tt.mutate(c.Metadata)
			expectErrors(t, ValidateConfigMap(c), tt.want...)
		})
	}
}

func TestValidateObjectMetaUpdate(t *testing.T) {
	created := timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	deleted := timestamppb.New(time.Date(2026, 2, 2, 3, 4, 5, 0, time.UTC))
	tests := []struct {
		name      string
		old       func(m *metav1.ObjectMeta)
		mutate    func(m *metav1.ObjectMeta)
		want      []string
		wantInMsg string
	}{
		{"labels and annotations change", nil, func(m *metav1.ObjectMeta) {
			m.Labels["v"] = "2"
			m.Annotations["x"] = "y"
		}, nil, ""},
		{"finalizer removed while deleting", func(m *metav1.ObjectMeta) {
			m.DeletionTimestamp, m.DeletionGracePeriodSeconds, m.Finalizers = deleted, new(int32(0)), []string{"a.io/x"}
		}, func(m *metav1.ObjectMeta) {
			m.DeletionTimestamp, m.DeletionGracePeriodSeconds = deleted, new(int32(0))
		}, nil, ""},
		{"name", nil, func(m *metav1.ObjectMeta) { m.Name = "other" }, []string{"metadata.name" + invalid},
			`metadata.name: Invalid value: "other": field is immutable`},
		{"namespace", nil, func(m *metav1.ObjectMeta) { m.Namespace = "other" }, []string{"metadata.namespace" + invalid}, "field is immutable"},
		{"uid", nil, func(m *metav1.ObjectMeta) { m.Uid = "other" }, []string{"metadata.uid" + invalid}, "field is immutable"},
		{"creationTimestamp", nil, func(m *metav1.ObjectMeta) { m.CreationTimestamp = deleted }, []string{"metadata.creationTimestamp" + invalid}, "field is immutable"},
		{"deletionTimestamp changed", func(m *metav1.ObjectMeta) { m.DeletionTimestamp = deleted },
			func(m *metav1.ObjectMeta) { m.DeletionTimestamp = created }, []string{"metadata.deletionTimestamp" + invalid}, "may only be changed via deletion"},
		{"deletionTimestamp cleared", func(m *metav1.ObjectMeta) { m.DeletionTimestamp = deleted },
			func(m *metav1.ObjectMeta) {}, []string{"metadata.deletionTimestamp" + invalid}, ""},
		{"finalizer added while deleting", func(m *metav1.ObjectMeta) { m.DeletionTimestamp = deleted },
			func(m *metav1.ObjectMeta) {
				m.DeletionTimestamp = deleted
				m.Finalizers = []string{"a.io/x"}
			}, []string{"metadata.finalizers" + forbidden}, "no new finalizers can be added if the object is being deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validConfigMap()
			old.Metadata.Uid, old.Metadata.CreationTimestamp = "u1", created
			newObj := validConfigMap()
			newObj.Metadata.Uid, newObj.Metadata.CreationTimestamp = "u1", created
			if tt.old != nil {
				tt.old(old.Metadata)
			}
			tt.mutate(newObj.Metadata)
			errs := ValidateConfigMapUpdate(newObj, old)
			expectErrors(t, errs, tt.want...)
			if tt.wantInMsg != "" {
				expectDetail(t, errs, strings.Split(tt.want[0], ": ")[0], tt.wantInMsg)
			}
		})
	}
}

// Cluster-scoped kinds must not have a namespace; namespaced ones need one.
func TestScopes(t *testing.T) {
	ns := &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team-a", Namespace: "default"}}
	DefaultNamespace(ns)
	expectErrors(t, ValidateNamespace(ns), "metadata.namespace"+forbidden)

	node := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-1", Namespace: "default"}}
	DefaultNode(node)
	expectErrors(t, ValidateNode(node), "metadata.namespace"+forbidden)

	sa := &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: "default"}}
	DefaultServiceAccount(sa)
	expectErrors(t, ValidateServiceAccount(sa), "metadata.namespace"+required)
}
