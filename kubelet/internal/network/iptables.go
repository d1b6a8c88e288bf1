package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"skiff.dev/kubelet/internal/nsutil"
)

// STYLE.md keeps go-iptables in kube-proxy alone; the kubelet's few rules
// go through the iptables commands: each chain is written whole by one
// iptables-restore --noflush (atomic, and idempotent since restoring a
// chain flushes it first), and the jump into it is added once, after an
// iptables -C check.

// forwardChain is the filter chain accepting forwarded pod traffic, in case
// the FORWARD policy is DROP (as Docker sets it).
func (m *Manager) forwardChain() string {
	return strings.TrimSuffix(m.cfg.MasqueradeChain, "-POSTROUTING") + "-FORWARD"
}

// ensureRules installs, in the node's namespace:
//
//	nat:    POSTROUTING -j <chain>; <chain>: -s podCIDR ! -d clusterCIDR -j MASQUERADE
//	filter: FORWARD -j <fwd>; <fwd>: -s clusterCIDR -j ACCEPT, -d clusterCIDR -j ACCEPT
func (m *Manager) ensureRules(ctx context.Context, podCIDR, clusterCIDR string) error {
	masq, fwd := m.cfg.MasqueradeChain, m.forwardChain()
	var b bytes.Buffer
	fmt.Fprintf(&b, "*nat\n:%s - [0:0]\n", masq)
	fmt.Fprintf(&b, "-A %s -s %s ! -d %s -m comment --comment \"skiff: masquerade pod traffic leaving the cluster\" -j MASQUERADE\n", masq, podCIDR, clusterCIDR)
	b.WriteString("COMMIT\n")
	fmt.Fprintf(&b, "*filter\n:%s - [0:0]\n", fwd)
	fmt.Fprintf(&b, "-A %s -s %s -m comment --comment \"skiff: forward pod traffic\" -j ACCEPT\n", fwd, clusterCIDR)
	fmt.Fprintf(&b, "-A %s -d %s -m comment --comment \"skiff: forward pod traffic\" -j ACCEPT\n", fwd, clusterCIDR)
	b.WriteString("COMMIT\n")
	return nsutil.Do(m.hostNS, func() error {
		if err := run(ctx, &b, "iptables-restore", "-w", "--noflush"); err != nil {
			return fmt.Errorf("network: write chains %s and %s: %w", masq, fwd, err)
		}
		for _, j := range []struct{ table, from, to string }{{"nat", "POSTROUTING", masq}, {"filter", "FORWARD", fwd}} {
			rule := []string{j.from, "-m", "comment", "--comment", "skiff: pod network", "-j", j.to}
			err := run(ctx, nil, "iptables", append([]string{"-w", "-t", j.table, "-C"}, rule...)...)
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.ExitCode() == 1 { // no such rule yet
				err = run(ctx, nil, "iptables", append([]string{"-w", "-t", j.table, "-I"}, rule...)...)
			}
			if err != nil {
				return fmt.Errorf("network: jump from %s to %s: %w", j.from, j.to, err)
			}
		}
		return nil
	})
}

// run runs a command with stdin, its stderr in the error.
func run(ctx context.Context, stdin *bytes.Buffer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
