package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/apiserver/internal/pki"
	"skiff.dev/kubelet/kubelettest"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

var logT0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// addNode registers a node whose kubelet listens at ip:port, as a kubelet
// reports itself (no addresses when ip is empty).
func (e *env) addNode(t *testing.T, name, ip string, port int) {
	t.Helper()
	nodes := corev1.NewNodeServiceClient(e.conn)
	n, err := nodes.Create(ctxT(t), &corev1.NodeRequest{Object: &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}}})
	if err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	n.Status = &corev1.NodeStatus{DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: int32(port)}}}
	if ip != "" {
		n.Status.Addresses = []*corev1.NodeAddress{{Type: "Hostname", Address: name}, {Type: "InternalIP", Address: ip}}
	}
	if _, err := nodes.UpdateStatus(ctxT(t), &corev1.NodeRequest{Name: name, Object: n}); err != nil {
		t.Fatalf("node %s status: %v", name, err)
	}
}

// addPod creates a pod with the containers named, binds it to node unless
// node is empty, and returns its uid.
func (e *env) addPod(t *testing.T, ns, name, node string, containers ...string) string {
	t.Helper()
	spec := &corev1.PodSpec{}
	for _, c := range containers {
		if init, ok := strings.CutPrefix(c, "init:"); ok {
			spec.InitContainers = append(spec.InitContainers, &corev1.Container{Name: init, Image: "busybox"})
			continue
		}
		spec.Containers = append(spec.Containers, &corev1.Container{Name: c, Image: "busybox"})
	}
	p, err := corev1.NewPodServiceClient(e.conn).Create(ctxT(t), &corev1.PodRequest{Namespace: ns,
		Object: &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name}, Spec: spec}})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	if node != "" {
		binding := fmt.Sprintf(`{"apiVersion":"v1","kind":"Binding","metadata":{"name":%q},"target":{"kind":"Node","name":%q}}`, name, node)
		if r := e.do(t, "POST", "/api/v1/namespaces/"+ns+"/pods/"+name+"/binding", binding, ""); r.code != 201 {
			t.Fatalf("bind %s to %s: %s", name, node, r)
		}
	}
	return p.GetMetadata().GetUid()
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestPodLogs: GET pods/{name}/log reaches the kubelet of the pod's node and
// streams the container's log, with the options kubectl logs has.
func TestPodLogs(t *testing.T) {
	t.Parallel()
	k := kubelettest.Start(t, kubelettest.Options{})
	e := newEnv(t, apiservertest.Options{KubeletInsecureHTTP: true})
	ns := e.newNamespace(t, "logs")
	e.addNode(t, "node-1", "127.0.0.1", k.Port)
	down := closedPort(t)
	e.addNode(t, "node-down", "127.0.0.1", down)
	e.addNode(t, "node-noaddr", "", k.Port)

	web := e.addPod(t, ns, "web", "node-1", "app")
	k.WriteRecords(t, ns, "web", web, "app", 0, kubelettest.Record{Time: logT0, Content: "first run"})
	k.WriteRecords(t, ns, "web", web, "app", 1,
		kubelettest.Record{Time: logT0.Add(time.Second), Content: "one"},
		kubelettest.Record{Time: logT0.Add(2 * time.Second), Stream: "stderr", Content: "two"},
		kubelettest.Record{Time: logT0.Add(3 * time.Second), Partial: true, Content: "th"},
		kubelettest.Record{Time: logT0.Add(4 * time.Second), Content: "ree"})
	multi := e.addPod(t, ns, "multi", "node-1", "init:setup", "a", "b")
	k.WriteLog(t, ns, "multi", multi, "a", 0, "from a")
	k.WriteLog(t, ns, "multi", multi, "b", 0, "from b")
	k.WriteLog(t, ns, "multi", multi, "setup", 0, "from setup")
	e.addPod(t, ns, "pending", "", "app")
	e.addPod(t, ns, "nolog", "node-1", "app")
	e.addPod(t, ns, "far", "node-down", "app")
	e.addPod(t, ns, "lost", "node-gone", "app")
	e.addPod(t, ns, "hidden", "node-noaddr", "app")

	logPath := func(pod, query string) string { return "/api/v1/namespaces/" + ns + "/pods/" + pod + "/log" + query }
	ok := []struct {
		name, pod, query, want string
	}{
		{"whole log of the only container", "web", "", "one\ntwo\nthree\n"},
		{"container named", "web", "?container=app", "one\ntwo\nthree\n"},
		{"tailLines", "web", "?tailLines=2", "two\nthree\n"},
		{"tailLines=0", "web", "?tailLines=0", ""},
		{"previous", "web", "?previous=true", "first run\n"},
		{"timestamps", "web", "?timestamps=true&tailLines=2",
			"2024-05-01T10:00:02.000000000Z two\n2024-05-01T10:00:03.000000000Z three\n"},
		{"limitBytes", "web", "?limitBytes=6", "one\ntw"},
		{"sinceSeconds", "web", "?sinceSeconds=60", ""},
		{"one of several containers", "multi", "?container=b", "from b\n"},
		{"init container", "multi", "?container=setup", "from setup\n"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "GET", logPath(tc.pod, tc.query), nil, "")
			if r.code != 200 || string(r.body) != tc.want {
				t.Fatalf("GET %s: %s, want 200 %q", logPath(tc.pod, tc.query), r, tc.want)
			}
			if ct := r.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
		})
	}

	failures := []struct {
		name, pod, query string
		code             int
		reason           string
		msgs             []string
	}{
		{"several containers, none named", "multi", "", 400, "BadRequest",
			[]string{"a container name must be specified for pod multi, choose one of: [a b] or one of the init containers: [setup]"}},
		{"unknown container", "multi", "?container=x", 400, "BadRequest", []string{`container x is not valid for pod multi`}},
		{"no previous container", "multi", "?container=a&previous=true", 404, "NotFound",
			[]string{`previous terminated container "a" in pod "multi" not found`}},
		{"no log on the node", "nolog", "", 404, "NotFound", []string{`pod "nolog" in namespace "` + ns + `" not found on this node`}},
		{"pod not scheduled", "pending", "", 400, "BadRequest", []string{"pod " + ns + "/pending is not scheduled to a node yet"}},
		{"no such pod", "nope", "", 404, "NotFound", []string{`pods "nope" not found`}},
		{"negative tailLines", "web", "?tailLines=-1", 422, "Invalid", []string{"tailLines", "must be greater than or equal to 0"}},
		{"zero limitBytes", "web", "?limitBytes=0", 422, "Invalid", []string{"limitBytes", "must be greater than 0"}},
		{"kubelet unreachable", "far", "", 503, "ServiceUnavailable",
			[]string{`cannot reach the kubelet of node "node-down" at http://127.0.0.1:` + fmt.Sprint(down), "connection refused"}},
		{"node gone", "lost", "", 404, "NotFound", []string{`node "node-gone" of pod "lost" not found`}},
		{"node without address", "hidden", "", 503, "ServiceUnavailable", []string{`node "node-noaddr" has no address of the types [InternalIP Hostname`}},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			expectStatus(t, e.do(t, "GET", logPath(tc.pod, tc.query), nil, ""), tc.code, tc.reason, tc.msgs...)
		})
	}

	t.Run("follow", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+logPath("web", "?follow=true&tailLines=1"), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("follow: HTTP %d", resp.StatusCode)
		}
		lines := readLines(resp.Body)
		nextLine(t, lines, "three")
		k.WriteLog(t, ns, "web", web, "app", 1, "four", "five")
		nextLine(t, lines, "four")
		nextLine(t, lines, "five")
		k.WriteLog(t, ns, "web", web, "app", 1, "six")
		nextLine(t, lines, "six")
		cancel()
		for range lines { // the stream ends once the request is cancelled
		}
	})

	t.Run("gRPC", func(t *testing.T) {
		tail := int64(1)
		s, err := corev1.NewPodServiceClient(e.conn).Log(ctxT(t), &corev1.PodLogOptions{Namespace: ns, Name: "multi", Container: "a", TailLines: &tail})
		if err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		for {
			b, err := s.Recv()
			if err != nil {
				break
			}
			got.Write(b.GetData())
		}
		if got.String() != "from a\n" {
			t.Errorf("gRPC Log: %q", got.String())
		}
		s, err = corev1.NewPodServiceClient(e.conn).Log(ctxT(t), &corev1.PodLogOptions{Namespace: ns, Name: "multi"})
		if err == nil {
			_, err = s.Recv()
		}
		expectCode(t, err, codes.InvalidArgument, "a container name must be specified for pod multi")
	})
}

