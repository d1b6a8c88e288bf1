package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"skiff.dev/e2e/framework"
	"skiff.dev/e2e/lab"
)

// TestLabOneMasterTwoNodes brings up one master and two nodes, uses the
// cluster from the nodes, pulls from the registry, and checks that down
// leaves nothing behind.
func TestLabOneMasterTwoNodes(t *testing.T) {
	images := t.TempDir()
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.WriteOCIArchive(filepath.Join(images, "e2e-random.tar"), img, "skiff.dev/e2e-random:v1"); err != nil {
		t.Fatal(err)
	}
	l := framework.StartLab(t, lab.Config{Masters: 1, Nodes: 2, BinDir: binDir, ImageDir: images})
	m1, err := l.Host("m1")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a node host reaches the apiserver and nothing else", func(t *testing.T) {
		out := framework.Run(t, l, "n1", "curl", "-sf", "--cacert", l.CAFile(), "https://"+m1.IP+":6443/readyz")
		if out != "ok" {
			t.Errorf("/readyz from n1 = %q, want ok", out)
		}
		routes := strings.TrimSpace(framework.Run(t, l, "n1", "ip", "route"))
		for _, r := range strings.Split(routes, "\n") {
			if !strings.HasPrefix(r, lab.DefaultSubnet+" ") {
				t.Errorf("n1 has a route out of the lab subnet: %q", r)
			}
		}
		if hn := strings.TrimSpace(framework.Run(t, l, "n2", "hostname")); hn != "n2" {
			t.Errorf("hostname on n2 = %q, want n2", hn)
		}
	})

	t.Run("an unplugged host is cut off until plugged back", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		readyz := []string{"curl", "-sf", "--max-time", "2", "--cacert", l.CAFile(), "https://" + m1.IP + ":6443/readyz"}
		if err := l.Unplug(ctx, "n2"); err != nil {
			t.Fatal(err)
		}
		if out, err := l.Exec(ctx, "n2", readyz...); err == nil {
			t.Errorf("n2 reached the apiserver while unplugged: %q", out)
		}
		if err := l.Plug(ctx, "n2"); err != nil {
			t.Fatal(err)
		}
		framework.Eventually(t, 30*time.Second, 500*time.Millisecond, "n2 reaches the apiserver again", func(ctx context.Context) error {
			_, err := l.Exec(ctx, "n2", readyz...)
			return err
		})
	})

	t.Run("skiffctl works from the nodes", func(t *testing.T) {
		framework.Skiffctl(t, l, "n1", "create", "namespace", "e2e")
		out := framework.Skiffctl(t, l, "n1", "create", "deployment", "web", "-n", "e2e",
			"--image=10.77.0.3:5000/e2e-random:v1", "--replicas=2")
		if !strings.Contains(out, "deployment.apps/web created") {
			t.Errorf("create deployment said %q", out)
		}
		out = framework.Skiffctl(t, l, "n2", "get", "deployments", "-n", "e2e", "-o", "name")
		if strings.TrimSpace(out) != "deployment.apps/web" {
			t.Errorf("deployments seen from n2: %q, want deployment.apps/web", out)
		}
	})

	t.Run("the registry serves the seeded image and takes a push", func(t *testing.T) {
		manifest, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		digest, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out := framework.Run(t, l, "n2", "curl", "-sf",
			"-H", "Accept: application/vnd.oci.image.manifest.v1+json",
			"http://10.77.0.3:5000/v2/e2e-random/manifests/v1")
		sum := sha256.Sum256([]byte(out))
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest.String() {
			t.Errorf("manifest pulled from n2 has digest %s, want %s (%d bytes, want %d)", got, digest, len(out), len(manifest))
		}
		// A push from a lab host, then a pull of its manifest by digest.
		n1, err := l.Host("n1")
		if err != nil {
			t.Fatal(err)
		}
		pushed, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.NewTag("10.77.0.3:5000/e2e/pushed:v2", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		tr := &http.Transport{DialContext: lab.DialContextIn(n1.NetNSPath())}
		defer tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := remote.Write(ref, pushed, remote.WithTransport(tr), remote.WithContext(ctx)); err != nil {
			t.Fatalf("push from n1: %v", err)
		}
		pd, err := pushed.Digest()
		if err != nil {
			t.Fatal(err)
		}
		framework.Run(t, l, "n2", "curl", "-sf", "-o", "/dev/null",
			"-H", "Accept: application/vnd.oci.image.manifest.v1+json",
			"http://10.77.0.3:5000/v2/e2e/pushed/manifests/"+pd.String())
	})

	t.Run("status reports the daemons healthy", func(t *testing.T) {
		st := l.Status(context.Background())
		for _, want := range []string{"apiserver", "scheduler", "registry"} {
			if !strings.Contains(st, want) {
				t.Errorf("status lacks %s:\n%s", want, st)
			}
		}
		if strings.Contains(st, "unhealthy") || strings.Contains(st, "stopped") {
			t.Errorf("status reports a sick daemon:\n%s", st)
		}
	})

	t.Run("down leaves no namespace, link, process, mount or file", func(t *testing.T) {
		procs := l.Procs()
		if len(procs) < 3 {
			t.Fatalf("lab recorded %d daemons, want at least registry, apiserver and scheduler", len(procs))
		}
		if err := l.Down(); err != nil {
			t.Fatalf("down: %v", err)
		}
		assertGone(t, l.Config().Prefix, l.Config().StateDir, procs)
	})
}

