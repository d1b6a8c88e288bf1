package proxier

import (
	"bytes"
	"slices"
)

// tableUpdate is what one sync writes to one table: chains declared
// (flushed) and refilled, and chains deleted.
type tableUpdate struct {
	write []chainRules
	del   []string
}

func (u *tableUpdate) empty() bool { return len(u.write) == 0 && len(u.del) == 0 }

// writeTable appends table's part of an iptables-restore --noflush
// buffer: every chain it touches is declared (which flushes it), then the
// rules of the rewritten ones, then the deletions, then COMMIT.
func writeTable(b *bytes.Buffer, table string, u *tableUpdate) {
	if u.empty() {
		return
	}
	b.WriteString("*" + table + "\n")
	for _, c := range u.write {
		b.WriteString(":" + c.name + " - [0:0]\n")
	}
	for _, name := range u.del {
		b.WriteString(":" + name + " - [0:0]\n")
	}
	for _, c := range u.write {
		b.Write(c.rules)
	}
	for _, name := range u.del {
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
	// existingNAT are the nat chains iptables has (full syncs only)
	existingNAT []string
}

func makePlan(in planInput) plan {
	var p plan
	fixed := func(table string, cs []chainRules, u *tableUpdate) {
		for _, c := range cs {
			if old, ok := in.appliedFixed[table+"/"+c.name]; in.full || !ok || !bytes.Equal(old, c.rules) {
				u.write = append(u.write, c)
			}
		}
	}
	fixed(tableNAT, in.natFixed, &p.nat)
	fixed(tableFilter, in.filterFixed, &p.filter)

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
			if in.full || !ok || !bytes.Equal(prev, c.rules) {
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
		for _, name := range in.existingNAT {
			if ownedChain(tableNAT, name) && !want[name] && !isFixed(tableNAT, name) {
				p.nat.del = append(p.nat.del, name)
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

// buffer is the iptables-restore input of p; filter first, so REJECTs
// of Services that lost their endpoints are in place with the nat rules.
func (p *plan) buffer() []byte {
	var b bytes.Buffer
	writeTable(&b, tableFilter, &p.filter)
	writeTable(&b, tableNAT, &p.nat)
	return b.Bytes()
}
