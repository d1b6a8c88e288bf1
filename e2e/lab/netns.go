package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// NetNSDir is where `ip netns` pins network namespaces; the lab's are
// /run/netns/<prefix>-<host> and /run/netns/<prefix>-lab.
const NetNSDir = "/run/netns"

// ip runs `ip args...` and returns its error with ip's own message.
func ip(ctx context.Context, args ...string) error {
	return run(ctx, "ip", args...)
}

// run runs a command to completion; its error carries the command's output.
func run(ctx context.Context, name string, args ...string) error {
	var out bytes.Buffer
	c := exec.CommandContext(ctx, name, args...)
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// netnsPath is the pin of the network namespace called name.
func netnsPath(name string) string { return filepath.Join(NetNSDir, name) }

// buildNetwork makes the lab namespace with its bridge and, for every host,
// a namespace with a veth into the bridge, the host's address on eth0 and
// loopback up. It adds no route: the lab subnet is the only network a host
// knows, and nothing of it is in the machine's own namespace (every link is
// created inside the lab namespace, its peer moved straight into the host's).
func buildNetwork(ctx context.Context, c *Config, hosts []Host) error {
	labNS := c.labNetNS()
	if err := ip(ctx, "netns", "add", labNS); err != nil {
		return err
	}
	if err := ip(ctx, "-n", labNS, "link", "set", "lo", "up"); err != nil {
		return err
	}
	bridge := c.Prefix + "-br"
	if err := ip(ctx, "-n", labNS, "link", "add", bridge, "type", "bridge"); err != nil {
		return err
	}
	if err := ip(ctx, "-n", labNS, "link", "set", bridge, "up"); err != nil {
		return err
	}
	for _, h := range hosts {
		if err := ip(ctx, "netns", "add", h.NetNS); err != nil {
			return err
		}
		port := c.Prefix + "-" + h.Name
		steps := [][]string{
			{"-n", h.NetNS, "link", "set", "lo", "up"},
			{"-n", labNS, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.NetNS},
			{"-n", labNS, "link", "set", port, "master", bridge},
			{"-n", labNS, "link", "set", port, "up"},
			{"-n", h.NetNS, "addr", "add", h.IP + "/" + c.prefixLen(), "dev", "eth0"},
			{"-n", h.NetNS, "link", "set", "eth0", "up"},
		}
		for _, s := range steps {
			if err := ip(ctx, s...); err != nil {
				return fmt.Errorf("host %s: %w", h.Name, err)
			}
		}
	}
	return nil
}

// labNetNSNames lists the pinned network namespaces whose names start with
// prefix + "-": the lab's own and any a node agent pinned with the lab's
// prefix.
func labNetNSNames(prefix string) []string {
	entries, err := os.ReadDir(NetNSDir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			names = append(names, e.Name())
		}
	}
	return names
}

// deleteNetNS removes a pinned network namespace; its links go with it when
// the last process in it is gone.
func deleteNetNS(ctx context.Context, name string) error {
	if _, err := os.Stat(netnsPath(name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return ip(ctx, "netns", "delete", name)
}

// makeUTS pins a new UTS namespace whose hostname is host at file, so the
// daemons of a host see their own hostname (a scheduler's lease identity,
// a kubelet's default node name).
func makeUTS(ctx context.Context, file, host string) error {
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		return fmt.Errorf("uts pin: %w", err)
	}
	return run(ctx, "unshare", "--uts="+file, "hostname", host)
}

// unmountUnder detaches every mount at or below dir, deepest first: UTS
// pins, containerd's snapshots and whatever else the lab's daemons mounted
// in its state directory.
func unmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMountPath(f[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// DialContextIn returns a dialer whose sockets live in the network
// namespace pinned at nsPath: the socket is created on a thread switched
// into that namespace, then the thread switches back. The connection then
// belongs to that namespace whatever thread uses it, so a process in the
// machine's own namespace reaches lab addresses without any link to them.
func DialContextIn(nsPath string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			conn net.Conn
			err  error
		}
		ch := make(chan result, 1)
		go func() {
			conn, err := dialIn(ctx, nsPath, network, addr)
			ch <- result{conn, err}
		}()
		r := <-ch
		return r.conn, r.err
	}
}

func dialIn(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("own network namespace: %w", err)
	}
	defer func() { _ = self.Close() }()
	target, err := os.Open(nsPath)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("network namespace %s: %w", nsPath, err)
	}
	defer func() { _ = target.Close() }()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("enter %s: %w", nsPath, err)
	}
	var d net.Dialer
	conn, dialErr := d.DialContext(ctx, network, addr)
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is stuck in the other namespace: leave it locked so
		// it dies with this goroutine instead of serving others.
		if conn != nil {
			_ = conn.Close()
		}
		return nil, fmt.Errorf("leave %s: %w", nsPath, err)
	}
	runtime.UnlockOSThread()
	return conn, dialErr
}

// removeRuncLeftovers removes what runc keeps outside containerd's own
// folders for the containers of containerd namespace ns, once their
// processes are gone: its state (/run/containerd/runc/<ns>) and the
// cgroups /<ns>/... of every hierarchy (rmdir, deepest first; a cgroup
// still holding a process stays and is reported).
func removeRuncLeftovers(ns string) error {
	errs := []error{os.RemoveAll(filepath.Join("/run/containerd/runc", ns))}
	roots, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", ns))
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ns)); err == nil {
		roots = append(roots, filepath.Join("/sys/fs/cgroup", ns))
	}
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}
