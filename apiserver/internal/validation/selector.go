package validation

import (
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
	apivalidation "skiff.dev/proto/validation"
	"skiff.dev/proto/validation/field"
)

// Label selector operators.
const (
	opIn           = "In"
	opNotIn        = "NotIn"
	opExists       = "Exists"
	opDoesNotExist = "DoesNotExist"
	opGt           = "Gt"
	opLt           = "Lt"
)

// validateLabelSelector checks a label selector's keys, values and operators.
func validateLabelSelector(s *metav1.LabelSelector, p *field.Path) field.ErrorList {
	if s == nil {
		return nil
	}
	errs := validateLabels(s.MatchLabels, p.Child("matchLabels"))
	for i, r := range s.MatchExpressions {
		errs = append(errs, validateLabelSelectorRequirement(r, p.Child("matchExpressions").Index(i))...)
	}
	return errs
}

func validateLabelSelectorRequirement(r *metav1.LabelSelectorRequirement, p *field.Path) field.ErrorList {
	if r == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	switch r.Operator {
	case opIn, opNotIn:
		if len(r.Values) == 0 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case opExists, opDoesNotExist:
		if len(r.Values) > 0 {
			errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("operator"), r.Operator, []string{opIn, opNotIn, opExists, opDoesNotExist}))
	}
	errs = append(errs, validateLabelName(r.Key, p.Child("key"))...)
	for j, v := range r.Values {
		errs = append(errs, invalidAll(p.Child("values").Index(j), v, apivalidation.IsValidLabelValue(v))...)
	}
	return errs
}

// isEmptySelector says whether s selects everything (or is missing).
func isEmptySelector(s *metav1.LabelSelector) bool {
	return s == nil || len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// selectorMatchesTemplate checks that a workload's selector selects the
// pods its template makes; a selector that does not parse was reported by
// validateLabelSelector already.
func selectorMatchesTemplate(s *metav1.LabelSelector, templateLabels map[string]string, p *field.Path) field.ErrorList {
	sel, err := labels.FromLabelSelector(s)
	if err != nil || sel.Matches(labels.Set(templateLabels)) {
		return nil
	}
	return field.ErrorList{field.Invalid(p, labels.Set(templateLabels).String(), "selector does not match template labels")}
}
