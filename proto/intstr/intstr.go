// Package intstr reads the IntOrString fields of the API. Kubernetes types
// them as a union of an int32 and a string; Skiff's protos carry them as
// strings, so a value is an integer when it is written as one ("8080"), a
// percentage when it ends in '%' ("25%"), and otherwise a name ("http").
package intstr

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"skiff.dev/proto/validation"
)

// IsInt reports whether s holds an integer (see Int).
func IsInt(s string) bool {
	_, ok := Int(s)
	return ok
}

// Int returns the integer s holds: base-10 digits with an optional leading
// '-', in the int32 range. "8080" is 8080; "http", "25%", "+1", " 1" and
// "" are not integers.
func Int(s string) (int32, bool) {
	if !looksNumeric(s) {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(v), true
}

// looksNumeric reports whether s is an optional '-' then one or more digits.
func looksNumeric(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ScaledValueFromIntOrPercent resolves a value such as maxSurge or
// maxUnavailable against a total, as Kubernetes'
// intstr.GetScaledValueFromIntOrPercent: an integer is returned as is; a
// percentage is that share of total, rounded up when roundUp and down
// otherwise ("25%" of 10 is 3 rounded up, 2 rounded down). The arithmetic
// is exact (no floating point).
func ScaledValueFromIntOrPercent(s string, total int, roundUp bool) (int, error) {
	if v, ok := Int(s); ok {
		return int(v), nil
	}
	num, isPercent := strings.CutSuffix(s, "%")
	if !isPercent || !looksNumeric(num) {
		if looksNumeric(s) {
			return 0, fmt.Errorf("invalid value %q: integer out of range", s)
		}
		return 0, fmt.Errorf("invalid value %q: must be an integer or a percentage such as \"25%%\"", s)
	}
	p, err := strconv.ParseInt(num, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid value %q: percentage out of range", s)
	}
	t := int64(total)
	if t != 0 && abs64(p) > math.MaxInt64/abs64(t) {
		return 0, fmt.Errorf("invalid value %q: %s of %d overflows", s, s, total)
	}
	prod := p * t
	q, r := prod/100, prod%100
	switch {
	case r > 0 && roundUp:
		q++
	case r < 0 && !roundUp:
		q--
	}
	if int64(int(q)) != q {
		return 0, fmt.Errorf("invalid value %q: %s of %d overflows", s, s, total)
	}
	return int(q), nil
}

// abs64 is |v|, with MinInt64 taken as MaxInt64 (close enough for bounds).
func abs64(v int64) int64 {
	switch {
	case v == math.MinInt64:
		return math.MaxInt64
	case v < 0:
		return -v
	}
	return v
}

// ValidatePortNumOrName checks a port given by number or by name, such as
// a Service's targetPort or a probe's port: a number must be between 1 and
// 65535, a name must be an IANA_SVC_NAME (see IsValidPortName). It returns
// the reasons s is invalid, empty when it is valid.
func ValidatePortNumOrName(s string) []string {
	if s == "" {
		return []string{"must be a port number between 1 and 65535 or a port name (IANA_SVC_NAME)"}
	}
	if looksNumeric(s) {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v > math.MaxInt32 {
			v = 0 // out of range either way
		}
		return validation.IsValidPortNum(int(v))
	}
	return IsValidPortName(s)
}

// IsValidPortName checks an IANA_SVC_NAME (RFC 6335): at most 15
// characters, lowercase letters, digits and '-', at least one letter, no
// leading, trailing or consecutive '-'. It returns the reasons s is
// invalid, empty when it is valid; the messages are Kubernetes'.
func IsValidPortName(s string) []string {
	var errs []string
	if len(s) > 15 {
		errs = append(errs, "must be no more than 15 characters")
	}
	hasLetter, badChar := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			hasLetter = true
		case c >= '0' && c <= '9', c == '-':
		default:
			badChar = true
		}
	}
	switch {
	case s == "" || badChar:
		errs = append(errs, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
	case !hasLetter:
		errs = append(errs, "must contain at least one letter (a-z)")
	}
	if strings.Contains(s, "--") {
		errs = append(errs, "must not contain consecutive hyphens")
	}
	if len(s) > 0 && (s[0] == '-' || s[len(s)-1] == '-') {
		errs = append(errs, "must not begin or end with a hyphen")
	}
	return errs
}
