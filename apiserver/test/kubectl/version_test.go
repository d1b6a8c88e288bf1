package kubectl

import (
	"encoding/json"
	"testing"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/proto/component"
)

// TestKubectlVersion: kubectl sees the Kubernetes version Skiff serves the
// API of, with Skiff's release in the build metadata, and warns of no skew.
func TestKubectlVersion(t *testing.T) {
	srv := apiservertest.Start(t, apiservertest.Options{})
	k := apiservertest.NewKubectl(t, srv)
	out, stderr, err := k.Run("", "version")
	if err != nil {
		t.Fatal(err)
	}
	want := "Client Version: " + apiservertest.KubectlVersion + "\nKustomize Version: v5.5.0\nServer Version: " +
		component.KubernetesVersion + "+skiff-" + component.Version + "\n"
	if out != want || stderr != "" {
		t.Errorf("kubectl version printed\n%s\nand on stderr\n%s\nwant\n%s\nand nothing on stderr", out, stderr, want)
	}

	out = k.MustRun("version", "-o", "json")
	var v struct {
		ServerVersion struct {
			Major, Minor, GitVersion string
		}
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("kubectl version -o json: %v\n%s", err, out)
	}
	if v.ServerVersion.Major != "1" || v.ServerVersion.Minor != "32" || v.ServerVersion.GitVersion != "v1.32.3+skiff-"+component.Version {
		t.Errorf("server version = %+v, want major 1, minor 32, gitVersion v1.32.3+skiff-%s", v.ServerVersion, component.Version)
	}
}