// assertGone checks that nothing of the lab with prefix is left.
func assertGone(t *testing.T, prefix, stateDir string, procs []lab.Proc) {
	t.Helper()
	entries, _ := os.ReadDir(lab.NetNSDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			t.Errorf("network namespace %s left behind", e.Name())
		}
	}
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("%s (pid %d) still running", p.Name(), p.PID)
		}
	}
	// Every daemon's command line names the state dir (its kubeconfig,
	// data or config): none may be left, recorded or not.
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range cmdlines {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), stateDir) {
			t.Errorf("process %s still runs: %s", filepath.Base(filepath.Dir(f)), strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	links, err := exec.Command("ip", "-o", "link").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link: %v", err)
	}
	if strings.Contains(string(links), prefix+"-") {
		t.Errorf("a link named %s-* is in the machine's namespace:\n%s", prefix, links)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), stateDir) {
		t.Errorf("a mount under %s is left", stateDir)
	}
	if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
		t.Errorf("state dir %s still exists (%v)", stateDir, err)
	}
}

// TestLabHAFailover runs three masters (a three-member etcd cluster, an
// apiserver, a scheduler and a controller-manager on each) behind haproxy
// and a node, kills the master whose scheduler leads, and checks that live
// masters hold the leases within 20 s while skiffctl keeps working through
// the load balancer, every object is still there, a new Deployment rolls
// out to a Ready pod and the node stays Ready.
func TestLabHAFailover(t *testing.T) {
	for _, bin := range []string{"etcd", "haproxy"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("the HA lab needs %s (apt-get install etcd-server haproxy): %v", bin, err)
		}
	}
	l := framework.StartCluster(t, lab.Config{
		Masters: 3, Nodes: 1, BinDir: binDir, ImageDir: imageDir,
		LeaseDuration: 10 * time.Second, RenewDeadline: 7 * time.Second, RetryPeriod: 2 * time.Second,
	})
	lb, err := l.Host("lb")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://" + lb.IP + ":6443"; l.APIServerURL() != want {
		t.Fatalf("components talk to %s, want the load balancer %s", l.APIServerURL(), want)
	}
	const objects = 5
	for i := range objects {
		framework.Skiffctl(t, l, "n1", "create", "deployment", fmt.Sprintf("web-%d", i), "--image="+webImage, "--replicas=0")
	}
	leases := []string{"skiff-scheduler", "skiff-controller-manager"}
	for _, lease := range leases {
		framework.Eventually(t, time.Minute, 500*time.Millisecond, lease+" has a leader", func(ctx context.Context) error {
			_, _, err := framework.LeaseHolder(ctx, l, "n1", "kube-system", lease)
			return err
		})
	}
	var oldID, victim string
	framework.Eventually(t, time.Minute, 500*time.Millisecond, "a scheduler leads", func(ctx context.Context) error {
		var err error
		oldID, victim, err = framework.LeaseHolder(ctx, l, "n1", "kube-system", "skiff-scheduler")
		return err
	})
	if _, err := l.Host(victim); err != nil {
		t.Fatalf("lease holder %q is not a lab host: %v", oldID, err)
	}
	// The leases may lead from two masters; the test kills the scheduler's,
	// and logs where the controller-manager's was.
	cmCtx, cmCancel := context.WithTimeout(context.Background(), time.Minute)
	cmID, _, err := framework.LeaseHolder(cmCtx, l, "n1", "kube-system", "skiff-controller-manager")
	cmCancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scheduler leader %s, controller-manager leader %s: killing master %s (its etcd member and every daemon)", oldID, cmID, victim)
	killed := time.Now()
	if err := l.KillHost(victim); err != nil {
		t.Fatal(err)
	}
	for _, lease := range leases {
		var newID string
		framework.Eventually(t, time.Minute, 500*time.Millisecond, lease+" led from a live master", func(ctx context.Context) error {
			id, host, err := framework.LeaseHolder(ctx, l, "n1", "kube-system", lease)
			if err != nil {
				return err
			}
			if host == victim {
				return fmt.Errorf("lease still held by %s", id)
			}
			newID = id
			return nil
		})
		took := time.Since(killed)
		t.Logf("%s held by %s, on a live master, %s after the kill", lease, newID, took.Round(100*time.Millisecond))
		if took > 20*time.Second {
			t.Errorf("%s: new leader after %s, want within 20s", lease, took.Round(100*time.Millisecond))
		}
	}

	framework.Skiffctl(t, l, "n1", "create", "deployment", "after-failover", "--image="+webImage)
	framework.Eventually(t, podWait, time.Second, "after-failover's pod Running and Ready on n1", func(ctx context.Context) error {
		var list struct {
			Items []pod `json:"items"`
		}
		if err := framework.GetJSON(ctx, l, "n1", &list, "pods", "-l", "app=after-failover"); err != nil {
			return err
		}
		if len(list.Items) != 1 || list.Items[0].Status.Phase != "Running" || !list.Items[0].ready() || list.Items[0].Spec.NodeName != "n1" {
			return fmt.Errorf("want one Running, Ready pod on n1: %v", list.Items)
		}
		return nil
	})
	// The kubelet reached the apiservers only through the load balancer
	// all along: its node never stopped being Ready.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if st, err := framework.NodeReadyStatus(ctx, l, "n1", "n1"); err != nil || st != "True" {
		t.Errorf("node n1 after the fail-over: Ready=%q (%v), want True", st, err)
	}
	out := framework.Skiffctl(t, l, "n1", "get", "deployments", "-o", "name")
	for i := range objects {
		if want := fmt.Sprintf("deployment.apps/web-%d\n", i); !strings.Contains(out, want) {
			t.Errorf("%s lost after the fail-over; deployments: %q", strings.TrimSpace(want), out)
		}
	}
	if !strings.Contains(out, "deployment.apps/after-failover\n") {
		t.Errorf("deployment created after the fail-over is missing: %q", out)
	}
}

