// Package integration runs the real skiff-kube-proxy binary against a real
// apiserver, with real iptables and real traffic, entirely inside network
// namespaces the test makes (DESIGN.md section 9):
//
//	skp<id>n  the node: bridge br0 10.244.0.1/24 for the pods, a portless
//	          bridge svc0 that the service range 10.96.0.0/12 is routed to
//	          (so a ClusterIP without rules goes nowhere), skiff-kube-proxy
//	          started in it with nsenter --net.
//	skp<id>a  pod a, 10.244.0.11, veth to br0 (hairpin on), answering its
//	          name over HTTP on :8080 and UDP on :5353
//	skp<id>b  pod b, 10.244.0.12, likewise
//
// The apiserver runs in the test process in the machine's own namespace on
// 127.0.0.1. The node namespace reaches it through a loopback relay: the
// test opens a listening socket on 127.0.0.1 inside the node namespace (a
// socket belongs to the namespace it was made in) and copies each
// connection to the apiserver's loopback port. No link, address or route is
// added to the machine's own namespace, and nothing in the node namespace
// can reach anything but the relay.
package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/kube-proxy/internal/netnstest"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

var proxyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "skp-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	proxyBin = filepath.Join(dir, "skiff-kube-proxy")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(goBin, "build", "-o", proxyBin, "skiff.dev/kube-proxy/cmd/skiff-kube-proxy").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build skiff-kube-proxy: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

const (
	nodeIP      = "10.244.0.1"
	syncPeriod  = 3 * time.Second
	healthzAddr = "127.0.0.1:10256"
	metricsAddr = "127.0.0.1:10249"
)

// lab is the node, its pods, the apiserver and the proxy.
type lab struct {
	t     *testing.T
	node  *netnstest.NS
	pods  map[string]*netnstest.NS // name → namespace
	ips   map[string]string        // name → pod IP
	cs    *client.Clientset
	relay string // the apiserver, as the node sees it

	proxy *exec.Cmd
	logs  *lockedBuffer
	done  chan error
}

func newLab(t *testing.T) *lab {
	t.Helper()
	id := netnstest.UniqueID()
	l := &lab{t: t, pods: map[string]*netnstest.NS{}, ips: map[string]string{}}
	l.node = netnstest.New(t, id+"n")
	for _, args := range [][]string{
		{"sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"ip", "link", "add", "br0", "type", "bridge"},
		{"ip", "addr", "add", nodeIP + "/24", "dev", "br0"},
		{"ip", "link", "set", "br0", "up"},
		{"ip", "link", "add", "svc0", "type", "bridge"},
		{"ip", "link", "set", "svc0", "up"},
		{"ip", "route", "add", "10.96.0.0/12", "dev", "svc0"},
	} {
		l.node.MustRun(args...)
	}
	for i, name := range []string{"a", "b"} {
		ip := fmt.Sprintf("10.244.0.%d", 11+i)
		pod := netnstest.New(t, id+name)
		veth := "veth" + name
		l.node.MustRun("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod.Name)
		l.node.MustRun("ip", "link", "set", veth, "master", "br0")
		l.node.MustRun("ip", "link", "set", veth, "up")
		l.node.MustRun("ip", "link", "set", veth, "type", "bridge_slave", "hairpin", "on")
		pod.MustRun("ip", "addr", "add", ip+"/24", "dev", "eth0")
		pod.MustRun("ip", "link", "set", "eth0", "up")
		pod.MustRun("ip", "route", "add", "default", "via", nodeIP)
		ln, err := pod.Listen("tcp", ip+":8080")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, name)
		})}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		pc, err := pod.ListenPacket("udp", ip+":5353")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		go func() { // answers every datagram with the pod's name
			buf := make([]byte, 512)
			for {
				_, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo([]byte(name), from)
			}
		}()
		l.pods[name], l.ips[name] = pod, ip
	}

	srv := apiservertest.Start(t, apiservertest.Options{})
	l.relay = relay(t, l.node, srv.Address)
	cs, err := client.New(client.Options{Server: []string{srv.URL}, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	l.cs = cs
	return l
}

// relay listens on 127.0.0.1 inside ns and copies every connection to
// target, a loopback address of the machine's own namespace.
func relay(t *testing.T, ns *netnstest.NS, target string) string {
	t.Helper()
	ln, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				_ = in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	return ln.Addr().String()
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startProxy runs skiff-kube-proxy in the node namespace; its log is
// printed if the test fails.
func (l *lab) startProxy() {
	t := l.t
	t.Helper()
	l.logs = &lockedBuffer{}
	l.proxy = l.node.Command(context.Background(), proxyBin,
		"--server", "http://"+l.relay,
		"--hostname-override", "node-1",
		"--cluster-cidr", "10.244.0.0/16",
		"--sync-period", syncPeriod.String(),
		"--min-sync-period", "1s",
		"--healthz-bind-address", healthzAddr,
		"--metrics-bind-address", metricsAddr,
		"--log-format", "console", "--log-level", "debug")
	l.proxy.Stdout, l.proxy.Stderr = l.logs, l.logs
	if err := l.proxy.Start(); err != nil {
		t.Fatal(err)
	}
	l.done = make(chan error, 1)
	go func() { l.done <- l.proxy.Wait() }()
	t.Cleanup(func() {
		l.stopProxy()
		if t.Failed() {
			t.Logf("skiff-kube-proxy log:\n%s", l.logs.String())
		}
	})
}

// stopProxy sends SIGTERM to the proxy (the process this test started)
// and waits for it to exit.
func (l *lab) stopProxy() error {
	if l.proxy == nil {
		return nil
	}
	p := l.proxy
	l.proxy = nil
	_ = p.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-l.done:
		return err
	case <-time.After(15 * time.Second):
		_ = p.Process.Kill()
		<-l.done
		return errors.New("skiff-kube-proxy did not exit within 15s of SIGTERM")
	}
}

// httpClient sends each request on a new connection made inside ns.
func httpClient(ns *netnstest.NS) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(_ context.Context, network, a string) (net.Conn, error) {
			return ns.Dial(network, a, 3*time.Second)
		},
	}}
}

