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

// readmeTour returns the commands of the README's tour, each command with
// its continuation lines, in order.
func readmeTour(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatalf("read README.md: %v", err)
	}
	s := string(b)
	begin, end := strings.Index(s, "<!-- tour:begin -->"), strings.Index(s, "<!-- tour:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md has no <!-- tour:begin --> ... <!-- tour:end --> section")
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
		t.Fatalf("README tour has %d commands; the parser is probably wrong", len(cmds))
	}
	return cmds
}

// TestREADMETour runs every curl command of the README's tour against a real
// apiserver: each must succeed (curl -f fails on any HTTP error).
func TestREADMETour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is required for the README tour test (apt-get install curl)")
	}
	srv := apiservertest.Start(t, apiservertest.Options{})
	for i, cmd := range readmeTour(t) {
		cmd = strings.ReplaceAll(cmd, "127.0.0.1:6443", srv.Address)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		c := exec.CommandContext(ctx, "bash", "-c", cmd)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		cancel()
		if err != nil {
			t.Fatalf("README tour command %d failed: %v\n%s\noutput:\n%s", i+1, err, cmd, out.String())
		}
		if strings.Contains(out.String(), `"kind":"Status"`) {
			t.Fatalf("README tour command %d answered an error Status:\n%s\n%s", i+1, cmd, out.String())
		}
	}
	// The tour cleaned up after itself.
	out, err := exec.Command("curl", "-sf", srv.URL+"/apis/apps/v1/namespaces/default/deployments").CombinedOutput()
	if err != nil || strings.Contains(string(out), `"name":"web"`) {
		t.Fatalf("deployment web still listed after the tour's delete: %v %s", err, out)
	}
}
