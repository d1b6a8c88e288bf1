// Package repo gives the installation tests (units, packages, chart, docs)
// the checkout they test: its root, the Makefile's variables and the
// binaries `make build` makes from the Makefile's COMPONENTS.
package repo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Daemons are the five daemons, each a module <name> with the binary
// skiff-<name> and a unit systemd/skiff-<name>.service.
var Daemons = []string{"apiserver", "scheduler", "controller-manager", "kubelet", "kube-proxy"}

// Root is the checkout's top folder (the one holding go.work).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	t.Fatal("no go.work above the test's folder")
	return ""
}

// Var is the value of a Makefile variable (make print-VAR).
func Var(t testing.TB, name string) string {
	t.Helper()
	out, err := exec.Command("make", "-s", "-C", Root(t), "print-"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("make print-%s: %v\n%s", name, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Components are the Makefile's COMPONENTS: the modules whose cmd/* it builds.
func Components(t testing.TB) []string { return strings.Fields(Var(t, "COMPONENTS")) }

// AllDaemonsMerged reports whether every one of the five daemons is in
// COMPONENTS: from then on a unit without its binary is an error.
func AllDaemonsMerged(t testing.TB) bool {
	t.Helper()
	have := map[string]bool{}
	for _, c := range Components(t) {
		have[c] = true
	}
	for _, d := range Daemons {
		if !have[d] {
			return false
		}
	}
	return true
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  string
)

// Binaries runs `make build` into a folder of its own (once per test
// binary) and returns the folder and the binaries it holds, by name.
func Binaries(t testing.TB) (string, map[string]string) {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "skiff-bin")
		if err != nil {
			buildErr = err.Error()
			return
		}
		out, err := exec.Command("make", "-s", "-C", Root(t), "build", "BIN="+dir).CombinedOutput()
		if err != nil {
			buildErr = "make build: " + err.Error() + "\n" + string(out)
		}
		buildDir = dir
	})
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	entries, err := os.ReadDir(buildDir)
	if err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{}
	for _, e := range entries {
		bins[e.Name()] = filepath.Join(buildDir, e.Name())
	}
	return buildDir, bins
}

// CheckBinary says whether the daemon binary bin (skiff-<module>) was
// built. A binary not built is an error once its module has a cmd/<bin>
// in the checkout or all five daemons are in COMPONENTS (the Makefile
// forgot it); before its module is merged it is logged and false is
// returned.
func CheckBinary(t testing.TB, bins map[string]string, bin string) bool {
	t.Helper()
	if _, ok := bins[bin]; ok {
		return true
	}
	module := strings.TrimPrefix(bin, "skiff-")
	if _, err := os.Stat(filepath.Join(Root(t), module, "cmd", bin)); err == nil {
		t.Errorf("%s/cmd/%s exists but make build did not build it: add %s to the Makefile's COMPONENTS", module, bin, module)
		return false
	}
	if AllDaemonsMerged(t) {
		t.Errorf("%s: every daemon is in COMPONENTS but make build made no %s", bin, bin)
		return false
	}
	t.Logf("%s: not built (no %s/cmd/%s on this branch yet); its checks switch on when its module is in COMPONENTS", bin, module, bin)
	return false
}

// Kubeconfig is the client config file a component reads (--kubeconfig),
// as docs/install.md writes it: the apiserver URLs, the cluster CA and the
// component's client certificate.
func Kubeconfig(servers []string, ca, cert, key string) string {
	return "apiVersion: v1\nkind: Config\ncurrent-context: skiff\n" +
		"clusters:\n- name: skiff\n  cluster:\n    servers: [" + strings.Join(servers, ", ") + "]\n    certificate-authority: " + ca + "\n" +
		"users:\n- name: me\n  user:\n    client-certificate: " + cert + "\n    client-key: " + key + "\n" +
		"contexts:\n- name: skiff\n  context: {cluster: skiff, user: me}\n"
}

// Main is the TestMain of a package using Binaries: it runs the tests,
// then removes the binaries' folder.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}
