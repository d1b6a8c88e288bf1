package proxier

import (
	"bytes"
	"slices"
	"strings"
)

// tableUpdate is what one sync writes to one table: chains declared
// (flushed) and refilled, and chains deleted.
type tableUpdate struct {
	write []chainRules
	del   []string
}

// writeTable appends one transaction on table to an iptables-restore
// --noflush buffer: the chains written or flushed are declared (which
// flushes them), then the rules of the written ones, then the deletions,
// then COMMIT.
func writeTable(b *bytes.Buffer, table string, write []chainRules, flush, del []string) {
	if len(write) == 0 && len(flush) == 0 && len(del) == 0 {
		return
	}
	b.WriteString("*" + table + "\n")
	for _, c := range write {
		b.WriteString(":" + c.name + " - [0:0]\n")
	}
	for _, name := range flush {
		b.WriteString(":" + name + " - [0:0]\n")
	}
	for _, c := range write {
		b.Write(c.rules)
	}
	for _, name := range del {
		b.WriteString("-X " + name + "\n")
	}
	b.WriteString("COMMIT\n")
}

// plan is the difference between the rules last applied and the desired
// ones: which chains to rewrite and which to delete. full rewrites every
// chain and deletes every chain of ours in existing (the chains iptables
// has now) that is not desired.
type plan struct {
	nat, filter tableUpdate
}

type planInput struct {
	full bool
	// order of the Services, and their rules now and as last applied
	keys    []string
	now     map[string]*serviceRules
	applied map[string]*serviceRules
	// the shared chains now and as last applied ("table/chain" keys)
	natFixed, filterFixed []chainRules
	appliedFixed          map[string][]byte
	// actualNAT is the nat table as iptables has it (full syncs)
	actualNAT map[string][]string
}

// signature is what a full sync compares between a chain's rules (lines
// without newlines) as rendered and as iptables-save prints them: the number of rules and, in order, each
// rule's target with its options ("-j DNAT --to-destination 10.244.1.2:8080"),
// which iptables-save prints as written. It catches rules flushed,
// deleted, added, reordered or redirected.
func signature(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		if i := strings.LastIndex(l, " -j "); i >= 0 {
			b.WriteString(l[i:])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func renderedSignature(rules []byte) string {
	if len(rules) == 0 {
		return ""
	}
	return signature(strings.Split(strings.TrimSuffix(string(rules), "\n"), "\n"))
}

func makePlan(in planInput) plan {
	var p plan
	// A full sync rewrites a shared chain unless iptables has it as last
	// applied: nat's are checked against iptables-save (KUBE-SERVICES is
	// one rule per Service), filter's small ones are rewritten.
	fixed := func(table string, cs []chainRules, actual map[string][]string, u *tableUpdate) {
		for _, c := range cs {
			old, ok := in.appliedFixed[table+"/"+c.name]
			changed := !ok || !bytes.Equal(old, c.rules)
			if in.full {
				a, exists := actual[c.name]
				changed = changed || !exists || signature(a) != renderedSignature(c.rules)
			}
			if changed {
				u.write = append(u.write, c)
			}
		}
	}
	fixed(tableNAT, in.natFixed, in.actualNAT, &p.nat)
	fixed(tableFilter, in.filterFixed, nil, &p.filter)

	for _, key := range in.keys {
		r, old := in.now[key], in.applied[key]
		if !in.full && r == old {
			continue
		}
		var oldChains map[string][]byte
		if old != nil {
			oldChains = make(map[string][]byte, len(old.chains))
			for _, c := range old.chains {
				oldChains[c.name] = c.rules
			}
		}
		for _, c := range r.chains {
			prev, ok := oldChains[c.name]
			switch {
			case in.full:
				// rewritten unless iptables has it as last applied
				actual, exists := in.actualNAT[c.name]
				if !ok || !bytes.Equal(prev, c.rules) || !exists || signature(actual) != renderedSignature(c.rules) {
					p.nat.write = append(p.nat.write, c)
				}
			case !ok || !bytes.Equal(prev, c.rules):
				p.nat.write = append(p.nat.write, c)
			}
			delete(oldChains, c.name)
		}
		if !in.full {
			for name := range oldChains {
				p.nat.del = append(p.nat.del, name)
			}
		}
	}
	if in.full {
		want := map[string]bool{}
		for _, r := range in.now {
			for _, c := range r.chains {
				want[c.name] = true
			}
		}
		stale := func(name string) {
			if ownedChain(tableNAT, name) && !want[name] && !isFixed(tableNAT, name) {
				p.nat.del = append(p.nat.del, name)
			}
		}
		for name := range in.actualNAT {
			stale(name)
		}
		for _, old := range in.applied {
			for _, c := range old.chains {
				stale(c.name)
			}
		}
	} else {
		for key, old := range in.applied {
			if _, ok := in.now[key]; ok {
				continue
			}
			for _, c := range old.chains {
				p.nat.del = append(p.nat.del, c.name)
			}
		}
	}
	slices.Sort(p.nat.del)
	p.nat.del = slices.Compact(p.nat.del)
	return p
}

func isFixed(table, chain string) bool {
	for _, f := range fixedChainNames {
		if f.table == table && f.chain == chain {
			return true
		}
	}
	return false
}

// MaxChainsPerCommit bounds the chains of one transaction. The nft
// backend of iptables-restore (1.8.9) spends time quadratic in the
// chains of one --noflush transaction: 16,000 chains take 12 s in one
// COMMIT and 0.4 s in sixteen. Syncs touching at most this many chains
// (every partial sync of a change to a few Services) are one atomic
// transaction; bigger ones are split.
const MaxChainsPerCommit = 1000

// buffer is the iptables-restore input of p: filter first, so REJECTs
// of Services that lost their endpoints are in place with the nat rules;
// then nat, in one transaction when it is small enough, else in several
// ordered so that no commit leaves a jump to a missing chain: endpoint
// chains, then service chains, then the shared chains that jump to them,
// then stale chains flushed (which drops their jumps to each other),
// then deleted.
func (p *plan) buffer() []byte {
	var b bytes.Buffer
	writeTable(&b, tableFilter, p.filter.write, p.filter.del, p.filter.del)
	if len(p.nat.write)+len(p.nat.del) <= MaxChainsPerCommit {
		writeTable(&b, tableNAT, p.nat.write, p.nat.del, p.nat.del)
		return b.Bytes()
	}
	var seps, svcs, shared []chainRules
	for _, c := range p.nat.write {
		switch {
		case strings.HasPrefix(c.name, prefixEndpoint):
			seps = append(seps, c)
		case strings.HasPrefix(c.name, prefixService):
			svcs = append(svcs, c)
		default:
			shared = append(shared, c)
		}
	}
	for _, group := range [][]chainRules{seps, svcs, shared} {
		for c := range slices.Chunk(group, MaxChainsPerCommit) {
			writeTable(&b, tableNAT, c, nil, nil)
		}
	}
	for c := range slices.Chunk(p.nat.del, MaxChainsPerCommit) {
		writeTable(&b, tableNAT, nil, c, nil)
	}
	for c := range slices.Chunk(p.nat.del, MaxChainsPerCommit) {
		writeTable(&b, tableNAT, nil, nil, c)
	}
	return b.Bytes()
}
