package test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/e2e/lab"
)

// TestPortForwardCopyTop drives skiffctl port-forward, cp and top against
// the test server's pods, through the apiserver and the kubelets, from the
// master (skiffctl listens on the master's loopback, where the test
// connects):
//   - port-forward pod/NAME: curl through it answers the pod's name; six
//     connections open at once each get their own answer;
//   - port-forward svc/web :80 goes to the target port 8080 of a web pod;
//   - cp a file and a directory into a pod (read back over the forwarded
//     port) and out of it again, contents compared; a missing path fails
//     with tar's message and exit code;
//   - top node and top pod show non-zero CPU and memory, and a busy pod
//     (spinning 30% of a CPU, holding 40 MiB) shows its usage.
func TestPortForwardCopyTop(t *testing.T) {
	l := startSeedCluster(t, nil)
	pods, _ := createWebService(t, l)
	web := pods[0].Metadata.Name

	t.Run("port-forward pod", func(t *testing.T) {
		pf := startPortForward(t, l, "pod/"+web, "18080:8080")
		if got, want := pf.waitFor(t, "Forwarding from"), "Forwarding from 127.0.0.1:18080 -> 8080\n"; got != want {
			t.Fatalf("port-forward printed %q, want %q", got, want)
		}
		if got := curl(t, l, "http://127.0.0.1:18080/"); got != web+"\n" {
			t.Errorf("GET / through the forward: %q, want %q", got, web+"\n")
		}
		// Six connections, all open before any asks: each its own stream.
		conns := make([]net.Conn, 6)
		h, err := l.Host(admin)
		if err != nil {
			t.Fatal(err)
		}
		dial := lab.DialContextIn(h.NetNSPath())
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for i := range conns {
			if conns[i], err = dial(ctx, "tcp", "127.0.0.1:18080"); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			defer conns[i].Close()
		}
		var wg sync.WaitGroup
		answers := make([]string, len(conns))
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.SetDeadline(time.Now().Add(time.Minute))
				fmt.Fprintf(c, "GET /?conn=%d HTTP/1.0\r\n\r\n", i)
				b, err := io.ReadAll(c)
				if err != nil {
					answers[i] = err.Error()
					return
				}
				_, body, _ := strings.Cut(string(b), "\r\n\r\n")
				answers[i] = strings.SplitN(string(b), "\r\n", 2)[0] + " " + body
			}()
		}
		wg.Wait()
		for i, a := range answers {
			if a != "HTTP/1.0 200 OK "+web+"\n" {
				t.Errorf("connection %d answered %q, want %q", i, a, "HTTP/1.0 200 OK "+web+"\n")
			}
		}
		out := pf.stop(t)
		if n := strings.Count(out, "Handling connection for 18080\n"); n != 1+len(conns) {
			t.Errorf("port-forward handled %d connections, want %d:\n%s", n, 1+len(conns), out)
		}
	})

	t.Run("port-forward svc", func(t *testing.T) {
		pf := startPortForward(t, l, "svc/web", ":80")
		line := pf.waitFor(t, "Forwarding from")
		m := regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) -> 8080\n$`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("port-forward svc/web :80 printed %q, want a random local port forwarded to the target port 8080", line)
		}
		got := curl(t, l, "http://127.0.0.1:"+m[1]+"/")
		if err := answeredBy(map[string]int{strings.TrimSpace(got): 1}, pods, false); err != nil {
			t.Error(err)
		}
		pf.stop(t)
	})

	t.Run("cp", func(t *testing.T) {
		pf := startPortForward(t, l, "pod/"+web, "18082:8080")
		pf.waitFor(t, "Forwarding from")
		dir := t.TempDir()
		file := filepath.Join(dir, "hello.txt")
		writeFile(t, file, []byte("hello from the test\n"))
		up := filepath.Join(dir, "up")
		big := make([]byte, 300<<10)
		if _, err := rand.Read(big); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(up, "a.txt"), []byte("a\n"))
		writeFile(t, filepath.Join(up, "sub", "big.bin"), big)
		writeFile(t, filepath.Join(up, "sub", "deeper", "c.txt"), []byte("c\n"))

		// A file into an existing directory lands in it; a directory to a
		// new path is made there.
		skiffctlOK(t, l, "cp", file, web+":/tmp")
		skiffctlOK(t, l, "cp", up, web+":/tmp/up")
		for remote, want := range map[string][]byte{
			"/tmp/hello.txt": []byte("hello from the test\n"), "/tmp/up/a.txt": []byte("a\n"),
			"/tmp/up/sub/big.bin": big, "/tmp/up/sub/deeper/c.txt": []byte("c\n"),
		} {
			if got := curl(t, l, "http://127.0.0.1:18082/file?path="+remote); got != string(want) {
				t.Errorf("%s in the pod: %d bytes, want the %d copied", remote, len(got), len(want))
			}
		}

		back := filepath.Join(dir, "back.txt")
		out := skiffctlOK(t, l, "cp", web+":/tmp/hello.txt", back)
		if out != "tar: Removing leading `/' from member names\n" {
			t.Errorf("cp from the pod printed %q, want tar's note on the leading /", out)
		}
		if b, _ := os.ReadFile(back); string(b) != "hello from the test\n" {
			t.Errorf("file copied back: %q", b)
		}
		down := filepath.Join(dir, "down")
		skiffctlOK(t, l, "cp", "default/"+web+":/tmp/up", down)
		if err := sameTree(up, down); err != nil {
			t.Error(err)
		}

		out, err := l.Exec(context.Background(), admin, "skiffctl", "cp", web+":/nope", filepath.Join(dir, "nope"))
		want := "tar: Removing leading `/' from member names\ntar: /nope: Cannot stat: No such file or directory\n" +
			"tar: Exiting with failure status due to previous errors\ncommand terminated with exit code 2\n"
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || out != want {
			t.Errorf("cp of a missing path: %v\n%q\nwant exit 2 and\n%q", err, out, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
			t.Errorf("cp of a missing path made something locally: %v", err)
		}
		pf.stop(t)
	})

	t.Run("cp without tar", func(t *testing.T) {
		// The pause image has no tar: cp fails with exec's error, in
		// kubectl's words.
		manifest := filepath.Join(t.TempDir(), "notar.yaml")
		writeFile(t, manifest, []byte(`apiVersion: v1
kind: Pod
metadata:
  name: notar
spec:
  containers:
  - name: pause
    image: skiff.dev/pause:3.9
    imagePullPolicy: Never
`))
		skiffctlOK(t, l, "apply", "-f", manifest)
		framework.Eventually(t, podWait, time.Second, "pod notar Running", func(ctx context.Context) error {
			var p pod
			if err := framework.GetJSON(ctx, l, admin, &p, "pod", "notar"); err != nil {
				return err
			}
			if p.Status.Phase != "Running" {
				return fmt.Errorf("pod notar is %s", p.Status.Phase)
			}
			return nil
		})
		file := filepath.Join(t.TempDir(), "f.txt")
		writeFile(t, file, []byte("x"))
		for _, args := range [][]string{{"cp", file, "notar:/f.txt"}, {"cp", "notar:/pause", filepath.Join(t.TempDir(), "p")}} {
			out, err := l.Exec(context.Background(), admin, append([]string{"skiffctl"}, args...)...)
			t.Logf("skiffctl %s: %v\n%s", strings.Join(args, " "), err, out)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 ||
				!strings.HasPrefix(out, "Error from server (InternalError): Internal error occurred: error executing command in container: ") ||
				!strings.Contains(out, `exec: "tar": executable file not found in $PATH`) || strings.Count(out, "\n") != 1 {
				t.Errorf("skiffctl %s without tar: %v\n%s\nwant exit 1 and exec's error", strings.Join(args, " "), err, out)
			}
		}
	})

	t.Run("top", func(t *testing.T) {
		manifest := filepath.Join(t.TempDir(), "busy.yaml")
		writeFile(t, manifest, []byte(`apiVersion: v1
kind: Pod
metadata:
  name: busy
spec:
  containers:
  - name: spin
    image: `+webImage+`
    args: ["--spin-percent=30", "--alloc-mb=40"]
`))
		skiffctlOK(t, l, "apply", "-f", manifest)
		row := regexp.MustCompile(`^busy\s+(\d+)m\s+(\d+)Mi\s*$`)
		framework.Eventually(t, podWait, 2*time.Second, "top pod shows the busy pod's usage", func(ctx context.Context) error {
			out, err := l.Exec(ctx, admin, "skiffctl", "top", "pod")
			if err != nil {
				return err
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAME CPU(cores) MEMORY(bytes)" {
				return fmt.Errorf("header %q", lines[0])
			}
			for _, line := range lines[1:] {
				if m := row.FindStringSubmatch(line); m != nil {
					cpu, _ := strconv.Atoi(m[1])
					mem, _ := strconv.Atoi(m[2])
					if cpu < 50 || mem < 40 {
						return fmt.Errorf("busy uses %dm CPU and %dMi, want at least 50m and 40Mi (spinning 30%%, holding 40 MiB):\n%s", cpu, mem, out)
					}
					return nil
				}
			}
			return fmt.Errorf("no busy row:\n%s", out)
		})

		out := skiffctlOK(t, l, "top", "pod", "busy", "--containers")
		t.Logf("skiffctl top pod busy --containers:\n%s", out)
		if !regexp.MustCompile(`^POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*\nbusy\s+spin\s+\d+m\s+\d+Mi\s*\n$`).MatchString(out) {
			t.Errorf("top pod busy --containers:\n%s", out)
		}
		out = skiffctlOK(t, l, "top", "pod", "-A")
		if !regexp.MustCompile(`(?m)^NAMESPACE\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^default\s+busy\s+\d+m\s+\d+Mi\s*$`).MatchString(out) {
			t.Errorf("top pod -A:\n%s", out)
		}

		out = skiffctlOK(t, l, "top", "node")
		t.Logf("skiffctl top node:\n%s", out)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if got := strings.Join(strings.Fields(lines[0]), " "); got != "NAME CPU(cores) CPU(%) MEMORY(bytes) MEMORY(%)" {
			t.Errorf("top node header %q", lines[0])
		}
		nodeRow := regexp.MustCompile(`^(\S+)\s+(\d+)m\s+(\d+)%\s+(\d+)Mi\s+(\d+)%\s*$`)
		seen := map[string]bool{}
		for _, line := range lines[1:] {
			m := nodeRow.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("top node line %q", line)
				continue
			}
			seen[m[1]] = true
			if m[2] == "0" || m[4] == "0" {
				t.Errorf("node %s: zero usage in %q", m[1], line)
			}
		}
		for _, n := range nodes {
			if !seen[n] {
				t.Errorf("top node has no line for %s:\n%s", n, out)
			}
		}
	})
}

