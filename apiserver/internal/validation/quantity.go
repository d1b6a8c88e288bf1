package validation

import (
	"errors"
	"math/big"
	"regexp"
	"strconv"
)

// errQuantity is Kubernetes' message for a string that is no quantity.
var errQuantity = errors.New("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")

var (
	quantityRE = regexp.MustCompile(`^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$`)

	binarySuffixes = map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
	decimalExps    = map[string]int{"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
)

// parseQuantity reads a resource quantity ("250m", "128Mi", "1.5", "1e3")
// as an exact rational number.
// TODO(validation): use skiff.dev/proto/resource once it is on main.
func parseQuantity(s string) (*big.Rat, error) {
	m := quantityRE.FindStringSubmatch(s)
	if m == nil {
		return nil, errQuantity
	}
	num, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return nil, errQuantity
	}
	suffix := m[2]
	if mult, ok := binarySuffixes[suffix]; ok {
		return num.Mul(num, new(big.Rat).SetInt64(mult)), nil
	}
	exp, ok := decimalExps[suffix]
	if !ok { // e or E exponent
		e, err := strconv.Atoi(suffix[1:])
		if err != nil || e > 18 || e < -18 {
			return nil, errQuantity
		}
		exp = e
	}
	pow := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil))
	if exp < 0 {
		return num.Quo(num, pow), nil
	}
	return num.Mul(num, pow), nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
