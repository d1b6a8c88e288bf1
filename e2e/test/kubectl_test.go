package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/e2e/framework"
	"skiff.dev/e2e/lab"
)

// kubectlWeb is what TestKubectl applies: the Deployment web of the test
// server, two replicas with a readiness probe, and a Service in front.
const kubectlWeb = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: %s
        ports:
        - containerPort: %s
        readinessProbe:
          httpGet: {path: /ready, port: %s}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: %s
`

// TestKubectl is an operator's everyday session with an unmodified kubectl
// v1.32.3 against the lab's apiserver, as the lab's admin over TLS (the
// lab's CA and admin certificate): apply a manifest, wait for the rollout,
// look at the pods, read and follow logs, exec (exit code, stdin, a
// terminal), watch, roll an image forward and back, scale, read events,
// delete. Each step checks what the user sees, exact where it is stable.
func TestKubectl(t *testing.T) {
	l := startSeedCluster(t, nil)
	k := labKubectl(t, l)
	manifest := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(kubectlWeb, webImage, webPort, webPort, webPort)), 0o644); err != nil {
		t.Fatal(err)
	}

	if !t.Run("apply -f", func(t *testing.T) {
		out, _ := kubectlOK(t, k, "", "apply", "-f", manifest)
		wantOutput(t, "kubectl apply -f web.yaml", out, "deployment.apps/web created\nservice/web created\n")
	}) {
		// The steps after this one need web: create it the way that does
		// not need the server's OpenAPI schema, so they still run.
		t.Log("apply failed; creating web with apply --validate=false so the other steps run")
		kubectlOK(t, k, "", "apply", "--validate=false", "-f", manifest)
	}

	t.Run("rollout status", func(t *testing.T) {
		out, _ := kubectlOK(t, k, "", "rollout", "status", "deploy/web", "--timeout=4m")
		if last := lastLine(out); last != `deployment "web" successfully rolled out` {
			t.Errorf("kubectl rollout status deploy/web ended with %q, want the rollout to succeed; output:\n%s", last, out)
		}
	})
	pods := waitKubectlPods(t, k, 2, nil)

	t.Run("rollout status with client-go's watch-list", func(t *testing.T) {
		// KUBE_FEATURE_WatchListClient makes client-go's reflectors (here
		// the one of rollout status) start with a watch that sends the
		// initial state (sendInitialEvents) instead of a list; the rollout
		// is complete, so it ends at once.
		out, errOut, code := kubectlEnv(t, k, []string{"KUBE_FEATURE_WatchListClient=true"}, "", "rollout", "status", "deploy/web", "--timeout=2m", "-v=6")
		if code != 0 || out != "deployment \"web\" successfully rolled out\n" {
			t.Fatalf("kubectl rollout status with WatchListClient: exit code %d, stdout %q\nstderr: %s", code, out, errOut)
		}
		if !strings.Contains(errOut, "sendInitialEvents=true") || strings.Contains(errOut, "falling back") {
			t.Errorf("kubectl rollout status with WatchListClient did not use a watch-list (or fell back):\n%s", errOut)
		}
	})

	t.Run("get pods -o wide", func(t *testing.T) {
		out, _ := kubectlOK(t, k, "", "get", "pods", "-o", "wide")
		rows := table(out)
		want := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"}
		if len(rows) == 0 || !slices.Equal(rows[0], want) {
			t.Fatalf("kubectl get pods -o wide: want the header %q, got:\n%s", want, out)
		}
		if len(rows) != 1+len(pods) {
			t.Fatalf("kubectl get pods -o wide: want %d pods, got:\n%s", len(pods), out)
		}
		for i, p := range pods {
			row := rows[1+i]
			wantRow := []string{p.Metadata.Name, "1/1", "Running", "0", "AGE", p.Status.PodIP, p.Spec.NodeName, "<none>", "<none>"}
			if len(row) == len(wantRow) {
				row[4] = "AGE" // the age is not stable
			}
			if !slices.Equal(row, wantRow) {
				t.Errorf("kubectl get pods -o wide: row %q, want %q; output:\n%s", row, wantRow, out)
			}
		}
	})

	p := pods[0]
	t.Run("logs", func(t *testing.T) {
		out, _ := kubectlOK(t, k, "", "logs", p.Metadata.Name)
		if !strings.HasPrefix(out, "listening on :"+webPort+"\n") || !strings.Contains(out, "\nGET /ready\n") {
			t.Errorf("kubectl logs %s: want the server's start line and its readiness probes, got:\n%s", p.Metadata.Name, out)
		}
	})

	t.Run("logs -f", func(t *testing.T) {
		f := startKubectl(t, k, "logs", "-f", "--tail=1", p.Metadata.Name)
		f.waitFor(t, "the last line of the log", func(out, _ string) bool { return strings.Count(out, "\n") >= 1 })
		// A request to the pod makes the server log a new line, which the
		// follower shows.
		url := fmt.Sprintf("http://%s:%s/kubectl-logs-follow", p.Status.PodIP, webPort)
		framework.Run(t, l, "n1", "curl", "-sf", "--max-time", "10", url)
		f.waitFor(t, "the new line", func(out, _ string) bool { return strings.Contains(out, "\nGET /kubectl-logs-follow\n") })
		if f.exited() {
			t.Fatalf("kubectl logs -f ended on its own:\n%s", f)
		}
		f.stop(t)
	})

	t.Run("exec", func(t *testing.T) {
		out, _ := kubectlOK(t, k, "", "exec", p.Metadata.Name, "--", "/testserver", "--hostname")
		wantOutput(t, "kubectl exec POD -- /testserver --hostname", out, p.Metadata.Name+"\n")

		out, errOut, code := kubectl(t, k, "", "exec", p.Metadata.Name, "--", "/testserver", "--exit-now=3")
		if code != 3 || out != "out\n" || errOut != "err\ncommand terminated with exit code 3\n" {
			t.Errorf("kubectl exec POD -- /testserver --exit-now=3: exit code %d, stdout %q, stderr %q; want 3, %q, %q",
				code, out, errOut, "out\n", "err\ncommand terminated with exit code 3\n")
		}
	})

	t.Run("exec -i with stdin", func(t *testing.T) {
		in := "first line\nsecond line\n"
		out, _ := kubectlOK(t, k, in, "exec", "-i", p.Metadata.Name, "--", "/testserver", "--cat")
		wantOutput(t, "kubectl exec -i POD -- /testserver --cat", out, in)
	})

	t.Run("exec -it in a terminal", func(t *testing.T) {
		execTTY(t, k, p.Metadata.Name)
	})

	t.Run("exec and logs errors", func(t *testing.T) {
		for _, c := range []struct {
			env    []string
			args   []string
			stderr string
		}{
			{nil, []string{"exec", p.Metadata.Name, "-c", "nope", "--", "/testserver", "--hostname"},
				fmt.Sprintf("Error from server (BadRequest): container nope is not valid for pod %s\n", p.Metadata.Name)},
			{nil, []string{"exec", "nope", "--", "/testserver", "--hostname"}, "Error from server (NotFound): pods \"nope\" not found\n"},
			{nil, []string{"logs", "nope"}, "error: error from server (NotFound): pods \"nope\" not found in namespace \"default\"\n"},
			// SPDY, kubectl's older exec protocol, is refused plainly.
			{[]string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"}, []string{"exec", p.Metadata.Name, "--", "/testserver", "--hostname"},
				"Error from server (BadRequest): exec and port-forward speak the websocket protocols v5.channel.k8s.io and v4.channel.k8s.io: " +
					"this request asks for an upgrade to SPDY/3.1 (SPDY is not supported; kubectl 1.30 and later use websockets unless KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)\n"},
		} {
			out, errOut, code := kubectlEnv(t, k, c.env, "", c.args...)
			if code != 1 || out != "" || errOut != c.stderr {
				t.Errorf("%s kubectl %s: exit code %d, stdout %q, stderr %q; want 1 and stderr %q",
					strings.Join(c.env, " "), strings.Join(c.args, " "), code, out, errOut, c.stderr)
			}
		}
	})

	t.Run("get -w while scaling", func(t *testing.T) {
		w := startKubectl(t, k, "get", "pods", "-l", "app=web", "-w")
		w.waitFor(t, "the current pods", func(out, _ string) bool {
			return strings.Contains(out, pods[0].Metadata.Name) && strings.Contains(out, pods[1].Metadata.Name)
		})
		out, _ := kubectlOK(t, k, "", "scale", "deploy/web", "--replicas=3")
		wantOutput(t, "kubectl scale deploy/web --replicas=3", out, "deployment.apps/web scaled\n")
		three := waitKubectlPods(t, k, 3, nil)
		var added string
		for _, q := range three {
			if q.Metadata.Name != pods[0].Metadata.Name && q.Metadata.Name != pods[1].Metadata.Name {
				added = q.Metadata.Name
			}
		}
		w.waitFor(t, "the new pod "+added, func(out, _ string) bool { return strings.Contains(out, added) })
		if w.exited() {
			t.Fatalf("kubectl get -w ended on its own:\n%s", w)
		}
		// As Kubernetes prints it: a header, then one line per change, the
		// new pod's last one Running and ready.
		header := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
		if rows := table(w.stdout()); !slices.Equal(rows[0], header) {
			t.Errorf("kubectl get pods -w: want the header %q, got:\n%s", header, w)
		} else if !w.waitUntil(2*time.Minute, func(out, _ string) bool {
			return slices.ContainsFunc(table(out), func(r []string) bool {
				return len(r) == 5 && r[0] == added && r[1] == "1/1" && r[2] == "Running" && r[3] == "0"
			})
		}) {
			t.Errorf("kubectl get pods -w: want a line %q for the new pod, got:\n%s", added+"   1/1   Running   0   AGE", w)
		}
		w.stop(t)
		out, _ = kubectlOK(t, k, "", "scale", "deploy/web", "--replicas=2")
		wantOutput(t, "kubectl scale deploy/web --replicas=2", out, "deployment.apps/web scaled\n")
	})
	pods = waitKubectlPods(t, k, 2, nil)

	digestImage := registryDigestImage(t, l)
	t.Run("set image, rollout status, undo, history", func(t *testing.T) {
		out, _ := kubectlOK(t, k, "", "set", "image", "deploy/web", "web="+digestImage)
		wantOutput(t, "kubectl set image deploy/web", out, "deployment.apps/web image updated\n")
		rolloutSucceeds(t, k)
		waitKubectlPods(t, k, 2, imageIs(digestImage))
		out, _ = kubectlOK(t, k, "", "rollout", "history", "deploy/web")
		wantOutput(t, "kubectl rollout history deploy/web", out, "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n")

		out, _ = kubectlOK(t, k, "", "rollout", "undo", "deploy/web")
		wantOutput(t, "kubectl rollout undo deploy/web", out, "deployment.apps/web rolled back\n")
		rolloutSucceeds(t, k)
		waitKubectlPods(t, k, 2, imageIs(webImage))
		out, _ = kubectlOK(t, k, "", "rollout", "history", "deploy/web")
		wantOutput(t, "kubectl rollout history deploy/web after the undo", out, "deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n")
	})
	pods = waitKubectlPods(t, k, 2, nil)

	t.Run("get events", func(t *testing.T) {
		out, _ := kubectlOK(t, k, "", "get", "events")
		rows := table(out)
		header := []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}
		if len(rows) == 0 || !slices.Equal(rows[0], header) {
			t.Fatalf("kubectl get events: want the header %q, got:\n%s", header, out)
		}
		for _, q := range pods {
			want := []string{"Normal", "Scheduled", "pod/" + q.Metadata.Name,
				fmt.Sprintf("Successfully assigned default/%s to %s", q.Metadata.Name, q.Spec.NodeName)}
			if !slices.ContainsFunc(rows, func(r []string) bool { return len(r) == 5 && slices.Equal(r[1:], want) }) {
				t.Errorf("kubectl get events: no line %q, got:\n%s", strings.Join(want, "   "), out)
			}
		}
	})

	t.Run("delete pod ends logs -f", func(t *testing.T) {
		q := pods[0]
		f := startKubectl(t, k, "logs", "-f", q.Metadata.Name)
		f.waitFor(t, "the log", func(out, _ string) bool { return strings.HasPrefix(out, "listening on :"+webPort+"\n") })
		out, _ := kubectlOK(t, k, "", "delete", "pod", q.Metadata.Name)
		wantOutput(t, "kubectl delete pod", out, fmt.Sprintf("pod %q deleted\n", q.Metadata.Name))
		// The container got SIGTERM, said so and exited: a follower of its
		// log ends, as with Kubernetes.
		if !f.waitExit(2 * time.Minute) {
			t.Fatalf("kubectl logs -f %s still runs 2 minutes after its pod was deleted:\n%s", q.Metadata.Name, f)
		}
		if code := f.exitCode(); code != 0 || !strings.HasSuffix(f.stdout(), "\ngot signal terminated\n") {
			t.Errorf("kubectl logs -f of a deleted pod: exit code %d, want 0 and the container's last line %q:\n%s", code, "got signal terminated", f)
		}
	})
	waitKubectlPods(t, k, 2, nil)

	t.Run("delete -f", func(t *testing.T) {
		out, _ := kubectlOK(t, k, "", "delete", "-f", manifest)
		wantOutput(t, "kubectl delete -f web.yaml", out, "deployment.apps \"web\" deleted\nservice \"web\" deleted\n")
		framework.Eventually(t, podWait, 2*time.Second, "kubectl get pods to find no pods", func(context.Context) error {
			out, errOut, code := kubectl(t, k, "", "get", "pods")
			if code != 0 || out != "" || errOut != "No resources found in default namespace.\n" {
				return fmt.Errorf("kubectl get pods: exit code %d, stdout %q, stderr %q", code, out, errOut)
			}
			return nil
		})
		_, errOut, code := kubectl(t, k, "", "get", "deploy/web")
		if code != 1 || errOut != "Error from server (NotFound): deployments.apps \"web\" not found\n" {
			t.Errorf("kubectl get deploy/web after the delete: exit code %d, stderr %q", code, errOut)
		}
	})
}

// labKubectl is kubectl as the lab's admin: a kubeconfig with the lab's
// CA and admin certificate, pointing at a loopback relay to the apiserver
// (the apiserver's certificate names 127.0.0.1).
func labKubectl(t *testing.T, l *lab.Lab) *apiservertest.Kubectl {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := l.Forward(ctx, addr); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := l.WriteKubeconfig(path, "https://"+addr, "admin", true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return apiservertest.NewKubectlConfig(t, string(b))
}

// kubectl runs kubectl to its end (at most 5 minutes) and returns what it
// printed and its exit code.
func kubectl(t *testing.T, k *apiservertest.Kubectl, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return kubectlEnv(t, k, nil, stdin, args...)
}

// kubectlEnv is kubectl with env added to its environment.
func kubectlEnv(t *testing.T, k *apiservertest.Kubectl, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := k.Command(ctx, args...)
	cmd.Env = append(cmd.Env, env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String(), code
}

// kubectlOK is kubectl that fails t unless kubectl exits 0.
func kubectlOK(t *testing.T, k *apiservertest.Kubectl, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, code := kubectl(t, k, stdin, args...)
	if code != 0 {
		t.Fatalf("kubectl %s: exit code %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

func wantOutput(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s printed %q, want %q", what, got, want)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// columns splits kubectl's table lines: columns are at least two spaces
// apart, and no cell of ours holds two spaces.
var columns = regexp.MustCompile(`\s{2,}`)

// table is kubectl's table output as rows of cells, the header first.
func table(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			rows = append(rows, columns.Split(line, -1))
		}
	}
	return rows
}

// kubectlPod is the part of a Pod TestKubectl reads besides pod's.
type kubectlPod struct {
	pod
	Spec struct {
		NodeName   string `json:"nodeName"`
		Containers []struct {
			Image string `json:"image"`
		} `json:"containers"`
	} `json:"spec"`
}

func imageIs(image string) func([]kubectlPod) error {
	return func(pods []kubectlPod) error {
		for _, p := range pods {
			if len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Image != image {
				return fmt.Errorf("pod %s runs %+v, want %s", p.Metadata.Name, p.Spec.Containers, image)
			}
		}
		return nil
	}
}

// waitKubectlPods waits until `kubectl get pods -l app=web -o json` shows
// exactly n pods, all Running, ready and not being deleted, that check (if
// any) accepts; it returns them by name.
func waitKubectlPods(t *testing.T, k *apiservertest.Kubectl, n int, check func([]kubectlPod) error) []kubectlPod {
	t.Helper()
	var pods []kubectlPod
	framework.Eventually(t, podWait, time.Second, fmt.Sprintf("%d web pods Running and Ready", n), func(context.Context) error {
		out, errOut, code := kubectl(t, k, "", "get", "pods", "-l", "app=web", "-o", "json")
		if code != 0 {
			return fmt.Errorf("kubectl get pods: exit code %d: %s", code, errOut)
		}
		var list struct {
			Items []kubectlPod `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return fmt.Errorf("kubectl get pods -o json: %w", err)
		}
		pods = list.Items
		slices.SortFunc(pods, func(a, b kubectlPod) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
		if len(pods) != n {
			return fmt.Errorf("%d pods, want %d", len(pods), n)
		}
		for _, p := range pods {
			if p.Status.Phase != "Running" || !p.ready() || p.Metadata.DeletionTimestamp != nil {
				return fmt.Errorf("pod %s: %s ready=%v deleting=%v", p.Metadata.Name, p.Status.Phase, p.ready(), p.Metadata.DeletionTimestamp != nil)
			}
		}
		if check != nil {
			return check(pods)
		}
		return nil
	})
	for i := range pods {
		pods[i].pod.Spec.NodeName = pods[i].Spec.NodeName
	}
	return pods
}

