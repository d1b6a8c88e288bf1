package proxier

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// Chains skiff-kube-proxy owns. The fixed ones are made at bootstrap; the
// per-service ones carry the prefixes below and are named as Kubernetes
// names them, so an operator's `iptables -t nat -L KUBE-SVC-…` habits and
// tools keep working.
const (
	chainServices         = "KUBE-SERVICES"
	chainExternalServices = "KUBE-EXTERNAL-SERVICES"
	chainNodePorts        = "KUBE-NODEPORTS"
	chainPostrouting      = "KUBE-POSTROUTING"
	chainMarkMasq         = "KUBE-MARK-MASQ"

	prefixService  = "KUBE-SVC-"
	prefixEndpoint = "KUBE-SEP-"

	// masqMark is the bit KUBE-MARK-MASQ sets and KUBE-POSTROUTING
	// masquerades, as kube-proxy's default --iptables-masquerade-bit 14.
	masqMark = "0x4000"

	tableNAT    = "nat"
	tableFilter = "filter"
)

// hashSuffix is Kubernetes' chain name suffix: the first 16 characters of
// the base32 of the sha256 of s.
func hashSuffix(s string) string {
	h := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(h[:])[:16]
}

// serviceChainName is KUBE-SVC-<hash> of a service port, given as
// Kubernetes' ServicePortName string ("ns/name:port", or "ns/name" for an
// unnamed port) and the lower-case protocol ("tcp").
func serviceChainName(portName, protocol string) string {
	return prefixService + hashSuffix(portName+protocol)
}

// endpointChainName is KUBE-SEP-<hash> of one endpoint ("ip:port") of a
// service port.
func endpointChainName(portName, protocol, endpoint string) string {
	return prefixEndpoint + hashSuffix(portName+protocol+endpoint)
}

// probability is the statistic match's probability for the endpoint that
// n endpoints are left to choose from (1/(n-i) for the i-th of n), written
// as Kubernetes writes it.
func probability(n int) string {
	return fmt.Sprintf("%0.10f", 1.0/float64(n))
}

// ownedChain reports whether a chain of table is skiff-kube-proxy's.
func ownedChain(table, chain string) bool {
	switch table {
	case tableNAT:
		switch chain {
		case chainServices, chainNodePorts, chainPostrouting, chainMarkMasq:
			return true
		}
		return strings.HasPrefix(chain, prefixService) || strings.HasPrefix(chain, prefixEndpoint)
	case tableFilter:
		return chain == chainServices || chain == chainExternalServices
	}
	return false
}
