package resource_test

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"

	"skiff.dev/proto/resource"
)

// refRE splits a quantity the way the package documents it.
var refRE = regexp.MustCompile(`^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$`)

var refSuffix = map[string]*big.Rat{
	"": big.NewRat(1, 1), "n": big.NewRat(1, 1e9), "u": big.NewRat(1, 1e6), "m": big.NewRat(1, 1e3),
	"k": big.NewRat(1e3, 1), "M": big.NewRat(1e6, 1), "G": big.NewRat(1e9, 1), "T": big.NewRat(1e12, 1),
	"P": big.NewRat(1e15, 1), "E": big.NewRat(1e18, 1),
	"Ki": big.NewRat(1<<10, 1), "Mi": big.NewRat(1<<20, 1), "Gi": big.NewRat(1<<30, 1),
	"Ti": big.NewRat(1<<40, 1), "Pi": big.NewRat(1<<50, 1), "Ei": big.NewRat(1<<60, 1),
}

// refValue is an independent reading of s with math/big: the exact value,
// rounded up in magnitude to a nano-unit. ok is false if s is not a quantity.
func refValue(s string) (*big.Rat, bool) {
	m := refRE.FindStringSubmatch(s)
	if m == nil || m[2]+m[3] == "" {
		return nil, false
	}
	mant, ok := new(big.Rat).SetString("0" + m[2] + "." + m[3] + "0")
	if !ok {
		return nil, false
	}
	factor, ok := refSuffix[m[4]]
	if !ok {
		if len(m[4]) < 2 || (m[4][0] != 'e' && m[4][0] != 'E') {
			return nil, false
		}
		e, err := strconv.ParseInt(m[4][1:], 10, 32)
		if err != nil || e > 40 || e < -40 {
			return nil, false // outside what this reference checks
		}
		factor = new(big.Rat).SetFrac(big.NewInt(1), big.NewInt(1))
		ten := new(big.Int).Exp(big.NewInt(10), big.NewInt(abs(e)), nil)
		if e >= 0 {
			factor.SetInt(ten)
		} else {
			factor.SetFrac(big.NewInt(1), ten)
		}
	}
	v := new(big.Rat).Mul(mant, factor)
	v = ceilMagnitude(v, 1e9)
	if m[1] == "-" {
		v.Neg(v)
	}
	return v, true
}

func abs(e int64) int64 {
	if e < 0 {
		return -e
	}
	return e
}

// ceilMagnitude rounds v up in magnitude to a multiple of 1/per.
func ceilMagnitude(v *big.Rat, per int64) *big.Rat {
	x := new(big.Rat).Mul(v, big.NewRat(per, 1))
	neg := x.Sign() < 0
	x.Abs(x)
	q, r := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return new(big.Rat).SetFrac(q, big.NewInt(per))
}

var (
	refMax = new(big.Rat).SetFrac(big.NewInt(9223372036854775807), big.NewInt(1000))
	refMin = new(big.Rat).SetFrac(new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 63)), big.NewInt(1000))
)

func inRefRange(v *big.Rat) bool { return v.Cmp(refMax) <= 0 && v.Cmp(refMin) >= 0 }

func randomQuantity(r *rand.Rand) string {
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	s := []string{"", "+", "-"}[r.IntN(3)] + digits(r.IntN(18))
	if r.IntN(2) == 0 {
		s += "." + digits(r.IntN(14))
	}
	if r.IntN(4) == 0 {
		return s + fmt.Sprintf("%c%d", "eE"[r.IntN(2)], r.IntN(50)-25)
	}
	suffixes := []string{"", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	return s + suffixes[r.IntN(len(suffixes))]
}

// TestAgainstReference compares parsing, printing, rounding and arithmetic
// with math/big on many random quantities.
func TestAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var parsed []resource.Quantity
	var values []*big.Rat
	for range 20000 {
		s := randomQuantity(r)
		want, ok := refValue(s)
		if !ok {
			continue
		}
		q, err := resource.ParseQuantity(s)
		if !inRefRange(want) {
			if !errors.Is(err, resource.ErrOutOfRange) {
				t.Errorf("ParseQuantity(%q) = %v, %v; want ErrOutOfRange", s, q, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseQuantity(%q): %v", s, err)
			continue
		}
		checkQuantity(t, s, q, want)
		parsed, values = append(parsed, q), append(values, want)
	}
	if len(parsed) < 5000 {
		t.Fatalf("only %d random quantities in range; the generator is off", len(parsed))
	}
	for i := 0; i+1 < len(parsed); i += 2 {
		a, b := parsed[i], parsed[i+1]
		want := new(big.Rat).Add(values[i], values[i+1])
		sum := a
		err := sum.Add(b)
		if inRefRange(want) != (err == nil) {
			t.Errorf("%s + %s: error %v, reference %s", a, b, err, want.FloatString(9))
		} else if err == nil {
			checkQuantity(t, a.String()+"+"+b.String(), sum, want)
		}
		want = new(big.Rat).Sub(values[i], values[i+1])
		diff := a
		err = diff.Sub(b)
		if inRefRange(want) != (err == nil) {
			t.Errorf("%s - %s: error %v, reference %s", a, b, err, want.FloatString(9))
		} else if err == nil {
			checkQuantity(t, a.String()+"-"+b.String(), diff, want)
		}
		if got := a.Cmp(b); got != values[i].Cmp(values[i+1]) {
			t.Errorf("%s.Cmp(%s) = %d, reference %d", a, b, got, values[i].Cmp(values[i+1]))
		}
	}
}

func checkQuantity(t *testing.T, what string, q resource.Quantity, want *big.Rat) {
	t.Helper()
	got, ok := refValue(q.String())
	if !ok || got.Cmp(want) != 0 {
		t.Errorf("%s: String() = %q, reference value %s", what, q, want.FloatString(9))
	}
	if m := ceilMagnitude(want, 1000); q.MilliValue() != new(big.Rat).Mul(m, big.NewRat(1000, 1)).Num().Int64() {
		t.Errorf("%s: MilliValue() = %d, reference %s", what, q.MilliValue(), m.FloatString(3))
	}
	if v := ceilMagnitude(want, 1); q.Value() != v.Num().Int64() {
		t.Errorf("%s: Value() = %d, reference %s", what, q.Value(), v.FloatString(0))
	}
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"0", "1.5Gi", "250m", "1e3", "-1n", "0.1n", ".5", "1.", "9223372036854775807m",
		"1E", "1e-20", "8Pi", "0.0001Ki", "1Mi3", "+.e-", "1e+3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := resource.ParseQuantity(s)
		want, ok := refValue(s)
		if err != nil {
			if ok && inRefRange(want) && !errors.Is(err, resource.ErrSuffix) {
				t.Errorf("ParseQuantity(%q): %v, reference %s", s, err, want.FloatString(9))
			}
			return
		}
		again, err := resource.ParseQuantity(q.String())
		if err != nil || !again.Equal(q) {
			t.Errorf("ParseQuantity(%q).String() = %q reads back as %v, %v", s, q, again, err)
		}
		if ok {
			checkQuantity(t, s, q, want)
		}
	})
}