// forward is a skiffctl port-forward running on the admin host.
type forward struct {
	cmd         *exec.Cmd
	out, errOut *lockedBuffer
	done        chan error
}

// startPortForward runs skiffctl port-forward TARGET PORTS on 127.0.0.1
// of the admin host until the test ends.
func startPortForward(t *testing.T, l *lab.Lab, target string, ports ...string) *forward {
	t.Helper()
	cmd, err := l.Command(context.Background(), admin, append([]string{"skiffctl", "port-forward", "--address", "127.0.0.1", target}, ports...)...)
	if err != nil {
		t.Fatal(err)
	}
	f := &forward{cmd: cmd, out: &lockedBuffer{}, errOut: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = f.out, f.errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- cmd.Wait() }()
	t.Cleanup(func() { f.stop(t) })
	return f
}

// waitFor waits for a line of stdout starting with prefix and returns it.
func (f *forward) waitFor(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(f.out.String()))
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), prefix) {
				return sc.Text() + "\n"
			}
		}
		select {
		case err := <-f.done:
			f.done <- err
			t.Fatalf("port-forward ended (%v)\nstdout: %s\nstderr: %s", err, f.out, f.errOut)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("port-forward did not print %q\nstdout: %s\nstderr: %s", prefix, f.out, f.errOut)
	return ""
}

