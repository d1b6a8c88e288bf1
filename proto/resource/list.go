package resource

import (
	"errors"
	"fmt"
	"sort"
)

// List maps resource names (CPU, Memory, ...) to quantities, as a
// container's requests and limits or a node's capacity do.
type List map[string]Quantity

// ParseList parses the string map of a protobuf message's resources field.
// Every bad entry is reported, sorted by name, each prefixed with its name:
//
//	cpu: quantities must match the regular expression '...', got "1 core"
func ParseList(m map[string]string) (List, error) {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	l := make(List, len(m))
	var errs []error
	for _, name := range names {
		q, err := ParseQuantity(m[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		l[name] = q
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return l, nil
}

// Strings renders the list back to the protobuf form, each quantity in
// canonical form.
func (l List) Strings() map[string]string {
	if l == nil {
		return nil
	}
	m := make(map[string]string, len(l))
	for name, q := range l {
		m[name] = q.String()
	}
	return m
}

// Get returns the named quantity, or zero when it is absent.
func (l List) Get(name string) Quantity { return l[name] }

// CPU returns the "cpu" quantity, or zero.
func (l List) CPU() Quantity { return l[CPU] }

// Memory returns the "memory" quantity, or zero.
func (l List) Memory() Quantity { return l[Memory] }

// Pods returns the "pods" quantity, or zero.
func (l List) Pods() Quantity { return l[Pods] }

// EphemeralStorage returns the "ephemeral-storage" quantity, or zero.
func (l List) EphemeralStorage() Quantity { return l[EphemeralStorage] }

// Add adds every quantity of other into l, name by name; names only in
// other are added to l. On overflow l is unchanged and the error names the
// resource. l must not be nil unless other is empty.
func (l List) Add(other List) error {
	sums := make(List, len(other))
	names := make([]string, 0, len(other))
	for name := range other {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sum := l[name]
		if err := sum.Add(other[name]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		sums[name] = sum
	}
	for name, q := range sums {
		l[name] = q
	}
	return nil
}
