package podruntime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Usage is what a container has used, read from its cgroup.
type Usage struct {
	// CPUNanoseconds is the CPU time used since the container started.
	CPUNanoseconds uint64
	// MemoryUsage is the memory charged to the cgroup (page cache included);
	// MemoryWorkingSet is that less the inactive file pages; MemoryRSS the
	// anonymous memory.
	MemoryUsage, MemoryWorkingSet, MemoryRSS uint64
}

// CgroupRoot is where cgroup file systems are mounted.
const CgroupRoot = "/sys/fs/cgroup"

// CgroupPath is the cgroup of a container (spec.linux.cgroupsPath), as
// runc made it under every controller.
func (r *Runtime) CgroupPath(ctx context.Context, c *Container) (string, error) {
	ctx = r.ns(ctx)
	cont, err := r.client.LoadContainer(ctx, c.ID)
	if err != nil {
		return "", fmt.Errorf("container %s: %w", c.ID, err)
	}
	spec, err := cont.Spec(ctx)
	if err != nil {
		return "", fmt.Errorf("container %s: %w", c.ID, err)
	}
	if spec.Linux == nil || spec.Linux.CgroupsPath == "" {
		return "", fmt.Errorf("container %s has no cgroup path", c.ID)
	}
	return spec.Linux.CgroupsPath, nil
}

// ReadUsage reads the usage of the cgroup at path (relative to root, as
// in a spec) under the cgroup file systems at root: cgroup v1's cpuacct and
// memory controllers when they are mounted, else the unified v2 hierarchy.
func ReadUsage(root, path string) (Usage, error) {
	var u Usage
	if _, err := os.Stat(filepath.Join(root, "cpuacct")); err == nil { // v1 (or hybrid)
		cpu, err := readUint(filepath.Join(root, "cpuacct", path, "cpuacct.usage"))
		if err != nil {
			return u, err
		}
		mem, err := readUint(filepath.Join(root, "memory", path, "memory.usage_in_bytes"))
		if err != nil {
			return u, err
		}
		st, err := readKeyed(filepath.Join(root, "memory", path, "memory.stat"))
		if err != nil {
			return u, err
		}
		u.CPUNanoseconds, u.MemoryUsage, u.MemoryRSS = cpu, mem, st["total_rss"]
		u.MemoryWorkingSet = mem - min(mem, st["total_inactive_file"])
		return u, nil
	}
	cpu, err := readKeyed(filepath.Join(root, path, "cpu.stat"))
	if err != nil {
		return u, err
	}
	mem, err := readUint(filepath.Join(root, path, "memory.current"))
	if err != nil {
		return u, err
	}
	st, err := readKeyed(filepath.Join(root, path, "memory.stat"))
	if err != nil {
		return u, err
	}
	u.CPUNanoseconds, u.MemoryUsage, u.MemoryRSS = cpu["usage_usec"]*1000, mem, st["anon"]
	u.MemoryWorkingSet = mem - min(mem, st["inactive_file"])
	return u, nil
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// readKeyed reads "key value" lines (cpu.stat, memory.stat, meminfo).
func readKeyed(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			m[strings.TrimSuffix(f[0], ":")] = n
		}
	}
	if len(m) == 0 {
		return nil, errors.New(path + ": no values")
	}
	return m, nil
}

// NodeUsage reads the whole machine's usage from /proc (procRoot):
// CPU time from /proc/stat (every state but idle and iowait), memory
// from /proc/meminfo (in use: total less free; working set: that less
// inactive file pages).
func NodeUsage(procRoot string) (u Usage, memTotal, memAvailable uint64, err error) {
	b, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return u, 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return u, 0, 0, fmt.Errorf("%s/stat: no cpu line", procRoot)
	}
	var ticks uint64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is in user already
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return u, 0, 0, fmt.Errorf("%s/stat: %w", procRoot, err)
		}
		ticks += n
	}
	u.CPUNanoseconds = ticks * 1e7 // USER_HZ is 100 on Linux
	mi, err := readKeyed(filepath.Join(procRoot, "meminfo"))
	if err != nil {
		return u, 0, 0, err
	}
	const kib = 1024
	memTotal, memAvailable = mi["MemTotal"]*kib, mi["MemAvailable"]*kib
	u.MemoryUsage = memTotal - min(memTotal, mi["MemFree"]*kib)
	u.MemoryWorkingSet = u.MemoryUsage - min(u.MemoryUsage, mi["Inactive(file)"]*kib)
	u.MemoryRSS = mi["AnonPages"] * kib
	return u, memTotal, memAvailable, nil
}
