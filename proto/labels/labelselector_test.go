package labels_test

import (
	"strings"
	"testing"

	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
)

func expr(key, op string, values ...string) *metav1.LabelSelectorRequirement {
	return &metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
}

func TestFromLabelSelector(t *testing.T) {
	tests := []struct {
		name    string
		sel     *metav1.LabelSelector
		want    string // String() of the selector
		matches []labels.Set
		misses  []labels.Set
	}{
		{
			name:   "nil selects nothing",
			sel:    nil,
			want:   "",
			misses: []labels.Set{nil, {"app": "web"}},
		},
		{
			name:    "empty selects everything",
			sel:     &metav1.LabelSelector{},
			want:    "",
			matches: []labels.Set{nil, {"app": "web"}},
		},
		{
			name:    "matchLabels",
			sel:     &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "front", "app": "web"}},
			want:    "app=web,tier=front",
			matches: []labels.Set{{"app": "web", "tier": "front", "x": "y"}},
			misses:  []labels.Set{{"app": "web"}, {"app": "web", "tier": "back"}},
		},
		{
			name: "every operator",
			sel: &metav1.LabelSelector{
				MatchLabels: map[string]string{"app": "web"},
				MatchExpressions: []*metav1.LabelSelectorRequirement{
					expr("tier", labels.LabelSelectorOpIn, "front", "edge"),
					expr("env", labels.LabelSelectorOpNotIn, "dev"),
					expr("track", labels.LabelSelectorOpExists),
					expr("canary", labels.LabelSelectorOpDoesNotExist),
				},
			},
			want: "app=web,!canary,env notin (dev),tier in (edge,front),track",
			matches: []labels.Set{
				{"app": "web", "tier": "edge", "track": "stable"},
				{"app": "web", "tier": "front", "track": "", "env": "prod"},
			},
			misses: []labels.Set{
				{"app": "web", "tier": "edge"},                                 // no track
				{"app": "web", "tier": "edge", "track": "s", "env": "dev"},     // env notin
				{"app": "web", "tier": "edge", "track": "s", "canary": "true"}, // canary exists
				{"app": "web", "tier": "back", "track": "s"},                   // tier not in
				{"app": "api", "tier": "edge", "track": "s"},                   // app
				{"tier": "edge", "track": "s"},                                 // no app
			},
		},
		{
			name:    "only expressions",
			sel:     &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{expr("a", "Exists")}},
			want:    "a",
			matches: []labels.Set{{"a": ""}},
			misses:  []labels.Set{{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := labels.FromLabelSelector(tt.sel)
			if err != nil {
				t.Fatalf("FromLabelSelector: %v", err)
			}
			if s.String() != tt.want {
				t.Errorf("String() = %q, want %q", s, tt.want)
			}
			for _, ls := range tt.matches {
				if !s.Matches(ls) {
					t.Errorf("%q does not match %v", s, ls)
				}
			}
			for _, ls := range tt.misses {
				if s.Matches(ls) {
					t.Errorf("%q matches %v", s, ls)
				}
			}
			// The string form selects the same objects (except for nil, whose
			// "" reads back as everything, as in Kubernetes).
			if tt.sel != nil {
				p, err := labels.Parse(s.String())
				if err != nil {
					t.Fatalf("Parse(%q): %v", s, err)
				}
				for _, ls := range append(tt.matches, tt.misses...) {
					if p.Matches(ls) != s.Matches(ls) {
						t.Errorf("parsed %q and structured selector disagree on %v", s, ls)
					}
				}
			}
		})
	}
}

func TestFromLabelSelectorErrors(t *testing.T) {
	tests := []struct {
		name string
		sel  *metav1.LabelSelector
		want string // prefix of the message
	}{
		{
			name: "unknown operator",
			sel: &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{
				expr("a", "Exists"), expr("b", "in", "x"),
			}},
			want: `matchExpressions[1].operator: unknown operator "in", expected one of In, NotIn, Exists, DoesNotExist`,
		},
		{
			name: "In without values",
			sel:  &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{expr("a", "In")}},
			want: "matchExpressions[0].values: must be specified when operator is In or NotIn",
		},
		{
			name: "NotIn without values",
			sel:  &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{expr("a", "NotIn")}},
			want: "matchExpressions[0].values: must be specified when operator is In or NotIn",
		},
		{
			name: "Exists with values",
			sel:  &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{expr("a", "Exists", "x")}},
			want: "matchExpressions[0].values: may not be specified when operator is Exists or DoesNotExist",
		},
		{
			name: "bad expression key",
			sel:  &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{expr("a b", "Exists")}},
			want: `matchExpressions[0].key: invalid label key "a b": name part must consist`,
		},
		{
			name: "empty expression key",
			sel:  &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{expr("", "Exists")}},
			want: `matchExpressions[0].key: invalid label key "": name part must be non-empty`,
		},
		{
			name: "bad expression value",
			sel:  &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{expr("a", "In", "ok", "-bad")}},
			want: `matchExpressions[0].values[1]: invalid label value "-bad": a valid label must be`,
		},
		{
			name: "bad matchLabels key",
			sel:  &metav1.LabelSelector{MatchLabels: map[string]string{"ok": "x", "-bad": "x"}},
			want: `matchLabels: invalid label key "-bad": name part must consist`,
		},
		{
			name: "bad matchLabels value",
			sel:  &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web server"}},
			want: `matchLabels[app]: invalid label value "web server": a valid label must be`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := labels.FromLabelSelector(tt.sel)
			if err == nil {
				t.Fatalf("FromLabelSelector = %q, want error %q", s, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n got: %s\nwant: %s...", err, tt.want)
			}
			if got := labels.FormatLabelSelector(tt.sel); got != "<error>" {
				t.Errorf("FormatLabelSelector = %q, want <error>", got)
			}
		})
	}
}

func TestFormatLabelSelector(t *testing.T) {
	tests := []struct {
		sel  *metav1.LabelSelector
		want string
	}{
		{nil, ""},
		{&metav1.LabelSelector{}, ""},
		{&metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, "app=web"},
		{&metav1.LabelSelector{
			MatchLabels:      map[string]string{"app": "web", "pod-template-hash": "5d8f"},
			MatchExpressions: []*metav1.LabelSelectorRequirement{expr("env", "NotIn", "qa", "dev")},
		}, "app=web,env notin (dev,qa),pod-template-hash=5d8f"},
	}
	for _, tt := range tests {
		if got := labels.FormatLabelSelector(tt.sel); got != tt.want {
			t.Errorf("FormatLabelSelector(%v) = %q, want %q", tt.sel, got, tt.want)
		}
	}
}
