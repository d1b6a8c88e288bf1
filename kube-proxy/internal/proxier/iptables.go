package proxier

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// IPTables is what the proxier needs of iptables: atomic bulk updates
// with iptables-restore, the chains of a table, and single-rule bootstrap
// and checks.
type IPTables interface {
	// Restore applies an iptables-restore buffer with --noflush: chains it
	// declares are flushed and rewritten, nothing else is touched.
	Restore(ctx context.Context, data []byte) error
	// Save reads table with iptables-save: every chain with its rules
	// ("-A CHAIN …" lines as iptables-save prints them).
	Save(ctx context.Context, table string) (map[string][]string, error)
	// EnsureChain makes chain in table unless it exists.
	EnsureChain(table, chain string) error
	// EnsureJump inserts rule first in chain unless it is there already.
	EnsureJump(table, chain string, rule []string) error
	// DeleteJump deletes rule from chain if it is there.
	DeleteJump(table, chain string, rule []string) error
}

// jump is one rule of ours in a built-in chain.
type jump struct {
	table, chain string
	rule         []string
}

// jumps are the rules skiff-kube-proxy puts in built-in chains, as
// kube-proxy's: everything else it owns hangs off these.
var jumps = []jump{
	{tableNAT, "PREROUTING", []string{"-m", "comment", "--comment", "kubernetes service portals", "-j", chainServices}},
	{tableNAT, "OUTPUT", []string{"-m", "comment", "--comment", "kubernetes service portals", "-j", chainServices}},
	{tableNAT, "POSTROUTING", []string{"-m", "comment", "--comment", "kubernetes postrouting rules", "-j", chainPostrouting}},
	{tableFilter, "INPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes externally-visible service portals", "-j", chainExternalServices}},
	{tableFilter, "FORWARD", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", chainServices}},
	{tableFilter, "OUTPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", chainServices}},
}

// fixedChainNames are the chains bootstrap makes, by table.
var fixedChainNames = []struct{ table, chain string }{
	{tableNAT, chainServices}, {tableNAT, chainNodePorts}, {tableNAT, chainPostrouting}, {tableNAT, chainMarkMasq},
	{tableFilter, chainServices}, {tableFilter, chainExternalServices},
}

// execIPTables is IPTables over the iptables binaries (IPv4).
type execIPTables struct {
	ipt *iptables.IPTables
}

var _ IPTables = (*execIPTables)(nil)

// NewIPTables finds iptables, iptables-restore and iptables-save.
func NewIPTables() (IPTables, error) {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	for _, bin := range []string{"iptables-restore", "iptables-save"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s: %w (install the iptables package)", bin, err)
		}
	}
	return &execIPTables{ipt: ipt}, nil
}

var failedLine = regexp.MustCompile(`line (\d+) failed`)

func (e *execIPTables) Restore(ctx context.Context, data []byte) error {
	cmd := exec.CommandContext(ctx, "iptables-restore", "-w", "--noflush")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(string(out))
	if m := failedLine.FindStringSubmatch(msg); m != nil {
		if n, _ := strconv.Atoi(m[1]); n > 0 {
			lines := bytes.Split(data, []byte("\n"))
			if n <= len(lines) {
				msg += ": " + string(lines[n-1])
			}
		}
	}
	return fmt.Errorf("iptables-restore: %w: %s", err, msg)
}

func (e *execIPTables) Save(ctx context.Context, table string) (map[string][]string, error) {
	out, err := exec.CommandContext(ctx, "iptables-save", "-t", table).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("iptables-save -t %s: %w: %s", table, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("iptables-save -t %s: %w", table, err)
	}
	return parseSave(out)
}

// parseSave reads one table of iptables-save output.
func parseSave(out []byte) (map[string][]string, error) {
	chains := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, ":"):
			if name, _, ok := strings.Cut(l[1:], " "); ok {
				chains[name] = nil
			}
		case strings.HasPrefix(l, "-A "):
			if name, _, ok := strings.Cut(l[3:], " "); ok {
				chains[name] = append(chains[name], l)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read iptables-save output: %w", err)
	}
	return chains, nil
}

func (e *execIPTables) EnsureChain(table, chain string) error {
	ok, err := e.ipt.ChainExists(table, chain)
	if err != nil {
		return fmt.Errorf("check chain %s/%s: %w", table, chain, err)
	}
	if ok {
		return nil
	}
	if err := e.ipt.NewChain(table, chain); err != nil {
		return fmt.Errorf("create chain %s/%s: %w", table, chain, err)
	}
	return nil
}

func (e *execIPTables) EnsureJump(table, chain string, rule []string) error {
	ok, err := e.ipt.Exists(table, chain, rule...)
	if err != nil {
		return fmt.Errorf("check rule in %s/%s: %w", table, chain, err)
	}
	if ok {
		return nil
	}
	if err := e.ipt.Insert(table, chain, 1, rule...); err != nil {
		return fmt.Errorf("insert rule in %s/%s: %w", table, chain, err)
	}
	return nil
}

func (e *execIPTables) DeleteJump(table, chain string, rule []string) error {
	if err := e.ipt.DeleteIfExists(table, chain, rule...); err != nil {
		return fmt.Errorf("delete rule from %s/%s: %w", table, chain, err)
	}
	return nil
}
