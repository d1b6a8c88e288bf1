package validation

import (
	"slices"
	"strings"

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

// formatSelector renders a selector as its string form,
// "app=web,tier in (back,front)", for error messages.
func formatSelector(s *metav1.LabelSelector) string {
	if s == nil {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(s.MatchLabels) {
		parts = append(parts, k+"="+s.MatchLabels[k])
	}
	for _, r := range s.MatchExpressions {
		if r == nil {
			continue
		}
		switch r.Operator {
		case opExists:
			parts = append(parts, r.Key)
		case opDoesNotExist:
			parts = append(parts, "!"+r.Key)
		default:
			vals := slices.Clone(r.Values)
			slices.Sort(vals)
			parts = append(parts, r.Key+" "+strings.ToLower(r.Operator)+" ("+strings.Join(vals, ",")+")")
		}
	}
	return strings.Join(parts, ",")
}
