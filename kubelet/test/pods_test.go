package test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/kubelet/internal/server"
	"skiff.dev/kubelet/internal/testutil"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// TestPodRunsAndAnswers: a pod from an image of --image-dir runs in its
// own network namespace, answers HTTP on its IP with its hostname (the pod
// name), sees Service env vars, reports its status, and its log is served
// by the kubelet's /containerLogs API.
func TestPodRunsAndAnswers(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	ctx := context.Background()
	svc, err := k.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: "web-db", Namespace: "default"},
		Spec:     &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Name: "sql", Port: 5432, TargetPort: "5432"}}},
	})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	// The Service must be in the kubelet's cache before the pod starts.
	eventually(t, waitLong, "service cached", func() error {
		if _, ok := k.Manager.ServiceCached("default", "web-db"); !ok {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	k.CreatePod(t, testPod("web", testServer("app")))
	p := k.WaitPod(t, "default", "web", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })

	st := p.GetStatus()
	if st.GetHostIp() != "127.0.0.1" || st.GetStartTime() == nil || !strings.HasPrefix(st.GetPodIp(), "10.88.0.") {
		t.Errorf("status hostIP %q startTime %v podIP %q, want 127.0.0.1, set, 10.88.0.x", st.GetHostIp(), st.GetStartTime(), st.GetPodIp())
	}
	for _, c := range []string{"PodScheduled", "Initialized", "ContainersReady", "Ready"} {
		if got := condition(p, c); got != "True" {
			t.Errorf("condition %s = %q, want True", c, got)
		}
	}
	cs := containerStatus(p, "app")
	if cs.GetState().GetRunning() == nil || !cs.GetReady() || !cs.GetStarted() || cs.GetRestartCount() != 0 || !strings.HasPrefix(cs.GetContainerId(), "containerd://") {
		t.Errorf("container status %v, want running, ready, started, 0 restarts, a containerd id", cs)
	}

	code, body, err := k.Get(st.GetPodIp(), 8080, "/")
	if err != nil || code != 200 || strings.TrimSpace(body) != "web" {
		t.Errorf("GET / on the pod IP = %d %q %v, want 200 and the hostname web", code, body, err)
	}
	_, body, _ = k.Get(st.GetPodIp(), 8080, "/env?name=WEB_DB_SERVICE_HOST")
	if body != svc.GetSpec().GetClusterIp() || body == "" {
		t.Errorf("WEB_DB_SERVICE_HOST = %q, want the ClusterIP %q", body, svc.GetSpec().GetClusterIp())
	}
	_, body, _ = k.Get(st.GetPodIp(), 8080, "/env?name=WEB_DB_SERVICE_PORT")
	if body != "5432" {
		t.Errorf("WEB_DB_SERVICE_PORT = %q, want 5432", body)
	}

	ev := reasons(t, k, "web")
	for _, want := range []string{`Pulled: Container image "skiff.dev/testserver:1.0" already present on machine`, "Created: Created container app", "Started: Started container app"} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}

	srv, err := server.New(nil, server.Config{LogRoot: k.LogDir, PodLookup: k.Lookup, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLong, "log served", func() error {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/containerLogs/default/web/app", nil))
		b, _ := io.ReadAll(rec.Body)
		if rec.Code != 200 || !strings.Contains(string(b), "listening on :8080") || !strings.Contains(string(b), "GET /env?name=WEB_DB_SERVICE_PORT") {
			return fmt.Errorf("GET /containerLogs = %d %q", rec.Code, b)
		}
		return nil
	})
}

// TestSharedLocalhostAndVolumes: two containers of a pod share localhost,
// the hostname and an emptyDir; a configMap volume shows its keys as files.
func TestSharedLocalhostAndVolumes(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	ctx := context.Background()
	if _, err := k.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		Metadata: &metav1.ObjectMeta{Name: "settings", Namespace: "default"}, Data: map[string]string{"greeting": "hello"},
	}); err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	a := testServer("a", "--listen=:8080", "--write-file=/shared/msg=from-a")
	a.VolumeMounts = []*corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}
	b := testServer("b", "--listen=:8081")
	b.VolumeMounts = []*corev1.VolumeMount{{Name: "shared", MountPath: "/data"}, {Name: "cfg", MountPath: "/etc/cfg"}}
	pod := testPod("duo", a, b)
	pod.Spec.Volumes = []*corev1.Volume{
		{Name: "shared", EmptyDir: &corev1.EmptyDirVolumeSource{}},
		{Name: "cfg", ConfigMap: &corev1.ConfigMapVolumeSource{Name: "settings"}},
	}
	k.CreatePod(t, pod)
	p := k.WaitPod(t, "default", "duo", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	ip := p.GetStatus().GetPodIp()
	for _, tc := range []struct{ path, want string }{
		{"/fetch?url=http://127.0.0.1:8080/", "duo\n"}, // a, over the pod's localhost, with the pod's hostname
		{"/file?path=/data/msg", "from-a"},             // written by a into the emptyDir
		{"/file?path=/etc/cfg/greeting", "hello"},      // the configMap
		{"/", "duo\n"},
	} {
		eventually(t, 30*time.Second, "GET "+tc.path, func() error {
			code, body, err := k.Get(ip, 8081, tc.path)
			if err != nil || code != 200 || body != tc.want {
				return fmt.Errorf("= %d %q %v, want 200 %q", code, body, err, tc.want)
			}
			return nil
		})
	}
}

