package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/proto/client"
)

// env is a real apiserver and a skiffctl pointed at it.
type env struct {
	t    *testing.T
	srv  *apiservertest.Server
	dir  string
	base []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs a real apiserver")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SKIFF_CONFIG", "")
	srv := apiservertest.Start(t, apiservertest.Options{})
	return &env{t: t, srv: srv, dir: t.TempDir(), base: []string{"--server", "http://" + srv.Address}}
}

// client is a Clientset on the test's apiserver, to set up objects and to
// play the controllers and kubelets skiffctl's commands rely on.
func (e *env) client() *client.Clientset {
	e.t.Helper()
	cs, err := client.New(client.Options{Server: []string{e.srv.URL}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cs.Close() })
	return cs
}

// ctx is a context that ends with the test.
func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	e.t.Cleanup(cancel)
	return ctx
}

// run runs skiffctl and returns stdout, stderr and the exit code.
func (e *env) run(args ...string) (string, string, int) {
	return e.runIn("", args...)
}

func (e *env) runIn(stdin string, args ...string) (string, string, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := Run(ctx, append(append([]string{}, e.base...), args...), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

// must runs skiffctl and fails the test on a non-zero exit.
func (e *env) must(args ...string) string {
	e.t.Helper()
	out, errOut, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("skiffctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// file writes a manifest into the test's folder and returns its path.
func (e *env) file(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

var ageRE = regexp.MustCompile(`(?m)( )(\d+s|\d+m\d*s?)( *)`)

// normAge replaces ages with AGE, keeping the columns after them aligned,
// and trims trailing blanks of lines.
func normAge(s string) string {
	s = ageRE.ReplaceAllStringFunc(s, func(m string) string {
		tok := strings.TrimSpace(m)
		pad := len(m) - 1 - len(tok) // spaces after the age
		if pad > 0 {
			pad = max(pad-(3-len(tok)), 1)
		}
		return " AGE" + strings.Repeat(" ", pad)
	})
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		lines = append(lines, strings.TrimRight(l, " "))
	}
	return strings.Join(lines, "\n")
}

const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
`

const webService = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - port: 80
    targetPort: "80"
    nodePort: 30080
`

const podManifest = `apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels:
    app: %s
spec:
  containers:
  - name: c
    image: busybox
`

// running is skiffctl running in the background, for commands that watch
// or wait.
type running struct {
	t           *testing.T
	mu          sync.Mutex
	out, errOut strings.Builder
	cancel      context.CancelFunc
	done        chan int
	code        int
}

// start runs skiffctl in the background; the test's cleanup stops it.
func (e *env) start(args ...string) *running {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	r := &running{t: e.t, cancel: cancel, done: make(chan int, 1)}
	go func() {
		r.done <- Run(ctx, append(append([]string{}, e.base...), args...), strings.NewReader(""),
			lockedWriter{&r.mu, &r.out}, lockedWriter{&r.mu, &r.errOut})
	}()
	e.t.Cleanup(func() { r.stop() })
	return r
}

// output returns what the command printed so far on stdout and stderr.
func (r *running) output() (string, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String(), r.errOut.String()
}

// waitFor waits until stdout contains s and returns stdout.
func (r *running) waitFor(s string) string {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, errOut := r.output()
		if strings.Contains(out, s) {
			return out
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("skiffctl did not print %q\nstdout: %s\nstderr: %s", s, out, errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exited reports whether the command has ended.
func (r *running) exited() bool {
	select {
	case code := <-r.done:
		r.done <- code
		return true
	default:
		return false
	}
}

// wait waits for the command to end on its own and returns its exit code.
func (r *running) wait() int {
	r.t.Helper()
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(60 * time.Second):
		out, errOut := r.output()
		r.t.Fatalf("skiffctl did not exit\nstdout: %s\nstderr: %s", out, errOut)
		return -1
	}
}

// stop cancels the command (as Ctrl-C does) and returns its exit code.
func (r *running) stop() int {
	r.cancel()
	code := <-r.done
	r.done <- code
	return code
}
