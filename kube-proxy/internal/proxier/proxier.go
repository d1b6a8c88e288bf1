// Package proxier renders Services and Endpoints as iptables rules, the
// way Kubernetes' pkg/proxy/iptables does: KUBE-SERVICES → KUBE-SVC-* →
// KUBE-SEP-* (DNAT), KUBE-NODEPORTS, KUBE-MARK-MASQ and KUBE-POSTROUTING,
// written with one iptables-restore --noflush per sync that rewrites only
// the chains that changed since the last successful one.
package proxier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
)

// Config configures a Proxier.
type Config struct {
	RenderConfig
	// NodePortCIDRs limit NodePorts to the local addresses in them
	// (--nodeport-addresses); empty is every local address.
	NodePortCIDRs []*net.IPNet
	// SyncPeriod is the full resync interval (default 30 s).
	SyncPeriod time.Duration
	// MinSyncPeriod is the least time between two syncs (default 1 s):
	// changes arriving meanwhile are applied together.
	MinSyncPeriod time.Duration
	// IPTables applies the rules; required.
	IPTables IPTables
	// Conntrack deletes stale UDP flows; nil skips that.
	Conntrack Conntrack
	// Metrics; nil measures nothing.
	Metrics *Metrics
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// LocalAddresses lists the node's addresses (tests); nil reads the
	// interfaces.
	LocalAddresses func() ([]net.IP, error)
}

// triggerAnnotation is the time the endpoints controller saw the change
// that produced an Endpoints object.
const triggerAnnotation = "endpoints.kubernetes.io/last-change-trigger-time"

// Proxier keeps the node's iptables rules in step with the Services and
// Endpoints it is told about.
type Proxier struct {
	lg  *zap.Logger
	cfg Config

	mu        sync.Mutex
	services  map[string]*corev1.Service
	endpoints map[string]*corev1.Endpoints
	changes   map[string]time.Time // Endpoints key → earliest unapplied change
	synced    bool
	needFull  bool

	trigger chan struct{}

	// owned by the sync loop
	cache        map[string]*cachedRules
	applied      map[string]*serviceRules
	appliedFixed map[string][]byte
	lastFull     time.Time

	lastSuccess atomic.Int64 // unix nanoseconds
	lastErr     atomic.Pointer[string]
}

type cachedRules struct {
	svc   *corev1.Service
	ep    *corev1.Endpoints
	rules *serviceRules
}

// New makes a Proxier; it applies nothing before SetSynced.
func New(lg *zap.Logger, cfg Config) (*Proxier, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.IPTables == nil {
		return nil, errors.New("proxier: Config.IPTables is required")
	}
	if cfg.SyncPeriod <= 0 {
		cfg.SyncPeriod = 30 * time.Second
	}
	if cfg.MinSyncPeriod < 0 || cfg.MinSyncPeriod > cfg.SyncPeriod {
		return nil, fmt.Errorf("proxier: min sync period %v must be between 0 and the sync period %v", cfg.MinSyncPeriod, cfg.SyncPeriod)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LocalAddresses == nil {
		cfg.LocalAddresses = localAddresses
	}
	p := &Proxier{
		lg:           lg,
		cfg:          cfg,
		services:     map[string]*corev1.Service{},
		endpoints:    map[string]*corev1.Endpoints{},
		changes:      map[string]time.Time{},
		needFull:     true,
		trigger:      make(chan struct{}, 1),
		cache:        map[string]*cachedRules{},
		applied:      map[string]*serviceRules{},
		appliedFixed: map[string][]byte{},
	}
	p.lastSuccess.Store(cfg.Now().UnixNano())
	return p, nil
}

// AddEventHandlers feeds p from the Services and Endpoints informers of f.
func (p *Proxier) AddEventHandlers(f *informer.SharedInformerFactory) {
	f.Core().V1().Services().Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Service]{
		AddFunc:    p.OnServiceUpdate,
		UpdateFunc: func(_, s *corev1.Service) { p.OnServiceUpdate(s) },
		DeleteFunc: p.OnServiceDelete,
	})
	f.Core().V1().Endpoints().Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Endpoints]{
		AddFunc:    p.OnEndpointsUpdate,
		UpdateFunc: func(_, e *corev1.Endpoints) { p.OnEndpointsUpdate(e) },
		DeleteFunc: p.OnEndpointsDelete,
	})
}