// rolloutSucceeds runs kubectl rollout status deploy/web until it reports
// success.
func rolloutSucceeds(t *testing.T, k *apiservertest.Kubectl) {
	t.Helper()
	out, _ := kubectlOK(t, k, "", "rollout", "status", "deploy/web", "--timeout=4m")
	if last := lastLine(out); last != `deployment "web" successfully rolled out` {
		t.Fatalf("kubectl rollout status deploy/web ended with %q; output:\n%s", last, out)
	}
}

// registryDigestImage is the test server's image by digest
// (REGISTRY/testserver@sha256:...), as the lab registry names it: the same
// program under another name, which makes a new pod template.
func registryDigestImage(t *testing.T, l *lab.Lab) string {
	t.Helper()
	repo, _, _ := strings.Cut(webImage, ":1.0")
	host, path, _ := strings.Cut(repo, "/")
	out := framework.Run(t, l, admin, "curl", "-sfI", "--max-time", "10",
		"-H", "Accept: application/vnd.oci.image.manifest.v1+json",
		"-H", "Accept: application/vnd.oci.image.index.v1+json",
		fmt.Sprintf("http://%s/v2/%s/manifests/1.0", host, path))
	for _, line := range strings.Split(out, "\n") {
		if name, value, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.EqualFold(name, "Docker-Content-Digest") {
			return repo + "@" + strings.TrimSpace(value)
		}
	}
	t.Fatalf("the registry named no digest for %s:\n%s", webImage, out)
	return ""
}

