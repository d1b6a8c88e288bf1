package labels_test

import (
	"slices"
	"strings"
	"testing"

	"skiff.dev/proto/labels"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want string // String() of the parsed selector
	}{
		{"", ""},
		{"   \t\n", ""},
		{"x=a", "x=a"},
		{"x==a", "x==a"},
		{"x!=a", "x!=a"},
		{" x = a ", "x=a"},
		{"x=a,y!=b", "x=a,y!=b"},
		{"y!=b,x=a", "x=a,y!=b"},
		{"x=a , y=b", "x=a,y=b"},
		{"x in (b,a)", "x in (a,b)"},
		{"x in(a, b ,c)", "x in (a,b,c)"},
		{"x in (a,a)", "x in (a)"},
		{"x notin (a)", "x notin (a)"},
		{"x", "x"},
		{"!x", "!x"},
		{" ! x ", "!x"},
		{"x,!y", "x,!y"},
		{"x>1", "x>1"},
		{"x < 10", "x<10"},
		{"x=", "x="},
		{"x=,y", "x=,y"},
		{"x!=", "x!="},
		{"x in ()", "x in ()"},
		{"x in (a,)", "x in (,a)"},
		{"x in (,a)", "x in (,a)"},
		{"x in (a,,b)", "x in (,a,b)"},
		{"x in (in,notin)", "x in (in,notin)"},
		{"in=notin", "in=notin"},
		{"example.com/app=web", "example.com/app=web"},
		{"app.kubernetes.io/name in (web, api)", "app.kubernetes.io/name in (api,web)"},
		{"a=b,a!=c", "a=b,a!=c"},
		{"tier=front,app=web,!canary", "app=web,!canary,tier=front"},
		{"x=" + strings.Repeat("v", 63), "x=" + strings.Repeat("v", 63)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := labels.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			// What String prints, Parse must read back to the same selector.
			again, err := labels.Parse(sel.String())
			if err != nil {
				t.Fatalf("Parse(%q) of String(): %v", sel.String(), err)
			}
			if again.String() != sel.String() {
				t.Errorf("round trip: %q became %q", sel.String(), again.String())
			}
			if sel.Empty() != (tt.want == "") {
				t.Errorf("Empty() = %v for %q", sel.Empty(), tt.in)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const keyErr = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
	const valueErr = "a valid label must be an empty string or consist of alphanumeric characters"
	tests := []struct {
		in   string
		want string // the whole message, or a prefix when it ends with "..."
	}{
		{"app=a,!)", "unable to parse requirement: found ')' at position 7, expected: identifier"},
		{"x in )", "unable to parse requirement: found ')' at position 5, expected: '('"},
		{"x notin", "unable to parse requirement: found end of string at position 7, expected: '('"},
		{"x in (a", "unable to parse requirement: found end of string at position 7, expected: ',' or ')'"},
		{"x in (a b)", "unable to parse requirement: found 'b' at position 8, expected: ',' or ')'"},
		{"x in (=)", "unable to parse requirement: found '=' at position 6, expected: ',', ')' or identifier"},
		{"x in (a,=)", "unable to parse requirement: found '=' at position 8, expected: ',', or identifier"},
		{"x in (a,b))", "found ')' at position 10, expected: ',' or end of string"},
		{"x=a y=b", "found 'y' at position 4, expected: ',' or end of string"},
		{"x=a=b", "found '=' at position 3, expected: ',' or end of string"},
		{"x=a,", "found end of string at position 4, expected: identifier after ','"},
		{"x=a,,y", "found ',' at position 4, expected: identifier after ','"},
		{",x", "found ',' at position 0, expected: !, identifier, or end of string"},
		{"=a", "found '=' at position 0, expected: !, identifier, or end of string"},
		{"(x)", "found '(' at position 0, expected: !, identifier, or end of string"},
		{"x=(a)", "unable to parse requirement: found '(' at position 2, expected: identifier"},
		{"!", "unable to parse requirement: found end of string at position 1, expected: identifier"},
		{"!x=a", "found '=' at position 2, expected: ',' or end of string"},
		{"x y", "unable to parse requirement: found 'y' at position 2, expected: one of =, ==, !=, in, notin, >, <"},
		{"x!!=a", "unable to parse requirement: found '!' at position 1, expected: one of =, ==, !=, in, notin, >, <"},
		{"-x=a", `unable to parse requirement: invalid label key "-x" at position 0: ` + keyErr + "..."},
		{"a b=c", "unable to parse requirement: found 'b' at position 2, expected: one of =, ==, !=, in, notin, >, <"},
		{"/x", `unable to parse requirement: invalid label key "/x" at position 0: prefix part must be non-empty`},
		{"x=" + strings.Repeat("v", 64), `unable to parse requirement: invalid label value "` + strings.Repeat("v", 64) + `" at position 2: must be no more than 63 characters...`},
		{"x=a_", `unable to parse requirement: invalid label value "a_" at position 2: ` + valueErr + "..."},
		{"x in (a, b-)", `unable to parse requirement: invalid label value "b-" at position 9: ` + valueErr + "..."},
		{"x>a", `unable to parse requirement: operator "gt" on key "x" needs an integer value, got "a"`},
		{"x>", `unable to parse requirement: operator "gt" on key "x" needs an integer value, got ""`},
		{"x<1.5", `unable to parse requirement: operator "lt" on key "x" needs an integer value, got "1.5"`},
		{"x>-1", `unable to parse requirement: invalid label value "-1" at position 2: ` + valueErr + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := labels.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error %q", tt.in, sel, tt.want)
			}
			if prefix, ok := strings.CutSuffix(tt.want, "..."); ok {
				if !strings.HasPrefix(err.Error(), prefix) {
					t.Errorf("Parse(%q) error\n got: %s\nwant: %s...", tt.in, err, prefix)
				}
			} else if err.Error() != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		sel    string
		labels labels.Set
		want   bool
	}{
		{"", nil, true},
		{"", labels.Set{"x": "a"}, true},
		{"x=a", labels.Set{"x": "a"}, true},
		{"x==a", labels.Set{"x": "a"}, true},
		{"x=a", labels.Set{"x": "b"}, false},
		{"x=a", labels.Set{}, false},
		{"x=a", nil, false},
		{"x!=a", labels.Set{}, true}, // as in Kubernetes: a missing key is "not a"
		{"x!=a", labels.Set{"x": "a"}, false},
		{"x!=a", labels.Set{"x": "b"}, true},
		{"x in (a,b)", labels.Set{"x": "b"}, true},
		{"x in (a,b)", labels.Set{"x": "c"}, false},
		{"x in (a,b)", labels.Set{}, false},
		{"x notin (a,b)", labels.Set{}, true},
		{"x notin (a,b)", labels.Set{"x": "a"}, false},
		{"x notin (a,b)", labels.Set{"x": "c"}, true},
		{"x", labels.Set{"x": ""}, true},
		{"x", labels.Set{"y": "x"}, false},
		{"!x", labels.Set{}, true},
		{"!x", labels.Set{"x": ""}, false},
		{"x in ()", labels.Set{"x": ""}, true},
		{"x in ()", labels.Set{"x": "a"}, false},
		{"x in ()", labels.Set{}, false},
		{"x=", labels.Set{"x": ""}, true},
		{"x=", labels.Set{}, false},
		{"x>3", labels.Set{"x": "4"}, true},
		{"x>3", labels.Set{"x": "3"}, false},
		{"x>3", labels.Set{"x": "abc"}, false},
		{"x>3", labels.Set{}, false},
		{"x<3", labels.Set{"x": "2"}, true},
		{"x<3", labels.Set{"x": "-5"}, true},
		{"x<3", labels.Set{"x": "3"}, false},
		{"x=a,y=b", labels.Set{"x": "a", "y": "b", "z": "c"}, true},
		{"x=a,y=b", labels.Set{"x": "a"}, false},
		{"app=web,!canary", labels.Set{"app": "web"}, true},
		{"app=web,!canary", labels.Set{"app": "web", "canary": "true"}, false},
	}
	for _, tt := range tests {
		sel, err := labels.Parse(tt.sel)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.sel, err)
		}
		if got := sel.Matches(tt.labels); got != tt.want {
			t.Errorf("Parse(%q).Matches(%v) = %v, want %v", tt.sel, tt.labels, got, tt.want)
		}
	}
}

