package validation

import (
	"fmt"
	"slices"
	"strconv"

	corev1 "skiff.dev/proto/core/v1"
	apivalidation "skiff.dev/proto/validation"
	"skiff.dev/proto/validation/field"
)

// Service field values.
const (
	ServiceTypeClusterIP    = "ClusterIP"
	ServiceTypeNodePort     = "NodePort"
	ServiceTypeLoadBalancer = "LoadBalancer"
	ServiceTypeExternalName = "ExternalName"

	// ClusterIPNone marks a headless service.
	ClusterIPNone = "None"

	SessionAffinityNone     = "None"
	SessionAffinityClientIP = "ClientIP"

	TrafficPolicyCluster = "Cluster"
	TrafficPolicyLocal   = "Local"
)

var (
	serviceTypes      = []string{ServiceTypeClusterIP, ServiceTypeNodePort}
	sessionAffinities = []string{SessionAffinityClientIP, SessionAffinityNone}
	trafficPolicies   = []string{TrafficPolicyCluster, TrafficPolicyLocal}
)

// DefaultService fills a service's defaults: type ClusterIP,
// sessionAffinity None, internalTrafficPolicy Cluster, externalTrafficPolicy
// Cluster for NodePort services, port protocol TCP, targetPort equal to
// port, and clusterIPs from clusterIP (and back).
func DefaultService(s *corev1.Service) {
	if s == nil {
		return
	}
	if s.Spec == nil {
		s.Spec = &corev1.ServiceSpec{}
	}
	sp := s.Spec
	if sp.Type == "" {
		sp.Type = ServiceTypeClusterIP
	}
	if sp.SessionAffinity == "" {
		sp.SessionAffinity = SessionAffinityNone
	}
	if sp.InternalTrafficPolicy == "" {
		sp.InternalTrafficPolicy = TrafficPolicyCluster
	}
	if sp.Type == ServiceTypeNodePort && sp.ExternalTrafficPolicy == "" {
		sp.ExternalTrafficPolicy = TrafficPolicyCluster
	}
	for _, p := range sp.Ports {
		if p == nil {
			continue
		}
		if p.Protocol == "" {
			p.Protocol = ProtocolTCP
		}
		if p.TargetPort == "" && p.Port != 0 {
			p.TargetPort = strconv.Itoa(int(p.Port))
		}
	}
	if len(sp.ClusterIps) == 0 && sp.ClusterIp != "" {
		sp.ClusterIps = []string{sp.ClusterIp}
	}
	if sp.ClusterIp == "" && len(sp.ClusterIps) > 0 {
		sp.ClusterIp = sp.ClusterIps[0]
	}
}

// ValidateService checks a new service. Skiff supports the ClusterIP and
// NodePort types; a headless service (clusterIP "None") may have no ports.
func ValidateService(s *corev1.Service) field.ErrorList {
	errs := validateObjectMeta(s.GetMetadata(), namespaced, dnsLabelName, metadataPath)
	return append(errs, validateServiceSpec(s.GetSpec(), specPath)...)
}

func validateServiceSpec(sp *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	if sp == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	errs := validateEnum(sp.Type, serviceTypes, p.Child("type"))
	headless := sp.ClusterIp == ClusterIPNone
	if len(sp.Ports) == 0 && !headless {
		errs = append(errs, field.Required(p.Child("ports"), ""))
	}
	names := map[string]bool{}
	portKeys := map[string]bool{}
	nodePorts := map[string]bool{}
	for i, port := range sp.Ports {
		ip := p.Child("ports").Index(i)
		if port == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		errs = append(errs, validateServicePort(port, len(sp.Ports) > 1, sp.Type, names, ip)...)
		key := fmt.Sprintf("%d/%s", port.Port, port.Protocol)
		if portKeys[key] {
			errs = append(errs, field.Duplicate(ip, key))
		}
		portKeys[key] = true
		if port.NodePort != 0 {
			key := fmt.Sprintf("%d/%s", port.NodePort, port.Protocol)
			if nodePorts[key] {
				errs = append(errs, field.Duplicate(ip.Child("nodePort"), key))
			}
			nodePorts[key] = true
		}
	}
	switch {
	case sp.ClusterIp == "":
	case headless && sp.Type == ServiceTypeNodePort:
		errs = append(errs, field.Invalid(p.Child("clusterIP"), sp.ClusterIp, "may not be set to 'None' for NodePort services"))
	case !headless && len(validateIP(sp.ClusterIp, p)) > 0:
		errs = append(errs, field.Invalid(p.Child("clusterIP"), sp.ClusterIp, "must be empty, 'None', or a valid IP address"))
	}
	for i, ip := range sp.ClusterIps {
		cp := p.Child("clusterIPs").Index(i)
		switch {
		case i == 0 && ip != sp.ClusterIp:
			errs = append(errs, field.Invalid(cp, ip, "must match `clusterIP`"))
		case ip != ClusterIPNone && len(validateIP(ip, cp)) > 0:
			errs = append(errs, field.Invalid(cp, ip, "must be 'None' or a valid IP address"))
		}
	}
	errs = append(errs, validateLabels(sp.Selector, p.Child("selector"))...)
	errs = append(errs, validateEnum(sp.SessionAffinity, sessionAffinities, p.Child("sessionAffinity"))...)
	if sp.Type == ServiceTypeNodePort {
		errs = append(errs, validateEnum(sp.ExternalTrafficPolicy, trafficPolicies, p.Child("externalTrafficPolicy"))...)
	} else if sp.ExternalTrafficPolicy != "" {
		errs = append(errs, field.Invalid(p.Child("externalTrafficPolicy"), sp.ExternalTrafficPolicy,
			"may only be set when `type` is 'NodePort'"))
	}
	errs = append(errs, validateEnum(sp.InternalTrafficPolicy, trafficPolicies, p.Child("internalTrafficPolicy"))...)
	for i, ip := range sp.ExternalIps {
		errs = append(errs, validateIP(ip, p.Child("externalIPs").Index(i))...)
	}
	return errs
}