// TestSkiffLabCLI drives the skiff-lab binary as a user does: up, exec,
// status, down.
func TestSkiffLabCLI(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	prefix := framework.Prefix()
	skiffLab := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		full := append([]string{"--prefix", prefix, "--state", state}, args...)
		out, err := exec.CommandContext(ctx, filepath.Join(binDir, "skiff-lab"), full...).CombinedOutput()
		if err != nil {
			t.Fatalf("skiff-lab %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	skiffLab("up", "--masters", "1", "--nodes", "1", "--bin", binDir, "--insecure")
	t.Cleanup(func() {
		if _, err := os.Stat(state); err == nil {
			if t.Failed() {
				t.Log(skiffLab("logs"))
			}
			skiffLab("down")
		}
	})
	l, err := lab.Load(state, nil)
	if err != nil {
		t.Fatal(err)
	}
	procs := l.Procs()
	if out := skiffLab("exec", "n1", "--", "skiffctl", "get", "namespaces", "-o", "name"); !strings.Contains(out, "namespace/kube-system") {
		t.Errorf("skiffctl on n1 listed %q", out)
	}
	if out := skiffLab("status"); !strings.Contains(out, "apiserver") || strings.Contains(out, "unhealthy") {
		t.Errorf("status:\n%s", out)
	}
	follow := exec.Command(filepath.Join(binDir, "skiff-lab"), "--prefix", prefix, "--state", state, "logs", "-f")
	followed := &lockedBuffer{}
	follow.Stdout, follow.Stderr = followed, followed
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if follow.ProcessState == nil {
			_ = follow.Process.Kill()
			_ = follow.Wait()
		}
	})
	framework.Eventually(t, 30*time.Second, 200*time.Millisecond, "logs -f prints the apiserver's log", func(context.Context) error {
		if !strings.Contains(followed.String(), "m1/apiserver           | ") {
			return fmt.Errorf("output so far:\n%s", followed.String())
		}
		return nil
	})
	if err := follow.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := follow.Wait(); err != nil {
		t.Errorf("logs -f after Ctrl-C: %v", err)
	}
	skiffLab("down")
	assertGone(t, prefix, state, procs)
}

