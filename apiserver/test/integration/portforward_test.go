package integration

import (
	"bufio"
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

	"github.com/gorilla/websocket"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/apiserver/internal/pki"
	"skiff.dev/kubelet/kubelettest"
	"skiff.dev/proto/remotecommand"
	"skiff.dev/proto/stats"
)

// upperServer answers every line it reads with the line in capitals,
// until the client closes: the "pod's port" of the tests.
func upperServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintln(c, strings.ToUpper(sc.Text()))
				}
			}()
		}
	}()
	return l.Addr().String()
}

// TestPodPortForward: the portforward subresource reaches the kubelet of
// the pod's node over TLS, which connects the asked port (here 7000, a
// loopback server standing in for the pod's); several connections at
// once each get their own stream; a port nobody listens on comes back as
// the kubelet's error; refusals keep their status.
func TestPodPortForward(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := pki.Generate(dir, pki.Options{}); err != nil {
		t.Fatal(err)
	}
	kubeletCrt, kubeletKey := issueCert(t, dir, "kubelet", pki.CertRequest{CommonName: "kubelet", Hosts: []string{"127.0.0.1"}, Usage: pki.ServerAuth})
	clientCrt, clientKey := issueCert(t, dir, "apiserver-kubelet-client",
		pki.CertRequest{CommonName: "skiff-apiserver-kubelet-client", Organization: []string{pki.MastersGroup}, Usage: pki.ClientAuth})
	ca := dir + "/ca.crt"
	target := upperServer(t)
	var mu sync.Mutex
	var asked []string
	k := kubelettest.Start(t, kubelettest.Options{CertFile: kubeletCrt, KeyFile: kubeletKey, ClientCAFile: ca,
		PortForward: func(ctx context.Context, ns, pod string, port uint16) (net.Conn, error) {
			mu.Lock()
			asked = append(asked, fmt.Sprintf("%s/%s:%d", ns, pod, port))
			mu.Unlock()
			if port != 7000 {
				return nil, fmt.Errorf("dial tcp4 127.0.0.1:%d: connect: connection refused", port)
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", target)
		}})
	e := newEnv(t, apiservertest.Options{KubeletClientCert: clientCrt, KubeletClientKey: clientKey, KubeletCA: ca})
	ns := e.newNamespace(t, "pf")
	e.addNode(t, "node-1", "127.0.0.1", k.Port)
	e.addPod(t, ns, "web", "node-1", "app")
	e.addPod(t, ns, "pending", "", "app")

	pfURL := func(pod, query string) string {
		return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/namespaces/" + ns + "/pods/" + pod + "/portforward?" + query
	}
	for _, protocol := range remotecommand.PortForwardProtocols {
		t.Run(protocol, func(t *testing.T) {
			dialer := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 30 * time.Second}
			var wg sync.WaitGroup
			for i := range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					conn, _, err := dialer.Dial(pfURL("web", "ports=7000"), nil)
					if err != nil {
						t.Errorf("dial: %v", err)
						return
					}
					local, remote := net.Pipe()
					done := make(chan error, 1)
					go func() { done <- remotecommand.ForwardPort(ctxT(t), conn, remote) }()
					msg := fmt.Sprintf("hello %d from connection %d", i, i)
					fmt.Fprintln(local, msg)
					got, err := bufio.NewReader(local).ReadString('\n')
					if err != nil || got != strings.ToUpper(msg)+"\n" {
						t.Errorf("connection %d: got %q %v, want %q", i, got, err, strings.ToUpper(msg))
					}
					local.Close()
					if err := <-done; err != nil {
						t.Errorf("connection %d: ForwardPort: %v", i, err)
					}
				}()
			}
			wg.Wait()
		})
	}

	t.Run("nothing listens", func(t *testing.T) {
		dialer := websocket.Dialer{Subprotocols: remotecommand.PortForwardProtocols}
		conn, _, err := dialer.Dial(pfURL("web", "ports=7001"), nil)
		if err != nil {
			t.Fatal(err)
		}
		local, remote := net.Pipe()
		defer local.Close()
		go func() { _, _ = io.Copy(io.Discard, local) }()
		err = remotecommand.ForwardPort(ctxT(t), conn, remote)
		want := "error forwarding port 7001 to pod web: dial tcp4 127.0.0.1:7001: connect: connection refused"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	})

	mu.Lock()
	if len(asked) != 11 || asked[0] != ns+"/web:7000" {
		t.Errorf("kubelet was asked %v, want 10 times %s/web:7000 and once :7001", asked, ns)
	}
	mu.Unlock()

	for _, c := range []struct {
		name, pod, query string
		code             int
		want             string
	}{
		{"no ports", "web", "", 400, `query parameter \"ports\" is required`},
		{"bad port", "web", "ports=http", 400, `unable to parse \"http\" as a port`},
		{"not scheduled", "pending", "ports=80", 400, "not scheduled to a node yet: nothing to forward to"},
		{"no such pod", "nope", "ports=80", 404, `pods \"nope\" not found`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dialer := websocket.Dialer{Subprotocols: remotecommand.PortForwardProtocols}
			_, resp, err := dialer.Dial(pfURL(c.pod, c.query), nil)
			if err == nil || resp == nil {
				t.Fatalf("port-forward was accepted (%v)", err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, b, c.code, c.want)
			}
		})
	}
}

// TestNodeProxyStatsSummary: nodes/{name}/proxy/stats/summary is the
// kubelet's answer, passed through; an unknown node is 404.
func TestNodeProxyStatsSummary(t *testing.T) {
	t.Parallel()
	cores := uint64(250_000_000)
	ws := uint64(64 << 20)
	want := &stats.Summary{Node: stats.NodeStats{NodeName: "node-1", CPU: &stats.CPUStats{UsageNanoCores: &cores},
		Memory: &stats.MemoryStats{WorkingSetBytes: &ws}},
		Pods: []stats.PodStats{{PodRef: stats.PodReference{Name: "web", Namespace: "default", UID: "u1"}}}}
	k := kubelettest.Start(t, kubelettest.Options{Summary: func(context.Context) (*stats.Summary, error) { return want, nil }})
	e := newEnv(t, apiservertest.Options{KubeletInsecureHTTP: true})
	e.addNode(t, "node-1", "127.0.0.1", k.Port)

	resp, err := e.http.Get(e.srv.URL + "/api/v1/nodes/node-1/proxy/stats/summary")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got stats.Summary
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&got) != nil {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got.Node.NodeName != "node-1" || *got.Node.CPU.UsageNanoCores != cores || *got.Node.Memory.WorkingSetBytes != ws ||
		len(got.Pods) != 1 || got.Pods[0].PodRef.Name != "web" {
		t.Errorf("summary %+v, want %+v", got, want)
	}

	resp, err = e.http.Get(e.srv.URL + "/api/v1/nodes/nope/proxy/stats/summary")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), `nodes \"nope\" not found`) {
		t.Errorf("unknown node: %d %s", resp.StatusCode, b)
	}
}
