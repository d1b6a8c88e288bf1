package intstr_test

import (
	"math"
	"slices"
	"strconv"
	"testing"

	"skiff.dev/proto/intstr"
)

func TestInt(t *testing.T) {
	tests := []struct {
		in   string
		want int32
		ok   bool
	}{
		{"8080", 8080, true},
		{"0", 0, true},
		{"-1", -1, true},
		{"08080", 8080, true},
		{"2147483647", math.MaxInt32, true},
		{"-2147483648", math.MinInt32, true},
		{"2147483648", 0, false},
		{"http", 0, false},
		{"25%", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
	}
	for _, tt := range tests {
		v, ok := intstr.Int(tt.in)
		if v != tt.want || ok != tt.ok {
			t.Errorf("Int(%q) = %d, %v; want %d, %v", tt.in, v, ok, tt.want, tt.ok)
		}
		if intstr.IsInt(tt.in) != tt.ok {
			t.Errorf("IsInt(%q) = %v, want %v", tt.in, !tt.ok, tt.ok)
		}
	}
}

func TestScaledValueFromIntOrPercent(t *testing.T) {
	tests := []struct {
		in      string
		total   int
		roundUp bool
		want    int
	}{
		{"25%", 10, true, 3},
		{"25%", 10, false, 2},
		{"25%", 4, true, 1},
		{"25%", 4, false, 1},
		{"0%", 10, true, 0},
		{"100%", 7, false, 7},
		{"150%", 10, false, 15},
		{"1%", 1, true, 1},
		{"1%", 1, false, 0},
		{"33%", 3, true, 1},
		{"33%", 3, false, 0},
		{"-10%", 15, true, -1},
		{"-10%", 15, false, -2},
		{"25%", 0, true, 0},
		{"25%", -10, true, -2},
		{"3", 10, true, 3},
		{"3", 1000, false, 3}, // integers are not scaled
		{"0", 10, true, 0},
		{"-2", 10, true, -2},
		{"2147483647%", 100, false, 2147483647},
	}
	for _, tt := range tests {
		got, err := intstr.ScaledValueFromIntOrPercent(tt.in, tt.total, tt.roundUp)
		if err != nil || got != tt.want {
			t.Errorf("ScaledValueFromIntOrPercent(%q, %d, %v) = %d, %v; want %d", tt.in, tt.total, tt.roundUp, got, err, tt.want)
		}
	}
}

func TestScaledValueFromIntOrPercentErrors(t *testing.T) {
	tests := []struct {
		in    string
		total int
		want  string
	}{
		{"", 10, `invalid value "": must be an integer or a percentage such as "25%"`},
		{"abc", 10, `invalid value "abc": must be an integer or a percentage such as "25%"`},
		{"abc%", 10, `invalid value "abc%": must be an integer or a percentage such as "25%"`},
		{"%", 10, `invalid value "%": must be an integer or a percentage such as "25%"`},
		{" 25%", 10, `invalid value " 25%": must be an integer or a percentage such as "25%"`},
		{"25 %", 10, `invalid value "25 %": must be an integer or a percentage such as "25%"`},
		{"2.5%", 10, `invalid value "2.5%": must be an integer or a percentage such as "25%"`},
		{"25%%", 10, `invalid value "25%%": must be an integer or a percentage such as "25%"`},
		{"99999999999", 10, `invalid value "99999999999": integer out of range`},
		{"99999999999%", 10, `invalid value "99999999999%": percentage out of range`},
		{"200%", math.MaxInt, `invalid value "200%": 200% of ` + strconv.Itoa(math.MaxInt) + ` overflows`},
	}
	for _, tt := range tests {
		got, err := intstr.ScaledValueFromIntOrPercent(tt.in, tt.total, true)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ScaledValueFromIntOrPercent(%q) = %d, %v; want error %q", tt.in, got, err, tt.want)
		}
	}
}

func TestValidatePortNumOrName(t *testing.T) {
	const (
		rangeErr   = "must be between 1 and 65535, inclusive"
		charsetErr = "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
		letterErr  = "must contain at least one letter (a-z)"
		doubleErr  = "must not contain consecutive hyphens"
		edgeErr    = "must not begin or end with a hyphen"
		lenErr     = "must be no more than 15 characters"
	)
	tests := []struct {
		in   string
		want []string
	}{
		{"1", nil},
		{"8080", nil},
		{"65535", nil},
		{"http", nil},
		{"http-alt", nil},
		{"h2c", nil},
		{"a", nil},
		{"123456789012345a", []string{lenErr}},
		{"abcdefghijklmno", nil},
		{"0", []string{rangeErr}},
		{"65536", []string{rangeErr}},
		{"-1", []string{rangeErr}},
		{"99999999999999999999", []string{rangeErr}},
		{"", []string{"must be a port number between 1 and 65535 or a port name (IANA_SVC_NAME)"}},
		{"HTTP", []string{charsetErr}},
		{"http_alt", []string{charsetErr}},
		{"my port", []string{charsetErr}},
		{"1-2", []string{letterErr}},
		{"a--b", []string{doubleErr}},
		{"-http", []string{edgeErr}},
		{"http-", []string{edgeErr}},
		{"--", []string{letterErr, doubleErr, edgeErr}},
		{"Http--Server-Port-", []string{lenErr, charsetErr, doubleErr, edgeErr}},
		{"25%", []string{charsetErr}},
	}
	for _, tt := range tests {
		if got := intstr.ValidatePortNumOrName(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("ValidatePortNumOrName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