// TestSkiffLabForegroundTwice runs what `make up` runs (one host that is
// master and node, in the foreground, relayed to a loopback port, the
// admin's config written), uses it with skiffctl from this machine's own
// namespace through the relay, stops it with Ctrl-C (SIGINT), and does it
// all a second time: nothing of the first run may be in the way.
func TestSkiffLabForegroundTwice(t *testing.T) {
	prefix := framework.Prefix()
	pki := filepath.Join(t.TempDir(), "pki")
	for run := 1; run <= 2; run++ {
		state := filepath.Join(t.TempDir(), "state")
		kubeconfig := filepath.Join(t.TempDir(), "config")
		port := freeLoopbackPort(t)
		cmd := exec.Command(filepath.Join(binDir, "skiff-lab"), "--prefix", prefix, "--state", state,
			"up", "--foreground", "--masters", "1", "--nodes", "0", "--masters-schedulable",
			"--bin", binDir, "--pki", pki, "--forward", port, "--write-kubeconfig", kubeconfig)
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run %d: skiff-lab after Ctrl-C: %v\n%s", run, err, out.String())
				}
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Errorf("run %d: skiff-lab still running a minute after Ctrl-C", run)
			}
		}
		t.Cleanup(stop)
		framework.Eventually(t, 2*time.Minute, 200*time.Millisecond, "skiff-lab up", func(context.Context) error {
			if !strings.Contains(out.String(), "is up") {
				return fmt.Errorf("not yet; output:\n%s", out.String())
			}
			return nil
		})
		if !strings.Contains(out.String(), "m1/apiserver") {
			t.Errorf("run %d: the apiserver's log is not streamed with its prefix:\n%s", run, out.String())
		}
		l, err := lab.Load(state, nil)
		if err != nil {
			t.Fatal(err)
		}
		procs := l.Procs()
		ctl := exec.Command(filepath.Join(binDir, "skiffctl"), "--kubeconfig", kubeconfig, "create", "namespace", fmt.Sprintf("run-%d", run))
		if b, err := ctl.CombinedOutput(); err != nil {
			t.Fatalf("run %d: skiffctl through %s: %v\n%s", run, port, err, b)
		}
		b, err := exec.Command(filepath.Join(binDir, "skiffctl"), "--kubeconfig", kubeconfig, "get", "namespaces", "-o", "name").CombinedOutput()
		if err != nil || !strings.Contains(string(b), fmt.Sprintf("namespace/run-%d", run)) {
			t.Fatalf("run %d: get namespaces: %v\n%s", run, err, b)
		}
		stop()
		assertGone(t, prefix, state, procs)
	}
}

// freeLoopbackPort returns a 127.0.0.1 address with a port nothing listens on.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// lockedBuffer is a bytes.Buffer safe for a writing process and a reading test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLabUpFailureCleansUp starts a lab whose scheduler cannot start: Up
// must say which daemon failed with the end of its log, and leave nothing
// behind.
func TestLabUpFailureCleansUp(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"skiff-apiserver", "skiffctl", "skiff-registry"} {
		if err := os.Symlink(filepath.Join(binDir, name), filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	broken := "#!/bin/sh\necho \"unknown flag: --kubeconfig\" >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(bin, "skiff-scheduler"), []byte(broken), 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	prefix := framework.Prefix()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, lab.Config{Prefix: prefix, Masters: 1, Nodes: 1, BinDir: bin, StateDir: state})
	if err == nil {
		_ = l.Down()
		t.Fatal("lab up succeeded with a scheduler that exits at once")
	}
	for _, want := range []string{"m1/scheduler exited during start-up", "unknown flag: --kubeconfig"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("up's error lacks %q: %v", want, err)
		}
	}
	assertGone(t, prefix, state, nil)
}
