// Package resource parses and computes with Kubernetes quantities, the
// strings of resources.requests, resources.limits and node capacity:
// "250m" CPU, "128Mi" memory, "1e3", "0.5".
//
// # Syntax
//
// A quantity is an optional sign, a decimal number ("1", "0.5", "1.", ".5")
// and an optional suffix:
//
//   - decimal SI: n (1e-9), u (1e-6), m (1e-3), none, k (1e3), M (1e6),
//     G (1e9), T (1e12), P (1e15), E (1e18);
//   - binary SI: Ki (2^10), Mi (2^20), Gi (2^30), Ti (2^40), Pi (2^50), Ei (2^60);
//   - a decimal exponent: e3, E-3, e+6 ("1E" alone is exa, "1E3" is 1000).
//
// # Exactness and limits
//
// A Quantity is exact to one nano-unit (1e-9): arithmetic and comparison
// never round. Finer values are rounded up in magnitude when parsed ("0.1n"
// is "1n", "-0.1n" is "-1n"), as in Kubernetes, so that a request for a
// little always gets something. The range is what MilliValue can return,
// -9223372036854775808m to 9223372036854775807m: about ±9.2e15 units,
// enough for 8Pi bytes. Unlike Kubernetes, which switches to arbitrary
// precision, a larger value ("1E", "1Ei", "10P") is an error wrapping
// ErrOutOfRange, when parsed or when Add or Sub would leave the range;
// results are never silently wrong.
//
// # Canonical form
//
// String keeps the input's family. Decimal quantities print with the
// largest SI suffix or exponent (a multiple of 3) that keeps an integer
// mantissa: "0.5" is "500m", "1.5" is "1500m", "1000" is "1k", "1.5e3" is
// "1500". Binary quantities print with the largest binary suffix that keeps
// an integer: "1.5Gi" is "1536Mi", "1024Mi" is "1Gi"; a binary quantity
// that is not a whole number of at least 1024 prints in decimal SI
// ("0.5Ki" is "512").
package resource

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Format is the notation family a quantity keeps when printed.
type Format string

// The formats of Kubernetes' resource.Format.
const (
	DecimalExponent Format = "DecimalExponent" // 1e3, 1.5e-3
	BinarySI        Format = "BinarySI"        // Ki, Mi, Gi
	DecimalSI       Format = "DecimalSI"       // m, k, M, G; also plain numbers
)

// The names of the resources Skiff schedules, as in Kubernetes.
const (
	CPU              = "cpu"
	Memory           = "memory"
	Pods             = "pods"
	EphemeralStorage = "ephemeral-storage"
)

// splitREString is the syntax Kubernetes documents for quantities.
const splitREString = `^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$`

// Errors of ParseQuantity, Add and Sub; the returned errors wrap them and
// add the offending value.
var (
	ErrFormatWrong = errors.New("quantities must match the regular expression '" + splitREString + "'")
	ErrSuffix      = errors.New("unable to parse quantity's suffix")
	ErrOutOfRange  = errors.New("quantity out of range")
)

const (
	nanosPerUnit = 1_000_000_000
	// maxUnits and the nanos limits bound a quantity to the int64 milli range.
	maxUnits       = math.MaxInt64 / 1000 // 9223372036854775
	maxNanosPos    = 807_000_000          // 9223372036854775.807
	maxNanosNeg    = 808_000_000          // -9223372036854775.808
	maxNanoDigits  = 25                   // digits of 9223372036854775808000000
	rangeReminder  = "quantities must be between -9223372036854775808m and 9223372036854775807m (about ±8Pi)"
	suffixReminder = "expected one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3"
)

// Quantity is an exact fixed-point number with a preferred Format. The zero
// value is 0. Quantities are values: copy them freely.
type Quantity struct {
	// The value is units + nanos/1e9, with 0 <= nanos < 1e9 (so -0.5 is
	// units -1, nanos 5e8). This keeps Add, Sub and Cmp plain integer code.
	units  int64
	nanos  int32
	format Format
}