func TestRequirements(t *testing.T) {
	sel, err := labels.Parse("tier in (front, back),app=web,!canary")
	if err != nil {
		t.Fatal(err)
	}
	type req struct {
		key    string
		op     labels.Operator
		values []string
	}
	want := []req{
		{"app", labels.Equals, []string{"web"}},
		{"canary", labels.DoesNotExist, nil},
		{"tier", labels.In, []string{"back", "front"}},
	}
	got := sel.Requirements()
	if len(got) != len(want) {
		t.Fatalf("Requirements() = %v, want %d requirements", got, len(want))
	}
	for i, r := range got {
		if r.Key() != want[i].key || r.Operator() != want[i].op || !slices.Equal(r.Values(), want[i].values) {
			t.Errorf("requirement %d = %s %s %v, want %s %s %v", i, r.Key(), r.Operator(), r.Values(),
				want[i].key, want[i].op, want[i].values)
		}
	}
	// Values returns a copy: changing it does not change the selector.
	got[2].Values()[0] = "changed"
	if sel.String() != "app=web,!canary,tier in (back,front)" {
		t.Errorf("selector changed through Values(): %s", sel)
	}
	if labels.Everything().Requirements() != nil || labels.Nothing().Requirements() != nil {
		t.Error("Everything() and Nothing() must have no requirements")
	}
}

