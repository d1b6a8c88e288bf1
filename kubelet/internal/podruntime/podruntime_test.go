package podruntime

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalizeAndPolicy(t *testing.T) {
	tests := []struct{ ref, norm, policy string }{
		{"busybox", "docker.io/library/busybox:latest", PullAlways},
		{"busybox:1.36", "docker.io/library/busybox:1.36", PullIfNotPresent},
		{"skiff.dev/pause:3.9", "skiff.dev/pause:3.9", PullIfNotPresent},
		{"127.0.0.1:5000/lab/web:latest", "127.0.0.1:5000/lab/web:latest", PullAlways},
	}
	for _, tt := range tests {
		got, err := NormalizeImage(tt.ref)
		if err != nil || got != tt.norm {
			t.Errorf("NormalizeImage(%q) = %q, %v; want %q", tt.ref, got, err, tt.norm)
		}
		if got := DefaultPullPolicy(tt.ref); got != tt.policy {
			t.Errorf("DefaultPullPolicy(%q) = %s, want %s", tt.ref, got, tt.policy)
		}
	}
	if _, err := NormalizeImage("web::1"); err == nil {
		t.Error("NormalizeImage of an invalid reference: want an error")
	}
}

func TestDockerConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	os.WriteFile(path, []byte(`{"auths":{"https://registry.example:5000/":{"auth":"`+auth+`"},
		"https://index.docker.io/v1/":{"username":"bob","password":"pw"}}}`), 0o600)
	got, err := loadDockerConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &Runtime{auth: got}
	for host, want := range map[string]string{"registry.example:5000": "alice:s3cret", "registry-1.docker.io": "bob:pw", "other": ":"} {
		u, p, _ := r.credentials(host)
		if u+":"+p != want {
			t.Errorf("credentials(%s) = %s:%s, want %s", host, u, p, want)
		}
	}
	os.WriteFile(path, []byte(`{"auths":{"x":{"auth":"bm9jb2xvbg=="}}}`), 0o600)
	if _, err := loadDockerConfig(path); err == nil || !strings.Contains(err.Error(), "auths.x.auth") {
		t.Errorf("bad auth: err = %v, want one naming auths.x.auth", err)
	}
}

func TestCRIWriter(t *testing.T) {
	var out bytes.Buffer
	w := &criWriter{w: &out}
	long := strings.Repeat("x", maxLogLine+10)
	w.copy("stderr", strings.NewReader("hello\n"+long+"\nno newline"))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []struct{ stream, tag, content string }{
		{"stderr", "F", "hello"},
		{"stderr", "P", long[:maxLogLine]},
		{"stderr", "F", long[maxLogLine:]},
		{"stderr", "P", "no newline"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d records, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, l := range lines {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 || f[1] != want[i].stream || f[2] != want[i].tag || f[3] != want[i].content {
			t.Errorf("record %d = %.60q, want %s %s %.20q", i, l, want[i].stream, want[i].tag, want[i].content)
		}
	}
}
