// Package testutil is the kubelet's test harness: a containerd daemon of the
// test's own, lab network namespaces for pods, and a kubelet wired to a real
// in-process apiserver.
package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Containerd is a containerd daemon of a test's own: its own root, state
// directory and socket under a temp dir, never the machine's.
type Containerd struct {
	// Address is the gRPC socket.
	Address string
	// Dir holds root/, state/, the config and the daemon's log.
	Dir string

	cmd  *exec.Cmd
	done chan struct{}
}

// StartContainerd starts Debian's containerd with a config of its own (the
// CRI plugin off, runc as the runtime) and stops it, by its PID, in the
// test's cleanup, unmounting whatever it left mounted.
func StartContainerd(t testing.TB) *Containerd {
	t.Helper()
	c, err := StartContainerdDir("")
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("testutil: %v", err)
		}
	})
	return c
}

// StartContainerdDir is StartContainerd with no test: dir empty makes a
// temp dir (short, since a socket path is at most 107 bytes); call Stop.
func StartContainerdDir(dir string) (*Containerd, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "skk-ctd-")
		if err != nil {
			return nil, fmt.Errorf("containerd: %w", err)
		}
		dir = d
	}
	c := &Containerd{Dir: dir, Address: filepath.Join(dir, "ctd.sock"), done: make(chan struct{})}
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.runtime.v2.task"]
  platforms = ["linux/amd64"]

[plugins."io.containerd.service.v1.tasks-service"]
  runtime = "io.containerd.runc.v2"
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.Address, c.Address+".ttrpc")
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return nil, fmt.Errorf("containerd: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		return nil, fmt.Errorf("containerd: %w", err)
	}
	defer logf.Close()
	c.cmd = exec.Command("containerd", "--config", cfgPath)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// No Pdeathsig: it fires when the forking thread ends, and threads locked
	// to a network namespace end on purpose.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("containerd: start (is Debian's containerd installed?): %w", err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	for i := 0; i < 300; i++ {
		if conn, err := net.Dial("unix", c.Address); err == nil {
			conn.Close()
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("containerd exited at start: %s", c.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = c.Stop()
	return nil, fmt.Errorf("containerd did not listen on %s in 15s: %s", c.Address, c.Log())
}

// Log is the daemon's log so far.
func (c *Containerd) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "containerd.log"))
	return string(b)
}

// Stop ends the daemon by its PID (SIGTERM, then SIGKILL after 10 s),
// unmounts what is still mounted under its dir, and removes the dir. The
// shims of containers still running are not its children: stop the
// containers first.
func (c *Containerd) Stop() error {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
	c.killShims()
	UnmountUnder(c.Dir)
	if err := os.RemoveAll(c.Dir); err != nil {
		return fmt.Errorf("containerd: remove %s: %w", c.Dir, err)
	}
	return nil
}

// killShims kills, by PID, the shims this daemon started (their command
// line names its socket) and their containers' processes: what a test
// that failed midway may have left running.
func (c *Containerd) killShims() {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("containerd-shim")) || !bytes.Contains(b, []byte(c.Address+"\x00")) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		for _, child := range childrenOf(pid) {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(s))); err == nil {
				out = append(out, child)
			}
		}
	}
	return out
}

// UnmountUnder lazily unmounts every mount point under dir, deepest first.
func UnmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// CgroupValue reads a setting of a container's cgroup, which containerd
// puts at /<namespace>/<id>: v1File in the controller's hierarchy (cgroup
// v1), else v2File in the unified one. Empty when there is neither.
func CgroupValue(namespace, id, controller, v1File, v2File string) string {
	for _, p := range []string{
		filepath.Join("/sys/fs/cgroup", controller, namespace, id, v1File),
		filepath.Join("/sys/fs/cgroup", namespace, id, v2File),
	} {
		if b, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}
