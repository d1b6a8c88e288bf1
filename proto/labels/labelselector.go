package labels

import (
	"fmt"
	"sort"

	metav1 "skiff.dev/proto/meta/v1"
)

// The operators of metav1.LabelSelectorRequirement.
const (
	LabelSelectorOpIn           = "In"
	LabelSelectorOpNotIn        = "NotIn"
	LabelSelectorOpExists       = "Exists"
	LabelSelectorOpDoesNotExist = "DoesNotExist"
)

// FromLabelSelector converts a structured selector, as found in a
// Deployment's spec.selector, into a Selector, as Kubernetes'
// metav1.LabelSelectorAsSelector does: a nil selector selects nothing, an
// empty one everything; otherwise every matchLabels pair and every
// matchExpressions entry must hold.
//
// Errors carry the path of the bad entry inside the selector, for example
// `matchExpressions[1].operator: unknown operator "in", expected one of In,
// NotIn, Exists, DoesNotExist`; callers prefix the selector's own path.
func FromLabelSelector(ls *metav1.LabelSelector) (Selector, error) {
	if ls == nil {
		return Nothing(), nil
	}
	matchLabels := ls.GetMatchLabels()
	exprs := ls.GetMatchExpressions()
	if len(matchLabels)+len(exprs) == 0 {
		return Everything(), nil
	}
	reqs := make(internalSelector, 0, len(matchLabels)+len(exprs))

	keys := make([]string, 0, len(matchLabels))
	for k := range matchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := validateKey(k, -1); err != nil {
			return nil, fmt.Errorf("matchLabels: %w", err)
		}
		if err := validateValue(matchLabels[k], -1); err != nil {
			return nil, fmt.Errorf("matchLabels[%s]: %w", k, err)
		}
		reqs = append(reqs, Requirement{key: k, operator: Equals, values: []string{matchLabels[k]}})
	}

	for i, e := range exprs {
		path := fmt.Sprintf("matchExpressions[%d]", i)
		if err := validateKey(e.GetKey(), -1); err != nil {
			return nil, fmt.Errorf("%s.key: %w", path, err)
		}
		var op Operator
		switch e.GetOperator() {
		case LabelSelectorOpIn:
			op = In
		case LabelSelectorOpNotIn:
			op = NotIn
		case LabelSelectorOpExists:
			op = Exists
		case LabelSelectorOpDoesNotExist:
			op = DoesNotExist
		default:
			return nil, fmt.Errorf("%s.operator: unknown operator %q, expected one of In, NotIn, Exists, DoesNotExist", path, e.GetOperator())
		}
		vals := e.GetValues()
		switch {
		case (op == In || op == NotIn) && len(vals) == 0:
			return nil, fmt.Errorf("%s.values: must be specified when operator is In or NotIn", path)
		case (op == Exists || op == DoesNotExist) && len(vals) > 0:
			return nil, fmt.Errorf("%s.values: may not be specified when operator is Exists or DoesNotExist", path)
		}
		for j, v := range vals {
			if err := validateValue(v, -1); err != nil {
				return nil, fmt.Errorf("%s.values[%d]: %w", path, j, err)
			}
		}
		r, err := NewRequirement(e.GetKey(), op, vals)
		if err != nil { // unreachable after the checks above; kept for safety
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		reqs = append(reqs, r)
	}
	sortByKey(reqs)
	return reqs, nil
}

// FormatLabelSelector renders a structured selector in the string syntax
// Parse reads, for Scale.status.selector, ListOptions.labelSelector and
// skiffctl's output: {matchLabels: {app: web}} becomes "app=web". Nil and
// empty selectors render as "" (display code shows that as "<none>"); a
// selector FromLabelSelector rejects renders as "<error>", as in Kubernetes.
func FormatLabelSelector(ls *metav1.LabelSelector) string {
	s, err := FromLabelSelector(ls)
	if err != nil {
		return "<error>"
	}
	return s.String()
}
