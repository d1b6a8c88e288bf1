// Package validation holds the name and value checks Kubernetes applies to
// every object: DNS-1123 names, qualified names (label keys), label values.
// Each check returns the reasons a value is invalid, empty when it is valid.
package validation

import (
	"fmt"
	"regexp"
	"strings"
)

const (
	DNS1123LabelMaxLength     = 63
	DNS1123SubdomainMaxLength = 253
	LabelValueMaxLength       = 63
	qualifiedNameMaxLength    = 63
)

var (
	dns1123LabelRE     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123SubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	qualifiedNameRE    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValueRE       = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
)

// IsDNS1123Label checks a name such as a namespace or service name.
func IsDNS1123Label(v string) []string {
	var errs []string
	if len(v) > DNS1123LabelMaxLength {
		errs = append(errs, fmt.Sprintf("must be no more than %d characters", DNS1123LabelMaxLength))
	}
	if !dns1123LabelRE.MatchString(v) {
		errs = append(errs, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')")
	}
	return errs
}

// IsDNS1123Subdomain checks a name such as a pod, deployment or node name.
func IsDNS1123Subdomain(v string) []string {
	var errs []string
	if len(v) > DNS1123SubdomainMaxLength {
		errs = append(errs, fmt.Sprintf("must be no more than %d characters", DNS1123SubdomainMaxLength))
	}
	if !dns1123SubdomainRE.MatchString(v) {
		errs = append(errs, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')")
	}
	return errs
}

// IsQualifiedName checks a label or annotation key: an optional DNS subdomain
// prefix and '/', then a name of at most 63 characters.
func IsQualifiedName(v string) []string {
	var errs []string
	name := v
	if i := strings.LastIndex(v, "/"); i >= 0 {
		prefix := v[:i]
		name = v[i+1:]
		if prefix == "" {
			errs = append(errs, "prefix part must be non-empty")
		} else {
			for _, e := range IsDNS1123Subdomain(prefix) {
				errs = append(errs, "prefix part "+e)
			}
		}
	}
	switch {
	case name == "":
		errs = append(errs, "name part must be non-empty")
	case len(name) > qualifiedNameMaxLength:
		errs = append(errs, fmt.Sprintf("name part must be no more than %d characters", qualifiedNameMaxLength))
	case !qualifiedNameRE.MatchString(name):
		errs = append(errs, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', 'my.name', or '123-abc')")
	}
	return errs
}

// IsValidLabelValue checks a label value: empty, or at most 63 characters of
// alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric.
func IsValidLabelValue(v string) []string {
	var errs []string
	if len(v) > LabelValueMaxLength {
		errs = append(errs, fmt.Sprintf("must be no more than %d characters", LabelValueMaxLength))
	}
	if !labelValueRE.MatchString(v) {
		errs = append(errs, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')")
	}
	return errs
}

// IsValidPortNum checks a TCP/UDP port number.
func IsValidPortNum(port int) []string {
	if port < 1 || port > 65535 {
		return []string{"must be between 1 and 65535, inclusive"}
	}
	return nil
}
