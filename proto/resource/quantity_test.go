package resource_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"skiff.dev/proto/resource"
)

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in     string
		want   string // String()
		milli  int64
		value  int64
		format resource.Format
	}{
		{"0", "0", 0, 0, resource.DecimalSI},
		{"-0", "0", 0, 0, resource.DecimalSI},
		{"0.000", "0", 0, 0, resource.DecimalSI},
		{"0Mi", "0", 0, 0, resource.BinarySI},
		{"1", "1", 1000, 1, resource.DecimalSI},
		{"+1", "1", 1000, 1, resource.DecimalSI},
		{"0001", "1", 1000, 1, resource.DecimalSI},
		{"1.", "1", 1000, 1, resource.DecimalSI},
		{".5", "500m", 500, 1, resource.DecimalSI},
		{"0.5", "500m", 500, 1, resource.DecimalSI},
		{"500m", "500m", 500, 1, resource.DecimalSI},
		{"100m", "100m", 100, 1, resource.DecimalSI},
		{"1.5", "1500m", 1500, 2, resource.DecimalSI},
		{"1500m", "1500m", 1500, 2, resource.DecimalSI},
		{"2000m", "2", 2000, 2, resource.DecimalSI},
		{"1000", "1k", 1_000_000, 1000, resource.DecimalSI},
		{"1k", "1k", 1_000_000, 1000, resource.DecimalSI},
		{"1.5k", "1500", 1_500_000, 1500, resource.DecimalSI},
		{"1023", "1023", 1_023_000, 1023, resource.DecimalSI},
		{"128974848", "128974848", 128_974_848_000, 128_974_848, resource.DecimalSI},
		{"129M", "129M", 129_000_000_000, 129_000_000, resource.DecimalSI},
		{"1G", "1G", 1_000_000_000_000, 1_000_000_000, resource.DecimalSI},
		{"1n", "1n", 1, 1, resource.DecimalSI},
		{"1u", "1u", 1, 1, resource.DecimalSI},
		{"1000n", "1u", 1, 1, resource.DecimalSI},
		{"0.1n", "1n", 1, 1, resource.DecimalSI},
		{"0.000000000000000000000000000001", "1n", 1, 1, resource.DecimalSI},
		{"-0.1n", "-1n", -1, -1, resource.DecimalSI},
		{"1.000000001", "1000000001n", 1001, 2, resource.DecimalSI},
		{"123456789.123456789", "123456789123456789n", 123_456_789_124, 123_456_790, resource.DecimalSI},
		{"-1.5", "-1500m", -1500, -2, resource.DecimalSI},
		{"-100m", "-100m", -100, -1, resource.DecimalSI},
		{"128Mi", "128Mi", 134_217_728_000, 134_217_728, resource.BinarySI},
		{"1Ki", "1Ki", 1_024_000, 1024, resource.BinarySI},
		{"1Gi", "1Gi", 1_073_741_824_000, 1_073_741_824, resource.BinarySI},
		{"1.5Gi", "1536Mi", 1_610_612_736_000, 1_610_612_736, resource.BinarySI},
		{"1.0Gi", "1Gi", 1_073_741_824_000, 1_073_741_824, resource.BinarySI},
		{"1024Mi", "1Gi", 1_073_741_824_000, 1_073_741_824, resource.BinarySI},
		{"1025Ki", "1025Ki", 1_049_600_000, 1_049_600, resource.BinarySI},
		{"0.5Mi", "512Ki", 524_288_000, 524_288, resource.BinarySI},
		{"0.5Ki", "512", 512_000, 512, resource.BinarySI},
		{"1.1Ki", "1126400m", 1_126_400, 1127, resource.BinarySI},
		{"0.0001Ki", "102400u", 103, 1, resource.DecimalSI},
		{"-1Ki", "-1Ki", -1_024_000, -1024, resource.BinarySI},
		{"8Pi", "8Pi", 9_007_199_254_740_992_000, 9_007_199_254_740_992, resource.BinarySI},
		{"1Ti", "1Ti", 1_099_511_627_776_000, 1_099_511_627_776, resource.BinarySI},
		{"1e3", "1e3", 1_000_000, 1000, resource.DecimalExponent},
		{"1E3", "1e3", 1_000_000, 1000, resource.DecimalExponent},
		{"1e+3", "1e3", 1_000_000, 1000, resource.DecimalExponent},
		{"10e2", "1e3", 1_000_000, 1000, resource.DecimalExponent},
		{"1.5e3", "1500", 1_500_000, 1500, resource.DecimalExponent},
		{"1e-3", "1e-3", 1, 1, resource.DecimalExponent},
		{"1E-3", "1e-3", 1, 1, resource.DecimalExponent},
		{"12e-1", "1200e-3", 1200, 2, resource.DecimalExponent},
		{"1e0", "1", 1000, 1, resource.DecimalExponent},
		{"1e15", "1e15", 1e18, 1e15, resource.DecimalExponent},
		{"1e-20", "1e-9", 1, 1, resource.DecimalExponent},
		{"1e-99999", "1e-9", 1, 1, resource.DecimalExponent},
		{"0e99999", "0", 0, 0, resource.DecimalExponent},
		{"0.001E", "1P", 1e18, 1e15, resource.DecimalSI},
		{"9.2P", "9200T", 9_200_000_000_000_000_000, 9_200_000_000_000_000, resource.DecimalSI},
		{"9223372036854775807m", "9223372036854775807m", math.MaxInt64, 9_223_372_036_854_776, resource.DecimalSI},
		{"-9223372036854775808m", "-9223372036854775808m", math.MinInt64, -9_223_372_036_854_776, resource.DecimalSI},
		{"-9223372036854775.8075", "-9223372036854775807500u", math.MinInt64, -9_223_372_036_854_776, resource.DecimalSI},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := resource.ParseQuantity(tt.in)
			if err != nil {
				t.Fatalf("ParseQuantity(%q): %v", tt.in, err)
			}
			if got := q.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := q.MilliValue(); got != tt.milli {
				t.Errorf("MilliValue() = %d, want %d", got, tt.milli)
			}
			if got := q.Value(); got != tt.value {
				t.Errorf("Value() = %d, want %d", got, tt.value)
			}
			if got := q.Format(); got != tt.format {
				t.Errorf("Format() = %s, want %s", got, tt.format)
			}
			// The canonical form reads back to the same amount.
			again, err := resource.ParseQuantity(q.String())
			if err != nil || !again.Equal(q) {
				t.Errorf("ParseQuantity(%q) = %v, %v; want %v", q.String(), again, err, q)
			}
		})
	}
}

