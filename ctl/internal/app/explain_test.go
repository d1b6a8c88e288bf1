package app

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateExplain = flag.Bool("update-explain", false, "rewrite testdata/explain/*.txt from skiffctl's output")

// explainGoldens are the golden outputs of skiffctl explain: the file
// NAME.txt holds `explain NAME`, NAME-recursive.txt `explain NAME
// --recursive`. apiserver/test/kubectl checks that the real kubectl
// explain prints the same bytes.
func explainGoldens(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "explain", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	out := map[string][]string{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		if n, ok := strings.CutSuffix(name, "-recursive"); ok {
			out[f] = []string{"explain", n, "--recursive"}
		} else {
			out[f] = []string{"explain", name}
		}
	}
	return out
}

// TestExplain: skiffctl explain prints what the golden files hold.
func TestExplain(t *testing.T) {
	e := newEnv(t)
	for p, args := range explainGoldens(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			out := e.must(args...)
			if *updateExplain {
				if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("skiffctl %s:\n%s\nwant (%s):\n%s", strings.Join(args, " "), out, p, want)
			}
		})
	}
}

// TestExplainUnknownField fails as kubectl does: the header, then the
// error naming the last field of the path.
func TestExplainUnknownField(t *testing.T) {
	e := newEnv(t)
	out, errOut, code := e.run("explain", "pod.spec.containers.foo")
	if code != 1 || out != "KIND:       Pod\nVERSION:    v1\n\n" || errOut != "error: field \"foo\" does not exist\n" {
		t.Fatalf("skiffctl explain pod.spec.containers.foo: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	_, errOut, code = e.run("explain", "widgets")
	if code != 1 || errOut != "error: the server doesn't have a resource type \"widgets\"\n" {
		t.Fatalf("skiffctl explain widgets: exit %d, stderr %q", code, errOut)
	}
}

// TestWordWrap: kubectl explain's wrapping, at white space only, keeping
// the text's own line breaks.
func TestWordWrap(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"a bb ccc dddd", 6, "a bb\nccc\ndddd"},
		{"short", 10, "short"},
		{"one\ntwo three", 5, "one\ntwo\nthree"},
		{"see https://example.com/a/very/long/url here", 10, "see\nhttps://example.com/a/very/long/url\nhere"},
		{"ends with newline\n", 80, "ends with newline\n"},
		{"two  spaces kept", 80, "two  spaces kept"},
	} {
		if got := wordWrap(c.in, c.limit); got != c.want {
			t.Errorf("wordWrap(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}