// ttySession is kubectl running in a pseudo-terminal, as in a user's
// terminal window.
type ttySession struct {
	ptmx    *os.File
	mu      sync.Mutex
	out     bytes.Buffer
	done    chan struct{} // closed when kubectl has ended, with waitErr
	waitErr error
	cancel  context.CancelFunc
}

// startTTY starts kubectl with args in a pseudo-terminal of rows x cols
// and waits until kubectl has put it in raw mode (it does before it
// connects; typing earlier would go through the local line discipline), or
// has already ended.
func startTTY(t *testing.T, k *apiservertest.Kubectl, rows, cols uint16, args ...string) *ttySession {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	s := &ttySession{ptmx: ptmx, done: make(chan struct{}), cancel: cancel}
	cmd := k.Command(ctx, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	tty.Close()
	go func() { _, _ = io.Copy(lockedWriter{&s.mu, &s.out}, ptmx) }()
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(time.Minute):
		}
	})
	framework.Eventually(t, time.Minute, 100*time.Millisecond, "kubectl to put the terminal in raw mode", func(context.Context) error {
		select {
		case <-s.done: // it ran and ended: nothing to wait for
			return nil
		default:
		}
		tio, err := unix.IoctlGetTermios(int(ptmx.Fd()), unix.TCGETS)
		if err != nil {
			return err
		}
		if tio.Lflag&unix.ICANON != 0 {
			return errors.New("the terminal is still in canonical mode")
		}
		return nil
	})
	return s
}

