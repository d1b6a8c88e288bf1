package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// applet builds the test server and links it as tar and test, as the
// image has them.
func applet(t *testing.T) (tarBin, testBin string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "testserver")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	tarBin, testBin = filepath.Join(dir, "tar"), filepath.Join(dir, "test")
	for _, l := range []string{tarBin, testBin} {
		if err := os.Link(bin, l); err != nil {
			t.Fatal(err)
		}
	}
	return tarBin, testBin
}

func run(t *testing.T, dir, stdin string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestTarApplet: the forms kubectl cp runs (a directory out and back in,
// a missing path), with GNU tar's messages; and the test applet.
func TestTarApplet(t *testing.T) {
	tarBin, testBin := applet(t)
	src := t.TempDir()
	for name, content := range map[string]string{"d/a.txt": "a\n", "d/sub/b.txt": "bb\n"} {
		p := filepath.Join(src, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	archive, stderr, code := run(t, "/", "", tarBin, "cf", "-", filepath.Join(src, "d"))
	if code != 0 || stderr != "tar: Removing leading `/' from member names\n" {
		t.Fatalf("tar cf: exit %d stderr %q", code, stderr)
	}
	dest := t.TempDir()
	if _, stderr, code := run(t, "/", archive, tarBin, "-xmf", "-", "-C", dest); code != 0 || stderr != "" {
		t.Fatalf("tar -xmf: exit %d stderr %q", code, stderr)
	}
	for name, want := range map[string]string{"d/a.txt": "a\n", "d/sub/b.txt": "bb\n"} {
		if b, err := os.ReadFile(filepath.Join(dest, strings.TrimPrefix(src, "/"), name)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	if _, stderr, code := run(t, "/", "", tarBin, "cf", "-", "/no/such"); code != 2 ||
		stderr != "tar: Removing leading `/' from member names\ntar: /no/such: Cannot stat: No such file or directory\ntar: Exiting with failure status due to previous errors\n" {
		t.Errorf("missing path: exit %d stderr %q", code, stderr)
	}
	if _, stderr, code := run(t, "/", "", tarBin, "-zxf", "-"); code != 2 || stderr != "tar: invalid option -- 'z'\n" {
		t.Errorf("unknown flag: exit %d stderr %q", code, stderr)
	}
	for _, c := range []struct {
		args []string
		code int
	}{{[]string{"-d", src}, 0}, {[]string{"-d", filepath.Join(src, "d", "a.txt")}, 1}, {[]string{"-f", filepath.Join(src, "d", "a.txt")}, 0}, {[]string{"-e", "/no/such"}, 1}} {
		if _, _, code := run(t, "/", "", append([]string{testBin}, c.args...)...); code != c.code {
			t.Errorf("test %v: exit %d, want %d", c.args, code, c.code)
		}
	}
}
