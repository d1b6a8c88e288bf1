package apiservertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// KubectlVersion is the unmodified kubectl `make kubectl` builds
// (hack/tools/kubectl) and the compatibility tests run as a process.
const KubectlVersion = "v1.32.3"

// Kubectl runs a real kubectl against one apiserver through its own
// kubeconfig file.
type Kubectl struct {
	Path       string // the kubectl binary
	Kubeconfig string // the file every Run passes with --kubeconfig
	t          testing.TB
}

// KubectlPath is the kubectl binary: $SKIFF_KUBECTL (the Makefile exports
// it), else _output/tools/kubectl-<KubectlVersion> of this checkout. A
// missing binary fails the test and says how to build it.
func KubectlPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("SKIFF_KUBECTL")
	if p == "" {
		_, file, _, _ := runtime.Caller(0)
		p = filepath.Join(filepath.Dir(file), "..", "..", "_output", "tools", "kubectl-"+KubectlVersion)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("kubectl %s not found at %s: run `make kubectl` (make test builds it)", KubectlVersion, p)
	}
	return p
}

// NewKubectl writes a kubeconfig for server (its URL; as the PKI's admin
// when it is Secure) and returns a runner for it.
func NewKubectl(t testing.TB, server *Server) *Kubectl {
	t.Helper()
	cluster := fmt.Sprintf("    server: %s\n", server.URL)
	user := "  user: {}\n"
	if server.PKIDir != "" {
		cluster += fmt.Sprintf("    certificate-authority: %s\n", filepath.Join(server.PKIDir, "ca.crt"))
		user = fmt.Sprintf("  user:\n    client-certificate: %s\n    client-key: %s\n",
			filepath.Join(server.PKIDir, "admin.crt"), filepath.Join(server.PKIDir, "admin.key"))
	}
	return NewKubectlConfig(t, "apiVersion: v1\nkind: Config\ncurrent-context: skiff\n"+
		"clusters:\n- name: skiff\n  cluster:\n"+cluster+
		"users:\n- name: admin\n"+user+
		"contexts:\n- name: skiff\n  context: {cluster: skiff, user: admin, namespace: default}\n")
}

// NewKubectlConfig returns a runner for the given kubeconfig text.
func NewKubectlConfig(t testing.TB, kubeconfig string) *Kubectl {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cfg, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Kubectl{Path: KubectlPath(t), Kubeconfig: cfg, t: t}
}

// Run runs kubectl with args (stdin from stdin when not empty) and returns
// its stdout and stderr; err is non-nil when it exits non-zero or runs
// longer than a minute.
func (k *Kubectl) Run(stdin string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := k.Command(ctx, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %s: %w\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String(), err
}

// MustRun is Run that fails the test on an error and returns stdout.
func (k *Kubectl) MustRun(args ...string) string {
	k.t.Helper()
	out, _, err := k.Run("", args...)
	if err != nil {
		k.t.Fatal(err)
	}
	return out
}

// Command is kubectl with args as an exec.Cmd (for -w, -f, exec -it),
// with a HOME of its own so no cache or config of the machine's is read.
func (k *Kubectl) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, k.Path, append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	home := filepath.Dir(k.Kubeconfig)
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECACHEDIR="+filepath.Join(home, "cache"))
	return cmd
}