// readLines sends each line of r to the channel, closed at the end.
func readLines(r io.Reader) <-chan string {
	ch := make(chan string, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

func nextLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok || l != want {
			t.Fatalf("got line %q (open %v), want %q", l, ok, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no line %q within 30s", want)
	}
}

// TestPodLogsTLS: the apiserver calls kubelets over HTTPS with its client
// certificate and verifies theirs; a kubelet it cannot trust, or one that
// does not trust it, gives a clear error.
// issueCert writes a certificate of the CA in caDir and its key, as
// caDir/name.crt and .key, and returns their paths.
func issueCert(t *testing.T, caDir, name string, req pki.CertRequest) (string, string) {
	t.Helper()
	ca, key, err := pki.LoadCA(caDir)
	if err != nil {
		t.Fatal(err)
	}
	crt, k, err := pki.NewCertificate(ca, key, req)
	if err != nil {
		t.Fatal(err)
	}
	cp, kp := filepath.Join(caDir, name+".crt"), filepath.Join(caDir, name+".key")
	if err := os.WriteFile(cp, crt, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return cp, kp
}

func TestPodLogsTLS(t *testing.T) {
	t.Parallel()
	dir, otherDir := t.TempDir(), t.TempDir()
	for _, d := range []string{dir, otherDir} {
		if err := pki.Generate(d, pki.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(caDir, name string, req pki.CertRequest) (string, string) { return issueCert(t, caDir, name, req) }
	ca, otherCA := filepath.Join(dir, "ca.crt"), filepath.Join(otherDir, "ca.crt")
	serving := pki.CertRequest{CommonName: "kubelet", Hosts: []string{"127.0.0.1"}, Usage: pki.ServerAuth}
	kubeletCrt, kubeletKey := issue(dir, "kubelet", serving)
	strangerCrt, strangerKey := issue(otherDir, "kubelet", serving)
	clientCrt, clientKey := issue(dir, "apiserver-kubelet-client",
		pki.CertRequest{CommonName: "skiff-apiserver-kubelet-client", Organization: []string{pki.MastersGroup}, Usage: pki.ClientAuth})

	good := kubelettest.Start(t, kubelettest.Options{CertFile: kubeletCrt, KeyFile: kubeletKey, ClientCAFile: ca})
	untrusted := kubelettest.Start(t, kubelettest.Options{CertFile: strangerCrt, KeyFile: strangerKey, ClientCAFile: ca})
	distrustful := kubelettest.Start(t, kubelettest.Options{CertFile: kubeletCrt, KeyFile: kubeletKey, ClientCAFile: otherCA})
	e := newEnv(t, apiservertest.Options{KubeletClientCert: clientCrt, KubeletClientKey: clientKey, KubeletCA: ca})
	ns := e.newNamespace(t, "logs-tls")
	for name, k := range map[string]*kubelettest.Server{"good": good, "untrusted": untrusted, "distrustful": distrustful} {
		e.addNode(t, "node-"+name, "127.0.0.1", k.Port)
		uid := e.addPod(t, ns, name, "node-"+name, "app")
		k.WriteLog(t, ns, name, uid, "app", 0, "hello over TLS")
	}

	if r := e.do(t, "GET", "/api/v1/namespaces/"+ns+"/pods/good/log", nil, ""); r.code != 200 || string(r.body) != "hello over TLS\n" {
		t.Errorf("log from a trusted kubelet: %s", r)
	}
	expectStatus(t, e.do(t, "GET", "/api/v1/namespaces/"+ns+"/pods/untrusted/log", nil, ""), 503, "ServiceUnavailable",
		fmt.Sprintf(`cannot reach the kubelet of node "node-untrusted" at https://127.0.0.1:%d`, untrusted.Port), "certificate signed by unknown authority")
	expectStatus(t, e.do(t, "GET", "/api/v1/namespaces/"+ns+"/pods/distrustful/log", nil, ""), 500, "InternalError",
		fmt.Sprintf(`the kubelet of node "node-distrustful" at https://127.0.0.1:%d refused the apiserver (401`, distrustful.Port),
		"--kubelet-client-certificate")

}
