package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
)

// readmeBlock returns the commands of the README's section between
// <!-- NAME:begin --> and <!-- NAME:end -->, each with its continuation lines.
func readmeBlock(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatalf("read README.md: %v", err)
	}
	s := string(b)
	begin, end := strings.Index(s, "<!-- "+name+":begin -->"), strings.Index(s, "<!-- "+name+":end -->")
	if begin < 0 || end < begin {
		t.Fatalf("README.md has no <!-- %s:begin --> ... <!-- %s:end --> section", name, name)
	}
	block := s[begin:end]
	block = block[strings.Index(block, "```sh")+len("```sh") : strings.LastIndex(block, "```")]
	var cmds []string
	var cur strings.Builder
	inQuote := false
	for _, line := range strings.Split(block, "\n") {
		if cur.Len() == 0 && (strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#")) {
			continue
		}
		cur.WriteString(line + "\n")
		inQuote = inQuote != (strings.Count(line, "'")%2 == 1)
		if !inQuote && !strings.HasSuffix(strings.TrimSpace(line), "\\") {
			cmds = append(cmds, cur.String())
			cur.Reset()
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("README %s has %d commands; the parser is probably wrong", name, len(cmds))
	}
	return cmds
}

// runTour runs each command with bash in dir; every one must succeed.
func runTour(t *testing.T, cmds []string, addr, dir string, env []string) string {
	t.Helper()
	var all strings.Builder
	for i, cmd := range cmds {
		cmd = strings.ReplaceAll(cmd, "127.0.0.1:6443", addr)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c := exec.CommandContext(ctx, "bash", "-c", cmd)
		c.Dir, c.Env = dir, append(os.Environ(), env...)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		cancel()
		if err != nil {
			t.Fatalf("README command %d failed: %v\n%s\noutput:\n%s", i+1, err, cmd, out.String())
		}
		if strings.Contains(out.String(), `"kind":"Status"`) {
			t.Fatalf("README command %d answered an error Status:\n%s\n%s", i+1, cmd, out.String())
		}
		all.WriteString(out.String())
	}
	return all.String()
}

// TestREADMECurlTour runs every curl command of the README's tour against a
// real apiserver: each must succeed (curl -f fails on any HTTP error).
func TestREADMECurlTour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is required for the README tour test (apt-get install curl)")
	}
	srv := apiservertest.Start(t, apiservertest.Options{})
	runTour(t, readmeBlock(t, "tour"), srv.Address, t.TempDir(), nil)
	out, err := exec.Command("curl", "-sf", srv.URL+"/apis/apps/v1/namespaces/default/deployments").CombinedOutput()
	if err != nil || strings.Contains(string(out), `"name":"web"`) {
		t.Fatalf("deployment web still listed after the tour's delete: %v %s", err, out)
	}
}

// TestREADMESkiffctlTour builds the real skiffctl and runs the README's
// skiffctl tour with it against a real apiserver.
func TestREADMESkiffctlTour(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "skiff.dev/ctl/cmd/skiffctl")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build skiffctl: %v\n%s", err, out)
	}
	srv := apiservertest.Start(t, apiservertest.Options{})
	home := t.TempDir()
	out := runTour(t, readmeBlock(t, "ctl-tour"), srv.Address, t.TempDir(),
		[]string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + home, "SKIFF_CONFIG="})
	for _, want := range []string{
		"deployment.apps/web created", "service/web exposed", "deployment.apps/web scaled",
		"deployment.apps/web labeled", "deployment.apps/web\n", "deployment.apps/web unchanged",
		`service "web" deleted`, `deployment.apps "web" deleted`, "80:3",
		"deployment.apps/web image updated", "deployment.apps/web annotated", "deployments   deploy       apps/v1",
		"deployment.apps/web patched", "deployment.apps/web condition met", "pod/once created",
		"NAME   IMAGE\nonce   busybox\n", "deployment.apps/web   0/3 ", `pod "once" deleted`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tour output lacks %q; output:\n%s", want, out)
		}
	}
}
