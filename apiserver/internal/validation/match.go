package validation

import (
	"slices"

	metav1 "skiff.dev/proto/meta/v1"
)

// selectorMatches says whether a valid selector matches a label set.
// TODO(validation): use skiff.dev/proto/labels once it is on main.
func selectorMatches(s *metav1.LabelSelector, set map[string]string) bool {
	for k, v := range s.GetMatchLabels() {
		if got, ok := set[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range s.GetMatchExpressions() {
		v, ok := set[r.Key]
		switch r.Operator {
		case opIn:
			if !ok || !slices.Contains(r.Values, v) {
				return false
			}
		case opNotIn:
			if ok && slices.Contains(r.Values, v) {
				return false
			}
		case opExists:
			if !ok {
				return false
			}
		case opDoesNotExist:
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}
