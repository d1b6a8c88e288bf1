package framework

import "skiff.dev/proto/resource"

// MilliValue is s in thousandths, rounded up ("250m" is 250, "2" is 2000);
// an unreadable quantity is 0 (the apiserver has validated every stored one).
func MilliValue(s string) int64 {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0
	}
	return q.MilliValue()
}

// Value is s in whole units, rounded up ("128Mi" is 134217728); an
// unreadable quantity is 0.
func Value(s string) int64 {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0
	}
	return q.Value()
}