// MustParse is ParseQuantity for constants in code and tests; it panics on
// an invalid quantity.
func MustParse(s string) Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic(fmt.Sprintf("cannot parse quantity %q: %v", s, err))
	}
	return q
}

// ParseQuantity reads a quantity such as "250m", "1.5Gi", "1e3" or "-2".
// Errors wrap ErrFormatWrong, ErrSuffix or ErrOutOfRange and quote s.
func ParseQuantity(s string) (Quantity, error) {
	neg, num, denom, suffix, ok := split(s)
	if !ok {
		return Quantity{}, fmt.Errorf("%w, got %q", ErrFormatWrong, s)
	}
	if num == "" && denom == "" {
		return Quantity{}, fmt.Errorf("%w and have at least one digit, got %q", ErrFormatWrong, s)
	}
	binExp, decExp, format, err := parseSuffix(suffix)
	if err != nil {
		return Quantity{}, fmt.Errorf("%w %q in %q, %v", ErrSuffix, suffix, s, err)
	}

	digits := strings.TrimLeft(num+denom, "0")
	if digits == "" {
		return Quantity{format: format}, nil
	}
	// The value is digits * 2^binExp * 10^shift nano-units.
	shift := int64(decExp) - int64(len(denom)) + 9
	if int64(len(digits))+shift > maxNanoDigits {
		return Quantity{}, outOfRange(s)
	}
	d := []byte(digits)
	if binExp > 0 {
		d = mulDigits(d, 1<<binExp)
	}
	roundUp := false
	if shift >= 0 {
		d = append(d, strings.Repeat("0", int(shift))...)
	} else {
		k := int(-shift)
		if k > len(d) {
			k = len(d)
		}
		for _, c := range d[len(d)-k:] {
			roundUp = roundUp || c != '0'
		}
		d = d[:len(d)-k]
	}
	for len(d) > 0 && d[0] == '0' {
		d = d[1:]
	}
	if len(d) > maxNanoDigits {
		return Quantity{}, outOfRange(s)
	}
	var u, n uint64
	if len(d) > 9 {
		u, _ = strconv.ParseUint(string(d[:len(d)-9]), 10, 64) // at most 16 digits
		d = d[len(d)-9:]
	}
	if len(d) > 0 {
		n, _ = strconv.ParseUint(string(d), 10, 64)
	}
	if roundUp {
		if n++; n == nanosPerUnit {
			n, u = 0, u+1
		}
	}
	if !inRange(neg, u, n) {
		return Quantity{}, outOfRange(s)
	}
	if format == BinarySI && u == 0 {
		format = DecimalSI // below one: binary suffixes cannot show it
	}
	return fromMagnitude(neg, u, n, format), nil
}

func outOfRange(s string) error {
	return fmt.Errorf("%w: %q; %s", ErrOutOfRange, s, rangeReminder)
}