// TestMemoryLimitOOMKilled: the memory limit is the container's cgroup
// limit, and going over it kills the container with reason OOMKilled.
func TestMemoryLimitOOMKilled(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	c := testServer("hog")
	c.Resources = &corev1.ResourceRequirements{Limits: map[string]string{"memory": "48Mi", "cpu": "500m"}}
	pod := testPod("hog", c)
	pod.Spec.RestartPolicy = "Never"
	k.CreatePod(t, pod)
	p := k.WaitPod(t, "default", "hog", waitLong, "running", running)
	id := strings.TrimPrefix(containerStatus(p, "hog").GetContainerId(), "containerd://")
	if got := testutil.CgroupValue(k.Namespace, id, "memory", "memory.limit_in_bytes", "memory.max"); got != fmt.Sprint(48<<20) {
		t.Errorf("memory limit in the cgroup = %q, want %d", got, 48<<20)
	}
	if got := testutil.CgroupValue(k.Namespace, id, "cpu", "cpu.cfs_quota_us", "cpu.max"); got != "50000" && !strings.HasPrefix(got, "50000 ") {
		t.Errorf("cpu quota in the cgroup = %q, want 50000", got)
	}
	_, _, _ = k.Get(p.GetStatus().GetPodIp(), 8080, "/alloc?mb=200")
	p = k.WaitPod(t, "default", "hog", waitLong, "Failed", func(p *corev1.Pod) bool { return p.GetStatus().GetPhase() == "Failed" })
	term := containerStatus(p, "hog").GetState().GetTerminated()
	if term.GetReason() != "OOMKilled" || term.GetExitCode() != 137 {
		t.Errorf("terminated %v, want reason OOMKilled, exit code 137", term)
	}
}

// TestLivenessRestarts: a failing liveness probe restarts the container,
// and restartCount grows with each restart.
func TestLivenessRestarts(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	c := testServer("app")
	c.LivenessProbe = &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/healthz", Port: "8080"}, PeriodSeconds: 1, FailureThreshold: 2}
	k.CreatePod(t, testPod("live", c))
	for restarts := int32(1); restarts <= 2; restarts++ {
		p := k.WaitPod(t, "default", "live", waitLong, "running", func(p *corev1.Pod) bool {
			return running(p) && containerStatus(p, "app").GetState().GetRunning() != nil
		})
		code, _, err := k.Get(p.GetStatus().GetPodIp(), 8080, "/fail")
		if err != nil || code != 200 {
			t.Fatalf("GET /fail = %d %v", code, err)
		}
		p = k.WaitPod(t, "default", "live", waitLong, fmt.Sprintf("restarted %d times", restarts), func(p *corev1.Pod) bool {
			return containerStatus(p, "app").GetRestartCount() >= restarts
		})
		if last := containerStatus(p, "app").GetLastState().GetTerminated(); last == nil || last.GetFinishedAt() == nil {
			t.Errorf("lastState %v, want the terminated run", containerStatus(p, "app").GetLastState())
		}
	}
	ev := reasons(t, k, "live")
	for _, want := range []string{"Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500", "Killing: Container app failed liveness probe, will be restarted"} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}
}

