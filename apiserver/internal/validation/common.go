package validation

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"skiff.dev/proto/intstr"
	apivalidation "skiff.dev/proto/validation"
	"skiff.dev/proto/validation/field"
)

// errorTypeNotFound is Kubernetes' "Not found" error type, for a reference
// to something that does not exist (a volume mount naming no volume).
// skiff.dev/proto/validation/field has no constructor for it yet.
const errorTypeNotFound field.ErrorType = "Not found"

// notFound reports a reference to something that does not exist.
func notFound(p *field.Path, value any) *field.Error {
	return &field.Error{Type: errorTypeNotFound, Field: p.String(), BadValue: value}
}

// nameFunc checks an object name; prefix says the name is a generateName
// prefix, to which the server appends random characters.
type nameFunc func(name string, prefix bool) []string

// dnsSubdomainName is the name rule of most kinds.
func dnsSubdomainName(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return apivalidation.IsDNS1123Subdomain(name)
}

// dnsLabelName is the name rule of namespaces and services.
func dnsLabelName(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return apivalidation.IsDNS1123Label(name)
}

// maskTrailingDash replaces a final '-' by a letter, since a generateName
// prefix such as "web-" is valid once random characters follow it.
func maskTrailingDash(name string) string {
	if len(name) > 1 && strings.HasSuffix(name, "-") {
		return name[:len(name)-1] + "a"
	}
	return name
}

// invalidAll turns every reason of a check into an Invalid error at p.
func invalidAll(p *field.Path, value any, reasons []string) field.ErrorList {
	var errs field.ErrorList
	for _, r := range reasons {
		errs = append(errs, field.Invalid(p, value, r))
	}
	return errs
}

const (
	isNegativeMsg    = "must be greater than or equal to 0"
	isNotPositiveMsg = "must be greater than 0"
)

// validateNonnegative reports a negative count.
func validateNonnegative(v int64, p *field.Path) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(p, v, isNegativeMsg)}
	}
	return nil
}

// validatePositive reports a count that is zero or negative.
func validatePositive(v int64, p *field.Path) field.ErrorList {
	if v <= 0 {
		return field.ErrorList{field.Invalid(p, v, isNotPositiveMsg)}
	}
	return nil
}

// validateOptionalNonnegative checks an optional count when it is set.
func validateOptionalNonnegative(v *int32, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return validateNonnegative(int64(*v), p)
}

// validateEnum reports an empty value as required and any value outside
// valid as not supported.
func validateEnum(v string, valid []string, p *field.Path) field.ErrorList {
	switch {
	case v == "":
		return field.ErrorList{field.Required(p, "")}
	case !slices.Contains(valid, v):
		return field.ErrorList{field.NotSupported(p, v, valid)}
	}
	return nil
}

// validateOptionalEnum is validateEnum for a field that may stay empty.
func validateOptionalEnum(v string, valid []string, p *field.Path) field.ErrorList {
	if v == "" {
		return nil
	}
	return validateEnum(v, valid, p)
}

// validateDNSLabel checks a field holding a DNS-1123 label.
func validateDNSLabel(v string, p *field.Path) field.ErrorList {
	return invalidAll(p, v, apivalidation.IsDNS1123Label(v))
}

// validateDNSSubdomain checks a field holding a DNS-1123 subdomain.
func validateDNSSubdomain(v string, p *field.Path) field.ErrorList {
	return invalidAll(p, v, apivalidation.IsDNS1123Subdomain(v))
}

// validateLabelName checks a label key (a qualified name).
func validateLabelName(k string, p *field.Path) field.ErrorList {
	return invalidAll(p, k, apivalidation.IsQualifiedName(k))
}

// validateLabels checks the keys and values of a label map (also used for
// node selectors and service selectors).
func validateLabels(labels map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedKeys(labels) {
		errs = append(errs, validateLabelName(k, p)...)
		errs = append(errs, invalidAll(p, labels[k], apivalidation.IsValidLabelValue(labels[k]))...)
	}
	return errs
}

// sortedKeys gives a map's keys in order, so errors come out in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---------------------------------------------------------------- names and values

