// Package labels implements Kubernetes label selectors: the string syntax
// used by ?labelSelector= and `skiffctl get -l`, and the structured
// metav1.LabelSelector used by workload specs.
//
// The grammar is Kubernetes' own:
//
//	selector    = "" | requirement { "," requirement }
//	requirement = key ("=" | "==" | "!=") [value]
//	            | key ("in" | "notin") "(" [value { "," value }] ")"
//	            | key (">" | "<") integer
//	            | key | "!" key
//
// Keys must be qualified names and values valid label values (see package
// skiff.dev/proto/validation). Whitespace between tokens is ignored. As in
// Kubernetes, "!=" and "notin" also match objects without the key, and "in ()"
// is the set holding only the empty value.
package labels

import (
	"sort"
	"strings"
)

// Set is a map of label keys to values, such as an object's metadata.labels.
type Set map[string]string

// Has reports whether the key is present, with any value.
func (ls Set) Has(key string) bool {
	_, ok := ls[key]
	return ok
}

// Get returns the value for key, or "" when absent.
func (ls Set) Get(key string) string { return ls[key] }

// String renders the set sorted by key: "a=b,c=d". It is also a selector
// string that matches exactly the objects carrying these labels.
func (ls Set) String() string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(ls[k])
	}
	return b.String()
}

// AsSelector is SelectorFromSet(ls).
func (ls Set) AsSelector() Selector { return SelectorFromSet(ls) }
