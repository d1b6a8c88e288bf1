package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/kubelet/internal/app"
	"skiff.dev/kubelet/internal/testutil"
	"skiff.dev/proto/client"
	"skiff.dev/proto/component"
	corev1 "skiff.dev/proto/core/v1"
)

// TestDaemon runs skiff-kubelet's daemon as its main does, with the real
// pod network manager in a network namespace of the test's: the Node
// registers, a pod gets an IP of the node's podCIDR and answers there, its
// log comes through the kubelet API, and its deletion is confirmed.
func TestDaemon(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, daemonOptions{node: "node-d", containerdNS: "skk-testdaemon", netNSPrefix: "skk-d", podCIDR: "10.250.3.0/24"})
	cs, k, hostNS, port, healthz := d.client, d.k, d.hostNS, d.port, d.healthz

	eventually(t, waitLong, "node registered", func() error {
		_, err := cs.CoreV1().Nodes().Get(context.Background(), "node-d")
		return err
	})
	k.CreatePod(t, testPod("web", testServer("app")))
	p := k.WaitPod(t, "default", "web", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	ip := p.GetStatus().GetPodIp()
	if !strings.HasPrefix(ip, "10.250.3.") || p.GetStatus().GetHostIp() != "127.0.0.1" {
		t.Errorf("podIP %s hostIP %s, want one of 10.250.3.0/24 and 127.0.0.1", ip, p.GetStatus().GetHostIp())
	}
	_, body, err := testutil.Get(hostNS, ip, 8080, "/")
	if err != nil || strings.TrimSpace(body) != "web" {
		t.Errorf("GET / from the node = %q %v, want web", body, err)
	}
	eventually(t, 30*time.Second, "log via the kubelet API", func() error {
		_, b, err := testutil.Get("", "127.0.0.1", port, "/containerLogs/default/web/app")
		if err != nil || !strings.Contains(b, "GET /") {
			return fmt.Errorf("%q %v", b, err)
		}
		return nil
	})
	if _, b, err := testutil.Get("", "127.0.0.1", healthz, "/healthz"); err != nil || b != "ok" {
		t.Errorf("/healthz = %q %v", b, err)
	}
	if err := cs.CoreV1().Pods("default").Delete(context.Background(), "web", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLong, "deletion confirmed", func() error {
		if _, err := cs.CoreV1().Pods("default").Get(context.Background(), "web"); !client.IsNotFound(err) {
			return fmt.Errorf("pod still there: %v", err)
		}
		return nil
	})
}

// daemonOptions are what differs between the daemons of parallel tests.
type daemonOptions struct {
	node, containerdNS, netNSPrefix, podCIDR string
}

// daemon is a skiff-kubelet daemon of a test, run as its main does, with
// the real pod network manager in a network namespace of the test's,
// serving its API on loopback (plain HTTP) and reached by an apiserver of
// its own.
type daemon struct {
	api           *apiservertest.Server
	client        *client.Clientset
	k             *testutil.Kubelet // for CreatePod and WaitPod
	hostNS        string
	port, healthz int
}

func startDaemon(t *testing.T, o daemonOptions) *daemon {
	t.Helper()
	api := apiservertest.Start(t, apiservertest.Options{KubeletInsecureHTTP: true})
	hostNS := testutil.NewNetNS(t)
	env := testutil.Shared()
	port, healthz := apiservertest.FreePort(t), apiservertest.FreePort(t)
	t.Cleanup(func() { testutil.DeleteNetNSWithPrefix(o.netNSPrefix) })
	t.Cleanup(func() { testutil.RemoveAll(t, o.containerdNS) })
	cfg := app.Config{}
	if err := component.LoadConfig(viper.New(), "", app.Defaults(), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Server = []string{api.URL}
	cfg.NodeName, cfg.NodeIP = o.node, "127.0.0.1"
	cfg.ContainerdAddress, cfg.ContainerdNamespace = env.Containerd.Address, o.containerdNS
	cfg.RootDir, cfg.PodLogDir, cfg.ImageDir = t.TempDir(), t.TempDir(), env.ImageDir
	cfg.PodCIDR, cfg.HostNetNS, cfg.NetNSPrefix = o.podCIDR, hostNS, o.netNSPrefix
	cfg.BindAddress, cfg.Port, cfg.InsecureHTTP = "127.0.0.1", port, true
	cfg.HealthzBindAddr, cfg.HealthzPort = "127.0.0.1", healthz
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.RunDaemon(ctx, zaptest.NewLogger(t).Named("kubelet"), cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunDaemon: %v", err)
		}
	})
	cs, err := client.New(client.Options{Server: []string{api.URL}, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return &daemon{api: api, client: cs, k: &testutil.Kubelet{NodeName: o.node, Client: cs}, hostNS: hostNS, port: port, healthz: healthz}
}