// fetch GETs url from inside ns: the body and status code.
func fetch(ns *netnstest.NS, url string) (string, int, error) {
	resp, err := httpClient(ns).Get(url)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}

// get asks addr ("ip:port") for the name of the pod answering, from ns.
func get(ns *netnstest.NS, addr string) (string, error) {
	body, _, err := fetch(ns, "http://"+addr+"/")
	return body, err
}

// udpAsk sends a datagram to addr from a new socket in ns and returns
// the answer.
func udpAsk(ns *netnstest.NS, addr string) (string, error) {
	c, err := ns.Dial("udp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	if err := c.SetDeadline(time.Now().Add(3 * time.Second)); err != nil {
		return "", err
	}
	if _, err := c.Write([]byte("who")); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

// answers sends n requests to addr from ns and counts the answers by pod.
func answers(t *testing.T, ns *netnstest.NS, addr string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		name, err := get(ns, addr)
		if err != nil {
			t.Fatalf("GET %s from %s: %v", addr, ns.Name, err)
		}
		got[name]++
	}
	return got
}

// eventually retries f every 200 ms until it succeeds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// httpPort is the Services' TCP port; targetPort is the pods' named port,
// whose number the Endpoints carry.
var httpPort = &corev1.ServicePort{Name: "http", Protocol: "TCP", Port: 80, TargetPort: "web"}

func (l *lab) createService(name, typ, affinity string, ports ...*corev1.ServicePort) *corev1.Service {
	l.t.Helper()
	if len(ports) == 0 {
		ports = []*corev1.ServicePort{httpPort}
	}
	svc, err := l.cs.CoreV1().Services("default").Create(context.Background(), &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: name},
		Spec: &corev1.ServiceSpec{Type: typ, SessionAffinity: affinity,
			Selector: map[string]string{"app": name}, Ports: ports},
	})
	if err != nil {
		l.t.Fatalf("create service %s: %v", name, err)
	}
	return svc
}

func (l *lab) writeEndpoints(name string, pods ...string) {
	l.writeEndpointsPorts(name, []*corev1.EndpointPort{{Name: "http", Protocol: "TCP", Port: 8080}}, pods...)
}

func (l *lab) writeEndpointsPorts(name string, ports []*corev1.EndpointPort, pods ...string) {
	l.t.Helper()
	ctx := context.Background()
	ep := &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Name: name}}
	ss := &corev1.EndpointSubset{Ports: ports}
	for _, p := range pods {
		ss.Addresses = append(ss.Addresses, &corev1.EndpointAddress{Ip: l.ips[p]})
	}
	ep.Subsets = []*corev1.EndpointSubset{ss}
	old, err := l.cs.CoreV1().Endpoints("default").Get(ctx, name)
	if client.IsNotFound(err) {
		_, err = l.cs.CoreV1().Endpoints("default").Create(ctx, ep)
	} else if err == nil {
		ep.Metadata = old.Metadata
		_, err = l.cs.CoreV1().Endpoints("default").Update(ctx, ep)
	}
	if err != nil {
		l.t.Fatalf("write endpoints %s: %v", name, err)
	}
}

func (l *lab) iptablesSave() string {
	l.t.Helper()
	return l.node.MustRun("iptables-save")
}