func (s *ttySession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitOutput waits until the terminal shows want.
func (s *ttySession) waitOutput(t *testing.T, want string) {
	t.Helper()
	framework.Eventually(t, time.Minute, 200*time.Millisecond, fmt.Sprintf("the terminal to show %q", want), func(context.Context) error {
		if got := s.output(); !strings.Contains(got, want) {
			return fmt.Errorf("the terminal shows %q", got)
		}
		return nil
	})
}

// wait waits up to 2 minutes for kubectl to end and fails t unless it
// exits 0.
func (s *ttySession) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-s.done:
		if s.waitErr != nil {
			t.Errorf("kubectl exec -it: %v after %s; the terminal shows %q", s.waitErr, what, s.output())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("kubectl exec -it still runs 2 minutes after %s; the terminal shows %q", what, s.output())
	}
}

// execTTY runs kubectl exec -it POD -- /testserver --cat in a
// pseudo-terminal, types a line and then Ctrl-D: the container's terminal
// echoes the line, cat copies it, and the end of input ends cat and
// kubectl. Then /testserver --winsize shows that the container's terminal
// has the size of the user's.
func execTTY(t *testing.T, k *apiservertest.Kubectl, pod string) {
	s := startTTY(t, k, 24, 80, "exec", "-it", pod, "--", "/testserver", "--cat")
	if _, err := s.ptmx.Write([]byte("hello tty\r")); err != nil {
		t.Fatal(err)
	}
	// The remote terminal echoes the line, then cat writes it back.
	s.waitOutput(t, "hello tty\r\nhello tty\r\n")
	if _, err := s.ptmx.Write([]byte{4}); err != nil { // Ctrl-D
		t.Fatal(err)
	}
	s.wait(t, "Ctrl-D")

	s = startTTY(t, k, 33, 101, "exec", "-it", pod, "--", "/testserver", "--winsize")
	s.wait(t, "the command ended")
	if got := s.output(); got != "33 101\r\n" {
		t.Errorf("kubectl exec -it POD -- /testserver --winsize in a 33x101 terminal shows %q, want %q", got, "33 101\r\n")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// running is a kubectl that keeps running (logs -f, get -w) until it is
// stopped: its output so far, and whether it ended on its own.
type running struct {
	args     []string
	cmd      *exec.Cmd
	cancel   context.CancelFunc
	mu       sync.Mutex
	out, err bytes.Buffer
	done     chan struct{}
	waitErr  error
}

// startKubectl starts kubectl with args; it is stopped when t ends, at the
// latest.
func startKubectl(t *testing.T, k *apiservertest.Kubectl, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	r := &running{args: args, cancel: cancel, done: make(chan struct{})}
	r.cmd = k.Command(ctx, args...)
	r.cmd.Stdout, r.cmd.Stderr = lockedWriter{&r.mu, &r.out}, lockedWriter{&r.mu, &r.err}
	if err := r.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { r.waitErr = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { r.cancel(); <-r.done })
	return r
}

func (r *running) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("kubectl %s\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.out.String(), r.err.String())
}

func (r *running) stdout() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

func (r *running) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// waitUntil waits up to timeout for ok to accept the output.
func (r *running) waitUntil(timeout time.Duration, ok func(stdout, stderr string) bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		accepted := ok(r.out.String(), r.err.String())
		r.mu.Unlock()
		if accepted {
			return true
		}
		if time.Now().After(deadline) || r.exited() {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor is waitUntil for up to 3 minutes that fails t when it gives up.
func (r *running) waitFor(t *testing.T, what string, ok func(stdout, stderr string) bool) {
	t.Helper()
	if !r.waitUntil(3*time.Minute, ok) {
		t.Fatalf("%s: not seen (kubectl ended: %v, %v):\n%s", what, r.exited(), r.waitErr, r)
	}
}

// waitExit waits up to timeout for kubectl to end on its own.
func (r *running) waitExit(timeout time.Duration) bool {
	select {
	case <-r.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// exitCode is the exit code of a kubectl that ended.
func (r *running) exitCode() int {
	<-r.done
	var ee *exec.ExitError
	if errors.As(r.waitErr, &ee) {
		return ee.ExitCode()
	}
	if r.waitErr != nil {
		return -1
	}
	return 0
}

// stop ends kubectl as Ctrl-C would.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(os.Interrupt)
	}
	if !r.waitExit(time.Minute) {
		r.cancel()
		<-r.done
	}
}