// stop interrupts the port-forward (as Ctrl-C does), waits for it and
// returns its stdout; it must exit 0 with nothing on stderr.
func (f *forward) stop(t *testing.T) string {
	t.Helper()
	select {
	case err := <-f.done:
		f.done <- err
		return f.out.String()
	default:
	}
	_ = f.cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case err = <-f.done:
		f.done <- err
	case <-time.After(time.Minute):
		_ = f.cmd.Process.Kill()
		err = <-f.done
		f.done <- err
	}
	if err != nil || f.errOut.String() != "" {
		t.Errorf("port-forward ended with %v, stderr %q", err, f.errOut)
	}
	return f.out.String()
}

// curl GETs url on the admin host and returns the body.
func curl(t *testing.T, l *lab.Lab, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := l.Exec(ctx, admin, "curl", "-sS", "--fail", "--max-time", "30", url)
	if err != nil {
		t.Errorf("curl %s: %v", url, err)
	}
	return out
}

// skiffctlOK runs skiffctl on the admin host and returns its output; it
// fails t unless it succeeds.
func skiffctlOK(t *testing.T, l *lab.Lab, args ...string) string {
	t.Helper()
	return framework.Skiffctl(t, l, admin, args...)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sameTree compares two directory trees: the same files with the same
// contents.
func sameTree(a, b string) error {
	read := func(root string) (map[string][]byte, error) {
		files := map[string][]byte{}
		err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files[rel], err = os.ReadFile(p)
			return err
		})
		return files, err
	}
	fa, err := read(a)
	if err != nil {
		return err
	}
	fb, err := read(b)
	if err != nil {
		return err
	}
	if len(fa) != len(fb) {
		return fmt.Errorf("%s has %d files, %s %d", a, len(fa), b, len(fb))
	}
	for name, ca := range fa {
		if cb, ok := fb[name]; !ok || !bytes.Equal(ca, cb) {
			return fmt.Errorf("%s differs between %s and %s", name, a, b)
		}
	}
	return nil
}