// foreign are rules that are not the proxy's, in built-in chains and in a
// chain of their own; they must survive every sync and the cleanup.
var foreign = [][]string{
	{"iptables", "-t", "nat", "-N", "SKP-FOREIGN"},
	{"iptables", "-t", "nat", "-A", "SKP-FOREIGN", "-d", "10.123.0.1/32", "-j", "RETURN"},
	{"iptables", "-t", "nat", "-A", "OUTPUT", "-d", "10.123.0.2/32", "-m", "comment", "--comment", "skp-foreign", "-j", "SKP-FOREIGN"},
	{"iptables", "-t", "filter", "-A", "INPUT", "-s", "10.123.0.3/32", "-m", "comment", "--comment", "skp-foreign", "-j", "ACCEPT"},
}

func (l *lab) checkForeign() {
	l.t.Helper()
	save := l.iptablesSave()
	for _, want := range []string{":SKP-FOREIGN", "-A SKP-FOREIGN -d 10.123.0.1/32 -j RETURN",
		"-A OUTPUT -d 10.123.0.2/32 -m comment --comment skp-foreign -j SKP-FOREIGN",
		"-A INPUT -s 10.123.0.3/32 -m comment --comment skp-foreign -j ACCEPT"} {
		if !strings.Contains(save, want) {
			l.t.Errorf("rule not ours is gone: %q\n%s", want, save)
		}
	}
}

