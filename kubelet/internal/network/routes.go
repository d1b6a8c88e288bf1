package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/labels"
)

// NodeRoutesResync is how often RunNodeRoutes re-applies the routes even
// when no Node changed (someone may have deleted one by hand).
const NodeRoutesResync = time.Minute

// SyncNodeRoutes makes the node's host-gw routes match nodes: one route
// for every other node's podCIDR via that node's InternalIP, marked with
// RouteProtocol. Routes of this protocol that no node wants any more are
// removed; no other route is touched. Nodes without a podCIDR or an IPv4
// InternalIP are skipped. It goes on past a route that fails and returns
// all failures.
func (m *Manager) SyncNodeRoutes(nodes []*corev1.Node) error {
	own := m.PodCIDR()
	want := map[string]net.IP{}
	for _, n := range nodes {
		cidr, gw := nodeRoute(n)
		if n.GetMetadata().GetName() == m.cfg.NodeName || cidr == nil || gw == nil || cidr.String() == own {
			continue
		}
		want[cidr.String()] = gw
	}
	have, err := m.host.RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("network: list host-gw routes: %w", err)
	}
	var errs []error
	for _, r := range have {
		if r.Gw == nil || r.Dst == nil { // the service CIDR's route, not a node's
			continue
		}
		if gw, ok := want[r.Dst.String()]; ok && gw.Equal(r.Gw) {
			delete(want, r.Dst.String())
			continue
		}
		if _, ok := want[r.Dst.String()]; ok {
			continue // RouteReplace below moves it to the new gateway
		}
		if err := m.host.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("network: remove route to %s via %s: %w", r.Dst, r.Gw, err))
			continue
		}
		m.lg.Info("removed host-gw route", zap.Stringer("podCIDR", r.Dst), zap.Stringer("via", r.Gw))
	}
	for dst, gw := range want {
		_, cidr, _ := net.ParseCIDR(dst)
		if err := m.host.RouteReplace(&netlink.Route{Dst: cidr, Gw: gw, Protocol: RouteProtocol}); err != nil {
			errs = append(errs, fmt.Errorf("network: route %s via %s (is the node's InternalIP on this node's network?): %w", dst, gw, err))
			continue
		}
		m.lg.Info("added host-gw route", zap.String("podCIDR", dst), zap.Stringer("via", gw))
	}
	return errors.Join(errs...)
}

// nodeRoute is a node's podCIDR and IPv4 InternalIP, or nils.
func nodeRoute(n *corev1.Node) (*net.IPNet, net.IP) {
	cidr, err := parseIPv4CIDR(n.GetSpec().GetPodCidr())
	if err != nil {
		return nil, nil
	}
	for _, a := range n.GetStatus().GetAddresses() {
		if a.GetType() == "InternalIP" {
			if ip := net.ParseIP(a.GetAddress()).To4(); ip != nil {
				return cidr, ip
			}
		}
	}
	return cidr, nil
}

// RunNodeRoutes keeps the host-gw routes in step with the Nodes of the
// informer (which the caller starts) until ctx ends: after every change of
// a Node's podCIDR or addresses, and every NodeRoutesResync. Failed syncs
// are logged and retried.
func (m *Manager) RunNodeRoutes(ctx context.Context, nodes informer.TypedInformer[*corev1.Node]) error {
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	nodes.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Node]{
		AddFunc: func(*corev1.Node) { poke() },
		UpdateFunc: func(o, n *corev1.Node) {
			if o.GetSpec().GetPodCidr() != n.GetSpec().GetPodCidr() ||
				!proto.Equal(&corev1.NodeStatus{Addresses: o.GetStatus().GetAddresses()}, &corev1.NodeStatus{Addresses: n.GetStatus().GetAddresses()}) {
				poke()
			}
		},
		DeleteFunc: func(*corev1.Node) { poke() },
	})
	if !informer.WaitForCacheSync(ctx, nodes.Informer().HasSynced) {
		return nil // ctx ended
	}
	tick := time.NewTicker(NodeRoutesResync)
	defer tick.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-tick.C:
		case <-retry.C:
		}
		if err := m.SyncNodeRoutes(nodes.Lister().List(labels.Everything())); err != nil {
			m.lg.Warn("host-gw routes out of step, retrying", zap.Error(err))
			retry.Reset(5 * time.Second)
		}
	}
}