// OnServiceUpdate records a Service added or changed.
func (p *Proxier) OnServiceUpdate(svc *corev1.Service) {
	p.mu.Lock()
	p.services[informer.MetaNamespaceKeyFunc(svc)] = svc
	p.mu.Unlock()
	p.Trigger()
}

// OnServiceDelete records a Service deleted.
func (p *Proxier) OnServiceDelete(svc *corev1.Service) {
	p.mu.Lock()
	delete(p.services, informer.MetaNamespaceKeyFunc(svc))
	p.mu.Unlock()
	p.Trigger()
}

// OnEndpointsUpdate records Endpoints added or changed.
func (p *Proxier) OnEndpointsUpdate(ep *corev1.Endpoints) {
	key := informer.MetaNamespaceKeyFunc(ep)
	p.mu.Lock()
	p.endpoints[key] = ep
	p.noteChange(key, ep)
	p.mu.Unlock()
	p.Trigger()
}

// OnEndpointsDelete records Endpoints deleted.
func (p *Proxier) OnEndpointsDelete(ep *corev1.Endpoints) {
	key := informer.MetaNamespaceKeyFunc(ep)
	p.mu.Lock()
	delete(p.endpoints, key)
	p.noteChange(key, nil)
	p.mu.Unlock()
	p.Trigger()
}

// noteChange remembers when the change to key happened, for the network
// programming latency: the trigger-time annotation when the endpoints
// controller set one, else now. Callers hold p.mu.
func (p *Proxier) noteChange(key string, ep *corev1.Endpoints) {
	t := p.cfg.Now()
	if s := ep.GetMetadata().GetAnnotations()[triggerAnnotation]; s != "" {
		if at, err := time.Parse(time.RFC3339Nano, s); err == nil && at.Before(t) {
			t = at
		}
	}
	if old, ok := p.changes[key]; !ok || t.Before(old) {
		p.changes[key] = t
	}
}

// SetSynced tells p that the caches have synced: syncs apply rules from
// now on.
func (p *Proxier) SetSynced() {
	p.mu.Lock()
	p.synced = true
	p.mu.Unlock()
	p.Trigger()
}

// RequestFullSync makes the next sync rewrite every chain.
func (p *Proxier) RequestFullSync() {
	p.mu.Lock()
	p.needFull = true
	p.mu.Unlock()
}

// Trigger asks for a sync; triggers arriving before it runs coalesce.
func (p *Proxier) Trigger() {
	select {
	case p.trigger <- struct{}{}:
	default:
	}
}

// Run syncs until ctx ends: when triggered, at most once per
// MinSyncPeriod, fully every SyncPeriod, and again after MinSyncPeriod
// (at least a second; fully) when a sync failed.
func (p *Proxier) Run(ctx context.Context) {
	timer := time.NewTimer(p.cfg.SyncPeriod)
	defer timer.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.trigger:
		case <-timer.C:
			p.RequestFullSync()
		}
		if wait := p.cfg.MinSyncPeriod - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		select { // changes that came while waiting are in this sync
		case <-p.trigger:
		default:
		}
		last = time.Now()
		next := p.cfg.SyncPeriod
		if err := p.Sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			next = max(p.cfg.MinSyncPeriod, time.Second) // no busy loop with --min-sync-period 0
			p.lg.Error("sync failed, retrying with a full sync", zap.Error(err), zap.Duration("after", next))
		} else if d := p.cfg.SyncPeriod - time.Since(p.lastFull); d < next {
			next = max(d, 0)
		}
		timer.Reset(next)
	}
}