func TestNewRequirement(t *testing.T) {
	tests := []struct {
		key     string
		op      labels.Operator
		values  []string
		want    string // String() of the requirement
		wantErr string
	}{
		{"app", labels.Equals, []string{"web"}, "app=web", ""},
		{"app", labels.NotIn, []string{"b", "a", "b"}, "app notin (a,b)", ""},
		{"app", labels.Exists, nil, "app", ""},
		{"app", labels.DoesNotExist, []string{}, "!app", ""},
		{"n", labels.GreaterThan, []string{"3"}, "n>3", ""},
		{"n", labels.LessThan, []string{"3"}, "n<3", ""},
		{"app", labels.In, nil, "", `operator "in" on key "app" needs at least one value`},
		{"app", labels.Equals, []string{"a", "b"}, "", `operator "=" on key "app" needs exactly one value, got 2`},
		{"app", labels.NotEquals, nil, "", `operator "!=" on key "app" needs exactly one value, got 0`},
		{"app", labels.Exists, []string{"a"}, "", `operator "exists" on key "app" takes no values, got 1`},
		{"n", labels.GreaterThan, []string{"x"}, "", `operator "gt" on key "n" needs an integer value, got "x"`},
		{"app", labels.Operator("like"), []string{"a"}, "", `unknown operator "like" on key "app"`},
		{"", labels.Exists, nil, "", `invalid label key "": name part must be non-empty`},
		{"app", labels.In, []string{"ok", "not ok"}, "", `key "app": invalid label value "not ok": a valid label must be`},
	}
	for _, tt := range tests {
		r, err := labels.NewRequirement(tt.key, tt.op, tt.values)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("NewRequirement(%q, %q, %q) error = %v, want %q", tt.key, tt.op, tt.values, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewRequirement(%q, %q, %q): %v", tt.key, tt.op, tt.values, err)
			continue
		}
		if r.String() != tt.want {
			t.Errorf("NewRequirement(%q, %q, %q) = %q, want %q", tt.key, tt.op, tt.values, r, tt.want)
		}
	}
}

func TestEverythingNothing(t *testing.T) {
	all, none := labels.Everything(), labels.Nothing()
	for _, ls := range []labels.Set{nil, {}, {"a": "b"}} {
		if !all.Matches(ls) {
			t.Errorf("Everything().Matches(%v) = false", ls)
		}
		if none.Matches(ls) {
			t.Errorf("Nothing().Matches(%v) = true", ls)
		}
	}
	if !all.Empty() || none.Empty() {
		t.Errorf("Empty(): Everything %v, Nothing %v; want true, false", all.Empty(), none.Empty())
	}
	if all.String() != "" || none.String() != "" {
		t.Errorf("String(): Everything %q, Nothing %q; want both empty", all, none)
	}
	r, _ := labels.NewRequirement("a", labels.Exists, nil)
	if none.Add(r).Matches(labels.Set{"a": "b"}) {
		t.Error("Nothing().Add(...) must still match nothing")
	}
	if got := all.Add(r).String(); got != "a" {
		t.Errorf("Everything().Add(a) = %q, want %q", got, "a")
	}
}

