package validation

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"skiff.dev/proto/validation/field"
)

// expectErrors checks that errs are exactly the wanted errors, each given
// as "field: Type" (e.g. "spec.containers[0].image: Required value"), in
// any order.
func expectErrors(t *testing.T, errs field.ErrorList, want ...string) {
	t.Helper()
	got := errStrings(errs)
	if !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Errorf("errors:\n  got  %q\n  want %q\nfull: %v", got, want, errs)
	}
}

// errStrings renders errors as "field: Type".
func errStrings(errs field.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field + ": " + string(e.Type)
	}
	return out
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// expectDetail checks that some error at path f says detail.
func expectDetail(t *testing.T, errs field.ErrorList, f, detail string) {
	t.Helper()
	for _, e := range errs {
		if e.Field == f && strings.Contains(e.Error(), detail) {
			return
		}
	}
	t.Errorf("no error at %s containing %q in %v", f, detail, errs)
}

// expectIdempotent checks that defaulting a defaulted object changes nothing.
func expectIdempotent[T proto.Message](t *testing.T, obj T, def func(T)) {
	t.Helper()
	def(obj)
	once := proto.Clone(obj)
	def(obj)
	if !proto.Equal(once, obj) {
		t.Errorf("defaulting twice changed the object:\n once  %v\n twice %v", once, obj)
	}
}

const (
	required     = ": Required value"
	invalid      = ": Invalid value"
	notSupported = ": Unsupported value"
	duplicate    = ": Duplicate value"
	forbidden    = ": Forbidden"
	tooLong      = ": Too long"
	notFoundErr  = ": Not found"
)