// Sync renders the whole desired state and applies what changed since the
// last successful sync (everything on a full sync). It does nothing before
// SetSynced.
func (p *Proxier) Sync(ctx context.Context) error {
	start := p.cfg.Now()
	p.mu.Lock()
	if !p.synced {
		p.mu.Unlock()
		return nil
	}
	full := p.needFull || p.lastFull.IsZero()
	p.needFull = false // a request arriving during this sync stays for the next
	keys := make([]string, 0, len(p.services))
	svcs := make([]*corev1.Service, 0, len(p.services))
	for k := range p.services {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	eps := make([]*corev1.Endpoints, len(keys))
	for i, k := range keys {
		svcs = append(svcs, p.services[k])
		eps[i] = p.endpoints[k]
	}
	changes := p.changes
	p.changes = map[string]time.Time{}
	p.mu.Unlock()

	err := p.sync(ctx, full, keys, svcs, eps)
	end := p.cfg.Now()
	if err != nil {
		p.mu.Lock()
		p.needFull = true
		for k, t := range changes {
			if old, ok := p.changes[k]; !ok || t.Before(old) {
				p.changes[k] = t
			}
		}
		p.mu.Unlock()
		msg := err.Error()
		p.lastErr.Store(&msg)
		p.cfg.Metrics.syncFailed(full)
		return err
	}
	if full {
		p.lastFull = start
	}
	p.lastErr.Store(nil)
	p.lastSuccess.Store(end.UnixNano())
	p.cfg.Metrics.synced(full, end.Sub(start), end)
	for _, t := range changes {
		p.cfg.Metrics.programmed(end.Sub(t))
	}
	return nil
}

func (p *Proxier) sync(ctx context.Context, full bool, keys []string, svcs []*corev1.Service, eps []*corev1.Endpoints) (err error) {
	rc := p.cfg.RenderConfig
	if len(p.cfg.NodePortCIDRs) > 0 {
		addrs, err := p.nodePortAddresses()
		if err != nil {
			return err
		}
		rc.NodePortAddresses = addrs
	}
	now := make(map[string]*serviceRules, len(keys))
	ordered := make([]*serviceRules, 0, len(keys))
	cache := make(map[string]*cachedRules, len(keys))
	for i, key := range keys {
		c := p.cache[key]
		if c == nil || c.svc != svcs[i] || c.ep != eps[i] {
			c = &cachedRules{svc: svcs[i], ep: eps[i], rules: renderService(&p.cfg.RenderConfig, servicePorts(svcs[i], eps[i]))}
		}
		cache[key] = c
		now[key] = c.rules
		ordered = append(ordered, c.rules)
	}
	p.cache = cache
	natFixed, filterFixed := fixedChains(&rc, ordered)

	in := planInput{full: full, keys: keys, now: now, applied: p.applied,
		natFixed: natFixed, filterFixed: filterFixed, appliedFixed: p.appliedFixed}
	if full {
		saved := map[string]map[string][]string{}
		for _, table := range []string{tableFilter, tableNAT} {
			t, err := p.cfg.IPTables.Save(ctx, table)
			if err != nil {
				return err
			}
			saved[table] = t
		}
		if err := p.ensureChains(saved, p.lastFull.IsZero()); err != nil {
			return err
		}
		in.actualNAT = saved[tableNAT]
		// The jumps from the built-in chains go in after the rules: the
		// kernel (nf_tables) checks everything reachable from a built-in
		// chain at each commit that adds jumps, so the chains are cheaper
		// to fill while nothing reaches them yet.
		defer func() {
			if err == nil {
				err = p.ensureJumps(saved, p.lastFull.IsZero())
			}
		}()
	}
	pl := makePlan(in)
	if buf := pl.buffer(); len(buf) > 0 {
		if err := p.cfg.IPTables.Restore(ctx, buf); err != nil {
			return err
		}
	}
	p.cfg.Metrics.rules(countRules(natFixed, ordered), countRules(filterFixed, nil))
	p.flushStaleUDP(ctx, keys, now)
	p.lg.Debug("synced rules", zap.Bool("full", full), zap.Int("services", len(keys)),
		zap.Int("natChainsWritten", len(pl.nat.write)), zap.Int("natChainsDeleted", len(pl.nat.del)))

	p.applied = now
	fixed := make(map[string][]byte, len(natFixed)+len(filterFixed))
	for _, c := range natFixed {
		fixed[tableNAT+"/"+c.name] = c.rules
	}
	for _, c := range filterFixed {
		fixed[tableFilter+"/"+c.name] = c.rules
	}
	p.appliedFixed = fixed
	return nil
}

// ensureChains makes the shared chains with go-iptables: all of them on
// the first sync, then those missing from saved (the tables as
// iptables-save printed them), which someone deleted. Checking the saved
// tables rather than making one iptables call per chain or rule keeps
// periodic syncs cheap: with the nft backend every call reads the table.
func (p *Proxier) ensureChains(saved map[string]map[string][]string, first bool) error {
	for _, c := range fixedChainNames {
		if _, ok := saved[c.table][c.chain]; ok && !first {
			continue
		}
		if err := p.cfg.IPTables.EnsureChain(c.table, c.chain); err != nil {
			return err
		}
	}
	return nil
}

// ensureJumps puts the jumps to the shared chains into the built-in
// chains with go-iptables (which checks each first): all of them on the
// first sync, then those missing from saved.
func (p *Proxier) ensureJumps(saved map[string]map[string][]string, first bool) error {
	for _, j := range jumps {
		if !first && hasJump(saved[j.table][j.chain], j) {
			continue
		}
		if !first {
			p.lg.Info("restoring a jump someone deleted", zap.String("table", j.table), zap.String("chain", j.chain),
				zap.String("rule", strings.Join(j.rule, " ")))
		}
		if err := p.cfg.IPTables.EnsureJump(j.table, j.chain, j.rule); err != nil {
			return err
		}
	}
	return nil
}

// hasJump reports whether rules (iptables-save lines) hold j: a rule to
// j's target with j's comment.
func hasJump(rules []string, j jump) bool {
	target, comment := j.rule[len(j.rule)-1], ""
	for i, w := range j.rule {
		if w == "--comment" && i+1 < len(j.rule) {
			comment = j.rule[i+1]
		}
	}
	for _, r := range rules {
		if strings.HasSuffix(r, " -j "+target) && strings.Contains(r, comment) {
			return true
		}
	}
	return false
}

// nodePortAddresses are the local addresses inside --nodeport-addresses.
func (p *Proxier) nodePortAddresses() ([]string, error) {
	ips, err := p.cfg.LocalAddresses()
	if err != nil {
		return nil, fmt.Errorf("--nodeport-addresses: list local addresses: %w", err)
	}
	out := []string{}
	for _, ip := range ips {
		for _, n := range p.cfg.NodePortCIDRs {
			if ip.To4() != nil && n.Contains(ip) {
				out = append(out, ip.String())
				break
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func localAddresses() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips, nil
}

func countRules(fixed []chainRules, rendered []*serviceRules) int {
	n := 0
	for _, c := range fixed {
		n += bytes.Count(c.rules, []byte{'\n'})
	}
	for _, r := range rendered {
		n += r.natRules
	}
	return n
}

// Healthy reports whether the rules are fresh: the last sync succeeded and
// it is no older than twice the sync period.
func (p *Proxier) Healthy() error {
	if msg := p.lastErr.Load(); msg != nil {
		return fmt.Errorf("stale: last sync failed: %s", *msg)
	}
	last := time.Unix(0, p.lastSuccess.Load())
	if age := p.cfg.Now().Sub(last); age > 2*p.cfg.SyncPeriod {
		return fmt.Errorf("stale: last successful sync %v ago (at %s)", age.Round(time.Millisecond), last.UTC().Format(time.RFC3339))
	}
	return nil
}

// Cleanup removes every rule and chain skiff-kube-proxy made (and
// kube-proxy's of the same names), leaving all others alone.
func Cleanup(ctx context.Context, ipt IPTables) error {
	var errs []error
	for _, j := range jumps {
		if err := ipt.DeleteJump(j.table, j.chain, j.rule); err != nil {
			errs = append(errs, err)
		}
	}
	var pl plan
	for _, t := range []struct {
		table string
		u     *tableUpdate
	}{{tableNAT, &pl.nat}, {tableFilter, &pl.filter}} {
		chains, err := ipt.Save(ctx, t.table)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for c := range chains {
			if ownedChain(t.table, c) {
				t.u.del = append(t.u.del, c)
			}
		}
		slices.Sort(t.u.del)
	}
	if buf := pl.buffer(); len(buf) > 0 {
		if err := ipt.Restore(ctx, buf); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
