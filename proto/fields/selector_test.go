package fields_test

import (
	"testing"

	"skiff.dev/proto/fields"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // String()
		reqs []fields.Requirement
	}{
		{"", "", nil},
		{"  ", "", nil},
		{"spec.nodeName=node-1", "spec.nodeName=node-1",
			[]fields.Requirement{{"spec.nodeName", fields.Equals, "node-1"}}},
		{"spec.nodeName==node-1", "spec.nodeName=node-1",
			[]fields.Requirement{{"spec.nodeName", fields.Equals, "node-1"}}},
		{"status.phase!=Failed", "status.phase!=Failed",
			[]fields.Requirement{{"status.phase", fields.NotEquals, "Failed"}}},
		{" spec.nodeName = node-1 , status.phase != Failed ", "spec.nodeName=node-1,status.phase!=Failed",
			[]fields.Requirement{{"spec.nodeName", fields.Equals, "node-1"}, {"status.phase", fields.NotEquals, "Failed"}}},
		{"status.phase!=Failed,metadata.name=web", "metadata.name=web,status.phase!=Failed",
			[]fields.Requirement{{"metadata.name", fields.Equals, "web"}, {"status.phase", fields.NotEquals, "Failed"}}},
		{"spec.nodeName=", "spec.nodeName=",
			[]fields.Requirement{{"spec.nodeName", fields.Equals, ""}}},
		{"a=b,,c=d,", "a=b,c=d",
			[]fields.Requirement{{"a", fields.Equals, "b"}, {"c", fields.Equals, "d"}}},
		{`a=x\,y\=z\!w\\v`, `a=x\,y\=z\!w\\v`,
			[]fields.Requirement{{"a", fields.Equals, `x,y=z!w\v`}}},
		{"a!=b,a!=c", "a!=b,a!=c",
			[]fields.Requirement{{"a", fields.NotEquals, "b"}, {"a", fields.NotEquals, "c"}}},
		{"involvedObject.kind=Pod", "involvedObject.kind=Pod",
			[]fields.Requirement{{"involvedObject.kind", fields.Equals, "Pod"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := fields.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if sel.String() != tt.want {
				t.Errorf("String() = %q, want %q", sel, tt.want)
			}
			got := sel.Requirements()
			if len(got) != len(tt.reqs) {
				t.Fatalf("Requirements() = %v, want %v", got, tt.reqs)
			}
			for i := range got {
				if got[i] != tt.reqs[i] {
					t.Errorf("requirement %d = %+v, want %+v", i, got[i], tt.reqs[i])
				}
			}
			if sel.Empty() != (len(tt.reqs) == 0) {
				t.Errorf("Empty() = %v", sel.Empty())
			}
			again, err := fields.Parse(sel.String())
			if err != nil || again.String() != sel.String() {
				t.Errorf("round trip of %q: %v, %v", sel, again, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"foo", "invalid field selector: can't understand 'foo' at position 0, expected field=value, field==value or field!=value"},
		{"a=b, foo", "invalid field selector: can't understand 'foo' at position 5, expected field=value, field==value or field!=value"},
		{"a=b,=c", "invalid field selector: missing field name before '=' at position 4"},
		{" != c", "invalid field selector: missing field name before '!=' at position 1"},
		{"a b=c", "invalid field selector: field name 'a b' at position 0 must consist of letters, digits, '.', '_' or '-'"},
		{"a!b=c", "invalid field selector: field name 'a!b' at position 0 must consist of letters, digits, '.', '_' or '-'"},
		{`a\=b=c`, `invalid field selector: field name 'a\=b' at position 0 must consist of letters, digits, '.', '_' or '-'`},
		{"a=b=c", "invalid field selector: unescaped '=' at position 3 in value 'b=c': write it as '\\='"},
		{"a==b=c", "invalid field selector: unescaped '=' at position 4 in value 'b=c': write it as '\\='"},
		{"a!==b", "invalid field selector: unescaped '=' at position 3 in value '=b': write it as '\\='"},
		{"a=!b", "invalid field selector: unescaped '!' at position 2 in value '!b': write it as '\\!'"},
		{`a=b\x`, `invalid field selector: invalid escape sequence '\x' at position 3: a backslash may only escape '\', ',', '=' or '!'`},
		{`a=b\`, `invalid field selector: invalid escape sequence: value 'b\' ends in a lone '\' at position 3`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := fields.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error", tt.in, sel)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	pod := fields.Set{"metadata.name": "web-1", "spec.nodeName": "node-1", "status.phase": "Running"}
	pending := fields.Set{"metadata.name": "web-2", "spec.nodeName": "", "status.phase": "Pending"}
	tests := []struct {
		sel  string
		set  fields.Set
		want bool
	}{
		{"", pod, true},
		{"spec.nodeName=node-1", pod, true},
		{"spec.nodeName=node-2", pod, false},
		{"spec.nodeName=", pending, true},
		{"spec.nodeName=", pod, false},
		{"spec.nodeName=", fields.Set{}, true}, // missing reads as ""
		{"spec.nodeName!=", pod, true},
		{"status.phase!=Failed", pod, true},
		{"status.phase!=Running", pod, false},
		{"status.phase!=Running", fields.Set{}, true},
		{"spec.nodeName=node-1,status.phase=Running", pod, true},
		{"spec.nodeName=node-1,status.phase=Pending", pod, false},
		{`metadata.name=a\,b`, fields.Set{"metadata.name": "a,b"}, true},
	}
	for _, tt := range tests {
		sel, err := fields.Parse(tt.sel)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.sel, err)
		}
		if got := sel.Matches(tt.set); got != tt.want {
			t.Errorf("Parse(%q).Matches(%v) = %v, want %v", tt.sel, tt.set, got, tt.want)
		}
	}
}

func TestRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel, field string
		want       string
		wantOK     bool
	}{
		{"spec.nodeName=node-1", "spec.nodeName", "node-1", true},
		{"spec.nodeName==node-1", "spec.nodeName", "node-1", true},
		{"spec.nodeName=", "spec.nodeName", "", true},
		{"spec.nodeName!=node-1", "spec.nodeName", "", false},
		{"status.phase!=x,spec.nodeName=n", "spec.nodeName", "n", true},
		{"status.phase=Running", "spec.nodeName", "", false},
		{"", "spec.nodeName", "", false},
	}
	for _, tt := range tests {
		sel, err := fields.Parse(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := sel.RequiresExactMatch(tt.field)
		if v != tt.want || ok != tt.wantOK {
			t.Errorf("Parse(%q).RequiresExactMatch(%q) = %q, %v; want %q, %v", tt.sel, tt.field, v, ok, tt.want, tt.wantOK)
		}
	}
}

func TestConstructors(t *testing.T) {
	if s := fields.Everything(); !s.Empty() || s.String() != "" || !s.Matches(fields.Set{"a": "b"}) {
		t.Error("Everything() must be empty and match all")
	}
	s := fields.SelectorFromSet(fields.Set{"b": "2", "a": "x,y"})
	if s.String() != `a=x\,y,b=2` {
		t.Errorf("SelectorFromSet String() = %q", s)
	}
	if !s.Matches(fields.Set{"a": "x,y", "b": "2"}) || s.Matches(fields.Set{"a": "x,y"}) {
		t.Error("SelectorFromSet matches wrongly")
	}
	if p, err := fields.Parse(s.String()); err != nil || p.String() != s.String() {
		t.Errorf("Parse(SelectorFromSet(...).String()) = %v, %v", p, err)
	}
	if got := (fields.Set{"b": "2", "a": "="}).String(); got != `a=\=,b=2` {
		t.Errorf("Set.String() = %q", got)
	}
	one := fields.OneTermEqualSelector("spec.nodeName", "n1")
	if v, ok := one.RequiresExactMatch("spec.nodeName"); !ok || v != "n1" || one.String() != "spec.nodeName=n1" {
		t.Errorf("OneTermEqualSelector = %q", one)
	}
	not := fields.OneTermNotEqualSelector("status.phase", "Failed")
	if not.String() != "status.phase!=Failed" || not.Matches(fields.Set{"status.phase": "Failed"}) {
		t.Errorf("OneTermNotEqualSelector = %q", not)
	}
}

func TestEscapeValue(t *testing.T) {
	for _, v := range []string{"", "plain", `a,b=c!d\e`, `\\`, ",,", "ünïcode"} {
		esc := fields.EscapeValue(v)
		got, err := fields.UnescapeValue(esc)
		if err != nil || got != v {
			t.Errorf("UnescapeValue(EscapeValue(%q)) = %q, %v", v, got, err)
		}
	}
	if got := fields.EscapeValue(`a,b=c!d\e`); got != `a\,b\=c\!d\\e` {
		t.Errorf("EscapeValue = %q", got)
	}
	if _, err := fields.UnescapeValue("a,b"); err == nil {
		t.Error("UnescapeValue accepted an unescaped ','")
	}
}
