package testutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/kubelet/internal/images"
	"skiff.dev/kubelet/internal/kubelet"
	"skiff.dev/kubelet/internal/nsdial"
	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/kubelet/internal/pods"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
)

// Env is what a test binary's tests share: one containerd of its own and
// the project's images, built from the sources by Main.
type Env struct {
	Containerd *Containerd
	ImageDir   string
	// LogDriver is the test binary, which Main turns into a container's log
	// driver when containerd's shim starts it so.
	LogDriver string
}

var shared *Env

// Main is a TestMain: run as a log driver when the shim asks; else build
// the images, start containerd, run the tests and stop it all.
func Main(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == podruntime.LogDriverArg {
		if err := podruntime.RunLogDriver(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	env, err := Setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Teardown()
	shared = env
	code := m.Run()
	if code != 0 {
		log := env.Containerd.Log()
		fmt.Fprintf(os.Stderr, "containerd's log (last 8 kB):\n%s\n", log[max(0, len(log)-8192):])
	}
	return code
}

// Setup builds the images into a temp dir and starts containerd.
func Setup() (*Env, error) {
	mod, err := ModuleDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "skk-images-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := images.BuildAll(ctx, mod, dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ctd, err := StartContainerdDir("")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &Env{Containerd: ctd, ImageDir: dir, LogDriver: exe}, nil
}

// Teardown stops containerd and removes the images.
func (e *Env) Teardown() {
	if err := e.Containerd.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.RemoveAll(e.ImageDir)
}

// ModuleDir is the kubelet module's root, found upwards from the working dir.
func ModuleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module skiff.dev/kubelet\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testutil: the kubelet module's go.mod not found above the working dir")
		}
		dir = parent
	}
}

// Options configures a test kubelet; zero values make new ones.
type Options struct {
	API       *apiservertest.Server
	Node      *Node
	Namespace string // containerd namespace
	RootDir   string
	LogDir    string
	// ImageDir to import at start; empty is the shared images, "-" none.
	ImageDir           string
	InsecureRegistries []string
	Logger             *zap.Logger
}

// Kubelet is a kubelet of a test, against a real apiserver, containerd
// and lab network.
type Kubelet struct {
	Options
	NodeName string
	Client   *client.Clientset
	*kubelet.Kubelet

	cancel context.CancelFunc
	done   chan error
}

// Start runs a kubelet until Stop or the test's cleanup, which also
// removes every container of its containerd namespace.
func Start(t testing.TB, opts Options) *Kubelet {
	t.Helper()
	if shared == nil {
		t.Fatal("testutil: call testutil.Main from TestMain")
	}
	if opts.API == nil {
		opts.API = apiservertest.Start(t, apiservertest.Options{})
	}
	if opts.Node == nil {
		opts.Node = NewNode(t)
	}
	if opts.Namespace == "" {
		opts.Namespace = "skk-" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
		t.Cleanup(func() { RemoveAll(t, opts.Namespace) })
	}
	if opts.RootDir == "" {
		opts.RootDir = t.TempDir()
	}
	if opts.LogDir == "" {
		opts.LogDir = t.TempDir()
	}
	switch opts.ImageDir {
	case "":
		opts.ImageDir = shared.ImageDir
	case "-":
		opts.ImageDir = ""
	}
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	}
	cs, err := client.New(client.Options{Server: []string{opts.API.URL}, QPS: -1})
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	k := &Kubelet{Options: opts, NodeName: "node-1", Client: cs}
	kl, err := kubelet.New(opts.Logger.Named("kubelet"), cs, opts.Node, kubelet.Config{
		Runtime: podruntime.Config{
			Address: shared.Containerd.Address, Namespace: opts.Namespace, RootDir: opts.RootDir, PodLogDir: opts.LogDir,
			LogDriver: shared.LogDriver, PauseImage: images.Pause, InsecureRegistries: opts.InsecureRegistries,
		},
		Pods:     pods.Config{NodeName: k.NodeName, HostIP: "127.0.0.1", GCPeriod: 2 * time.Second},
		ImageDir: opts.ImageDir,
	})
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	k.Kubelet = kl
	ctx, cancel := context.WithCancel(context.Background())
	k.cancel, k.done = cancel, make(chan error, 1)
	go func() { k.done <- kl.Run(ctx) }()
	t.Cleanup(k.Stop)
	return k
}

// Stop ends the kubelet; its containers keep running.
func (k *Kubelet) Stop() {
	if k.cancel == nil {
		return
	}
	k.cancel()
	<-k.done
	k.cancel = nil
}

// Restart stops the kubelet and starts a new one on the same apiserver,
// containerd namespace and network.
func (k *Kubelet) Restart(t testing.TB) *Kubelet {
	t.Helper()
	k.Stop()
	opts := k.Options
	if opts.ImageDir == "" {
		opts.ImageDir = "-"
	}
	return Start(t, opts)
}

// RemoveAll stops and removes every container of a containerd namespace.
func RemoveAll(t testing.TB, namespace string) {
	rt, err := podruntime.New(nil, podruntime.Config{Address: shared.Containerd.Address, Namespace: namespace,
		LogDriver: shared.LogDriver, PauseImage: images.Pause})
	if err != nil {
		t.Errorf("testutil: cleanup: %v", err)
		return
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := rt.List(ctx)
	if err != nil {
		t.Errorf("testutil: cleanup: %v", err)
		return
	}
	for _, c := range cs {
		if err := rt.Remove(ctx, c); err != nil {
			t.Errorf("testutil: cleanup: %v", err)
		}
	}
}

// CreatePod creates a pod bound to the kubelet's node.
func (k *Kubelet) CreatePod(t testing.TB, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	if pod.Spec.NodeName == "" {
		pod.Spec.NodeName = k.NodeName
	}
	ns := pod.GetMetadata().GetNamespace()
	if ns == "" {
		ns = "default"
	}
	created, err := k.Client.CoreV1().Pods(ns).Create(context.Background(), pod)
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	return created
}

// WaitPod polls the pod until cond holds, failing the test after timeout.
func (k *Kubelet) WaitPod(t testing.TB, ns, name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *corev1.Pod
	for time.Now().Before(deadline) {
		p, err := k.Client.CoreV1().Pods(ns).Get(context.Background(), name)
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("pod %s/%s: not %s after %s; last status: %v", ns, name, what, timeout, last.GetStatus())
	return nil
}

// Get fetches http://ip:port/path from inside the lab network.
func (k *Kubelet) Get(ip string, port int, path string) (int, string, error) {
	return Get(k.Node.Path, ip, port, path)
}

// Get fetches http://ip:port/path from inside the network namespace at
// nsPath (empty: the test's own), within 10 s.
func Get(nsPath, ip string, port int, path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nsdial.Dial(ctx, nsPath, network, addr)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(ip, strconv.Itoa(port))+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Shared is what the test binary's tests share (after Main).
func Shared() *Env { return shared }
