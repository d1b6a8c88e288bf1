package registry

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestRefFor(t *testing.T) {
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		want        string
	}{
		{"no name: archive name, latest", nil, "10.77.0.3:5000/pause:latest"},
		{"tag only", map[string]string{annotationRefName: "3.9"}, "10.77.0.3:5000/pause:3.9"},
		{"full name", map[string]string{annotationRefName: "skiff.dev/testserver:v1"}, "10.77.0.3:5000/testserver:v1"},
		{"docker hub name", map[string]string{annotationContainerdName: "docker.io/library/busybox:1.36"}, "10.77.0.3:5000/library/busybox:1.36"},
		{"containerd name wins", map[string]string{annotationContainerdName: "skiff.dev/a:1", annotationRefName: "2"}, "10.77.0.3:5000/a:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := refFor(v1.Descriptor{Annotations: tc.annotations}, "pause", "10.77.0.3:5000")
			if err != nil {
				t.Fatal(err)
			}
			if got := ref.String(); got != tc.want {
				t.Errorf("refFor = %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := refFor(v1.Descriptor{Annotations: map[string]string{annotationRefName: "Bad Name:x"}}, "pause", "h:5000"); err == nil {
		t.Error("refFor accepted an invalid image name")
	}
}
