package test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/e2e/lab"
)

// rollingWeb is the Deployment web for TestRollingUpdate: two replicas
// with a readiness probe, rolled one surge pod at a time and never below
// two ready pods. VERSION is what the test changes to roll it.
//
// Zero failed requests needs the old pods to shut down as real servers do.
// The pod API has no lifecycle.preStop hook (proto/core/v1), so instead of
// a preStop sleep the test server itself keeps serving for
// --shutdown-delay after SIGTERM, long enough for the endpoints controller
// and kube-proxy on every node to drop it, and terminationGracePeriodSeconds
// leaves it the time to do so before the kubelet kills it.
const rollingWeb = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
      - name: web
        image: %s
        args: ["--shutdown-delay=6s"]
        env:
        - {name: VERSION, value: "%s"}
        ports:
        - containerPort: %s
        readinessProbe:
          httpGet: {path: /ready, port: %s}
          periodSeconds: 1
`

// applyRollingWeb applies rollingWeb with VERSION version.
func applyRollingWeb(t *testing.T, l *lab.Lab, version string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(rollingWeb, webImage, version, webPort, webPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	framework.Skiffctl(t, l, admin, "apply", "-f", path)
}

// client sends requests to a URL from a lab host until stopped: one curl
// each (a new connection, balanced anew), bounded in number and time.
type client struct {
	stop string
	out  bytes.Buffer
	done chan error
}

// startClient starts sending GETs to url from host, one every 50 ms.
func startClient(t *testing.T, l *lab.Lab, host, url string) *client {
	t.Helper()
	c := &client{stop: filepath.Join(t.TempDir(), "stop"), done: make(chan error, 1)}
	// At most 4000 requests of at most 3 s each; the test stops it long
	// before through the stop file.
	script := fmt.Sprintf(`i=0; while [ ! -e %s ] && [ $i -lt 4000 ]; do i=$((i+1));
if a=$(curl -sf --max-time 3 %s); then echo "ok $a"; else echo "FAIL curl exit $? at $(date +%%T.%%N)"; fi; sleep 0.05; done`, c.stop, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	cmd, err := l.Command(ctx, host, "sh", "-c", script)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout = &c.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { c.done <- cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		if c.done != nil {
			_ = os.WriteFile(c.stop, nil, 0o644)
			<-c.done
		}
	})
	return c
}

// finish stops the client and returns how many requests it sent and the
// failed ones.
func (c *client) finish(t *testing.T) (int, []string) {
	t.Helper()
	if err := os.WriteFile(c.stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-c.done; err != nil {
		t.Fatalf("client: %v\n%s", err, c.out.String())
	}
	c.done = nil
	var n int
	var failed []string
	sc := bufio.NewScanner(&c.out)
	for sc.Scan() {
		n++
		if !strings.HasPrefix(sc.Text(), "ok ") {
			failed = append(failed, sc.Text())
		}
	}
	return n, failed
}

// replicaSet is the part of a ReplicaSet the rollout test reads.
type replicaSet struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Replicas int `json:"replicas"`
	} `json:"spec"`
	Status struct {
		Replicas int `json:"replicas"`
	} `json:"status"`
}

// rollWeb applies VERSION version while a client on n2 asks the Service
// the whole time: the rollout completes, no request fails, the pods run
// the new template and every other ReplicaSet of web is at 0.
func rollWeb(t *testing.T, l *lab.Lab, svc service, version string, roll func()) {
	t.Helper()
	c := startClient(t, l, "n2", svc.clusterURL())
	time.Sleep(2 * time.Second) // some requests before the rollout
	roll()
	out := framework.Skiffctl(t, l, admin, "rollout", "status", "deployment/web", "--timeout=3m")
	if !strings.Contains(out, "successfully rolled out") {
		t.Fatalf("rollout status said %q", out)
	}
	pods := waitWebPods(t, l, 2, "web rolled to VERSION "+version, nil)
	time.Sleep(2 * time.Second) // and some after it
	n, failed := c.finish(t)
	t.Logf("VERSION %s: %d requests during the rollout, %d failed", version, n, len(failed))
	if len(failed) > 0 || n < 20 {
		t.Fatalf("rolling to VERSION %s: %d of %d requests failed (want 0 of at least 20): %v", version, len(failed), n, failed)
	}
	for _, p := range pods {
		got := framework.Run(t, l, "n2", "curl", "-s", "--max-time", "5", fmt.Sprintf("http://%s:%s/env?name=VERSION", p.Status.PodIP, webPort))
		if got != version {
			t.Errorf("pod %v has VERSION %q, want %q", p, got, version)
		}
	}
	framework.Eventually(t, time.Minute, time.Second, "the old ReplicaSets of web at 0", func(ctx context.Context) error {
		var list struct {
			Items []replicaSet `json:"items"`
		}
		if err := framework.GetJSON(ctx, l, admin, &list, "replicasets", "-l", "app=web"); err != nil {
			return err
		}
		live := 0
		for _, rs := range list.Items {
			if rs.Spec.Replicas != 0 || rs.Status.Replicas != 0 {
				live++
			}
		}
		if len(list.Items) < 2 || live != 1 {
			return fmt.Errorf("want one ReplicaSet with pods and the others at 0: %+v", list.Items)
		}
		return nil
	})
}

// TestRollingUpdate rolls the Deployment web (readiness probe, maxSurge 1,
// maxUnavailable 0) to a new template and back with `rollout undo` while a
// client sends requests to its Service the whole time: both rollouts
// complete, not one request fails, the old ReplicaSet ends at 0.
func TestRollingUpdate(t *testing.T) {
	l := startSeedCluster(t, nil)
	applyRollingWeb(t, l, "1")
	pods := waitWebPods(t, l, 2, "2 web pods Running and Ready", nil)
	svc := exposeWeb(t, l)
	waitServiceAnswers(t, l, "n2", svc.clusterURL(), 20, pods)

	rollWeb(t, l, svc, "2", func() { applyRollingWeb(t, l, "2") })
	rollWeb(t, l, svc, "1", func() {
		out := framework.Skiffctl(t, l, admin, "rollout", "undo", "deployment/web")
		if !strings.Contains(out, "rolled back") {
			t.Fatalf("rollout undo said %q", out)
		}
	})
}
