package labels

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"skiff.dev/proto/validation"
)

// Operator is the relation a Requirement tests between a label and its values.
type Operator string

// The operators of the selector syntax. The values are those of Kubernetes'
// selection.Operator.
const (
	Equals       Operator = "="
	DoubleEquals Operator = "=="
	NotEquals    Operator = "!="
	In           Operator = "in"
	NotIn        Operator = "notin"
	Exists       Operator = "exists"
	DoesNotExist Operator = "!"
	GreaterThan  Operator = "gt"
	LessThan     Operator = "lt"
)

// Requirement is one term of a selector: a key, an operator and the values
// the operator compares with. Build it with NewRequirement or Parse.
type Requirement struct {
	key      string
	operator Operator
	values   []string // sorted, without duplicates
}

// NewRequirement checks and builds a requirement:
//   - the key must be a qualified name (an optional DNS prefix and '/', then
//     at most 63 alphanumerics, '-', '_' or '.');
//   - In and NotIn need at least one value;
//   - Equals, DoubleEquals and NotEquals need exactly one value;
//   - Exists and DoesNotExist take no values;
//   - GreaterThan and LessThan need exactly one value, a base-10 integer;
//   - every value must be a valid label value (empty, or at most 63
//     alphanumerics, '-', '_' or '.', starting and ending alphanumeric).
//
// Values are sorted and duplicates dropped, so equal requirements print the same.
func NewRequirement(key string, op Operator, values []string) (Requirement, error) {
	if err := validateKey(key, -1); err != nil {
		return Requirement{}, err
	}
	switch op {
	case In, NotIn:
		if len(values) == 0 {
			return Requirement{}, fmt.Errorf("operator %q on key %q needs at least one value", op, key)
		}
	case Equals, DoubleEquals, NotEquals:
		if len(values) != 1 {
			return Requirement{}, fmt.Errorf("operator %q on key %q needs exactly one value, got %d", op, key, len(values))
		}
	case Exists, DoesNotExist:
		if len(values) != 0 {
			return Requirement{}, fmt.Errorf("operator %q on key %q takes no values, got %d", op, key, len(values))
		}
	case GreaterThan, LessThan:
		if len(values) != 1 {
			return Requirement{}, fmt.Errorf("operator %q on key %q needs exactly one value, got %d", op, key, len(values))
		}
		if _, err := strconv.ParseInt(values[0], 10, 64); err != nil {
			return Requirement{}, fmt.Errorf("operator %q on key %q needs an integer value, got %q", op, key, values[0])
		}
	default:
		return Requirement{}, fmt.Errorf("unknown operator %q on key %q", op, key)
	}
	for _, v := range values {
		if err := validateValue(v, -1); err != nil {
			return Requirement{}, fmt.Errorf("key %q: %w", key, err)
		}
	}
	vs := slices.Clone(values)
	slices.Sort(vs)
	return Requirement{key: key, operator: op, values: slices.Compact(vs)}, nil
}

// validateKey checks a label key; pos >= 0 is its offset in a selector string.
func validateKey(k string, pos int) error {
	if errs := validation.IsQualifiedName(k); len(errs) > 0 {
		return fmt.Errorf("invalid label key %q%s: %s", k, at(pos), strings.Join(errs, "; "))
	}
	return nil
}

// validateValue checks a label value; pos >= 0 is its offset in a selector string.
func validateValue(v string, pos int) error {
	if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
		return fmt.Errorf("invalid label value %q%s: %s", v, at(pos), strings.Join(errs, "; "))
	}
	return nil
}

func at(pos int) string {
	if pos < 0 {
		return ""
	}
	return fmt.Sprintf(" at position %d", pos)
}

// Key is the label key the requirement tests.
func (r Requirement) Key() string { return r.key }

// Operator is the requirement's operator.
func (r Requirement) Operator() Operator { return r.operator }

// Values returns a sorted copy of the requirement's values.
func (r Requirement) Values() []string { return slices.Clone(r.values) }

// Matches reports whether the labels satisfy the requirement. "!=" and
// "notin" match labels without the key; ">" and "<" never match a label
// whose value is not an integer.
func (r Requirement) Matches(ls Set) bool {
	v, has := ls[r.key]
	switch r.operator {
	case In, Equals, DoubleEquals:
		return has && r.hasValue(v)
	case NotIn, NotEquals:
		return !has || !r.hasValue(v)
	case Exists:
		return has
	case DoesNotExist:
		return !has
	case GreaterThan, LessThan:
		if !has || len(r.values) != 1 {
			return false
		}
		lv, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		rv, err := strconv.ParseInt(r.values[0], 10, 64)
		if err != nil {
			return false
		}
		if r.operator == GreaterThan {
			return lv > rv
		}
		return lv < rv
	}
	return false
}

