package component

import (
	"strings"

	"github.com/spf13/cobra"
)

// Version is the release of the binaries, set when building with
// -ldflags "-X skiff.dev/proto/component.Version=$(git describe)"
// (the Makefile does).
var Version = "v0.1.0-dev"

// SetVersion gives cmd a --version flag printing "<name> <Version>".
func SetVersion(cmd *cobra.Command) {
	cmd.Version = Version
	cmd.SetVersionTemplate("{{.Name}} {{.Version}}\n")
}

// KubernetesVersion is the Kubernetes release whose API Skiff serves and
// whose clients (kubectl, client-go) it is tested with.
const KubernetesVersion = "v1.32.3"

// Kubernetes' major and minor version, as the apiserver's /version reports
// them, so that kubectl sees no version skew.
const (
	KubernetesMajor = "1"
	KubernetesMinor = "32"
)

// skiffBuild is the build metadata that carries Skiff's own version in the
// apiserver's gitVersion, as k3s does ("v1.32.3+k3s1").
const skiffBuild = "+skiff-"

// ServerGitVersion is the apiserver's gitVersion for Skiff release v: the
// Kubernetes version with Skiff's as semver build metadata,
// "v1.32.3+skiff-v0.1.0-dev". Characters semver does not allow there
// become "-".
func ServerGitVersion(v string) string {
	b := []byte(v)
	for i, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '.') {
			b[i] = '-'
		}
	}
	return KubernetesVersion + skiffBuild + string(b)
}

// ParseServerGitVersion splits an apiserver's gitVersion into Skiff's
// release and the Kubernetes version; ok is false for a gitVersion without
// Skiff's (another server, or an older Skiff).
func ParseServerGitVersion(gitVersion string) (skiff, kubernetes string, ok bool) {
	kubernetes, skiff, ok = strings.Cut(gitVersion, skiffBuild)
	return skiff, kubernetes, ok
}