// validateServicePort checks one port of a service of type svcType;
// names collects port names so that they are unique.
func validateServicePort(port *corev1.ServicePort, requireName bool, svcType string, names map[string]bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case port.Name == "" && requireName:
		errs = append(errs, field.Required(p.Child("name"), "must be set when a service has more than one port"))
	case port.Name == "":
	case names[port.Name]:
		errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
	default:
		errs = append(errs, validateDNSLabel(port.Name, p.Child("name"))...)
	}
	names[port.Name] = true
	errs = append(errs, invalidAll(p.Child("port"), port.Port, apivalidation.IsValidPortNum(int(port.Port)))...)
	errs = append(errs, validateEnum(port.Protocol, protocols, p.Child("protocol"))...)
	errs = append(errs, validatePortNumOrName(port.TargetPort, p.Child("targetPort"))...)
	if port.NodePort != 0 {
		if svcType != ServiceTypeNodePort {
			errs = append(errs, field.Forbidden(p.Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", svcType)))
		} else {
			errs = append(errs, invalidAll(p.Child("nodePort"), port.NodePort, apivalidation.IsValidPortNum(int(port.NodePort)))...)
		}
	}
	return errs
}

// ValidateServiceUpdate checks a service update: the new service must be
// valid and a cluster IP, once set, may not change. Node ports may change.
func ValidateServiceUpdate(newObj, old *corev1.Service) field.ErrorList {
	errs := ValidateService(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	newSpec, oldSpec := newObj.GetSpec(), old.GetSpec()
	switch {
	case oldSpec.GetClusterIp() != "" && newSpec.GetClusterIp() != oldSpec.GetClusterIp():
		errs = append(errs, field.Immutable(specPath.Child("clusterIP"), newSpec.GetClusterIp()))
	case len(oldSpec.GetClusterIps()) > 0 && !slices.Equal(newSpec.GetClusterIps(), oldSpec.GetClusterIps()):
		errs = append(errs, field.Immutable(specPath.Child("clusterIPs"), fmt.Sprint(newSpec.GetClusterIps())))
	}
	return errs
}

// ValidateServiceStatusUpdate checks an update through the status
// subresource: metadata rules and load balancer ingress IPs.
func ValidateServiceStatusUpdate(newObj, old *corev1.Service) field.ErrorList {
	errs := validateStatusMeta(newObj.GetMetadata(), old.GetMetadata(), namespaced, dnsLabelName)
	for i, in := range newObj.GetStatus().GetLoadBalancer().GetIngress() {
		if in.GetIp() != "" {
			errs = append(errs, validateIP(in.GetIp(), statusPath.Child("loadBalancer", "ingress").Index(i).Child("ip"))...)
		}
	}
	return errs
}

// PreserveAllocatedServiceValues copies into an updated service the values
// the apiserver allocated that the update leaves empty, as Kubernetes does
// for clients that send a service without them (kubectl apply of the
// original manifest): clusterIP and clusterIPs, and, while the service
// stays NodePort, each port's nodePort, matched by port name and not
// already used by another port of the update.
func PreserveAllocatedServiceValues(newObj, old *corev1.Service) {
	newSpec, oldSpec := newObj.GetSpec(), old.GetSpec()
	if newSpec == nil || oldSpec == nil {
		return
	}
	if newSpec.ClusterIp == "" && len(newSpec.ClusterIps) == 0 {
		newSpec.ClusterIp = oldSpec.ClusterIp
		newSpec.ClusterIps = slices.Clone(oldSpec.ClusterIps)
	}
	if newSpec.Type != ServiceTypeNodePort || oldSpec.Type != ServiceTypeNodePort {
		return
	}
	used := map[int32]bool{}
	for _, np := range newSpec.Ports {
		used[np.GetNodePort()] = true
	}
	byName := map[string]int32{}
	for _, op := range oldSpec.Ports {
		byName[op.GetName()] = op.GetNodePort()
	}
	for _, np := range newSpec.Ports {
		if np == nil || np.NodePort != 0 {
			continue
		}
		if old, ok := byName[np.Name]; ok && old != 0 && !used[old] {
			np.NodePort = old
			used[old] = true
		}
	}
}
