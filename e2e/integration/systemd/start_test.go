package systemd

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/internal/repo"
	"skiff.dev/proto/component/notifytest"
)

// startOrder: the apiserver first, as systemd orders them (After=).
var startOrder = []string{"apiserver", "scheduler", "controller-manager", "kube-proxy", "kubelet"}

// TestUnitsStart runs every unit's ExecStart= line as systemd would, with
// the example config, against the real apiserver the apiserver unit starts:
// each daemon must send READY=1 to the NOTIFY_SOCKET the test provides
// within the unit's TimeoutStartSec, keep running, and exit cleanly within
// TimeoutStopSec of SIGTERM (in reverse order, the apiserver last).
//
// What the test changes, and only that: every daemon runs inside a network
// namespace the test creates (loopback only), as root rather than User=,
// and every absolute path of the command line and the example config under
// /etc/skiff/, /etc/default/, /var/lib/, /var/log/ and /run/containerd/ is moved below the
// test's temporary root (the directories of StateDirectory= are created
// there, as systemd does). Each unit's EnvironmentFile= gets
// SKIFF_LOG_LEVEL=debug, which the daemon must apply. The kubelet's node-ip (10.0.0.21) is put on the
// namespace's loopback, and the kubelet gets a containerd of the test's own. Into that /etc/skiff the test writes what an
// operator writes (docs/install.md): the certificates of `skiff-apiserver
// certs` in pki/ and one kubeconfig per component pointing at
// https://127.0.0.1:6443.
func TestUnitsStart(t *testing.T) {
	units := loadUnits(t)
	_, bins := repo.Binaries(t)
	root := t.TempDir()
	etc := filepath.Join(root, "etc", "skiff")
	pki := filepath.Join(etc, "pki")
	if out, err := exec.Command(bins["skiff-apiserver"], "certs", "--dir", pki, "--nodes", "node-1").CombinedOutput(); err != nil {
		t.Fatalf("skiff-apiserver certs: %v\n%s", err, out)
	}
	// The kubelet's serving certificate: the apiserver's (same CA, loopback names).
	for _, ext := range []string{".crt", ".key"} {
		copyFile(t, filepath.Join(pki, "apiserver"+ext), filepath.Join(pki, "kubelet-serving"+ext))
	}
	for name, cert := range map[string]string{"scheduler": "scheduler", "controller-manager": "controller-manager",
		"kube-proxy": "kube-proxy", "kubelet": "kubelet-node-1"} {
		kc := repo.Kubeconfig([]string{"https://127.0.0.1:6443"}, filepath.Join(pki, "ca.crt"),
			filepath.Join(pki, cert+".crt"), filepath.Join(pki, cert+".key"))
		writeFile(t, filepath.Join(etc, name+".kubeconfig"), kc)
	}
	moved := strings.NewReplacer(
		"/etc/skiff/", etc+"/",
		"/etc/default/", filepath.Join(root, "etc", "default")+"/",
		"/var/lib/", filepath.Join(root, "var", "lib")+"/",
		"/var/log/", filepath.Join(root, "var", "log")+"/",
		"/run/containerd/containerd.sock", filepath.Join(root, "run", "containerd", "containerd.sock"),
	)
	netns := newNetns(t)
	// The kubelet example's node-ip, on the namespace's loopback.
	if out, err := exec.Command("ip", "-n", filepath.Base(netns), "addr", "add", "10.0.0.21/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("node-ip: %v\n%s", err, out)
	}

	type running struct {
		d    string
		p    *notifytest.Process
		s    *notifytest.Socket
		stop time.Duration
	}
	var started []running
	for _, d := range startOrder {
		u := units[d]
		argv, err := u.Exec()
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Base(argv[0])
		if !repo.CheckBinary(t, bins, bin) {
			continue
		}
		if d == "kubelet" {
			startContainerd(t, netns, filepath.Join(root, "containerd"), moved.Replace("/run/containerd/containerd.sock"))
		}
		for _, sd := range u.Sections["Service"]["StateDirectory"] {
			mkdir(t, filepath.Join(root, "var", "lib", sd))
		}
		for i, a := range argv[1:] {
			argv[i+1] = moved.Replace(a)
			if argv[i] == "--config" {
				example, err := os.ReadFile(filepath.Join(repo.Root(t), "systemd", "config", d+".yaml"))
				if err != nil {
					t.Fatalf("%s: no example config for --config %s: %v", u.Name, a, err)
				}
				writeFile(t, argv[i+1], moved.Replace(string(example)))
			}
		}
		startTimeout, err := u.Duration("Service", "TimeoutStartSec")
		if err != nil {
			t.Fatal(err)
		}
		stopTimeout, err := u.Duration("Service", "TimeoutStopSec")
		if err != nil {
			t.Fatal(err)
		}
		// The optional EnvironmentFile= (its "-" prefix), written as an
		// operator would, read as systemd does: SKIFF_LOG_LEVEL=debug
		// must win over the config file's log-level: info.
		envFile := moved.Replace(strings.TrimPrefix(u.Get("Service", "EnvironmentFile"), "-"))
		if !strings.HasPrefix(envFile, root) {
			t.Fatalf("%s: EnvironmentFile=%s is not moved into the test's folder", u.Name, envFile)
		}
		writeFile(t, envFile, "# test\nSKIFF_LOG_LEVEL=debug\n")
		cmd := exec.Command("nsenter", append([]string{"--net=" + netns, "--", bins[bin]}, argv[1:]...)...)
		cmd.Env = append(os.Environ(), readEnvFile(t, envFile)...)
		s := notifytest.Listen(t)
		p := s.Start(t, cmd)
		t.Logf("%s: started %s", u.Name, strings.Join(argv, " "))
		if err := s.Wait("READY=1", startTimeout, p.Done()); err != nil {
			t.Fatalf("%s: %v\n%s", u.Name, err, p.Output())
		}
		started = append(started, running{d, p, s, stopTimeout})
	}
	if len(started) < 2 {
		t.Fatalf("only %d units started; want at least the apiserver and the scheduler", len(started))
	}
	for i := len(started) - 1; i >= 0; i-- {
		r := started[i]
		select {
		case <-r.p.Done():
			t.Fatalf("skiff-%s exited before SIGTERM:\n%s", r.d, r.p.Output())
		default:
		}
		if err := r.p.Stop(r.stop); err != nil {
			t.Errorf("skiff-%s: SIGTERM: %v (TimeoutStopSec=%s)\n%s", r.d, err, r.stop, r.p.Output())
		}
		if err := r.s.Wait("STOPPING=1", 10*time.Second, nil); err != nil {
			t.Errorf("skiff-%s: %v", r.d, err)
		}
		if !strings.Contains(r.p.Output(), `"level":"debug"`) {
			t.Errorf("skiff-%s: no debug logs: SKIFF_LOG_LEVEL=debug of its EnvironmentFile= was not applied", r.d)
		}
	}
}

// newNetns makes a network namespace with only loopback up; it is deleted
// when the test ends.
func newNetns(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "skpkg-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v\n%s", err, out)
	}
	return "/run/netns/" + name
}

// startContainerd runs a containerd of the test's own (state under dir,
// socket at sock) inside netns, for the kubelet.
func startContainerd(t *testing.T, netns, dir, sock string) {
	t.Helper()
	config := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\n[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n[debug]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc", sock+".debug")
	writeFile(t, filepath.Join(dir, "config.toml"), config)
	mkdir(t, filepath.Dir(sock))
	cmd := exec.Command("nsenter", "--net="+netns, "--", "containerd", "--config", filepath.Join(dir, "config.toml"))
	out, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("containerd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = out.Close()
	})
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(sock); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
	t.Fatalf("containerd made no socket %s in a minute:\n%s", sock, log)
}

// readEnvFile reads KEY=value lines as systemd's EnvironmentFile= does
// (comments and blank lines skipped, no quoting used by our examples).
func readEnvFile(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			env = append(env, l)
		}
	}
	return env
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	mkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(data))
}
