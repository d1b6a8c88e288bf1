package proxier

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"go.uber.org/zap"
)

// Conntrack deletes conntrack entries. UDP has no connection to end, so
// without this a client keeps sending to an endpoint that is gone (or to
// the REJECT of a Service that had none) until its flow times out.
type Conntrack interface {
	// Delete deletes the UDP flows matching the conntrack(8) filter args.
	Delete(ctx context.Context, args ...string) error
}

// execConntrack runs the conntrack binary.
type execConntrack struct{ path string }

// NewConntrack finds the conntrack binary (Debian package conntrack); nil
// and an error saying so when it is not installed.
func NewConntrack() (Conntrack, error) {
	path, err := exec.LookPath("conntrack")
	if err != nil {
		return nil, fmt.Errorf("conntrack binary not found (install the conntrack package): stale UDP flows will not be flushed: %w", err)
	}
	return execConntrack{path: path}, nil
}

func (c execConntrack) Delete(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, c.path, append([]string{"-D"}, args...)...).CombinedOutput()
	// conntrack exits 1 when nothing matched: not an error.
	if err != nil && !strings.Contains(string(out), "0 flow entries have been deleted") {
		return fmt.Errorf("conntrack -D %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// flushStaleUDP deletes the UDP flows the last sync made stale: those to
// endpoints that are gone, and those to Services that had no endpoints
// (their packets were rejected) and now have some.
func (p *Proxier) flushStaleUDP(ctx context.Context, keys []string, now map[string]*serviceRules) {
	if p.cfg.Conntrack == nil {
		return
	}
	var filters [][]string
	for key, old := range p.applied {
		r := now[key]
		if r == old {
			continue
		}
		for _, op := range old.ports {
			if op.protocol != "udp" {
				continue
			}
			np := findPort(r, op.name)
			for _, ep := range op.endpoints {
				if np != nil && hasEndpoint(np, ep.addr) {
					continue
				}
				filters = append(filters, []string{"-p", "udp", "--orig-dst", op.clusterIP, "--dst-nat", ep.ip})
				if op.nodePort > 0 {
					filters = append(filters, []string{"-p", "udp", "--dport", itoa(op.nodePort), "--dst-nat", ep.ip})
				}
			}
		}
	}
	for _, key := range keys {
		r, old := now[key], p.applied[key]
		if r == old {
			continue
		}
		for _, np := range r.ports {
			if np.protocol != "udp" || len(np.endpoints) == 0 {
				continue
			}
			if op := findPort(old, np.name); op == nil || len(op.endpoints) == 0 {
				filters = append(filters, []string{"-p", "udp", "--orig-dst", np.clusterIP})
			}
		}
	}
	for _, f := range filters {
		if err := p.cfg.Conntrack.Delete(ctx, f...); err != nil {
			p.lg.Warn("flush stale udp flows", zap.Error(err))
		}
	}
}

func findPort(r *serviceRules, name string) *servicePort {
	if r == nil {
		return nil
	}
	for i := range r.ports {
		if r.ports[i].name == name {
			return &r.ports[i]
		}
	}
	return nil
}

func hasEndpoint(sp *servicePort, addr string) bool {
	for _, ep := range sp.endpoints {
		if ep.addr == addr {
			return true
		}
	}
	return false
}
