package proxier

import (
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "skiff.dev/proto/core/v1"
)

// DefaultAffinityTimeout is ClientIP affinity's timeout when the Service
// does not set spec.sessionAffinityConfig.clientIP.timeoutSeconds (three
// hours, as Kubernetes).
const DefaultAffinityTimeout = 10800

// servicePort is one port of one Service with its ready endpoints: what
// the rules of that port are rendered from.
type servicePort struct {
	name      string // Kubernetes' ServicePortName: "ns/svc:port" or "ns/svc"
	protocol  string // "tcp" or "udp"
	clusterIP string
	port      int32
	nodePort  int32
	affinity  int32 // ClientIP affinity timeout in seconds; 0: no affinity
	chain     string
	endpoints []endpoint // sorted by address
}

// endpoint is one ready address of a service port.
type endpoint struct {
	ip    string
	port  int32
	addr  string // ip:port
	chain string
}

// proxied reports whether skiff-kube-proxy renders rules for svc: a
// ClusterIP, NodePort or LoadBalancer Service with an IPv4 cluster IP.
func proxied(svc *corev1.Service) bool {
	sp := svc.GetSpec()
	switch sp.GetType() {
	case "", "ClusterIP", "NodePort", "LoadBalancer":
	default:
		return false
	}
	ip := net.ParseIP(sp.GetClusterIp())
	return ip != nil && ip.To4() != nil
}

// servicePorts are the ports of svc with their endpoints from ep (nil when
// the Service has no Endpoints object yet).
func servicePorts(svc *corev1.Service, ep *corev1.Endpoints) []servicePort {
	if !proxied(svc) {
		return nil
	}
	sp := svc.GetSpec()
	key := svc.GetMetadata().GetNamespace() + "/" + svc.GetMetadata().GetName()
	var affinity int32
	if sp.GetSessionAffinity() == "ClientIP" {
		affinity = DefaultAffinityTimeout
		if t := sp.GetSessionAffinityConfig().GetClientIp().GetTimeoutSeconds(); t > 0 {
			affinity = t
		}
	}
	out := make([]servicePort, 0, len(sp.GetPorts()))
	for _, p := range sp.GetPorts() {
		protocol := strings.ToLower(p.GetProtocol())
		if protocol == "" {
			protocol = "tcp"
		}
		if protocol != "tcp" && protocol != "udp" {
			continue // SCTP is not proxied
		}
		name := key
		if p.GetName() != "" {
			name += ":" + p.GetName()
		}
		port := servicePort{
			name:      name,
			protocol:  protocol,
			clusterIP: sp.GetClusterIp(),
			port:      p.GetPort(),
			affinity:  affinity,
			chain:     serviceChainName(name, protocol),
		}
		if sp.GetType() == "NodePort" || sp.GetType() == "LoadBalancer" {
			port.nodePort = p.GetNodePort()
		}
		port.endpoints = endpointsFor(ep, p.GetName(), protocol, name)
		out = append(out, port)
	}
	return out
}

// endpointsFor are the ready addresses of ep for the service port named
// portName: the Endpoints port of the same name and protocol gives the
// target port, which resolves named target ports as the endpoints
// controller did.
func endpointsFor(ep *corev1.Endpoints, portName, protocol, spName string) []endpoint {
	var out []endpoint
	seen := map[string]bool{}
	for _, ss := range ep.GetSubsets() {
		var port int32
		for _, p := range ss.GetPorts() {
			pp := strings.ToLower(p.GetProtocol())
			if pp == "" {
				pp = "tcp"
			}
			if p.GetName() == portName && pp == protocol {
				port = p.GetPort()
				break
			}
		}
		if port <= 0 || port > 65535 {
			continue
		}
		for _, a := range ss.GetAddresses() {
			ip := net.ParseIP(a.GetIp())
			if ip == nil || ip.To4() == nil {
				continue
			}
			addr := net.JoinHostPort(ip.String(), strconv.Itoa(int(port)))
			if seen[addr] {
				continue
			}
			seen[addr] = true
			out = append(out, endpoint{ip: ip.String(), port: port, addr: addr,
				chain: endpointChainName(spName, protocol, addr)})
		}
	}
	slices.SortFunc(out, func(a, b endpoint) int { return strings.Compare(a.addr, b.addr) })
	return out
}
