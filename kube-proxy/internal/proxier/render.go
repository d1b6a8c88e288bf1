package proxier

import (
	"bytes"
	"strconv"
	"strings"
)

// RenderConfig is what rendering needs besides the Services and Endpoints.
type RenderConfig struct {
	// ClusterCIDR is the pods' range: traffic to a ClusterIP from outside
	// it is masqueraded. Empty: only --masquerade-all masquerades.
	ClusterCIDR string
	// MasqueradeAll masquerades all traffic to ClusterIPs.
	MasqueradeAll bool
	// NodePortAddresses are the node addresses NodePorts answer on; nil
	// means every local address (the addrtype LOCAL match).
	NodePortAddresses []string
}

// serviceRules are the rendered rules of one Service: its own chains and
// its lines in the shared chains. They are immutable once made, so a sync
// can tell an unchanged Service by pointer.
type serviceRules struct {
	chains     []chainRules // KUBE-SVC-* then their KUBE-SEP-*, in nat
	services   []byte       // nat KUBE-SERVICES lines
	nodePorts  []byte       // nat KUBE-NODEPORTS lines
	rejects    []byte       // filter KUBE-SERVICES lines (no endpoints)
	extRejects []byte       // filter KUBE-EXTERNAL-SERVICES lines (no endpoints)
	ports      []servicePort
	natRules   int // rules in chains
}

// chainRules is a chain's name and its rules ("-A NAME …" lines).
type chainRules struct {
	name  string
	rules []byte
}

// line writes one rule: words joined by spaces, then a newline.
func line(b *bytes.Buffer, words ...string) {
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	b.WriteByte('\n')
}

