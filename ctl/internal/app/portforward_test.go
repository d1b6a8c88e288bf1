package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"skiff.dev/kubelet/kubelettest"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func TestParseForwardPorts(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
		err  string
	}{
		{in: []string{"8080:80", "5000", ":6000"}, want: "[{8080 80} {5000 5000} {0 6000}]"},
		{in: []string{"0:80"}, want: "[{0 80}]"},
		{in: []string{"1:2:3"}, err: "invalid port format '1:2:3'"},
		{in: []string{"x:80"}, err: "error parsing local port 'x'"},
		{in: []string{"80:y"}, err: "error parsing remote port 'y'"},
		{in: []string{"80:0"}, err: "remote port must be > 0"},
	} {
		got, err := parseForwardPorts(c.in)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: err %v, want %q", c.in, err, c.err)
		case c.err == "" && (err != nil || fmt.Sprint(got) != c.want):
			t.Errorf("%q: %v %v, want %s", c.in, got, err, c.want)
		}
	}
}

func TestServicePortsToTargets(t *testing.T) {
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "web-1"}, Spec: &corev1.PodSpec{Containers: []*corev1.Container{
		{Name: "app", Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}}}}}}
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web"}, Spec: &corev1.ServiceSpec{ClusterIp: "10.96.0.10", Ports: []*corev1.ServicePort{
		{Name: "web", Port: 80, TargetPort: "8080"},
		{Name: "mon", Port: 9000, TargetPort: "metrics"},
		{Name: "same", Port: 7000},
	}}}
	for _, c := range []struct {
		in   []string
		want string
		err  string
	}{
		{in: []string{"80"}, want: "[80:8080]"},
		{in: []string{"8888:80"}, want: "[8888:8080]"},
		{in: []string{":80"}, want: "[:8080]"},
		{in: []string{"web"}, want: "[80:8080]"},
		{in: []string{"9000"}, want: "[9000:9090]"},
		{in: []string{"7000"}, want: "[7000]"},
		{in: []string{"81"}, err: "Service web does not have a service port 81"},
		{in: []string{"nope"}, err: "Service 'web' does not have a named port 'nope'"},
	} {
		got, err := servicePortsToTargets(c.in, svc, pod)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%q: err %v, want %q", c.in, err, c.err)
		case c.err == "" && (err != nil || fmt.Sprint(got) != c.want):
			t.Errorf("%q: %v %v, want %s", c.in, got, err, c.want)
		}
	}
	got, err := podPortsToNumbers([]string{"http", "5000:metrics", "80"}, pod)
	if err != nil || fmt.Sprint(got) != "[8080 5000:9090 80]" {
		t.Errorf("pod ports: %v %v", got, err)
	}
	if _, err := podPortsToNumbers([]string{"nope"}, pod); err == nil || err.Error() != "Pod 'web-1' does not have a named port 'nope'" {
		t.Errorf("unknown named port: %v", err)
	}
}

// TestPortForwardCommand: skiffctl port-forward through a real apiserver
// to a kubelet whose pod port is a loopback server: kubectl's lines, one
// stream per connection, and its refusals.
func TestPortForwardCommand(t *testing.T) {
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
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintln(c, strings.ToUpper(sc.Text()))
				}
			}()
		}
	}()
	e := newKubeletEnv(t, kubelettest.Options{PortForward: func(ctx context.Context, ns, pod string, port uint16) (net.Conn, error) {
		if port != 8080 {
			return nil, fmt.Errorf("dial tcp4 127.0.0.1:%d: connect: connection refused", port)
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", l.Addr().String())
	}})
	e.node("node-1", e.k.Port)
	e.pod("web", "node-1", "app")
	e.pod("pending", "node-1", "app")
	st := e.rest("GET", "/api/v1/namespaces/default/pods/web", "")
	st["status"] = map[string]any{"phase": "Running"}
	b, _ := json.Marshal(st)
	e.rest("PUT", "/api/v1/namespaces/default/pods/web/status", string(b))

	r := e.start("port-forward", "--address", "127.0.0.1", "web", ":8080", ":8081")
	out := r.waitFor("-> 8081\n")
	var ports [2]int
	if n, _ := fmt.Sscanf(out, "Forwarding from 127.0.0.1:%d -> 8080\nForwarding from 127.0.0.1:%d -> 8081\n", &ports[0], &ports[1]); n != 2 {
		t.Fatalf("port-forward printed %q", out)
	}
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0]))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		fmt.Fprintf(c, "conn %d\n", i)
	}
	for i, c := range conns {
		line, err := bufio.NewReader(c).ReadString('\n')
		if want := fmt.Sprintf("CONN %d\n", i); err != nil || line != want {
			t.Errorf("connection %d: %q %v, want %q", i, line, err, want)
		}
	}
	refused, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[1]))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if n, _ := refused.Read(buf); n != 0 {
		t.Errorf("a refused port's connection got data")
	}
	refused.Close()
	r.waitFor(fmt.Sprintf("Handling connection for %d\n", ports[1]))
	if code := r.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	out, errOut := r.output()
	if n := strings.Count(out, fmt.Sprintf("Handling connection for %d\n", ports[0])); n != 3 {
		t.Errorf("%d connections handled on %d, want 3:\n%s", n, ports[0], out)
	}
	want := fmt.Sprintf("error: an error occurred forwarding %d -> 8081: error forwarding port 8081 to pod web: dial tcp4 127.0.0.1:8081: connect: connection refused\n", ports[1])
	if errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}

	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"port-forward", "web"}, "error: TYPE/NAME and list of ports are required for port-forward\nSee 'skiffctl port-forward -h' for help and examples\n"},
		{[]string{"port-forward", "pending", "80"}, "error: unable to forward port because pod is not running. Current status=Pending\n"},
		{[]string{"port-forward", "svc/nope", "80"}, "Error from server (NotFound): services \"nope\" not found\n"},
		{[]string{"port-forward", "--address", "example", "web", "80"}, "error: example is not a valid IP\n"},
		{[]string{"port-forward", "web", "80:x"}, "error: Pod 'web' does not have a named port 'x'\n"},
		{[]string{"port-forward", "web", "80:0"}, "error: remote port must be > 0\n"},
	} {
		out, errOut, code := e.run(c.args...)
		if code != 1 || out != "" || errOut != c.err {
			t.Errorf("skiffctl %s: exit %d stdout %q stderr %q, want exit 1 and %q", strings.Join(c.args, " "), code, out, errOut, c.err)
		}
	}
}
