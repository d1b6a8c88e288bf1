package app

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestParseFileSpec(t *testing.T) {
	for _, c := range []struct {
		in   string
		want fileSpec
		err  bool
	}{
		{in: "/tmp/foo", want: fileSpec{file: "/tmp/foo"}},
		{in: "web:/tmp/foo", want: fileSpec{pod: "web", file: "/tmp/foo"}},
		{in: "dev/web:/tmp/foo", want: fileSpec{namespace: "dev", pod: "web", file: "/tmp/foo"}},
		{in: "web:", want: fileSpec{pod: "web"}},
		{in: ":/tmp", err: true},
		{in: "a/b/c:/tmp", err: true},
	} {
		got, err := parseFileSpec(c.in)
		if c.err {
			if err == nil || err.Error() != "filespec must match the canonical format: [[namespace/]pod:]file/path" {
				t.Errorf("%q: err %v", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v %v, want %+v", c.in, got, err, c.want)
		}
	}
}

func TestCpArguments(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"cp", "a"}, "error: source and destination are required\n"},
		{[]string{"cp", "a", "b"}, "error: one of src or dest must be a remote file specification\n"},
		{[]string{"cp", "p:a", "q:b"}, "error: one of src or dest must be a local file specification\n"},
		{[]string{"cp", "a", "p:"}, "error: filepath can not be empty\n"},
		{[]string{"cp", "/no/such/file", "p:/tmp"}, "error: /no/such/file doesn't exist in local filesystem\n"},
	} {
		out, errOut, code := e.run(c.args...)
		if code != 1 || out != "" || errOut != c.err {
			t.Errorf("skiffctl %s: exit %d stdout %q stderr %q, want %q", strings.Join(c.args, " "), code, out, errOut, c.err)
		}
	}
}

// TestWriteTar: a directory goes as NAME/..., files with their contents,
// an empty directory as itself, as kubectl's makeTar.
func TestWriteTar(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"a.txt": "a\n", "sub/b.txt": "bb\n"} {
		p := filepath.Join(dir, "up", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "up", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeTar(&buf, filepath.Join(dir, "up"), "renamed"); err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got = append(got, h.Name+"="+string(b))
	}
	sort.Strings(got)
	want := "renamed/a.txt=a\n renamed/empty= renamed/sub/b.txt=bb\n"
	if strings.Join(got, " ") != want {
		t.Errorf("archive %q, want %q", strings.Join(got, " "), want)
	}
}

// TestUntar: members under the remote path's prefix land under the
// destination (".." cannot climb above it); symlinks are skipped with a
// warning; a member outside the prefix means a tampered archive.
func TestUntar(t *testing.T) {
	build := func(members ...*tar.Header) io.Reader {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range members {
			if h.Typeflag == tar.TypeReg {
				h.Size = int64(len(h.Name))
			}
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				_, _ = tw.Write([]byte(h.Name))
			}
		}
		_ = tw.Close()
		return &buf
	}
	dest := filepath.Join(t.TempDir(), "down")
	var errOut bytes.Buffer
	cp := copier{errOut: &errOut}
	err := cp.untar(build(
		&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/up/", Mode: 0o755},
		&tar.Header{Typeflag: tar.TypeReg, Name: "tmp/up/a.txt", Mode: 0o644},
		&tar.Header{Typeflag: tar.TypeReg, Name: "tmp/up/sub/b.txt", Mode: 0o644},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "tmp/up/link", Linkname: "/etc/passwd"},
		&tar.Header{Typeflag: tar.TypeReg, Name: "tmp/up/../../../escape", Mode: 0o644},
	), "tmp/up", dest)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a.txt": "tmp/up/a.txt", "sub/b.txt": "tmp/up/sub/b.txt"} {
		if b, err := os.ReadFile(filepath.Join(dest, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dest, "link")); !os.IsNotExist(err) {
		t.Errorf("symlink extracted: %v", err)
	}
	wantErr := "warning: skipping symlink: \"" + filepath.Join(dest, "link") + "\" -> \"/etc/passwd\"\n"
	if errOut.String() != wantErr {
		t.Errorf("warnings %q, want %q", errOut.String(), wantErr)
	}
	// "..": kept inside the destination.
	if _, err := os.Stat(filepath.Join(dest, "escape")); err != nil {
		t.Errorf("member with ..: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dest), "escape")); !os.IsNotExist(err) {
		t.Errorf("member with .. escaped the destination: %v", err)
	}
	if err := cp.untar(build(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644}), "tmp/up", dest); err == nil || err.Error() != "tar contents corrupted" {
		t.Errorf("member outside the prefix: %v", err)
	}
	if got := stripPathShortcuts("../../tmp/x"); got != "tmp/x" {
		t.Errorf("stripPathShortcuts: %q", got)
	}
}