// TestReadinessFlipsReady: the readiness probe drives the Ready condition
// both ways while the container keeps running.
func TestReadinessFlipsReady(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	c := testServer("app")
	c.ReadinessProbe = &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/ready", Port: "8080"}, PeriodSeconds: 1, FailureThreshold: 1}
	k.CreatePod(t, testPod("ready", c))
	p := k.WaitPod(t, "default", "ready", waitLong, "ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	ip := p.GetStatus().GetPodIp()
	if _, _, err := k.Get(ip, 8080, "/unready"); err != nil {
		t.Fatal(err)
	}
	p = k.WaitPod(t, "default", "ready", waitLong, "not ready", func(p *corev1.Pod) bool { return !ready(p) })
	if condition(p, "ContainersReady") != "False" || p.GetStatus().GetPhase() != "Running" || containerStatus(p, "app").GetRestartCount() != 0 {
		t.Errorf("unready pod: ContainersReady %s phase %s restarts %d, want False Running 0", condition(p, "ContainersReady"),
			p.GetStatus().GetPhase(), containerStatus(p, "app").GetRestartCount())
	}
	if _, _, err := k.Get(ip, 8080, "/ready?set=1"); err != nil {
		t.Fatal(err)
	}
	k.WaitPod(t, "default", "ready", waitLong, "ready again", ready)
}

// TestProbeKinds: a TCP startup probe gates the exec readiness probe,
// which then drives Ready both ways.
func TestProbeKinds(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	c := testServer("app")
	c.StartupProbe = &corev1.Probe{TcpSocket: &corev1.TCPSocketAction{Port: "http"}, PeriodSeconds: 1, FailureThreshold: 30}
	c.Ports = []*corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	c.ReadinessProbe = &corev1.Probe{Exec: &corev1.ExecAction{Command: []string{"/testserver", "--probe", "http://127.0.0.1:8080/ready"}},
		PeriodSeconds: 1, TimeoutSeconds: 5, FailureThreshold: 1}
	k.CreatePod(t, testPod("kinds", c))
	p := k.WaitPod(t, "default", "kinds", waitLong, "ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	if !containerStatus(p, "app").GetStarted() {
		t.Errorf("ready but not started: %v", containerStatus(p, "app"))
	}
	if _, _, err := k.Get(p.GetStatus().GetPodIp(), 8080, "/unready"); err != nil {
		t.Fatal(err)
	}
	k.WaitPod(t, "default", "kinds", waitLong, "not ready (exec probe)", func(p *corev1.Pod) bool { return !ready(p) })
}

// TestRestartPolicies: a failing container under Always crash-loops with
// back-off; one that succeeds under OnFailure completes the pod.
func TestRestartPolicies(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	k.CreatePod(t, testPod("crash", testServer("app", "--exit-after=500ms", "--exit-code=3")))
	done := testPod("done", testServer("app", "--exit-after=500ms", "--exit-code=0"))
	done.Spec.RestartPolicy = "OnFailure"
	k.CreatePod(t, done)

	p := k.WaitPod(t, "default", "crash", waitLong, "in CrashLoopBackOff", func(p *corev1.Pod) bool {
		return containerStatus(p, "app").GetState().GetWaiting().GetReason() == "CrashLoopBackOff"
	})
	cs := containerStatus(p, "app")
	if last := cs.GetLastState().GetTerminated(); last.GetExitCode() != 3 || last.GetReason() != "Error" || cs.GetRestartCount() < 1 {
		t.Errorf("crash-looping container: restarts %d, lastState %v; want >= 1 and exit code 3, reason Error", cs.GetRestartCount(), cs.GetLastState())
	}
	if p.GetStatus().GetPhase() != "Running" || ready(p) {
		t.Errorf("crash-looping pod: phase %s ready %v, want Running and not ready", p.GetStatus().GetPhase(), ready(p))
	}
	if ev := reasons(t, k, "crash"); !strings.Contains(ev, "BackOff: Back-off restarting failed container app in pod crash_default(") {
		t.Errorf("events lack BackOff:\n%s", ev)
	}

	p = k.WaitPod(t, "default", "done", waitLong, "Succeeded", func(p *corev1.Pod) bool { return p.GetStatus().GetPhase() == "Succeeded" })
	if term := containerStatus(p, "app").GetState().GetTerminated(); term.GetReason() != "Completed" || term.GetExitCode() != 0 {
		t.Errorf("completed container: %v, want terminated, reason Completed, exit code 0", term)
	}
}

// TestHostNetwork: a hostNetwork pod runs in the node's network namespace
// (here the test's own, on loopback) with the node's IP as its pod IP.
func TestHostNetwork(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	port := apiservertest.FreePort(t)
	c := testServer("app", fmt.Sprintf("--listen=127.0.0.1:%d", port))
	c.ReadinessProbe = &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/ready", Port: fmt.Sprint(port)}, PeriodSeconds: 1}
	pod := testPod("host", c)
	pod.Spec.HostNetwork = true
	k.CreatePod(t, pod)
	p := k.WaitPod(t, "default", "host", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	if p.GetStatus().GetPodIp() != "127.0.0.1" {
		t.Errorf("podIP %s, want the node's 127.0.0.1", p.GetStatus().GetPodIp())
	}
	host, _ := os.Hostname()
	code, body, err := testutil.Get("", "127.0.0.1", port, "/")
	if err != nil || code != 200 || strings.TrimSpace(body) != host {
		t.Errorf("GET / on the node = %d %q %v, want the node's hostname %q", code, body, err, host)
	}
	if n := k.Node.Pods(); n != 0 {
		t.Errorf("%d pod networks set up, want none for a hostNetwork pod", n)
	}
}