// comment quotes a comment that has spaces, as iptables-save prints it.
func comment(s string) string {
	if strings.ContainsAny(s, " \t") {
		return `"` + s + `"`
	}
	return s
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

// renderService renders the rules of one Service's ports.
func renderService(cfg *RenderConfig, ports []servicePort) *serviceRules {
	r := &serviceRules{ports: ports}
	var svcs, nps, rej, ext bytes.Buffer
	for i := range ports {
		sp := &ports[i]
		proto := []string{"-m", sp.protocol, "-p", sp.protocol}
		dst := []string{"-d", sp.clusterIP, "--dport", itoa(sp.port)}
		clusterComment := comment(sp.name + " cluster IP")
		if len(sp.endpoints) == 0 {
			noEP := comment(sp.name + " has no endpoints")
			line(&rej, concat([]string{"-A", chainServices, "-m", "comment", "--comment", noEP}, proto, dst, []string{"-j", "REJECT"})...)
			if sp.nodePort > 0 {
				line(&ext, concat([]string{"-A", chainExternalServices, "-m", "comment", "--comment", noEP,
					"-m", "addrtype", "--dst-type", "LOCAL"}, proto, []string{"--dport", itoa(sp.nodePort), "-j", "REJECT"})...)
			}
			continue
		}
		line(&svcs, concat([]string{"-A", chainServices, "-m", "comment", "--comment", clusterComment}, proto, dst, []string{"-j", sp.chain})...)
		if sp.nodePort > 0 {
			np := concat([]string{"-A", chainNodePorts, "-m", "comment", "--comment", comment(sp.name)}, proto, []string{"--dport", itoa(sp.nodePort)})
			line(&nps, concat(np, []string{"-j", chainMarkMasq})...)
			line(&nps, concat(np, []string{"-j", sp.chain})...)
		}
		r.chains = append(r.chains, renderServiceChain(cfg, sp, clusterComment, proto, dst))
		for _, ep := range sp.endpoints {
			r.chains = append(r.chains, renderEndpointChain(sp, ep, proto))
		}
	}
	r.services, r.nodePorts, r.rejects, r.extRejects = svcs.Bytes(), nps.Bytes(), rej.Bytes(), ext.Bytes()
	for _, c := range r.chains {
		r.natRules += bytes.Count(c.rules, []byte{'\n'})
	}
	return r
}

// renderServiceChain is KUBE-SVC-*: masquerade traffic from outside the
// cluster, then the endpoint a client has affinity to, then a random
// endpoint, each the i-th of n with probability 1/(n-i).
func renderServiceChain(cfg *RenderConfig, sp *servicePort, clusterComment string, proto, dst []string) chainRules {
	var b bytes.Buffer
	head := []string{"-A", sp.chain}
	match := concat(head, []string{"-m", "comment", "--comment", clusterComment}, proto, dst)
	switch {
	case cfg.MasqueradeAll:
		line(&b, concat(match, []string{"-j", chainMarkMasq})...)
	case cfg.ClusterCIDR != "":
		line(&b, concat(match, []string{"!", "-s", cfg.ClusterCIDR, "-j", chainMarkMasq})...)
	}
	n := len(sp.endpoints)
	if sp.affinity > 0 {
		for _, ep := range sp.endpoints {
			line(&b, concat(head, []string{"-m", "comment", "--comment", comment(sp.name + " -> " + ep.addr),
				"-m", "recent", "--name", ep.chain, "--rcheck", "--seconds", itoa(sp.affinity), "--reap", "-j", ep.chain})...)
		}
	}
	for i, ep := range sp.endpoints {
		args := concat(head, []string{"-m", "comment", "--comment", comment(sp.name + " -> " + ep.addr)})
		if i < n-1 {
			args = append(args, "-m", "statistic", "--mode", "random", "--probability", probability(n-i))
		}
		line(&b, append(args, "-j", ep.chain)...)
	}
	return chainRules{name: sp.chain, rules: b.Bytes()}
}

// renderEndpointChain is KUBE-SEP-*: masquerade hairpin traffic (the
// endpoint reaching itself through its Service), remember the client for
// affinity, DNAT to the endpoint.
func renderEndpointChain(sp *servicePort, ep endpoint, proto []string) chainRules {
	var b bytes.Buffer
	head := []string{"-A", ep.chain, "-m", "comment", "--comment", comment(sp.name)}
	line(&b, concat(head, []string{"-s", ep.ip, "-j", chainMarkMasq})...)
	args := head
	if sp.affinity > 0 {
		args = concat(args, []string{"-m", "recent", "--name", ep.chain, "--set"})
	}
	line(&b, concat(args, proto, []string{"-j", "DNAT", "--to-destination", ep.addr})...)
	return chainRules{name: ep.chain, rules: b.Bytes()}
}

// concat joins word lists into a new slice.
func concat(parts ...[]string) []string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]string, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// fixedChains renders the shared chains from the Services' pieces, in the
// order they are written: nat, then filter.
func fixedChains(cfg *RenderConfig, rendered []*serviceRules) (nat, filter []chainRules) {
	var svcs, nps, rej, ext bytes.Buffer
	for _, r := range rendered {
		svcs.Write(r.services)
		nps.Write(r.nodePorts)
		rej.Write(r.rejects)
		ext.Write(r.extRejects)
	}
	const npComment = `"kubernetes service nodeports; NOTE: this must be the last rule in this chain"`
	if cfg.NodePortAddresses == nil {
		line(&svcs, "-A", chainServices, "-m", "comment", "--comment", npComment, "-m", "addrtype", "--dst-type", "LOCAL", "-j", chainNodePorts)
	} else {
		for _, ip := range cfg.NodePortAddresses {
			line(&svcs, "-A", chainServices, "-m", "comment", "--comment", npComment, "-d", ip, "-j", chainNodePorts)
		}
	}
	var post, mark bytes.Buffer
	line(&post, "-A", chainPostrouting, "-m", "mark", "!", "--mark", masqMark+"/"+masqMark, "-j", "RETURN")
	line(&post, "-A", chainPostrouting, "-j", "MARK", "--xor-mark", masqMark)
	line(&post, "-A", chainPostrouting, "-m", "comment", "--comment", `"kubernetes service traffic requiring SNAT"`, "-j", "MASQUERADE", "--random-fully")
	line(&mark, "-A", chainMarkMasq, "-j", "MARK", "--or-mark", masqMark)
	nat = []chainRules{
		{chainServices, svcs.Bytes()},
		{chainNodePorts, nps.Bytes()},
		{chainPostrouting, post.Bytes()},
		{chainMarkMasq, mark.Bytes()},
	}
	filter = []chainRules{
		{chainServices, rej.Bytes()},
		{chainExternalServices, ext.Bytes()},
	}
	return nat, filter
}
