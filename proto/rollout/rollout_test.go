package rollout

import (
	"strings"
	"testing"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func tmpl(image string, labels map[string]string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: image}}}}
}

func TestComputeHash(t *testing.T) {
	a := ComputeHash(tmpl("nginx:1.27", map[string]string{"app": "web", "tier": "front"}), nil)
	if len(a) == 0 || strings.Trim(a, safeAlphabet) != "" {
		t.Fatalf("hash %q is not made of %q", a, safeAlphabet)
	}
	// Stable: map order and the hash label itself do not matter.
	for range 20 {
		if b := ComputeHash(tmpl("nginx:1.27", map[string]string{"tier": "front", "app": "web", PodTemplateHashLabel: a}), nil); b != a {
			t.Fatalf("hash changed: %s, then %s", a, b)
		}
	}
	if b := ComputeHash(tmpl("nginx:1.28", map[string]string{"app": "web", "tier": "front"}), nil); b == a {
		t.Errorf("another image, same hash %s", a)
	}
	one := int32(1)
	if b := ComputeHash(tmpl("nginx:1.27", map[string]string{"app": "web", "tier": "front"}), &one); b == a {
		t.Errorf("a collision count must change the hash")
	}
}

func TestEqualIgnoreHash(t *testing.T) {
	a := tmpl("nginx", map[string]string{"app": "web"})
	b := tmpl("nginx", map[string]string{"app": "web", PodTemplateHashLabel: "abc"})
	if !EqualIgnoreHash(a, b) {
		t.Error("templates differing only in pod-template-hash must be equal")
	}
	if EqualIgnoreHash(a, tmpl("nginx:2", map[string]string{"app": "web"})) {
		t.Error("templates with other images must differ")
	}
	if _, ok := b.Metadata.Labels[PodTemplateHashLabel]; !ok {
		t.Error("EqualIgnoreHash changed its argument")
	}
	if !EqualIgnoreHash(tmpl("x", nil), tmpl("x", map[string]string{PodTemplateHashLabel: "h"})) {
		t.Error("a template with only the hash label equals one without labels")
	}
}

func TestRevision(t *testing.T) {
	for _, tt := range []struct {
		ann  map[string]string
		want int64
		err  bool
	}{{nil, 0, false}, {map[string]string{RevisionAnnotation: "7"}, 7, false}, {map[string]string{RevisionAnnotation: "x"}, 0, true}} {
		got, err := Revision(tt.ann)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("Revision(%v) = %d, %v", tt.ann, got, err)
		}
	}
}

// TestEqualIgnoreHashEmptyMessages: kubectl rollout undo writes the old
// template back with every empty struct spelled out ("resources": {},
// "creationTimestamp": null); it is the same template, as in Kubernetes,
// while a template with something inside still differs.
func TestEqualIgnoreHashEmptyMessages(t *testing.T) {
	a := tmpl("nginx", map[string]string{"app": "web"})
	b := tmpl("nginx", map[string]string{"app": "web", PodTemplateHashLabel: "abc"})
	b.Spec.Containers[0].Resources = &corev1.ResourceRequirements{}
	b.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	if !EqualIgnoreHash(a, b) {
		t.Error("a template with empty messages set must equal one without them")
	}
	if b.Spec.Containers[0].Resources == nil {
		t.Error("EqualIgnoreHash changed its argument")
	}
	c := tmpl("nginx", map[string]string{"app": "web"})
	c.Spec.Containers[0].Resources = &corev1.ResourceRequirements{Limits: map[string]string{"cpu": "1"}}
	if EqualIgnoreHash(a, c) {
		t.Error("a template with resources must differ from one without")
	}
}
