package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/e2e/lab"
)

// What the seed-story suites share: a cluster of one master and two nodes
// with every daemon, the Deployment "web" of the test server pulled from
// the lab registry, and the pods, events and Service as skiffctl shows them.

const (
	// webImage is the test server (kubelet/cmd/testserver), pulled from
	// the lab registry, which serves the archives of imageDir.
	webImage = "10.77.0.3:5000/testserver:1.0"
	// webPort is the test server's port (its PORT environment variable).
	webPort = "8080"
	// admin is the host skiffctl runs on: the master, a user's seat.
	admin = "m1"
	// podWait bounds a wait for pods to start, be replaced or go away on
	// this loaded 2-core machine.
	podWait = 3 * time.Minute
)

// nodes are the node hosts of a 1 master + 2 nodes lab.
var nodes = []string{"n1", "n2"}

// startSeedCluster starts one master and two nodes with every daemon,
// the registry seeded with the test images, and waits for both nodes Ready.
func startSeedCluster(t *testing.T, extra map[string][]string) *lab.Lab {
	t.Helper()
	return framework.StartCluster(t, lab.Config{Masters: 1, Nodes: 2, BinDir: binDir, ImageDir: imageDir, ExtraArgs: extra})
}

// pod is the part of a Pod the suites read.
type pod struct {
	Metadata struct {
		Name              string  `json:"name"`
		UID               string  `json:"uid"`
		DeletionTimestamp *string `json:"deletionTimestamp"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase      string `json:"phase"`
		PodIP      string `json:"podIP"`
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
		ContainerStatuses []struct {
			Name         string `json:"name"`
			ContainerID  string `json:"containerID"`
			RestartCount int    `json:"restartCount"`
			Ready        bool   `json:"ready"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

func (p pod) ready() bool {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

// containerID is the containerd ID of the pod's only container.
func (p pod) containerID() string {
	if len(p.Status.ContainerStatuses) == 0 {
		return ""
	}
	return strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
}

func (p pod) restarts() int {
	if len(p.Status.ContainerStatuses) == 0 {
		return -1
	}
	return p.Status.ContainerStatuses[0].RestartCount
}

func (p pod) String() string {
	del := ""
	if p.Metadata.DeletionTimestamp != nil {
		del = " terminating"
	}
	return fmt.Sprintf("%s(%s on %s, %s ready=%v restarts=%d%s)", p.Metadata.Name, p.Status.PodIP, p.Spec.NodeName,
		p.Status.Phase, p.ready(), p.restarts(), del)
}

// webPods lists the pods of the Deployment web.
func webPods(ctx context.Context, l *lab.Lab) ([]pod, error) {
	var list struct {
		Items []pod `json:"items"`
	}
	if err := framework.GetJSON(ctx, l, admin, &list, "pods", "-l", "app=web"); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Metadata.Name < list.Items[j].Metadata.Name })
	return list.Items, nil
}

// waitWebPods waits until web has exactly n pods, every one Running, Ready
// and not being deleted, and check (if any) accepts them; it returns them.
func waitWebPods(t *testing.T, l *lab.Lab, n int, what string, check func([]pod) error) []pod {
	t.Helper()
	var pods []pod
	framework.Eventually(t, podWait, time.Second, what, func(ctx context.Context) error {
		var err error
		if pods, err = webPods(ctx, l); err != nil {
			return err
		}
		if len(pods) != n {
			return fmt.Errorf("%d pods, want %d: %v", len(pods), n, pods)
		}
		for _, p := range pods {
			if p.Status.Phase != "Running" || !p.ready() || p.Metadata.DeletionTimestamp != nil {
				return fmt.Errorf("pod not Running and Ready: %v", pods)
			}
		}
		if check != nil {
			return check(pods)
		}
		return nil
	})
	return pods
}

// createWeb creates the Deployment web with replicas pods of the test
// server and waits until they all run, ready.
func createWeb(t *testing.T, l *lab.Lab, replicas int) []pod {
	t.Helper()
	out := framework.Skiffctl(t, l, admin, "create", "deployment", "web", "--image="+webImage, "--replicas="+strconv.Itoa(replicas))
	if !strings.Contains(out, "deployment.apps/web created") {
		t.Fatalf("create deployment said %q", out)
	}
	return waitWebPods(t, l, replicas, fmt.Sprintf("%d web pods Running and Ready", replicas), nil)
}

// service is the part of a Service the suites read.
type service struct {
	Spec struct {
		ClusterIP string `json:"clusterIP"`
		Type      string `json:"type"`
		Ports     []struct {
			Port     int `json:"port"`
			NodePort int `json:"nodePort"`
		} `json:"ports"`
	} `json:"spec"`
}

// exposeWeb exposes web as a NodePort Service on port 80 and returns it.
func exposeWeb(t *testing.T, l *lab.Lab) service {
	t.Helper()
	out := framework.Skiffctl(t, l, admin, "expose", "deployment", "web", "--port", "80", "--target-port", webPort, "--type", "NodePort")
	if !strings.Contains(out, "service/web exposed") {
		t.Fatalf("expose said %q", out)
	}
	var svc service
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := framework.GetJSON(ctx, l, admin, &svc, "service", "web"); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.Type != "NodePort" || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("service web: want a ClusterIP and a NodePort, got %+v", svc.Spec)
	}
	return svc
}

