package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/kubelet/kubelettest"
)

var logT0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// logsEnv is a real apiserver that calls kubelets over plain HTTP, one
// kubelet API over test-written container logs, and skiffctl.
type logsEnv struct {
	*env
	k *kubelettest.Server
}

func newLogsEnv(t *testing.T) *logsEnv {
	t.Helper()
	return newKubeletEnv(t, kubelettest.Options{})
}

// newKubeletEnv is newLogsEnv with a kubelet of opts.
func newKubeletEnv(t *testing.T, opts kubelettest.Options) *logsEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs a real apiserver")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SKIFF_CONFIG", "")
	k := kubelettest.Start(t, opts)
	srv := apiservertest.Start(t, apiservertest.Options{KubeletInsecureHTTP: true})
	return &logsEnv{env: &env{t: t, srv: srv, dir: t.TempDir(), base: []string{"--server", "http://" + srv.Address}}, k: k}
}

// rest sends a JSON request to the apiserver and returns the decoded answer.
func (e *logsEnv) rest(method, path, body string) map[string]any {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, "http://"+e.srv.Address+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		e.t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return m
}

// node registers a node whose kubelet listens on 127.0.0.1:port.
func (e *logsEnv) node(name string, port int) {
	e.t.Helper()
	n := e.rest("POST", "/api/v1/nodes", fmt.Sprintf(`{"metadata":{"name":%q}}`, name))
	n["status"] = map[string]any{
		"addresses":       []any{map[string]any{"type": "InternalIP", "address": "127.0.0.1"}},
		"daemonEndpoints": map[string]any{"kubeletEndpoint": map[string]any{"Port": port}},
	}
	b, _ := json.Marshal(n)
	e.rest("PUT", "/api/v1/nodes/"+name+"/status", string(b))
}

// pod creates a pod with skiffctl, binds it to node unless empty, and
// returns its uid.
func (e *logsEnv) pod(name, node string, containers ...string) string {
	e.t.Helper()
	manifest := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n", name)
	for _, c := range containers {
		manifest += fmt.Sprintf("  - name: %s\n    image: busybox\n", c)
	}
	e.must("apply", "-f", e.file(name+".yaml", manifest))
	if node != "" {
		e.rest("POST", "/api/v1/namespaces/default/pods/"+name+"/binding",
			fmt.Sprintf(`{"metadata":{"name":%q},"target":{"kind":"Node","name":%q}}`, name, node))
	}
	p := e.rest("GET", "/api/v1/namespaces/default/pods/"+name, "")
	return p["metadata"].(map[string]any)["uid"].(string)
}

func TestLogs(t *testing.T) {
	e := newLogsEnv(t)
	e.node("node-1", e.k.Port)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().(*net.TCPAddr).Port
	l.Close()
	e.node("node-down", down)

	web := e.pod("web", "node-1", "app")
	e.k.WriteRecords(t, "default", "web", web, "app", 0, kubelettest.Record{Time: logT0, Content: "crashed"})
	recent := time.Now().Add(-time.Minute)
	e.k.WriteRecords(t, "default", "web", web, "app", 1,
		kubelettest.Record{Time: logT0.Add(time.Second), Content: "one"},
		kubelettest.Record{Time: logT0.Add(2 * time.Second), Stream: "stderr", Content: "two"},
		kubelettest.Record{Time: recent, Content: "three"})
	multi := e.pod("multi", "node-1", "a", "b")
	e.k.WriteLog(t, "default", "multi", multi, "a", 0, "from a")
	e.k.WriteLog(t, "default", "multi", multi, "b", 0, "from b")
	e.pod("pending", "", "app")
	e.pod("far", "node-down", "app")

	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"logs", "web"}, "one\ntwo\nthree\n", ""},
		{[]string{"logs", "pod/web", "-c", "app"}, "one\ntwo\nthree\n", ""},
		{[]string{"logs", "web", "--tail", "1"}, "three\n", ""},
		{[]string{"logs", "web", "--tail=0"}, "", ""},
		{[]string{"logs", "web", "--previous"}, "crashed\n", ""},
		{[]string{"logs", "web", "-p", "--timestamps"}, "2024-05-01T10:00:00.000000000Z crashed\n", ""},
		{[]string{"logs", "web", "--timestamps", "--tail=2"}, "2024-05-01T10:00:02.000000000Z two\n" +
			recent.Format("2006-01-02T15:04:05.000000000Z07:00") + " three\n", ""},
		{[]string{"logs", "web", "--since", "1h"}, "three\n", ""},
		{[]string{"logs", "web", "--limit-bytes", "5"}, "one\nt", ""},
		{[]string{"logs", "multi", "-c", "b"}, "from b\n", ""},
		{[]string{"logs", "multi"}, "", "Error from server (BadRequest): a container name must be specified for pod multi, choose one of: [a b]\n"},
		{[]string{"logs", "multi", "-c", "x"}, "", "Error from server (BadRequest): container x is not valid for pod multi\n"},
		{[]string{"logs", "multi", "-c", "a", "--previous"}, "",
			"Error from server (NotFound): previous terminated container \"a\" in pod \"multi\" not found\n"},
		{[]string{"logs", "nope"}, "", "Error from server (NotFound): pods \"nope\" not found\n"},
		{[]string{"logs", "pending"}, "", "Error from server (BadRequest): pod default/pending is not scheduled to a node yet: no logs\n"},
		// The apiserver answers 503; the kubelet it could not reach is named.
		{[]string{"logs", "far"}, "", fmt.Sprintf("Error from server (ServiceUnavailable): cannot reach the kubelet of node \"node-down\" at http://127.0.0.1:%d: ", down)},
		{[]string{"logs", "web", "--tail", "-2"}, "", "error: --tail: must be -1 (all lines) or more, got -2\n"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tc.args...)
			if tc.wantErr == "" {
				if code != 0 || out != tc.want {
					t.Fatalf("exit %d, stdout %q, stderr %q; want stdout %q", code, out, errOut, tc.want)
				}
				return
			}
			if code == 0 || out != "" || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want an error %q", code, out, errOut, tc.wantErr)
			}
		})
	}
}

// TestLogsFollow: skiffctl logs -f prints lines as the container writes
// them, until interrupted.
func TestLogsFollow(t *testing.T) {
	e := newLogsEnv(t)
	e.node("node-1", e.k.Port)
	uid := e.pod("web", "node-1", "app")
	e.k.WriteLog(t, "default", "web", uid, "app", 0, "one", "two")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var out, errOut strings.Builder
	done := make(chan int)
	go func() {
		done <- Run(ctx, append(append([]string{}, e.base...), "logs", "-f", "web", "--tail=1"), strings.NewReader(""),
			&lockedWriter{mu: &mu, w: &out}, &lockedWriter{mu: &mu, w: &errOut})
	}()
	waitOut := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			got, gotErr := out.String(), errOut.String()
			mu.Unlock()
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("skiffctl logs -f printed %q (stderr %q), want %q", got, gotErr, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitOut("two\n")
	e.k.WriteLog(t, "default", "web", uid, "app", 0, "three")
	waitOut("two\nthree\n")
	e.k.WriteLog(t, "default", "web", uid, "app", 0, "four", "five")
	waitOut("two\nthree\nfour\nfive\n")
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("skiffctl logs -f exit %d after interrupt, stderr %q", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("skiffctl logs -f did not stop when interrupted")
	}
}
