package validation

import (
	"fmt"
	"maps"
	"slices"

	corev1 "skiff.dev/proto/core/v1"
	apivalidation "skiff.dev/proto/validation"
	"skiff.dev/proto/validation/field"
)

var (
	nodeAddressTypes   = []string{"Hostname", "InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS"}
	nodeConditionTypes = []string{"Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"}
)

// DefaultNode fills a node's defaults: status.allocatable is capacity when
// the node reports no allocatable.
func DefaultNode(n *corev1.Node) {
	if st := n.GetStatus(); st != nil && st.Allocatable == nil && st.Capacity != nil {
		st.Allocatable = maps.Clone(st.Capacity)
	}
}

// ValidateNode checks a new node: a cluster-scoped DNS-1123 subdomain name,
// valid pod CIDRs and taints.
func ValidateNode(n *corev1.Node) field.ErrorList {
	errs := validateObjectMeta(n.GetMetadata(), clusterScoped, dnsSubdomainName, metadataPath)
	errs = append(errs, validateNodeSpec(n.GetSpec(), specPath)...)
	return append(errs, validateNodeStatus(n.GetStatus(), statusPath)...)
}

func validateNodeSpec(s *corev1.NodeSpec, p *field.Path) field.ErrorList {
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	if s.PodCidr != "" {
		errs = append(errs, validateCIDR(s.PodCidr, p.Child("podCIDR"))...)
	}
	for i, c := range s.PodCidrs {
		errs = append(errs, validateCIDR(c, p.Child("podCIDRs").Index(i))...)
	}
	if len(s.PodCidrs) > 0 && s.PodCidr != "" && s.PodCidrs[0] != s.PodCidr {
		errs = append(errs, field.Invalid(p.Child("podCIDRs").Index(0), s.PodCidrs[0], "must match `podCIDR`"))
	}
	if len(s.PodCidrs) > 2 {
		errs = append(errs, field.Invalid(p.Child("podCIDRs"), fmt.Sprint(s.PodCidrs), "may specify no more than one CIDR for each IP family"))
	}
	return append(errs, validateTaints(s.Taints, p.Child("taints"))...)
}

// validateTaints checks taint keys, values and effects, and that no two
// taints share a key and effect.
func validateTaints(taints []*corev1.Taint, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, t := range taints {
		ip := p.Index(i)
		if t == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		errs = append(errs, validateLabelName(t.Key, ip.Child("key"))...)
		errs = append(errs, invalidAll(ip.Child("value"), t.Value, apivalidation.IsValidLabelValue(t.Value))...)
		errs = append(errs, validateEnum(t.Effect, taintEffects, ip.Child("effect"))...)
		key := t.Key + ":" + t.Effect
		if seen[key] {
			errs = append(errs, field.Duplicate(ip, key))
		}
		seen[key] = true
	}
	return errs
}

// validateNodeStatus checks what a kubelet reports: quantities, address
// types and condition statuses.
func validateNodeStatus(st *corev1.NodeStatus, p *field.Path) field.ErrorList {
	if st == nil {
		return nil
	}
	var errs field.ErrorList
	for _, k := range sortedKeys(st.Capacity) {
		errs = append(errs, validateQuantity(st.Capacity[k], p.Child("capacity").Key(k))...)
	}
	for _, k := range sortedKeys(st.Allocatable) {
		errs = append(errs, validateQuantity(st.Allocatable[k], p.Child("allocatable").Key(k))...)
	}
	for i, a := range st.Addresses {
		ap := p.Child("addresses").Index(i)
		errs = append(errs, validateEnum(a.GetType(), nodeAddressTypes, ap.Child("type"))...)
		if a.GetAddress() == "" {
			errs = append(errs, field.Required(ap.Child("address"), ""))
		}
	}
	for i, c := range st.Conditions {
		cp := p.Child("conditions").Index(i)
		if c.GetType() == "" {
			errs = append(errs, field.Required(cp.Child("type"), ""))
		}
		errs = append(errs, validateEnum(c.GetStatus(), conditionStatus, cp.Child("status"))...)
	}
	if port := st.GetDaemonEndpoints().GetKubeletEndpoint().GetPort(); port != 0 {
		errs = append(errs, invalidAll(p.Child("daemonEndpoints", "kubeletEndpoint", "Port"), port, apivalidation.IsValidPortNum(int(port)))...)
	}
	return errs
}

// ValidateNodeUpdate checks a node update: the new node must be valid, and
// podCIDR(s) and providerID may be set once but not changed.
func ValidateNodeUpdate(newObj, old *corev1.Node) field.ErrorList {
	errs := ValidateNode(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	newSpec, oldSpec := newObj.GetSpec(), old.GetSpec()
	if oldSpec.GetPodCidr() != "" && newSpec.GetPodCidr() != oldSpec.GetPodCidr() {
		errs = append(errs, field.Forbidden(specPath.Child("podCIDR"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if len(oldSpec.GetPodCidrs()) > 0 && !slices.Equal(newSpec.GetPodCidrs(), oldSpec.GetPodCidrs()) {
		errs = append(errs, field.Forbidden(specPath.Child("podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if oldSpec.GetProviderId() != "" && newSpec.GetProviderId() != oldSpec.GetProviderId() {
		errs = append(errs, field.Forbidden(specPath.Child("providerID"), "node updates may only set providerID once"))
	}
	return errs
}

// ValidateNodeStatusUpdate checks an update through the status subresource.
func ValidateNodeStatusUpdate(newObj, old *corev1.Node) field.ErrorList {
	errs := validateStatusMeta(newObj.GetMetadata(), old.GetMetadata(), clusterScoped, dnsSubdomainName)
	return append(errs, validateNodeStatus(newObj.GetStatus(), statusPath)...)
}
