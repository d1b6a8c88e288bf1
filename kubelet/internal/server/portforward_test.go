package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"skiff.dev/kubelet/kubelettest"
	"skiff.dev/proto/remotecommand"
	"skiff.dev/proto/stats"
)

func TestPortForward(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, "hello from the pod")
			c.Close()
		}
	}()
	var asked string
	k := kubelettest.Start(t, kubelettest.Options{
		PodLookup: func(ns, name string) (string, bool) { return "uid-1", ns == "ns" && name == "web" },
		PortForward: func(ctx context.Context, ns, pod string, port uint16) (net.Conn, error) {
			asked = fmt.Sprintf("%s/%s:%d", ns, pod, port)
			var d net.Dialer
			return d.DialContext(ctx, "tcp", l.Addr().String())
		}})
	d := websocket.Dialer{Subprotocols: remotecommand.PortForwardProtocols, HandshakeTimeout: 10 * time.Second}
	ws := "ws" + strings.TrimPrefix(k.URL, "http")
	conn, _, err := d.Dial(ws+"/portForward/ns/web?port=8080", nil)
	if err != nil {
		t.Fatal(err)
	}
	local := &recorder{closed: make(chan struct{})}
	defer close(local.closed)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := remotecommand.ForwardPort(ctx, conn, local); err != nil {
		t.Fatal(err)
	}
	if local.String() != "hello from the pod" || asked != "ns/web:8080" {
		t.Errorf("got %q from %q", local.String(), asked)
	}

	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{"/portForward/ns/nope?port=80", 404, `pod "nope"`},
		{"/portForward/ns/web", 400, `query parameter "port" is required`},
		{"/portForward/ns/Bad?port=80", 400, "invalid pod name"},
	} {
		_, resp, err := d.Dial(ws+c.path, nil)
		if err == nil {
			t.Fatalf("%s: accepted", c.path)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.path, resp.StatusCode, b, c.code, c.want)
		}
	}
	resp, err := http.Get(kubelettest.Start(t, kubelettest.Options{}).URL + "/portForward/ns/web?port=80")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("no port-forward: %d, want 501", resp.StatusCode)
	}
}

// recorder is a local connection whose side stays open until closed.
type recorder struct {
	strings.Builder
	closed chan struct{}
}

func (r *recorder) Read([]byte) (int, error) {
	<-r.closed
	return 0, io.EOF
}

func TestStatsSummary(t *testing.T) {
	cores := uint64(5_000_000)
	k := kubelettest.Start(t, kubelettest.Options{Summary: func(context.Context) (*stats.Summary, error) {
		return &stats.Summary{Node: stats.NodeStats{NodeName: "n1", CPU: &stats.CPUStats{UsageNanoCores: &cores}}}, nil
	}})
	resp, err := http.Get(k.URL + "/stats/summary")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	node := raw["node"].(map[string]any)
	if node["nodeName"] != "n1" || node["cpu"].(map[string]any)["usageNanoCores"] != float64(cores) {
		t.Errorf("summary %v: want Kubernetes' field names", raw)
	}
}
