// Package stats is the kubelet's Summary API provider: it samples the
// node's CPU and memory (/proc) and every running container's (its cgroup)
// every Interval and on demand, and turns two samples into the CPU rate
// (usageNanoCores), as cAdvisor does for Kubernetes' kubelet.
package stats

import (
	"context"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/kubelet/internal/pods"
	"skiff.dev/proto/stats"
)

// Config configures the provider.
type Config struct {
	NodeName string
	// Running lists the node's pods with their running containers.
	Running func() []pods.RunningPod
	// CgroupPath finds a container's cgroup (asked once per container).
	CgroupPath func(ctx context.Context, c *podruntime.Container) (string, error)
	// CgroupRoot and ProcRoot are where cgroups and /proc are mounted;
	// empty is podruntime.CgroupRoot and /proc.
	CgroupRoot, ProcRoot string
	// Interval is how often a sample is taken in the background; 0 is 10 s.
	// A request takes a fresh one when the last is older than MinInterval
	// (0: 1 s).
	Interval, MinInterval time.Duration
}

// Provider keeps the latest sample.
type Provider struct {
	lg    *zap.Logger
	cfg   Config
	start time.Time

	mu    sync.Mutex
	paths map[string]string // container ID -> cgroup path
	prev  map[string]point  // "node" or container ID -> last cumulative CPU
	last  *stats.Summary
	at    time.Time
}

type point struct {
	at  time.Time
	cpu uint64
}

// New makes a provider.
func New(lg *zap.Logger, cfg Config) *Provider {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = podruntime.CgroupRoot
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = time.Second
	}
	return &Provider{lg: lg, cfg: cfg, start: time.Now(), paths: map[string]string{}, prev: map[string]point{}}
}

// Run samples every Interval until ctx ends.
func (p *Provider) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.mu.Lock()
		p.sample(ctx)
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Summary is the latest sample, taken now if the last is too old.
func (p *Provider) Summary(ctx context.Context) (*stats.Summary, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil || time.Since(p.at) >= p.cfg.MinInterval {
		if err := p.sample(ctx); err != nil && p.last == nil {
			return nil, err
		}
	}
	return p.last, nil
}

// sample reads everything now; p.mu is held.
func (p *Provider) sample(ctx context.Context) error {
	now := time.Now()
	node, _, avail, err := podruntime.NodeUsage(p.cfg.ProcRoot)
	if err != nil {
		p.lg.Warn("node usage", zap.Error(err))
		return err
	}
	seen := map[string]bool{"node": true}
	sum := &stats.Summary{Node: stats.NodeStats{NodeName: p.cfg.NodeName, StartTime: p.start.UTC().Truncate(time.Second),
		CPU: p.cpu("node", now, node.CPUNanoseconds), Memory: memory(now, node, &avail)}}
	for _, rp := range p.cfg.Running() {
		ps := stats.PodStats{PodRef: stats.PodReference{Name: rp.Name, Namespace: rp.Namespace, UID: rp.UID},
			StartTime: rp.StartTime.UTC().Truncate(time.Second)}
		var podUsage podruntime.Usage
		var podRate uint64
		rated := true
		for _, c := range rp.Containers {
			path, ok := p.paths[c.ID]
			if !ok {
				if path, err = p.cfg.CgroupPath(ctx, c); err != nil {
					p.lg.Debug("container cgroup", zap.String("container", c.ID), zap.Error(err))
					continue
				}
				p.paths[c.ID] = path
			}
			u, err := podruntime.ReadUsage(p.cfg.CgroupRoot, path)
			if err != nil {
				p.lg.Debug("container usage", zap.String("container", c.ID), zap.Error(err))
				continue
			}
			seen[c.ID] = true
			cs := stats.ContainerStats{Name: c.Name, StartTime: c.State().StartedAt.UTC().Truncate(time.Second),
				CPU: p.cpu(c.ID, now, u.CPUNanoseconds), Memory: memory(now, u, nil)}
			if cs.CPU.UsageNanoCores != nil {
				podRate += *cs.CPU.UsageNanoCores
			} else {
				rated = false
			}
			podUsage.CPUNanoseconds += u.CPUNanoseconds
			podUsage.MemoryUsage += u.MemoryUsage
			podUsage.MemoryWorkingSet += u.MemoryWorkingSet
			podUsage.MemoryRSS += u.MemoryRSS
			ps.Containers = append(ps.Containers, cs)
		}
		if len(ps.Containers) == 0 {
			continue
		}
		sort.Slice(ps.Containers, func(i, j int) bool { return ps.Containers[i].Name < ps.Containers[j].Name })
		ps.CPU = &stats.CPUStats{Time: now.UTC(), UsageCoreNanoSeconds: ptr(podUsage.CPUNanoseconds)}
		if rated {
			ps.CPU.UsageNanoCores = ptr(podRate)
		}
		ps.Memory = memory(now, podUsage, nil)
		sum.Pods = append(sum.Pods, ps)
	}
	sort.Slice(sum.Pods, func(i, j int) bool {
		a, b := sum.Pods[i].PodRef, sum.Pods[j].PodRef
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	for id := range p.prev {
		if !seen[id] {
			delete(p.prev, id)
			delete(p.paths, id)
		}
	}
	p.last, p.at = sum, now
	return nil
}

// cpu is the CPU stats of key at now, with the rate since its last sample.
func (p *Provider) cpu(key string, now time.Time, total uint64) *stats.CPUStats {
	s := &stats.CPUStats{Time: now.UTC(), UsageCoreNanoSeconds: ptr(total)}
	if prev, ok := p.prev[key]; ok && now.After(prev.at) && total >= prev.cpu {
		s.UsageNanoCores = ptr(uint64(float64(total-prev.cpu) / now.Sub(prev.at).Seconds()))
	}
	p.prev[key] = point{at: now, cpu: total}
	return s
}

func memory(now time.Time, u podruntime.Usage, available *uint64) *stats.MemoryStats {
	return &stats.MemoryStats{Time: now.UTC(), AvailableBytes: available, UsageBytes: ptr(u.MemoryUsage),
		WorkingSetBytes: ptr(u.MemoryWorkingSet), RSSBytes: ptr(u.MemoryRSS)}
}

func ptr(v uint64) *uint64 { return &v }
