package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The values of the fieldValidation query parameter (kubectl sends one
// with every create, replace and apply: --validate=strict|warn|false).
const (
	FieldValidationIgnore = "Ignore"
	FieldValidationWarn   = "Warn"
	FieldValidationStrict = "Strict"
)

// FieldValidation is the outcome of checking a request body's fields.
type FieldValidation struct {
	Body     []byte   // the body, without the unknown fields unless Strict
	Warnings []string // for Warn: `unknown field "spec.foo"`, one per field
	Unknown  []string // the unknown fields' paths, in document order
}

// ValidateFields finds the fields of a JSON object (of message md) that
// the API does not have and handles them as Kubernetes does under
// directive: Strict leaves the body for the caller to refuse (see
// StrictError), Warn drops them and warns of each, Ignore drops them. A
// body that is not a JSON object is left to the codec to refuse.
func ValidateFields(directive string, body []byte, md protoreflect.MessageDescriptor) (FieldValidation, error) {
	out := FieldValidation{Body: body}
	switch directive {
	case FieldValidationIgnore, FieldValidationWarn, FieldValidationStrict:
	default:
		return out, fmt.Errorf("fieldValidation must be one of %q, %q or %q, got %q",
			FieldValidationIgnore, FieldValidationWarn, FieldValidationStrict, directive)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return out, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return out, nil
	}
	out.Unknown = pruneUnknown(obj, md, "")
	if len(out.Unknown) == 0 || directive == FieldValidationStrict {
		return out, nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return out, err
	}
	out.Body = b
	if directive == FieldValidationWarn {
		for _, p := range out.Unknown {
			out.Warnings = append(out.Warnings, "unknown field "+strconv.Quote(p))
		}
	}
	return out, nil
}

// StrictError is Kubernetes' message for the unknown fields of a body
// under fieldValidation=Strict: `strict decoding error: unknown field
// "spec.foo", unknown field "bar"`.
func StrictError(unknown []string) string {
	parts := make([]string, len(unknown))
	for i, p := range unknown {
		parts[i] = "unknown field " + strconv.Quote(p)
	}
	return "strict decoding error: " + strings.Join(parts, ", ")
}

// prune deletes from obj the keys md has no field for and returns their
// paths, depth first in key order (the order of kubectl's JSON).
func pruneUnknown(obj map[string]any, md protoreflect.MessageDescriptor, path string) []string {
	if md.FullName().Parent() == "google.protobuf" {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var unknown []string
	for _, k := range keys {
		p := k
		if path != "" {
			p = path + "." + k
		}
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByTextName(k)
		}
		if fd == nil {
			unknown = append(unknown, p)
			delete(obj, k)
			continue
		}
		switch {
		case fd.IsList() && fd.Message() != nil:
			items, _ := obj[k].([]any)
			for i, item := range items {
				if m, ok := item.(map[string]any); ok {
					unknown = append(unknown, pruneUnknown(m, fd.Message(), fmt.Sprintf("%s[%d]", p, i))...)
				}
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			vals, _ := obj[k].(map[string]any)
			mkeys := make([]string, 0, len(vals))
			for mk := range vals {
				mkeys = append(mkeys, mk)
			}
			sort.Strings(mkeys)
			for _, mk := range mkeys {
				if m, ok := vals[mk].(map[string]any); ok {
					unknown = append(unknown, pruneUnknown(m, fd.MapValue().Message(), p+"["+mk+"]")...)
				}
			}
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			if m, ok := obj[k].(map[string]any); ok {
				unknown = append(unknown, pruneUnknown(m, fd.Message(), p)...)
			}
		}
	}
	return unknown
}

// MessageOf is the message of kind in REST group group.
func MessageOf(group, kind string) (protoreflect.MessageDescriptor, error) {
	return message(protoPackage(group) + "." + kind)
}