// split cuts s into sign, integer digits, fraction digits and suffix, as
// Kubernetes' parser does; ok is false when s does not fit splitREString.
func split(s string) (neg bool, num, denom, suffix string, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	num = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		denom = s[start:i]
	}
	suffixStart := i
	for i < len(s) && strings.IndexByte("eEinumkKMGTP", s[i]) >= 0 {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return neg, num, denom, s[suffixStart:], i == len(s) && len(s) > 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseSuffix returns the power of two and the power of ten a suffix stands for.
func parseSuffix(s string) (binExp uint, decExp int32, f Format, err error) {
	switch s {
	case "":
		return 0, 0, DecimalSI, nil
	case "n":
		return 0, -9, DecimalSI, nil
	case "u":
		return 0, -6, DecimalSI, nil
	case "m":
		return 0, -3, DecimalSI, nil
	case "k":
		return 0, 3, DecimalSI, nil
	case "M":
		return 0, 6, DecimalSI, nil
	case "G":
		return 0, 9, DecimalSI, nil
	case "T":
		return 0, 12, DecimalSI, nil
	case "P":
		return 0, 15, DecimalSI, nil
	case "E":
		return 0, 18, DecimalSI, nil
	case "Ki":
		return 10, 0, BinarySI, nil
	case "Mi":
		return 20, 0, BinarySI, nil
	case "Gi":
		return 30, 0, BinarySI, nil
	case "Ti":
		return 40, 0, BinarySI, nil
	case "Pi":
		return 50, 0, BinarySI, nil
	case "Ei":
		return 60, 0, BinarySI, nil
	}
	if len(s) > 1 && (s[0] == 'e' || s[0] == 'E') {
		e, err := strconv.ParseInt(s[1:], 10, 32)
		if errors.Is(err, strconv.ErrRange) {
			return 0, 0, "", errors.New("exponent out of range")
		}
		if err == nil {
			return 0, int32(e), DecimalExponent, nil
		}
	}
	return 0, 0, "", errors.New(suffixReminder)
}

// mulDigits multiplies a decimal digit string by m <= 2^60. Each step stays
// below 10*m < 2^64, since the carry never exceeds m.
func mulDigits(d []byte, m uint64) []byte {
	out := make([]byte, len(d)+20)
	j := len(out)
	var carry uint64
	for i := len(d) - 1; i >= 0; i-- {
		v := uint64(d[i]-'0')*m + carry
		j--
		out[j] = byte(v%10) + '0'
		carry = v / 10
	}
	for ; carry > 0; carry /= 10 {
		j--
		out[j] = byte(carry%10) + '0'
	}
	return out[j:]
}

// inRange reports whether the magnitude u + n/1e9 with the given sign is
// within the int64 milli range.
func inRange(neg bool, u, n uint64) bool {
	limit := uint64(maxNanosPos)
	if neg {
		limit = maxNanosNeg
	}
	return u < maxUnits || u == maxUnits && n <= limit
}

func fromMagnitude(neg bool, u, n uint64, f Format) Quantity {
	if !neg || u == 0 && n == 0 {
		return Quantity{units: int64(u), nanos: int32(n), format: f}
	}
	if n == 0 {
		return Quantity{units: -int64(u), format: f}
	}
	return Quantity{units: -int64(u) - 1, nanos: int32(nanosPerUnit - n), format: f}
}

// magnitude returns the sign, whole units and nanos of |q|.
func (q Quantity) magnitude() (neg bool, u, n uint64) {
	if q.units >= 0 {
		return false, uint64(q.units), uint64(q.nanos)
	}
	if q.nanos == 0 {
		return true, uint64(-q.units), 0
	}
	return true, uint64(-q.units - 1), uint64(nanosPerUnit - q.nanos)
}

// NewQuantity returns value units in format f. It fails with ErrOutOfRange
// when |value| exceeds 9223372036854775 (the milli range).
func NewQuantity(value int64, f Format) (Quantity, error) {
	if value > maxUnits || value < -maxUnits {
		return Quantity{}, fmt.Errorf("%w: %d; %s", ErrOutOfRange, value, rangeReminder)
	}
	return Quantity{units: value, format: f}, nil
}

// NewMilliQuantity returns milli thousandths of a unit in format f; every
// int64 is in range.
func NewMilliQuantity(milli int64, f Format) Quantity {
	units, rest := milli/1000, milli%1000
	if rest < 0 {
		units, rest = units-1, rest+1000
	}
	return Quantity{units: units, nanos: int32(rest) * 1_000_000, format: f}
}

// Format is the notation family String uses.
func (q Quantity) Format() Format { return q.format }

// IsZero reports whether q is 0.
func (q Quantity) IsZero() bool { return q.units == 0 && q.nanos == 0 }

// Sign returns -1, 0 or 1.
func (q Quantity) Sign() int {
	switch {
	case q.units < 0:
		return -1
	case q.IsZero():
		return 0
	}
	return 1
}

// Cmp returns -1, 0 or 1 as q is less than, equal to or greater than y.
// The formats play no part: "1Ki" equals "1024".
func (q Quantity) Cmp(y Quantity) int {
	switch {
	case q.units < y.units:
		return -1
	case q.units > y.units:
		return 1
	case q.nanos < y.nanos:
		return -1
	case q.nanos > y.nanos:
		return 1
	}
	return 0
}

// Equal reports whether q and y are the same amount, whatever their formats.
func (q Quantity) Equal(y Quantity) bool { return q.Cmp(y) == 0 }

// Add sets q to q + y. When q is zero it takes y's format. If the sum is
// out of range, q is unchanged and the error wraps ErrOutOfRange.
func (q *Quantity) Add(y Quantity) error {
	u, n := q.units+y.units, q.nanos+y.nanos
	if n >= nanosPerUnit {
		u, n = u+1, n-nanosPerUnit
	}
	return q.set(u, n, y, "+")
}

// Sub sets q to q - y. When q is zero it takes y's format. If the
// difference is out of range, q is unchanged and the error wraps ErrOutOfRange.
func (q *Quantity) Sub(y Quantity) error {
	u, n := q.units-y.units, q.nanos-y.nanos
	if n < 0 {
		u, n = u-1, n+nanosPerUnit
	}
	return q.set(u, n, y, "-")
}

func (q *Quantity) set(u int64, n int32, y Quantity, op string) error {
	r := Quantity{units: u, nanos: n, format: q.format}
	if neg, mu, mn := r.magnitude(); !inRange(neg, mu, mn) {
		return fmt.Errorf("%w: %s %s %s; %s", ErrOutOfRange, q, op, y, rangeReminder)
	}
	if q.IsZero() {
		r.format = y.format
	}
	*q = r
	return nil
}

// MilliValue returns q in thousandths, rounded up in magnitude: "1n" is 1,
// "-1n" is -1, "250m" is 250, "2" is 2000. It never overflows.
func (q Quantity) MilliValue() int64 {
	neg, u, n := q.magnitude()
	m := u*1000 + (n+999_999)/1_000_000
	if neg {
		return -int64(m-1) - 1 // m may be 2^63
	}
	return int64(m)
}

// Value returns q in whole units, rounded up in magnitude: "100m" is 1,
// "-1.5" is -2, "1Ki" is 1024.
func (q Quantity) Value() int64 {
	neg, u, n := q.magnitude()
	if n > 0 {
		u++
	}
	if neg {
		return -int64(u)
	}
	return int64(u)
}

// AsInt64 returns q in whole units when it is a whole number.
func (q Quantity) AsInt64() (int64, bool) {
	if q.nanos != 0 {
		return 0, false
	}
	return q.units, true
}

var (
	binarySuffixes  = []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	decimalSuffixes = map[int]string{-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
)

// String returns the canonical form of q in its format family; ParseQuantity
// reads it back to an equal quantity of the same format.
func (q Quantity) String() string {
	if q.IsZero() {
		return "0"
	}
	neg, u, n := q.magnitude()
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if q.format == BinarySI && n == 0 && u >= 1024 {
		exp := 0
		for exp < len(binarySuffixes)-1 && u%1024 == 0 {
			u /= 1024
			exp++
		}
		b.WriteString(strconv.FormatUint(u, 10))
		b.WriteString(binarySuffixes[exp])
		return b.String()
	}

	// The magnitude in nano-units as decimal digits, then the largest
	// exponent that is a multiple of 3 and keeps the mantissa an integer.
	digits := strconv.FormatUint(n, 10)
	if u > 0 {
		digits = strconv.FormatUint(u, 10) + fmt.Sprintf("%09d", n)
	}
	exp := -9
	for strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		exp++
	}
	if r := (exp%3 + 3) % 3; r > 0 {
		digits += strings.Repeat("0", r)
		exp -= r
	}
	b.WriteString(digits)
	if q.format == DecimalExponent {
		if exp != 0 {
			b.WriteString("e" + strconv.Itoa(exp))
		}
		return b.String()
	}
	b.WriteString(decimalSuffixes[exp]) // exp is within [-9, 15] by the range
	return b.String()
}
