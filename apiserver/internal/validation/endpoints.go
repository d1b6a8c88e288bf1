package validation

import (
	"net/netip"

	corev1 "skiff.dev/proto/core/v1"
	apivalidation "skiff.dev/proto/validation"
	"skiff.dev/proto/validation/field"
)

// DefaultEndpoints fills an Endpoints' defaults: port protocol TCP.
func DefaultEndpoints(e *corev1.Endpoints) {
	for _, s := range e.GetSubsets() {
		for _, p := range s.GetPorts() {
			if p != nil && p.Protocol == "" {
				p.Protocol = ProtocolTCP
			}
		}
	}
}

// ValidateEndpoints checks new Endpoints: every subset has addresses and
// ports, addresses are usable pod IPs, ports are valid and named when more
// than one.
func ValidateEndpoints(e *corev1.Endpoints) field.ErrorList {
	errs := validateObjectMeta(e.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	sp := field.NewPath("subsets")
	for i, s := range e.GetSubsets() {
		errs = append(errs, validateEndpointSubset(s, sp.Index(i))...)
	}
	return errs
}

func validateEndpointSubset(s *corev1.EndpointSubset, p *field.Path) field.ErrorList {
	if s == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	if len(s.Addresses) == 0 && len(s.NotReadyAddresses) == 0 {
		errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
	}
	for i, a := range s.Addresses {
		errs = append(errs, validateEndpointAddress(a, p.Child("addresses").Index(i))...)
	}
	for i, a := range s.NotReadyAddresses {
		errs = append(errs, validateEndpointAddress(a, p.Child("notReadyAddresses").Index(i))...)
	}
	if len(s.Ports) == 0 {
		errs = append(errs, field.Required(p.Child("ports"), ""))
	}
	names := map[string]bool{}
	for i, port := range s.Ports {
		ip := p.Child("ports").Index(i)
		if port == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		switch {
		case port.Name == "" && len(s.Ports) > 1:
			errs = append(errs, field.Required(ip.Child("name"), "must be set when a subset has more than one port"))
		case port.Name == "":
		case names[port.Name]:
			errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
		default:
			errs = append(errs, validateDNSLabel(port.Name, ip.Child("name"))...)
		}
		names[port.Name] = true
		errs = append(errs, invalidAll(ip.Child("port"), port.Port, apivalidation.IsValidPortNum(int(port.Port)))...)
		errs = append(errs, validateEnum(port.Protocol, protocols, ip.Child("protocol"))...)
	}
	return errs
}

// validateEndpointAddress checks an endpoint: an IP traffic can be sent to
// (not unspecified, loopback, link-local or multicast), and valid hostname
// and node name.
func validateEndpointAddress(a *corev1.EndpointAddress, p *field.Path) field.ErrorList {
	if a == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	ipPath := p.Child("ip")
	errs := validateIP(a.Ip, ipPath)
	if len(errs) == 0 {
		addr := netip.MustParseAddr(a.Ip)
		switch {
		case addr.IsUnspecified():
			errs = append(errs, field.Invalid(ipPath, a.Ip, "may not be unspecified (0.0.0.0)"))
		case addr.IsLoopback():
			errs = append(errs, field.Invalid(ipPath, a.Ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
		case addr.IsLinkLocalUnicast():
			errs = append(errs, field.Invalid(ipPath, a.Ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
		case addr.IsLinkLocalMulticast(), addr.IsMulticast():
			errs = append(errs, field.Invalid(ipPath, a.Ip, "may not be in the multicast range (224.0.0.0/4, ff00::/8)"))
		}
	}
	if a.Hostname != "" {
		errs = append(errs, validateDNSLabel(a.Hostname, p.Child("hostname"))...)
	}
	if a.NodeName != nil {
		errs = append(errs, validateDNSSubdomain(*a.NodeName, p.Child("nodeName"))...)
	}
	return errs
}

// ValidateEndpointsUpdate checks an Endpoints update.
func ValidateEndpointsUpdate(newObj, old *corev1.Endpoints) field.ErrorList {
	return append(ValidateEndpoints(newObj), validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
}
