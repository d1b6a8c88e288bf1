package nodestatus

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// memInfo reads MemTotal and MemAvailable, in bytes, from /proc/meminfo.
func memInfo() (total, available int64, err error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			available = v * 1024
		}
	}
	if total == 0 {
		return 0, 0, errors.New("no MemTotal in /proc/meminfo")
	}
	return total, available, sc.Err()
}

// diskInfo is the size and the space available to unprivileged users of
// the filesystem of dir, in bytes.
func diskInfo(dir string) (total, available int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, nil
}

// pidInfo is kernel.pid_max and how many of them are free (pid_max minus
// the threads that exist, from /proc/loadavg).
func pidInfo() (max, available int64, err error) {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return 0, 0, err
	}
	max, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("kernel.pid_max: %w", err)
	}
	la, err := os.ReadFile("/proc/loadavg") // "0.1 0.2 0.3 2/345 6789"
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(la))
	if len(f) < 4 {
		return 0, 0, fmt.Errorf("/proc/loadavg: unexpected %q", la)
	}
	_, n, _ := strings.Cut(f[3], "/")
	used, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/loadavg: %w", err)
	}
	return max, max - used, nil
}

// readTrimmed is a one-line file's content, "" if unreadable.
func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// osImage is PRETTY_NAME of /etc/os-release (or /usr/lib/os-release).
func osImage() string {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				return strings.Trim(v, `"'`)
			}
		}
	}
	return runtime.GOOS
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return string(bytes.TrimRight(u.Release[:], "\x00"))
}

// defaultRouteIP is the first global IPv4 address of the interface of the
// default route, found through h (the node's network namespace).
func defaultRouteIP(h *netlink.Handle) (net.IP, error) {
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst != nil && r.Dst.String() != "0.0.0.0/0" {
			continue
		}
		if r.Src != nil {
			return r.Src, nil
		}
		link, err := h.LinkByIndex(r.LinkIndex)
		if err != nil {
			return nil, fmt.Errorf("default route's interface: %w", err)
		}
		addrs, err := h.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", link.Attrs().Name, err)
		}
		for _, a := range addrs {
			if a.Scope == int(netlink.SCOPE_UNIVERSE) {
				return a.IP, nil
			}
		}
		return nil, fmt.Errorf("the default route's interface %s has no IPv4 address", link.Attrs().Name)
	}
	return nil, errors.New("no default route: set --node-ip")
}