func (r Requirement) hasValue(v string) bool {
	_, found := slices.BinarySearch(r.values, v)
	return found
}

// String renders the requirement in selector syntax, so that Parse reads it
// back: "app=web", "tier in (back,front)", "!canary", "replicas>3".
func (r Requirement) String() string {
	var b strings.Builder
	if r.operator == DoesNotExist {
		b.WriteByte('!')
	}
	b.WriteString(r.key)
	switch r.operator {
	case Equals, DoubleEquals, NotEquals:
		b.WriteString(string(r.operator))
	case In:
		b.WriteString(" in ")
	case NotIn:
		b.WriteString(" notin ")
	case GreaterThan:
		b.WriteByte('>')
	case LessThan:
		b.WriteByte('<')
	default: // Exists, DoesNotExist
		return b.String()
	}
	switch r.operator {
	case In, NotIn:
		b.WriteByte('(')
		b.WriteString(strings.Join(r.values, ","))
		b.WriteByte(')')
	default:
		if len(r.values) > 0 {
			b.WriteString(r.values[0])
		}
	}
	return b.String()
}

// Selector selects label sets. Implementations are immutable.
type Selector interface {
	// Matches reports whether the labels satisfy every requirement.
	Matches(Set) bool
	// Empty reports whether the selector has no requirements and so
	// matches everything. Nothing() is not empty.
	Empty() bool
	// String renders the selector in the syntax Parse reads, requirements
	// sorted by key. Everything() and Nothing() both render as "".
	String() string
	// Requirements returns the requirements sorted by key; nil for
	// Everything() and Nothing().
	Requirements() []Requirement
	// Add returns a selector that also requires reqs.
	Add(reqs ...Requirement) Selector
	// RequiresExactMatch reports the one value a label must have, when the
	// selector pins it with "=", "==" or an "in" of one value.
	RequiresExactMatch(key string) (value string, ok bool)
}

// Everything returns the selector that matches every label set.
func Everything() Selector { return internalSelector(nil) }

// Nothing returns the selector that matches no label set.
func Nothing() Selector { return nothingSelector{} }

// SelectorFromSet returns the selector matching label sets that have every
// key of ls with the same value; an empty or nil set gives Everything(). It
// does not check keys or values: use ValidatedSelectorFromSet for input a
// user typed.
func SelectorFromSet(ls Set) Selector {
	reqs := make(internalSelector, 0, len(ls))
	for k, v := range ls {
		reqs = append(reqs, Requirement{key: k, operator: Equals, values: []string{v}})
	}
	sortByKey(reqs)
	return reqs
}

// ValidatedSelectorFromSet is SelectorFromSet, but fails on a key or value
// that is not valid for a label.
func ValidatedSelectorFromSet(ls Set) (Selector, error) {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	reqs := make(internalSelector, 0, len(ls))
	for _, k := range keys {
		r, err := NewRequirement(k, Equals, []string{ls[k]})
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	return reqs, nil
}

// internalSelector is a conjunction of requirements sorted by key.
type internalSelector []Requirement

func (s internalSelector) Matches(ls Set) bool {
	for _, r := range s {
		if !r.Matches(ls) {
			return false
		}
	}
	return true
}

func (s internalSelector) Empty() bool { return len(s) == 0 }

func (s internalSelector) String() string {
	parts := make([]string, len(s))
	for i, r := range s {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

func (s internalSelector) Requirements() []Requirement {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func (s internalSelector) Add(reqs ...Requirement) Selector {
	out := make(internalSelector, 0, len(s)+len(reqs))
	out = append(out, s...)
	out = append(out, reqs...)
	sortByKey(out)
	return out
}

func (s internalSelector) RequiresExactMatch(key string) (string, bool) {
	for _, r := range s {
		if r.key != key {
			continue
		}
		switch r.operator {
		case Equals, DoubleEquals, In:
			if len(r.values) == 1 {
				return r.values[0], true
			}
		}
	}
	return "", false
}

func sortByKey(reqs []Requirement) {
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].key < reqs[j].key })
}

// nothingSelector matches nothing; it is what a nil metav1.LabelSelector means.
type nothingSelector struct{}

func (nothingSelector) Matches(Set) bool                         { return false }
func (nothingSelector) Empty() bool                              { return false }
func (nothingSelector) String() string                           { return "" }
func (nothingSelector) Requirements() []Requirement              { return nil }
func (n nothingSelector) Add(...Requirement) Selector            { return n }
func (nothingSelector) RequiresExactMatch(string) (string, bool) { return "", false }
