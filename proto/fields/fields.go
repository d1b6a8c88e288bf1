// Package fields implements Kubernetes field selectors, the
// ?fieldSelector= of list and watch: "spec.nodeName=node-1,status.phase!=Failed".
//
// A selector is a comma-separated conjunction of terms field=value,
// field==value or field!=value. Whitespace around fields and values is
// ignored. In values, ',', '=', '!' and '\' must be escaped with a
// backslash (see EscapeValue). A missing field reads as "", so
// "spec.nodeName=" selects pods that are not scheduled yet. Which fields
// exist is up to the caller (the apiserver supports a few per kind).
package fields

import (
	"sort"
	"strings"
)

// Set holds an object's selectable fields, such as
// {"metadata.name": "web-1", "spec.nodeName": "node-1"}.
type Set map[string]string

// Has reports whether the field is present.
func (fs Set) Has(field string) bool {
	_, ok := fs[field]
	return ok
}

// Get returns the field's value, or "" when absent.
func (fs Set) Get(field string) string { return fs[field] }

// String renders the set sorted by field: "a=b,c=d", values escaped, so it
// is also the selector matching exactly this set.
func (fs Set) String() string {
	keys := make([]string, 0, len(fs))
	for k := range fs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + EscapeValue(fs[k])
	}
	return strings.Join(parts, ",")
}

// AsSelector is SelectorFromSet(fs).
func (fs Set) AsSelector() Selector { return SelectorFromSet(fs) }