// validatePortNumOrName checks an IntOrString port (probe port, service
// targetPort): a number in 1-65535 or an IANA port name.
func validatePortNumOrName(port string, p *field.Path) field.ErrorList {
	if port == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return invalidAll(p, port, intstr.ValidatePortNumOrName(port))
}

var envVarNameRE = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)

// isEnvVarName checks an environment variable name.
func isEnvVarName(v string) []string {
	if !envVarNameRE.MatchString(v) {
		return []string{"a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"}
	}
	return nil
}

var configKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// isConfigMapKey checks a key of a ConfigMap or Secret, which becomes a
// file name when mounted.
func isConfigMapKey(v string) []string {
	var errs []string
	if len(v) > apivalidation.DNS1123SubdomainMaxLength {
		errs = append(errs, fmt.Sprintf("must be no more than %d characters", apivalidation.DNS1123SubdomainMaxLength))
	}
	if !configKeyRE.MatchString(v) {
		errs = append(errs, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
	}
	switch {
	case v == ".":
		errs = append(errs, "must not be '.'")
	case v == "..":
		errs = append(errs, "must not be '..'")
	case strings.HasPrefix(v, ".."):
		errs = append(errs, "must not start with '..'")
	}
	return errs
}

// validateIP checks a field that must hold an IPv4 or IPv6 address.
func validateIP(v string, p *field.Path) field.ErrorList {
	if _, err := netip.ParseAddr(v); err != nil || strings.Contains(v, "%") {
		return field.ErrorList{field.Invalid(p, v, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")}
	}
	return nil
}

// validateCIDR checks a field that must hold a CIDR such as 10.244.1.0/24.
func validateCIDR(v string, p *field.Path) field.ErrorList {
	if _, err := netip.ParsePrefix(v); err != nil {
		return field.ErrorList{field.Invalid(p, v, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")}
	}
	return nil
}

// validateRelativePath checks a path that must stay below a directory:
// relative and without "..".
func validateRelativePath(v string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(v, "/") {
		errs = append(errs, field.Invalid(p, v, "must be a relative path"))
	}
	errs = append(errs, validateNoBacksteps(v, p)...)
	return errs
}

// validateNoBacksteps reports a path with a ".." element.
func validateNoBacksteps(v string, p *field.Path) field.ErrorList {
	if slices.Contains(strings.Split(v, "/"), "..") {
		return field.ErrorList{field.Invalid(p, v, "must not contain '..'")}
	}
	return nil
}

// ---------------------------------------------------------------- IntOrString

const percentMsg = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%')"

var percentRE = regexp.MustCompile(`^[0-9]+%$`)

// intOrPercent reads an IntOrString count such as maxSurge: "3" or "25%".
// ok is false when v is neither.
func intOrPercent(v string) (n int, percent, ok bool) {
	if percentRE.MatchString(v) {
		n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
		return n, true, err == nil
	}
	i, ok := intstr.Int(v)
	return int(i), false, ok
}

// validatePositiveIntOrPercent checks a count or percentage that must not
// be negative.
func validatePositiveIntOrPercent(v string, p *field.Path) field.ErrorList {
	n, percent, ok := intOrPercent(v)
	switch {
	case !ok && strings.HasSuffix(v, "%"):
		return field.ErrorList{field.Invalid(p, v, percentMsg)}
	case !ok:
		return field.ErrorList{field.Invalid(p, v, "must be an integer or percentage (e.g. '5' or '10%')")}
	case !percent && n < 0:
		return field.ErrorList{field.Invalid(p, n, isNegativeMsg)}
	}
	return nil
}

// validateNotMoreThan100Percent reports a percentage over 100%.
func validateNotMoreThan100Percent(v string, p *field.Path) field.ErrorList {
	if n, percent, ok := intOrPercent(v); ok && percent && n > 100 {
		return field.ErrorList{field.Invalid(p, v, "must not be greater than 100%")}
	}
	return nil
}

// isZeroIntOrPercent says whether v is "0" or "0%".
func isZeroIntOrPercent(v string) bool {
	n, _, ok := intOrPercent(v)
	return ok && n == 0
}
