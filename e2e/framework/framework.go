// Package framework is what the end-to-end suites share: it builds the
// Skiff binaries once, starts a lab per test with cleanup (logs printed
// only when the test failed), and drives the cluster the way a user does,
// with skiffctl and curl on a lab host.
package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"skiff.dev/e2e/lab"
)

// binaries are the Skiff programs a lab runs, each built when its module
// has it, so a daemon joins the suites as soon as its code lands.
var binaries = []struct{ dir, pkg string }{
	{"apiserver/cmd/skiff-apiserver", "skiff.dev/apiserver/cmd/skiff-apiserver"},
	{"scheduler/cmd/skiff-scheduler", "skiff.dev/scheduler/cmd/skiff-scheduler"},
	{"ctl/cmd/skiffctl", "skiff.dev/ctl/cmd/skiffctl"},
	{"e2e/cmd/skiff-registry", "skiff.dev/e2e/cmd/skiff-registry"},
	{"e2e/cmd/skiff-lab", "skiff.dev/e2e/cmd/skiff-lab"},
	{"controller-manager/cmd/skiff-controller-manager", "skiff.dev/controller-manager/cmd/skiff-controller-manager"},
	{"kubelet/cmd/skiff-kubelet", "skiff.dev/kubelet/cmd/skiff-kubelet"},
	{"kube-proxy/cmd/skiff-kube-proxy", "skiff.dev/kube-proxy/cmd/skiff-kube-proxy"},
}

// RepoRoot is the folder holding go.work, found upwards from the working
// directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for i := 0; i < 10; i++ {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", fmt.Errorf("no go.work above the working directory")
}

// BuildBinaries builds every Skiff binary present in the repository into
// dir (a TestMain calls it once) and returns their names.
func BuildBinaries(dir string) ([]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	var pkgs, names []string
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(root, b.dir)); err == nil {
			pkgs = append(pkgs, b.pkg)
			names = append(names, filepath.Base(b.dir))
		}
	}
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", strings.Join(pkgs, " "), err, out)
	}
	return names, nil
}

// Prefix is a lab prefix for this test process: "skl" and three base-36
// digits of the PID, so two `go test` runs on one machine do not collide
// with each other or with a human's lab (prefix "skl").
func Prefix() string {
	s := strconv.FormatInt(int64(os.Getpid()%46656), 36)
	return "skl" + strings.Repeat("0", 3-len(s)) + s
}

// StartLab brings a lab up for t and takes it down when t ends, printing
// the daemons' logs if t failed. Prefix, BinDir and StateDir are filled in
// when empty; LogStream is left to the caller.
func StartLab(t *testing.T, cfg lab.Config) *lab.Lab {
	t.Helper()
	if cfg.Prefix == "" {
		cfg.Prefix = Prefix()
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(t.TempDir(), "lab")
	}
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, cfg)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon logs of the failed test:\n%s", l.Logs())
		}
		if err := l.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}

// RequireBinaries fails t unless every named binary is in the lab's BinDir:
// a suite that needs the kubelet says so instead of passing vacuously.
func RequireBinaries(t *testing.T, l *lab.Lab, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(l.Config().BinDir, n)); err != nil {
			t.Fatalf("this test needs %s, which was not built: %v", n, err)
		}
	}
}

// Run runs argv on host and fails t when it fails.
func Run(t *testing.T, l *lab.Lab, host string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := l.Exec(ctx, host, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Skiffctl runs skiffctl on host as the lab's admin and fails t when it
// fails.
func Skiffctl(t *testing.T, l *lab.Lab, host string, args ...string) string {
	t.Helper()
	return Run(t, l, host, append([]string{"skiffctl"}, args...)...)
}

// GetJSON runs `skiffctl get ARGS -o json` on host and decodes the answer
// into out.
func GetJSON(ctx context.Context, l *lab.Lab, host string, out any, args ...string) error {
	cmd, err := l.Command(ctx, host, append(append([]string{"skiffctl", "get"}, args...), "-o", "json")...)
	if err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("skiffctl get %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return json.Unmarshal(stdout.Bytes(), out)
}

// Eventually calls check every interval until it returns nil or timeout
// passes; it fails t with the last error then.
func Eventually(t *testing.T, timeout, interval time.Duration, what string, check func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), max(interval, 10*time.Second))
		last = check(ctx)
		cancel()
		if last == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (%d attempts): %v", what, timeout, attempt+1, last)
		}
		time.Sleep(interval)
	}
}

// node is the part of a Node WaitNodesReady and NodeReadyStatus read.
type node struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Status struct {
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
}

// ready is the status of the node's Ready condition, "" when it has none.
func (n node) ready() string {
	for _, c := range n.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status
		}
	}
	return ""
}

// nodeList is the part of `skiffctl get nodes -o json` WaitNodesReady reads.
type nodeList struct {
	Items []node `json:"items"`
}

// NodeReadyStatus is the status of the Ready condition of node ("True",
// "False", "Unknown"; "" when it has none), asking with skiffctl from host.
func NodeReadyStatus(ctx context.Context, l *lab.Lab, host, name string) (string, error) {
	var n node
	if err := GetJSON(ctx, l, host, &n, "node", name); err != nil {
		return "", err
	}
	return n.ready(), nil
}

// WaitNodesReady waits until every named node reports Ready=True, asking
// with skiffctl from host.
func WaitNodesReady(t *testing.T, l *lab.Lab, host string, timeout time.Duration, names ...string) {
	t.Helper()
	Eventually(t, timeout, time.Second, "nodes "+strings.Join(names, ",")+" Ready", func(ctx context.Context) error {
		var nl nodeList
		if err := GetJSON(ctx, l, host, &nl, "nodes"); err != nil {
			return err
		}
		ready := map[string]bool{}
		for _, n := range nl.Items {
			ready[n.Metadata.Name] = n.ready() == "True"
		}
		for _, n := range names {
			if !ready[n] {
				return fmt.Errorf("node %s not Ready (ready: %v)", n, ready)
			}
		}
		return nil
	})
}

// LeaseHolder returns the holder of Lease namespace/name (a scheduler's
// or controller-manager's "host_suffix" identity) and the host part of it.
func LeaseHolder(ctx context.Context, l *lab.Lab, from, namespace, name string) (identity, host string, err error) {
	var lease struct {
		Spec struct {
			HolderIdentity string `json:"holderIdentity"`
		} `json:"spec"`
	}
	if err := GetJSON(ctx, l, from, &lease, "lease", "-n", namespace, name); err != nil {
		return "", "", err
	}
	id := lease.Spec.HolderIdentity
	if id == "" {
		return "", "", fmt.Errorf("lease %s/%s has no holder", namespace, name)
	}
	host, _, _ = strings.Cut(id, "_")
	return id, host, nil
}

// StartCluster is StartLab for suites that run pods: it fails t unless the
// node daemons were built, then waits until every node host's kubelet has
// registered its node and reports it Ready.
func StartCluster(t *testing.T, cfg lab.Config) *lab.Lab {
	t.Helper()
	l := StartLab(t, cfg)
	RequireBinaries(t, l, "skiff-controller-manager", "skiff-kubelet", "skiff-kube-proxy")
	var nodes []string
	for _, h := range l.Hosts() {
		if h.Has(lab.RoleNode) {
			nodes = append(nodes, h.Name)
		}
	}
	WaitNodesReady(t, l, l.Hosts()[0].Name, 2*time.Minute, nodes...)
	return l
}