// clusterURL is the Service's ClusterIP URL.
func (s service) clusterURL() string {
	return fmt.Sprintf("http://%s:%d/", s.Spec.ClusterIP, s.Spec.Ports[0].Port)
}

// createWebService creates web with two pods (one per node) and exposes it.
func createWebService(t *testing.T, l *lab.Lab) ([]pod, service) {
	t.Helper()
	pods := createWeb(t, l, 2)
	return pods, exposeWeb(t, l)
}

// askMany sends n GETs to url from host, one curl each (new connections,
// so each is balanced anew), and returns how often each answer came; an
// empty answer counts as "" (a failed request).
func askMany(ctx context.Context, l *lab.Lab, host, url string, n int) (map[string]int, error) {
	// $(...) drops the answer's newline: one line per request, empty
	// when it failed.
	script := fmt.Sprintf(`for i in $(seq %d); do echo "$(curl -s --max-time 5 %s)"; done`, n, url)
	out, err := l.Exec(ctx, host, "sh", "-c", script)
	if err != nil {
		return nil, err
	}
	answers := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		answers[strings.TrimSpace(line)]++
	}
	return answers, nil
}

// answeredBy checks that every one of answers came from one of pods and,
// when all is set, that every pod answered.
func answeredBy(answers map[string]int, pods []pod, all bool) error {
	names := map[string]bool{}
	for _, p := range pods {
		names[p.Metadata.Name] = true
	}
	for a, n := range answers {
		if !names[a] {
			return fmt.Errorf("%d answers %q, not from a live pod %v (answers %v)", n, a, pods, answers)
		}
	}
	if all {
		for name := range names {
			if answers[name] == 0 {
				return fmt.Errorf("pod %s never answered: %v", name, answers)
			}
		}
	}
	return nil
}

// waitServiceAnswers waits until n requests to url from host all come from
// pods, every pod among them answering.
func waitServiceAnswers(t *testing.T, l *lab.Lab, host, url string, n int, pods []pod) {
	t.Helper()
	framework.Eventually(t, 2*time.Minute, 2*time.Second, fmt.Sprintf("%d requests from %s to %s answered by %d pods", n, host, url, len(pods)), func(context.Context) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*6*time.Second)
		defer cancel()
		answers, err := askMany(ctx, l, host, url, n)
		if err != nil {
			return err
		}
		return answeredBy(answers, pods, true)
	})
}

// killContainer SIGKILLs the process of p's container on its node, found
// with runc in the state of the node's containerd namespace.
func killContainer(t *testing.T, l *lab.Lab, p pod) {
	t.Helper()
	id := p.containerID()
	if id == "" {
		t.Fatalf("pod %v has no container ID", p)
	}
	root := "/run/containerd/runc/" + l.Config().Prefix + "-" + p.Spec.NodeName
	out, err := exec.Command("runc", "--root", root, "state", id).CombinedOutput()
	if err != nil {
		t.Fatalf("runc state %s: %v\n%s", id, err, out)
	}
	var st struct {
		Pid    int    `json:"pid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Pid <= 1 || st.Status != "running" {
		t.Fatalf("runc state %s: pid %d status %q (%v): %s", id, st.Pid, st.Status, err, out)
	}
	t.Logf("killing pid %d of container %s of pod %s on %s", st.Pid, id, p.Metadata.Name, p.Spec.NodeName)
	if err := syscall.Kill(st.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", st.Pid, err)
	}
}