func TestAddDoesNotChangeReceiver(t *testing.T) {
	sel, err := labels.Parse("b=1")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := labels.NewRequirement("a", labels.Equals, []string{"2"})
	c, _ := labels.NewRequirement("c", labels.Exists, nil)
	got := sel.Add(c, a)
	if got.String() != "a=2,b=1,c" {
		t.Errorf("Add = %q, want %q", got, "a=2,b=1,c")
	}
	if sel.String() != "b=1" {
		t.Errorf("receiver changed to %q", sel)
	}
}

func TestRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel, key  string
		wantValue string
		wantOK    bool
	}{
		{"a=b", "a", "b", true},
		{"a==b", "a", "b", true},
		{"a in (b)", "a", "b", true},
		{"a in (b,c)", "a", "", false},
		{"a!=b", "a", "", false},
		{"a", "a", "", false},
		{"a=b", "c", "", false},
		{"a!=x,a=y", "a", "y", true},
		{"", "a", "", false},
	}
	for _, tt := range tests {
		sel, err := labels.Parse(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := sel.RequiresExactMatch(tt.key)
		if v != tt.wantValue || ok != tt.wantOK {
			t.Errorf("Parse(%q).RequiresExactMatch(%q) = %q, %v; want %q, %v", tt.sel, tt.key, v, ok, tt.wantValue, tt.wantOK)
		}
	}
	if _, ok := labels.Nothing().RequiresExactMatch("a"); ok {
		t.Error("Nothing().RequiresExactMatch reported a value")
	}
}

func TestSet(t *testing.T) {
	ls := labels.Set{"tier": "front", "app": "web", "env": ""}
	if got, want := ls.String(), "app=web,env=,tier=front"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !ls.Has("env") || ls.Has("x") || ls.Get("app") != "web" || ls.Get("x") != "" {
		t.Error("Has/Get disagree with the map")
	}
	if got := (labels.Set{}).String(); got != "" {
		t.Errorf("empty Set String() = %q", got)
	}
	sel := ls.AsSelector()
	if sel.String() != ls.String() {
		t.Errorf("AsSelector().String() = %q, want %q", sel, ls.String())
	}
	if !sel.Matches(labels.Set{"app": "web", "tier": "front", "env": "", "extra": "x"}) {
		t.Error("selector from set must match a superset")
	}
	if sel.Matches(labels.Set{"app": "web", "tier": "front"}) {
		t.Error("selector from set must require every key, including empty values")
	}
}

func TestSelectorFromSet(t *testing.T) {
	if s := labels.SelectorFromSet(nil); !s.Empty() || !s.Matches(labels.Set{"a": "b"}) {
		t.Error("SelectorFromSet(nil) must be Everything()")
	}
	s := labels.SelectorFromSet(map[string]string{"b": "2", "a": "1"})
	if s.String() != "a=1,b=2" {
		t.Errorf("String() = %q", s)
	}
	if _, err := labels.ValidatedSelectorFromSet(labels.Set{"ok": "x", "bad key": "x"}); err == nil ||
		!strings.HasPrefix(err.Error(), `invalid label key "bad key": name part must consist`) {
		t.Errorf("ValidatedSelectorFromSet with a bad key: error %v", err)
	}
	if _, err := labels.ValidatedSelectorFromSet(labels.Set{"ok": "bad value"}); err == nil ||
		!strings.HasPrefix(err.Error(), `key "ok": invalid label value "bad value"`) {
		t.Errorf("ValidatedSelectorFromSet with a bad value: error %v", err)
	}
	v, err := labels.ValidatedSelectorFromSet(labels.Set{"b": "2", "a": "1"})
	if err != nil || v.String() != "a=1,b=2" {
		t.Errorf("ValidatedSelectorFromSet = %v, %v", v, err)
	}
}