func TestParseQuantityErrors(t *testing.T) {
	const re = `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`
	const suffixes = "expected one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3"
	const rng = "quantities must be between -9223372036854775808m and 9223372036854775807m (about ±8Pi)"
	tests := []struct {
		in   string
		is   error
		want string
	}{
		{"", resource.ErrFormatWrong, re + `, got ""`},
		{"abc", resource.ErrFormatWrong, re + `, got "abc"`},
		{" 1", resource.ErrFormatWrong, re + `, got " 1"`},
		{"1 ", resource.ErrFormatWrong, re + `, got "1 "`},
		{"0.5 cores", resource.ErrFormatWrong, re + `, got "0.5 cores"`},
		{"1KB", resource.ErrFormatWrong, re + `, got "1KB"`},
		{"1.5.5", resource.ErrFormatWrong, re + `, got "1.5.5"`},
		{"1e3.5", resource.ErrFormatWrong, re + `, got "1e3.5"`},
		{"1,5", resource.ErrFormatWrong, re + `, got "1,5"`},
		{".", resource.ErrFormatWrong, re + ` and have at least one digit, got "."`},
		{"-", resource.ErrFormatWrong, re + ` and have at least one digit, got "-"`},
		{"+Mi", resource.ErrFormatWrong, re + ` and have at least one digit, got "+Mi"`},
		{"1K", resource.ErrSuffix, `unable to parse quantity's suffix "K" in "1K", ` + suffixes},
		{"1mi", resource.ErrSuffix, `unable to parse quantity's suffix "mi" in "1mi", ` + suffixes},
		{"1e", resource.ErrSuffix, `unable to parse quantity's suffix "e" in "1e", ` + suffixes},
		{"1Mi3", resource.ErrSuffix, `unable to parse quantity's suffix "Mi3" in "1Mi3", ` + suffixes},
		{"1-", resource.ErrSuffix, `unable to parse quantity's suffix "-" in "1-", ` + suffixes},
		{"1e9999999999", resource.ErrSuffix, `unable to parse quantity's suffix "e9999999999" in "1e9999999999", exponent out of range`},
		{"1E", resource.ErrOutOfRange, `quantity out of range: "1E"; ` + rng},
		{"1Ei", resource.ErrOutOfRange, `quantity out of range: "1Ei"; ` + rng},
		{"-1Ei", resource.ErrOutOfRange, `quantity out of range: "-1Ei"; ` + rng},
		{"9Pi", resource.ErrOutOfRange, `quantity out of range: "9Pi"; ` + rng},
		{"10P", resource.ErrOutOfRange, `quantity out of range: "10P"; ` + rng},
		{"1e16", resource.ErrOutOfRange, `quantity out of range: "1e16"; ` + rng},
		{"1e99999", resource.ErrOutOfRange, `quantity out of range: "1e99999"; ` + rng},
		{"9223372036854775808m", resource.ErrOutOfRange, `quantity out of range: "9223372036854775808m"; ` + rng},
		{"9223372036854775.8071", resource.ErrOutOfRange, `quantity out of range: "9223372036854775.8071"; ` + rng},
		{"-9223372036854775809m", resource.ErrOutOfRange, `quantity out of range: "-9223372036854775809m"; ` + rng},
		{"-9223372036854775.8081", resource.ErrOutOfRange, `quantity out of range: "-9223372036854775.8081"; ` + rng},
		{"99999999999999999999999999999999", resource.ErrOutOfRange, `quantity out of range: "99999999999999999999999999999999"; ` + rng},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := resource.ParseQuantity(tt.in)
			if err == nil {
				t.Fatalf("ParseQuantity(%q) = %v, want error", tt.in, q)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestMustParse(t *testing.T) {
	if q := resource.MustParse("250m"); q.MilliValue() != 250 {
		t.Errorf("MustParse(250m) = %v", q)
	}
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), `cannot parse quantity "abc"`) {
			t.Errorf("MustParse(abc) panic = %v", r)
		}
	}()
	resource.MustParse("abc")
}

func TestCmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "1", 0},
		{"1Ki", "1024", 0},
		{"1k", "1e3", 0},
		{"1000m", "1", 0},
		{"1", "1001m", -1},
		{"1001m", "1", 1},
		{"1n", "0", 1},
		{"-1n", "0", -1},
		{"-1", "-500m", -1},
		{"-1.5", "-1.4", -1},
		{"-1.4", "-1.5", 1},
		{"-1.5", "1.5", -1},
		{"1Gi", "1G", 1},
		{"128Mi", "134217728", 0},
	}
	for _, tt := range tests {
		a, b := resource.MustParse(tt.a), resource.MustParse(tt.b)
		if got := a.Cmp(b); got != tt.want {
			t.Errorf("%s.Cmp(%s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := b.Cmp(a); got != -tt.want {
			t.Errorf("%s.Cmp(%s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
		if a.Equal(b) != (tt.want == 0) {
			t.Errorf("%s.Equal(%s) = %v", tt.a, tt.b, a.Equal(b))
		}
	}
}

func TestAddSub(t *testing.T) {
	tests := []struct {
		a, op, b string
		want     string
	}{
		{"100m", "+", "200m", "300m"},
		{"1", "+", "500m", "1500m"},
		{"1Gi", "+", "512Mi", "1536Mi"},
		{"0", "+", "1Gi", "1Gi"}, // zero takes the other's format
		{"1", "+", "-1", "0"},
		{"-500m", "+", "-700m", "-1200m"},
		{"999999999n", "+", "1n", "1"},
		{"1", "-", "1500m", "-500m"},
		{"1Gi", "-", "512Mi", "512Mi"},
		{"-1n", "-", "-1n", "0"},
		{"0", "-", "1n", "-1n"},
		{"1e3", "+", "1", "1001"},
		{"8Pi", "-", "8Pi", "0"},
		{"9223372036854775807m", "-", "1m", "9223372036854775806m"},
		{"-9223372036854775807m", "-", "1m", "-9223372036854775808m"},
	}
	for _, tt := range tests {
		q := resource.MustParse(tt.a)
		var err error
		if tt.op == "+" {
			err = q.Add(resource.MustParse(tt.b))
		} else {
			err = q.Sub(resource.MustParse(tt.b))
		}
		if err != nil {
			t.Errorf("%s %s %s: %v", tt.a, tt.op, tt.b, err)
			continue
		}
		if q.String() != tt.want {
			t.Errorf("%s %s %s = %s, want %s", tt.a, tt.op, tt.b, q, tt.want)
		}
	}
}

func TestAddSubOutOfRange(t *testing.T) {
	tests := []struct {
		a, op, b string
		want     string
	}{
		{"8Pi", "+", "8Pi", "quantity out of range: 8Pi + 8Pi; quantities must be between"},
		{"9223372036854775807m", "+", "1n", "quantity out of range: 9223372036854775807m + 1n;"},
		{"-9223372036854775808m", "-", "1n", "quantity out of range: -9223372036854775808m - 1n;"},
		{"-8Pi", "-", "8Pi", "quantity out of range: -8Pi - 8Pi;"},
	}
	for _, tt := range tests {
		q := resource.MustParse(tt.a)
		var err error
		if tt.op == "+" {
			err = q.Add(resource.MustParse(tt.b))
		} else {
			err = q.Sub(resource.MustParse(tt.b))
		}
		if !errors.Is(err, resource.ErrOutOfRange) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s %s %s: error %v, want %q...", tt.a, tt.op, tt.b, err, tt.want)
		}
		if q.String() != tt.a {
			t.Errorf("%s %s %s: receiver changed to %s on error", tt.a, tt.op, tt.b, q)
		}
	}
}

func TestZeroValue(t *testing.T) {
	var q resource.Quantity
	if !q.IsZero() || q.Sign() != 0 || q.String() != "0" || q.MilliValue() != 0 || q.Value() != 0 {
		t.Errorf("zero Quantity = %v", q)
	}
	if err := q.Add(resource.MustParse("250m")); err != nil || q.String() != "250m" || q.Format() != resource.DecimalSI {
		t.Errorf("zero + 250m = %v (%s), %v", q, q.Format(), err)
	}
	if resource.MustParse("-1n").Sign() != -1 || resource.MustParse("1n").Sign() != 1 {
		t.Error("Sign wrong")
	}
}

func TestNewQuantity(t *testing.T) {
	q, err := resource.NewQuantity(1<<30, resource.BinarySI)
	if err != nil || q.String() != "1Gi" {
		t.Errorf("NewQuantity(2^30, BinarySI) = %v, %v", q, err)
	}
	q, err = resource.NewQuantity(-4, resource.DecimalSI)
	if err != nil || q.String() != "-4" || q.Value() != -4 {
		t.Errorf("NewQuantity(-4) = %v, %v", q, err)
	}
	if q, err := resource.NewQuantity(9_223_372_036_854_775, resource.DecimalSI); err != nil || q.Value() != 9_223_372_036_854_775 {
		t.Errorf("NewQuantity(max) = %v, %v", q, err)
	}
	for _, v := range []int64{9_223_372_036_854_776, -9_223_372_036_854_776, math.MaxInt64, math.MinInt64} {
		if _, err := resource.NewQuantity(v, resource.DecimalSI); !errors.Is(err, resource.ErrOutOfRange) {
			t.Errorf("NewQuantity(%d) error = %v, want ErrOutOfRange", v, err)
		}
	}

	for _, m := range []int64{0, 1, -1, 999, -999, 1000, -1500, math.MaxInt64, math.MinInt64} {
		q := resource.NewMilliQuantity(m, resource.DecimalSI)
		if q.MilliValue() != m {
			t.Errorf("NewMilliQuantity(%d).MilliValue() = %d", m, q.MilliValue())
		}
		if again := resource.MustParse(q.String()); again.MilliValue() != m {
			t.Errorf("NewMilliQuantity(%d).String() = %q reads back as %d", m, q, again.MilliValue())
		}
	}
	if got := resource.NewMilliQuantity(-1500, resource.DecimalSI).String(); got != "-1500m" {
		t.Errorf("NewMilliQuantity(-1500) = %s", got)
	}
	if got := resource.NewMilliQuantity(2000, resource.DecimalExponent).String(); got != "2" {
		t.Errorf("NewMilliQuantity(2000, DecimalExponent) = %s", got)
	}
}

func TestAsInt64(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"110", 110, true},
		{"1Ki", 1024, true},
		{"-3", -3, true},
		{"1500m", 0, false},
		{"-1n", 0, false},
	}
	for _, tt := range tests {
		v, ok := resource.MustParse(tt.in).AsInt64()
		if v != tt.want || ok != tt.ok {
			t.Errorf("%s.AsInt64() = %d, %v; want %d, %v", tt.in, v, ok, tt.want, tt.ok)
		}
	}
}
