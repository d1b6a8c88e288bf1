// Package install runs docs/install.md: the blocks marked
// <!-- test: NAME --> are executed or validated, on this machine, with the
// paths under /etc moved into the test's folder and the guide's addresses
// replaced by loopback ones the test owns.
package install

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/internal/repo"
)

var block = regexp.MustCompile("(?s)<!-- test: (\\S+) -->\n```[a-z]*\n(.*?)\n```")

func freePort(t *testing.T) int {
	t.Helper()
	return freePortOn(t, "127.0.0.1")
}

// freePortOn returns a port free on the loopback address host.
func freePortOn(t *testing.T, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestInstallDoc runs the guide's certificate and kubeconfig steps, starts
// skiff-apiserver with the example config on those certificates, puts the
// guide's haproxy configuration (haproxy -c, then haproxy itself) in front
// of it, and uses the admin kubeconfig through haproxy, whose /readyz TLS
// health checks must keep the apiserver in rotation.
func TestInstallDoc(t *testing.T) {
	blocks := docBlocks(t, "certs", "kubeconfigs", "haproxy.cfg")
	binDir, bins := repo.Binaries(t)
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	apiPort, lbPort := freePort(t), freePort(t)
	moved := strings.NewReplacer(
		"/etc/skiff/", etc+"/skiff/",
		"/etc/haproxy/", etc+"/haproxy/",
		"/var/lib/", root+"/var/lib/",
		// the load balancer and the masters, on loopback
		"10.0.0.10:6443", "127.0.0.1:"+strconv.Itoa(lbPort),
		"10.0.0.11:6443", "127.0.0.1:"+strconv.Itoa(apiPort),
		"10.0.0.12:6443", "127.0.0.1:"+strconv.Itoa(apiPort),
		"10.0.0.13:6443", "127.0.0.1:"+strconv.Itoa(apiPort),
		// the example apiserver config
		"0.0.0.0", "127.0.0.1",
		"secure-port: 6443", "secure-port: "+strconv.Itoa(apiPort),
		"127.0.0.1:2379", "127.0.0.1:"+strconv.Itoa(freePort(t)),
		"127.0.0.1:2380", "127.0.0.1:"+strconv.Itoa(freePort(t)),
	)
	for _, d := range []string{"skiff/pki", "haproxy"} {
		if err := os.MkdirAll(filepath.Join(etc, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sh := func(name string) { runBlock(t, binDir, name, moved.Replace(blocks[name])) }
	sh("certs")
	pki := filepath.Join(etc, "skiff", "pki")
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		if out, err := exec.Command("openssl", "verify", "-CAfile", filepath.Join(pki, "ca.crt"),
			filepath.Join(pki, "kubelet-serving-"+n+".crt")).CombinedOutput(); err != nil {
			t.Errorf("kubelet serving certificate of %s: %v\n%s", n, err, out)
		}
	}
	sh("kubeconfigs")

	example, err := os.ReadFile(filepath.Join(repo.Root(t), "systemd", "config", "apiserver.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(etc, "skiff", "apiserver.yaml")
	if err := os.WriteFile(config, []byte(moved.Replace(string(example))), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, bins["skiff-apiserver"], "--config", config)

	haproxyCfg := filepath.Join(etc, "haproxy", "haproxy.cfg")
	if err := os.WriteFile(haproxyCfg, []byte(moved.Replace(blocks["haproxy.cfg"])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(pki, "ca.crt"), filepath.Join(etc, "haproxy", "skiff-ca.crt"))
	if out, err := exec.Command("haproxy", "-c", "-f", haproxyCfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	start(t, "haproxy", "-db", "-f", haproxyCfg)

	admin := filepath.Join(etc, "skiff", "admin.kubeconfig")
	get := func() (string, error) {
		out, err := exec.Command(bins["skiffctl"], "--kubeconfig", admin, "get", "namespaces").CombinedOutput()
		return string(out), err
	}
	var out string
	deadline := time.Now().Add(2 * time.Minute)
	for err = fmt.Errorf("not tried"); err != nil && time.Now().Before(deadline); time.Sleep(time.Second) {
		out, err = get()
	}
	if err != nil || !strings.Contains(out, "kube-system") {
		t.Fatalf("skiffctl --kubeconfig admin.kubeconfig get namespaces through haproxy: %v\n%s", err, out)
	}
	// Five health-check intervals later the apiserver is still in
	// rotation: the /readyz checks over TLS pass.
	time.Sleep(10 * time.Second)
	if out, err := get(); err != nil {
		t.Fatalf("after haproxy's health checks: %v\n%s", err, out)
	}
}

// docBlocks returns docs/install.md's <!-- test: NAME --> blocks by name,
// failing the test when one of want is missing.
func docBlocks(t *testing.T, want ...string) map[string]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(repo.Root(t), "docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, m := range block.FindAllStringSubmatch(string(doc), -1) {
		blocks[m[1]] = m[2]
	}
	for _, name := range want {
		if blocks[name] == "" {
			t.Fatalf("docs/install.md has no <!-- test: %s --> block", name)
		}
	}
	return blocks
}

// runBlock runs a shell block of the guide (already moved to the test's
// paths and addresses) with the built binaries first in PATH.
func runBlock(t *testing.T, binDir, name, script string) {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docs/install.md %s: %v\n%s", name, err, out)
	}
}

// start runs a command until the test ends, its output logged on failure.
func start(t *testing.T, name string, args ...string) {
	t.Helper()
	startEnv(t, nil, name, args...)
}

// startEnv is start with env added to the test's environment.
func startEnv(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("output of %s:\n%s", name, b)
		}
		_ = out.Close()
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