func TestKubeProxyInNetworkNamespaces(t *testing.T) {
	l := newLab(t)
	for _, args := range foreign {
		l.node.MustRun(args...)
	}
	web := l.createService("web", "NodePort", "")
	sticky := l.createService("sticky", "ClusterIP", "ClientIP")
	empty := l.createService("empty", "ClusterIP", "")
	dns := l.createService("dns", "ClusterIP", "", &corev1.ServicePort{Name: "dns", Protocol: "UDP", Port: 53, TargetPort: "5353"})
	l.writeEndpoints("web", "a", "b")
	l.writeEndpointsPorts("dns", []*corev1.EndpointPort{{Name: "dns", Protocol: "UDP", Port: 5353}}, "a", "b")
	l.writeEndpoints("sticky", "a", "b")
	webIP := web.GetSpec().GetClusterIp()
	webVIP := net.JoinHostPort(webIP, "80")
	nodePort := net.JoinHostPort(nodeIP, strconv.Itoa(int(web.GetSpec().GetPorts()[0].GetNodePort())))
	l.startProxy()

	eventually(t, 30*time.Second, "rules for the ClusterIP", func() error {
		_, err := get(l.node, webVIP)
		return err
	})

	both := func(t *testing.T, got map[string]int) {
		t.Helper()
		if got["a"] == 0 || got["b"] == 0 || got["a"]+got["b"] != 40 {
			t.Errorf("answers %v: want both pods, and nothing else", got)
		}
	}
	t.Run("ClusterIP reaches both pods", func(t *testing.T) {
		both(t, answers(t, l.node, webVIP, 40))
	})
	t.Run("NodePort reaches both pods", func(t *testing.T) {
		both(t, answers(t, l.node, nodePort, 40))
	})
	t.Run("NodePort from a pod reaches both pods", func(t *testing.T) {
		both(t, answers(t, l.pods["b"], nodePort, 40))
	})
	t.Run("a pod reaches itself through its Service (hairpin)", func(t *testing.T) {
		both(t, answers(t, l.pods["a"], webVIP, 40))
	})
	t.Run("UDP reaches both pods", func(t *testing.T) {
		addr := net.JoinHostPort(dns.GetSpec().GetClusterIp(), "53")
		got := map[string]int{}
		for range 40 { // a new socket, so a new flow, each time
			name, err := udpAsk(l.node, addr)
			if err != nil {
				t.Fatalf("UDP %s: %v", addr, err)
			}
			got[name]++
		}
		both(t, got)
	})
	t.Run("ClientIP affinity keeps a client on one pod", func(t *testing.T) {
		got := answers(t, l.node, net.JoinHostPort(sticky.GetSpec().GetClusterIp(), "80"), 20)
		if len(got) != 1 {
			t.Errorf("answers %v: want all from one pod", got)
		}
	})
	t.Run("a Service without endpoints refuses connections", func(t *testing.T) {
		addr := net.JoinHostPort(empty.GetSpec().GetClusterIp(), "80")
		start := time.Now()
		c, err := l.node.Dial("tcp", addr, 5*time.Second)
		if err == nil {
			_ = c.Close()
			t.Fatalf("connected to %s, which has no endpoints", addr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial %s: %v after %v; want connection refused", addr, err, time.Since(start))
		}
	})
	t.Run("healthz and metrics", func(t *testing.T) {
		body, code := l.httpGet(t, healthzAddr, "/healthz")
		if code != http.StatusOK || body != "ok" {
			t.Errorf("/healthz: %d %q, want 200 ok", code, body)
		}
		body, code = l.httpGet(t, metricsAddr, "/metrics")
		for _, want := range []string{"skiff_kubeproxy_sync_proxy_rules_duration_seconds_count{kind=\"full\"}",
			"skiff_kubeproxy_network_programming_duration_seconds_count", "skiff_kubeproxy_sync_proxy_rules_iptables_total{table=\"nat\"}"} {
			if code != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("/metrics (%d) lacks %s", code, want)
			}
		}
		if strings.Contains(body, "skiff_kubeproxy_network_programming_duration_seconds_count 0\n") {
			t.Errorf("no network programming latency measured:\n%s", body)
		}
	})
	t.Run("an endpoint removed stops getting traffic within 2s", func(t *testing.T) {
		l.writeEndpoints("web", "b")
		start := time.Now()
		for {
			got := answers(t, l.node, webVIP, 10)
			if got["a"] == 0 {
				t.Logf("only pod b answers %v after the Endpoints update", time.Since(start).Round(time.Millisecond))
				break
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("pod a still answers %v after its removal: %v", time.Since(start).Round(time.Millisecond), got)
			}
		}
		if got := answers(t, l.node, webVIP, 20); got["b"] != 20 {
			t.Errorf("answers %v after removal, want only b", got)
		}
		l.writeEndpoints("web", "a", "b")
	})
	t.Run("a flushed chain is repaired on the next full sync", func(t *testing.T) {
		chain := ""
		for _, line := range strings.Split(l.iptablesSave(), "\n") {
			if strings.HasPrefix(line, "-A KUBE-SERVICES") && strings.Contains(line, "default/web:http cluster IP") {
				chain = line[strings.LastIndex(line, " ")+1:]
			}
		}
		if !strings.HasPrefix(chain, "KUBE-SVC-") {
			t.Fatalf("no KUBE-SERVICES rule for default/web:http:\n%s", l.iptablesSave())
		}
		eventually(t, 10*time.Second, "both pods back in "+chain, func() error {
			if out := l.node.MustRun("iptables", "-t", "nat", "-S", chain); strings.Count(out, "-j KUBE-SEP-") != 2 {
				return fmt.Errorf("%s:\n%s", chain, out)
			}
			return nil
		})
		l.node.MustRun("iptables", "-t", "nat", "-F", chain)
		if out := l.node.MustRun("iptables", "-t", "nat", "-S", chain); strings.Contains(out, "-A ") {
			t.Fatalf("flush left rules:\n%s", out)
		}
		eventually(t, 4*syncPeriod, "rules of "+chain+" restored", func() error {
			if out := l.node.MustRun("iptables", "-t", "nat", "-S", chain); strings.Count(out, "-j KUBE-SEP-") != 2 {
				return fmt.Errorf("%s:\n%s", chain, out)
			}
			return nil
		})
		both(t, answers(t, l.node, webVIP, 40))
	})
	t.Run("a deleted jump is restored on the next full sync", func(t *testing.T) {
		l.node.MustRun("iptables", "-t", "nat", "-D", "OUTPUT", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES")
		eventually(t, 4*syncPeriod, "nat OUTPUT jump to KUBE-SERVICES restored", func() error {
			_, err := l.node.Run("iptables", "-t", "nat", "-C", "OUTPUT", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES")
			return err
		})
		both(t, answers(t, l.node, webVIP, 40))
	})
	t.Run("rules not ours survive the syncs", func(t *testing.T) {
		l.checkForeign()
	})
	t.Run("--cleanup removes every KUBE- chain and nothing else", func(t *testing.T) {
		if err := l.stopProxy(); err != nil {
			t.Fatalf("skiff-kube-proxy on SIGTERM: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := l.node.Command(ctx, proxyBin, "--cleanup", "--log-format", "console").CombinedOutput()
		if err != nil {
			t.Fatalf("--cleanup: %v\n%s", err, out)
		}
		if save := l.iptablesSave(); strings.Contains(save, "KUBE-") {
			t.Errorf("KUBE- rules left after --cleanup:\n%s", save)
		}
		l.checkForeign()
		c, err := l.node.Dial("tcp", webVIP, time.Second)
		if err == nil {
			_ = c.Close()
			t.Errorf("the ClusterIP still answers after --cleanup")
		}
	})
}

// httpGet GETs path from addr inside the node namespace.
func (l *lab) httpGet(t *testing.T, addr, path string) (string, int) {
	t.Helper()
	body, code, err := fetch(l.node, "http://"+addr+path)
	if err != nil {
		t.Fatalf("GET %s%s: %v", addr, path, err)
	}
	return body, code
}
