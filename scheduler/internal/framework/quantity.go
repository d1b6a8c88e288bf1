package framework

import (
	"fmt"
	"math/big"
	"strings"
)

// Quantity suffixes, as Kubernetes' resource.Quantity.
var suffixes = map[string]*big.Rat{
	"n": big.NewRat(1, 1_000_000_000), "u": big.NewRat(1, 1_000_000), "m": big.NewRat(1, 1000), "": big.NewRat(1, 1),
	"k": big.NewRat(1e3, 1), "M": big.NewRat(1e6, 1), "G": big.NewRat(1e9, 1), "T": big.NewRat(1e12, 1),
	"P": big.NewRat(1e15, 1), "E": big.NewRat(1e18, 1),
	"Ki": big.NewRat(1<<10, 1), "Mi": big.NewRat(1<<20, 1), "Gi": big.NewRat(1<<30, 1), "Ti": big.NewRat(1<<40, 1),
	"Pi": big.NewRat(1<<50, 1), "Ei": big.NewRat(1<<60, 1),
}

// parseQuantity reads a Kubernetes quantity ("250m", "1.5Gi", "2") as an
// exact rational. The apiserver validated it; this only has to read it.
// TODO: use skiff.dev/proto/resource once it is on main.
func parseQuantity(s string) (*big.Rat, error) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') && s[i-1] != '.' {
		i--
	}
	num, suffix := s[:i], s[i:]
	mult, ok := suffixes[suffix]
	if !ok {
		if e := strings.IndexAny(s, "eE"); e > 0 { // 1e3
			num, suffix = s, ""
			mult = suffixes[""]
		} else {
			return nil, fmt.Errorf("quantity %q: unknown suffix %q", s, suffix)
		}
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok || num == "" {
		return nil, fmt.Errorf("quantity %q: not a number", s)
	}
	return r.Mul(r, mult), nil
}

// ceil rounds r up to an integer.
func ceil(r *big.Rat) int64 {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

// MilliValue is s in thousandths, rounded up ("250m" is 250, "2" is 2000);
// an unreadable quantity is 0.
func MilliValue(s string) int64 {
	r, err := parseQuantity(s)
	if err != nil {
		return 0
	}
	return ceil(r.Mul(r, big.NewRat(1000, 1)))
}

// Value is s in whole units, rounded up ("128Mi" is 134217728); an
// unreadable quantity is 0.
func Value(s string) int64 {
	r, err := parseQuantity(s)
	if err != nil {
		return 0
	}
	return ceil(r)
}
