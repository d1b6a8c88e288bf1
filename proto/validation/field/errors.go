// Package field describes where in an object a validation error is, and
// collects such errors so a user sees every mistake at once with its path:
// `spec.containers[0].image: Required value`.
package field

import (
	"fmt"
	"strconv"
	"strings"
)

// Path is a field path such as spec.containers[0].image.
type Path struct {
	name   string // a field name, or "" when index is set
	index  string // a list index or map key
	parent *Path
}

// NewPath starts a path at a top-level field.
func NewPath(name string, more ...string) *Path {
	p := &Path{name: name}
	for _, m := range more {
		p = p.Child(m)
	}
	return p
}

// Child is the path of a field below p.
func (p *Path) Child(name string, more ...string) *Path {
	c := &Path{name: name, parent: p}
	for _, m := range more {
		c = c.Child(m)
	}
	return c
}

// Index is the path of the i-th element of the list at p.
func (p *Path) Index(i int) *Path { return &Path{index: strconv.Itoa(i), parent: p} }

// Key is the path of a map entry at p.
func (p *Path) Key(k string) *Path { return &Path{index: k, parent: p} }

// String renders the path: spec.containers[0].image, metadata.labels[app].
func (p *Path) String() string {
	if p == nil {
		return "<nil>"
	}
	var elems []*Path
	for e := p; e != nil; e = e.parent {
		elems = append(elems, e)
	}
	var b strings.Builder
	for i := len(elems) - 1; i >= 0; i-- {
		e := elems[i]
		if e.index != "" || e.name == "" {
			b.WriteString("[" + e.index + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// ErrorType is the kind of a validation error, named as Kubernetes names them.
type ErrorType string

const (
	ErrorTypeRequired     ErrorType = "Required value"
	ErrorTypeInvalid      ErrorType = "Invalid value"
	ErrorTypeNotSupported ErrorType = "Unsupported value"
	ErrorTypeDuplicate    ErrorType = "Duplicate value"
	ErrorTypeForbidden    ErrorType = "Forbidden"
	ErrorTypeTooLong      ErrorType = "Too long"
	ErrorTypeImmutable    ErrorType = "Invalid value" // with detail "field is immutable"
)

// Error is one validation error at one field.
type Error struct {
	Type     ErrorType
	Field    string
	BadValue any
	Detail   string
}

// Error renders `field: Type: "value": detail`, as Kubernetes does.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Field + ": " + string(e.Type))
	if e.BadValue != nil && e.Type != ErrorTypeRequired && e.Type != ErrorTypeForbidden {
		switch v := e.BadValue.(type) {
		case string:
			b.WriteString(": " + strconv.Quote(v))
		default:
			fmt.Fprintf(&b, ": %v", v)
		}
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Required reports a missing value.
func Required(p *Path, detail string) *Error {
	return &Error{Type: ErrorTypeRequired, Field: p.String(), Detail: detail}
}

// Invalid reports a value that is not allowed.
func Invalid(p *Path, value any, detail string) *Error {
	return &Error{Type: ErrorTypeInvalid, Field: p.String(), BadValue: value, Detail: detail}
}

// NotSupported reports a value outside an enumeration.
func NotSupported(p *Path, value any, valid []string) *Error {
	quoted := make([]string, len(valid))
	for i, v := range valid {
		quoted[i] = strconv.Quote(v)
	}
	return &Error{Type: ErrorTypeNotSupported, Field: p.String(), BadValue: value,
		Detail: "supported values: " + strings.Join(quoted, ", ")}
}

// Duplicate reports a value that must be unique.
func Duplicate(p *Path, value any) *Error {
	return &Error{Type: ErrorTypeDuplicate, Field: p.String(), BadValue: value}
}

// Forbidden reports a field that may not be set here.
func Forbidden(p *Path, detail string) *Error {
	return &Error{Type: ErrorTypeForbidden, Field: p.String(), Detail: detail}
}

// TooLong reports a value over its length limit.
func TooLong(p *Path, value any, max int) *Error {
	return &Error{Type: ErrorTypeTooLong, Field: p.String(), BadValue: value,
		Detail: fmt.Sprintf("must have at most %d bytes", max)}
}

// Immutable reports a change to a field that may not change after creation.
func Immutable(p *Path, value any) *Error {
	return &Error{Type: ErrorTypeInvalid, Field: p.String(), BadValue: value, Detail: "field is immutable"}
}

// ErrorList is every validation error of one object.
type ErrorList []*Error

// Error joins the errors: `a: Required value, b: Invalid value: -1: must be >= 0`.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, ", ")
}

// ToAggregate is nil for an empty list, else the list as an error.
func (l ErrorList) ToAggregate() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
