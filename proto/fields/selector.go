package fields

import (
	"fmt"
	"slices"
	"strings"
)

// Operator is the comparison of a Requirement.
type Operator string

// The operators of field selectors. "==" is read as Equals.
const (
	Equals    Operator = "="
	NotEquals Operator = "!="
)

// Requirement is one term of a field selector.
type Requirement struct {
	Field    string
	Operator Operator
	Value    string // unescaped
}

// Matches reports whether the fields satisfy the requirement; a missing
// field reads as "".
func (r Requirement) Matches(fs Set) bool {
	if r.Operator == NotEquals {
		return fs[r.Field] != r.Value
	}
	return fs[r.Field] == r.Value
}

// String renders the term with its value escaped: "spec.nodeName=node-1".
func (r Requirement) String() string {
	return r.Field + string(r.Operator) + EscapeValue(r.Value)
}

// Selector selects field sets. Implementations are immutable.
type Selector interface {
	// Matches reports whether the fields satisfy every requirement.
	Matches(Set) bool
	// Empty reports whether the selector has no requirements.
	Empty() bool
	// String renders the selector in the syntax Parse reads, terms sorted.
	String() string
	// Requirements returns the terms sorted by field, operator and value;
	// nil when empty.
	Requirements() []Requirement
	// RequiresExactMatch reports the value a field must equal, when the
	// selector has a term field=value; the apiserver uses it to serve
	// spec.nodeName=X from an index.
	RequiresExactMatch(field string) (value string, ok bool)
}

// Everything returns the selector that matches every field set.
func Everything() Selector { return selector(nil) }

// SelectorFromSet returns the selector requiring every field of fs to equal
// its value; an empty set gives Everything().
func SelectorFromSet(fs Set) Selector {
	s := make(selector, 0, len(fs))
	for f, v := range fs {
		s = append(s, Requirement{Field: f, Operator: Equals, Value: v})
	}
	s.sort()
	return s
}

// OneTermEqualSelector returns the selector field=value.
func OneTermEqualSelector(field, value string) Selector {
	return selector{{Field: field, Operator: Equals, Value: value}}
}

// OneTermNotEqualSelector returns the selector field!=value.
func OneTermNotEqualSelector(field, value string) Selector {
	return selector{{Field: field, Operator: NotEquals, Value: value}}
}

// selector is a conjunction of requirements, sorted.
type selector []Requirement

func (s selector) sort() {
	slices.SortStableFunc(s, func(a, b Requirement) int {
		if c := strings.Compare(a.Field, b.Field); c != 0 {
			return c
		}
		if c := strings.Compare(string(a.Operator), string(b.Operator)); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
}

func (s selector) Matches(fs Set) bool {
	for _, r := range s {
		if !r.Matches(fs) {
			return false
		}
	}
	return true
}

func (s selector) Empty() bool { return len(s) == 0 }

func (s selector) String() string {
	parts := make([]string, len(s))
	for i, r := range s {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

func (s selector) Requirements() []Requirement {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func (s selector) RequiresExactMatch(field string) (string, bool) {
	for _, r := range s {
		if r.Field == field && r.Operator == Equals {
			return r.Value, true
		}
	}
	return "", false
}

// Parse reads a field selector such as "spec.nodeName=node-1,status.phase!=Failed".
// An empty or blank string selects everything; empty terms ("a=b,,c=d") are
// skipped, as in Kubernetes. Errors name the problem and its byte position
// (counted from 0) in s.
func Parse(s string) (Selector, error) {
	var sel selector
	for _, t := range splitTerms(s) {
		if strings.TrimSpace(t.text) == "" {
			continue
		}
		r, err := parseTerm(t.text, t.pos)
		if err != nil {
			return nil, fmt.Errorf("invalid field selector: %w", err)
		}
		sel = append(sel, r)
	}
	sel.sort()
	return sel, nil
}

type term struct {
	text string
	pos  int // offset of text in the selector
}

// splitTerms cuts s at every comma not escaped with a backslash.
func splitTerms(s string) []term {
	var terms []term
	start, escaped := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case s[i] == '\\':
			escaped = true
		case s[i] == ',':
			terms = append(terms, term{s[start:i], start})
			start = i + 1
		}
	}
	return append(terms, term{s[start:], start})
}

// parseTerm reads one field=value, field==value or field!=value; pos is
// the offset of t in the whole selector.
func parseTerm(t string, pos int) (Requirement, error) {
	opAt, op, opLen := -1, Equals, 0
	for i := 0; i < len(t) && opAt < 0; i++ {
		switch {
		case t[i] == '\\':
			i++ // skip the escaped byte
		case strings.HasPrefix(t[i:], "!="):
			opAt, op, opLen = i, NotEquals, 2
		case strings.HasPrefix(t[i:], "=="):
			opAt, op, opLen = i, Equals, 2
		case t[i] == '=':
			opAt, op, opLen = i, Equals, 1
		}
	}
	if opAt < 0 {
		return Requirement{}, fmt.Errorf("can't understand '%s' at position %d, expected field=value, field==value or field!=value",
			strings.TrimSpace(t), pos+leadingSpace(t))
	}
	field := strings.TrimSpace(t[:opAt])
	if field == "" {
		return Requirement{}, fmt.Errorf("missing field name before '%s' at position %d", t[opAt:opAt+opLen], pos+opAt)
	}
	if i := strings.IndexFunc(field, func(r rune) bool { return !isFieldChar(r) }); i >= 0 {
		return Requirement{}, fmt.Errorf("field name '%s' at position %d must consist of letters, digits, '.', '_' or '-'",
			field, pos+leadingSpace(t))
	}
	raw := t[opAt+opLen:]
	valuePos := pos + opAt + opLen + leadingSpace(raw)
	value, err := unescapeAt(strings.TrimSpace(raw), valuePos)
	if err != nil {
		return Requirement{}, err
	}
	return Requirement{Field: field, Operator: op, Value: value}, nil
}

func leadingSpace(s string) int { return len(s) - len(strings.TrimLeft(s, " \t\r\n")) }

func isFieldChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// EscapeValue escapes '\', ',', '=' and '!' with a backslash, so that any
// string can be a value in a field selector.
func EscapeValue(s string) string {
	if !strings.ContainsAny(s, `\,=!`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', ',', '=', '!':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// UnescapeValue undoes EscapeValue. It fails on a backslash before any other
// character and on an unescaped ',', '=' or '!'.
func UnescapeValue(s string) (string, error) { return unescapeAt(s, 0) }

func unescapeAt(s string, pos int) (string, error) {
	if !strings.ContainsAny(s, `\,=!`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) {
				return "", fmt.Errorf("invalid escape sequence: value '%s' ends in a lone '\\' at position %d", s, pos+i)
			}
			switch n := s[i+1]; n {
			case '\\', ',', '=', '!':
				b.WriteByte(n)
				i++
			default:
				return "", fmt.Errorf("invalid escape sequence '%s' at position %d: a backslash may only escape '\\', ',', '=' or '!'", s[i:i+2], pos+i)
			}
		case ',', '=', '!':
			return "", fmt.Errorf("unescaped '%c' at position %d in value '%s': write it as '\\%c'", c, pos+i, s, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
