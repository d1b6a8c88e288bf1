// Command bench measures the apiserver on this machine and prints a Markdown
// report: raw etcd transaction puts/s, Pod creates/s and create/get latency
// over gRPC and REST, and watch delivery latency to many gRPC watchers.
//
// It runs a real apiserver in-process on a real embedded etcd (fsync on, as in
// production) and a second, separate embedded etcd for the raw baseline, all
// on 127.0.0.1. Run it with `make bench-api`, or
//
//	cd apiserver && go run ./test/bench -out ../docs/benchmarks-api.md
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"skiff.dev/apiserver/internal/app"
	"skiff.dev/apiserver/internal/etcd"
	"skiff.dev/proto/codec"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// options are the benchmark's knobs.
type options struct {
	out        string
	count      int
	workers    int
	reps       int
	watchers   int
	watchConns int
	events     int
	cpuProfile string
	memProfile string
	watchProf  string
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	flag.IntVar(&o.count, "n", 5000, "operations per create/get phase")
	flag.IntVar(&o.workers, "c", 32, "concurrent workers per phase")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each throughput phase (the median is reported)")
	flag.IntVar(&o.watchers, "watchers", 1000, "concurrent gRPC pod watchers")
	flag.IntVar(&o.watchConns, "watch-conns", 10, "gRPC connections the watchers share")
	flag.IntVar(&o.events, "events", 200, "pods created while the watchers watch")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of one extra gRPC create phase (4×n pods) here")
	flag.StringVar(&o.memProfile, "memprofile", "", "write an allocation profile (all phases so far) here after the -cpuprofile phase")
	flag.StringVar(&o.watchProf, "watchprofile", "", "write a CPU profile of the watch delivery phase here")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// phase is the outcome of one timed run of n operations.
type phase struct {
	n       int
	errors  int64
	elapsed time.Duration
	lat     []time.Duration // sorted
}

func (p phase) rate() float64 { return float64(p.n-int(p.errors)) / p.elapsed.Seconds() }

func (p phase) pct(q float64) time.Duration {
	if len(p.lat) == 0 {
		return 0
	}
	i := int(q * float64(len(p.lat)-1))
	return p.lat[i]
}

// series is the repetitions of one phase; figures are their medians.
type series []phase

func (s series) median(f func(phase) float64) float64 {
	v := make([]float64, len(s))
	for i, p := range s {
		v[i] = f(p)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func (s series) rate() float64 { return s.median(phase.rate) }
func (s series) p(q float64) time.Duration {
	return time.Duration(s.median(func(p phase) float64 { return float64(p.pct(q)) }))
}
func (s series) errors() int64 {
	var n int64
	for _, p := range s {
		n += p.errors
	}
	return n
}

// runPhase runs op(i) for i in [0,n) on workers goroutines and times each call.
func runPhase(n, workers int, op func(i int) error) phase {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var errs atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				if err := op(i); err != nil {
					errs.Add(1)
					firstErr.Do(func() { fmt.Fprintln(os.Stderr, "bench: first error of phase:", err) })
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	p := phase{n: n, errors: errs.Load(), elapsed: time.Since(start), lat: lat}
	slices.Sort(p.lat)
	return p
}

// newPod is a realistic pod: one container with an image, ports, env,
// resource requests and limits, and labels.
func newPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{
			Name:      name,
			Namespace: ns,
			Labels:    map[string]string{"app": "bench", "tier": "web", "pod-template-hash": "5d8f7c9b6"},
		},
		Spec: &corev1.PodSpec{
			Containers: []*corev1.Container{{
				Name:  "app",
				Image: "registry.example.com/bench/web:1.27.3",
				Args:  []string{"--listen=:8080", "--log-level=info"},
				Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}},
				Env: []*corev1.EnvVar{
					{Name: "MODE", Value: "production"},
					{Name: "CACHE_SIZE", Value: "256"},
				},
				Resources: &corev1.ResourceRequirements{
					Requests: map[string]string{"cpu": "100m", "memory": "128Mi"},
					Limits:   map[string]string{"cpu": "500m", "memory": "256Mi"},
				},
			}},
		},
	}
}

// freePort is a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func loopbackURL() (string, error) {
	p, err := freePort()
	if err != nil {
		return "", err
	}
	return "http://127.0.0.1:" + strconv.Itoa(p), nil
}

// startAPIServer runs an insecure apiserver on loopback with embedded etcd in dir.
func startAPIServer(ctx context.Context, lg *zap.Logger, dir string) (*app.APIServer, string, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	client, err := loopbackURL()
	if err != nil {
		return nil, "", "", err
	}
	peer, err := loopbackURL()
	if err != nil {
		return nil, "", "", err
	}
	d := app.Defaults()
	cfg := app.Config{
		Insecure:              true,
		BindAddress:           "127.0.0.1",
		SecurePort:            port,
		DataDir:               filepath.Join(dir, "apiserver-etcd"),
		EmbeddedEtcdClientURL: client,
		EmbeddedEtcdPeerURL:   peer,
		ServiceClusterIPRange: d["service-cluster-ip-range"].(string),
		ServiceNodePortRange:  d["service-node-port-range"].(string),
		WatchCacheSize:        d["default-watch-cache-size"].(int),
		ShutdownTimeout:       2 * time.Second,
		LogFormat:             "console",
		LogLevel:              "warn",
	}
	a, err := app.Start(ctx, lg, cfg)
	if err != nil {
		return nil, "", "", err
	}
	return a, a.Addr(), client, nil
}

// startRawEtcd runs the baseline etcd: the same embedded etcd, fsync on.
func startRawEtcd(lg *zap.Logger, dir string) (*embed.Etcd, *clientv3.Client, error) {
	client, err := loopbackURL()
	if err != nil {
		return nil, nil, err
	}
	peer, err := loopbackURL()
	if err != nil {
		return nil, nil, err
	}
	e, err := etcd.StartEmbedded(lg, etcd.EmbeddedConfig{DataDir: filepath.Join(dir, "raw-etcd"), ClientURL: client, PeerURL: peer})
	if err != nil {
		return nil, nil, err
	}
	cli, err := etcd.NewClient(lg, etcd.ClientConfig{Endpoints: []string{client}})
	if err != nil {
		e.Close()
		return nil, nil, err
	}
	return e, cli, nil
}

// rawPuts is the baseline: the storage layer's create transaction (put if
// the key does not exist) straight through clientv3.
func rawPuts(cli *clientv3.Client, rep, n, workers int, value string) phase {
	ctx := context.Background()
	return runPhase(n, workers, func(i int) error {
		key := fmt.Sprintf("/bench/pods/default/raw-%d-%d", rep, i)
		resp, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, value)).Commit()
		if err == nil && !resp.Succeeded {
			err = fmt.Errorf("raw put %s: key exists", key)
		}
		return err
	})
}

// restClient posts and gets JSON over HTTP/1.1 keep-alive connections.
type restClient struct {
	base string
	http *http.Client
}

func newRESTClient(base string, conns int) *restClient {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(true)
	return &restClient{base: base, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *restClient) do(method, path string, body []byte, want int) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// results are every figure of the report.
type results struct {
	podBytes             int
	loadStart            string
	etcd                 series
	grpcCreate, rest     series
	grpcGet, restGet     series
	watchE2E, watchAfter []time.Duration // sorted
	watchMissing         int64
	watchElapsed         time.Duration
}

func run(o options) error {
	if o.reps < 1 || o.count < 1 || o.workers < 1 {
		return fmt.Errorf("-reps, -n and -c must be >= 1")
	}
	loadStart := loadAvg()
	lg := zap.NewNop()
	dir, err := os.MkdirTemp("", "skiff-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	fmt.Fprintln(os.Stderr, "bench: starting apiserver and raw etcd in", dir)
	api, addr, apiEtcd, err := startAPIServer(ctx, lg, dir)
	if err != nil {
		return fmt.Errorf("start apiserver: %w", err)
	}
	defer func() { _ = api.Shutdown() }()
	rawE, rawCli, err := startRawEtcd(lg, dir)
	if err != nil {
		return fmt.Errorf("start raw etcd: %w", err)
	}
	defer func() { _ = rawCli.Close(); rawE.Close(); <-rawE.Server.StopNotify() }()

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	pods := corev1.NewPodServiceClient(conn)
	rest := newRESTClient("http://"+addr, o.workers)

	// The stored size of a realistic pod sets the raw baseline's value size.
	if _, err := pods.Create(ctx, &corev1.PodRequest{Namespace: "default", Object: newPod("default", "warmup")}); err != nil {
		return fmt.Errorf("create a first pod: %w", err)
	}
	probe, err := etcd.NewClient(lg, etcd.ClientConfig{Endpoints: []string{apiEtcd}})
	if err != nil {
		return err
	}
	kv, err := probe.Get(ctx, "/skiff/pods/default/warmup")
	_ = probe.Close()
	if err != nil || len(kv.Kvs) == 0 {
		return fmt.Errorf("read the stored pod from etcd: %v", err)
	}
	r := results{loadStart: loadStart}
	r.podBytes = len(kv.Kvs[0].Value)
	value := string(kv.Kvs[0].Value)

	for rep := range o.reps {
		fmt.Fprintf(os.Stderr, "bench: repetition %d/%d\n", rep+1, o.reps)
		r.etcd = append(r.etcd, rawPuts(rawCli, rep, o.count, o.workers, value))
		r.grpcCreate = append(r.grpcCreate, runPhase(o.count, o.workers, func(i int) error {
			_, err := pods.Create(ctx, &corev1.PodRequest{Namespace: "default", Object: newPod("default", fmt.Sprintf("grpc-%d-%d", rep, i))})
			return err
		}))
		r.rest = append(r.rest, runPhase(o.count, o.workers, func(i int) error {
			b, err := codec.Marshal(newPod("default", fmt.Sprintf("rest-%d-%d", rep, i)))
			if err != nil {
				return err
			}
			return rest.do(http.MethodPost, "/api/v1/namespaces/default/pods", b, http.StatusCreated)
		}))
		r.grpcGet = append(r.grpcGet, runPhase(o.count, o.workers, func(i int) error {
			_, err := pods.Get(ctx, &metav1.GetOptions{Namespace: "default", Name: fmt.Sprintf("grpc-%d-%d", rep, i)})
			return err
		}))
		r.restGet = append(r.restGet, runPhase(o.count, o.workers, func(i int) error {
			return rest.do(http.MethodGet, fmt.Sprintf("/api/v1/namespaces/default/pods/rest-%d-%d", rep, i), nil, http.StatusOK)
		}))
	}

	if o.cpuProfile != "" {
		fmt.Fprintln(os.Stderr, "bench: profiling one more gRPC create phase to", o.cpuProfile)
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		runPhase(4*o.count, o.workers, func(i int) error {
			_, err := pods.Create(ctx, &corev1.PodRequest{Namespace: "default", Object: newPod("default", fmt.Sprintf("prof-%d", i))})
			return err
		})
		pprof.StopCPUProfile()
		_ = f.Close()
	}
	if o.memProfile != "" {
		f, err := os.Create(o.memProfile)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
		_ = f.Close()
	}

	fmt.Fprintf(os.Stderr, "bench: watch delivery to %d watchers\n", o.watchers)
	if err := watchBench(ctx, addr, o, &r); err != nil {
		return err
	}

	report := render(o, &r)
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// watchBench opens o.watchers gRPC watches on a fresh namespace, each its own
// stream, then creates o.events pods one after another. Each pod carries its
// send time; each watcher records when each event arrives.
func watchBench(ctx context.Context, addr string, o options, r *results) error {
	const ns = "watch-bench"
	conns := make([]*grpc.ClientConn, o.watchConns)
	for i := range conns {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer c.Close()
		conns[i] = c
	}
	nsc := corev1.NewNamespaceServiceClient(conns[0])
	if _, err := nsc.Create(ctx, &corev1.NamespaceRequest{Object: &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: ns}}}); err != nil {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	pods := corev1.NewPodServiceClient(conns[0])
	list, err := pods.List(ctx, &metav1.ListOptions{Namespace: ns, Limit: 1})
	if err != nil {
		return err
	}
	rv := list.GetMetadata().GetResourceVersion()

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	total := o.events + 1 // a first "ready" pod proves every watch is registered
	var (
		mu       sync.Mutex
		returned = map[string]time.Time{}
		e2e      = make([]time.Duration, 0, o.watchers*o.events)
		after    = make([]time.Duration, 0, o.watchers*o.events)
		missing  atomic.Int64
		ready    sync.WaitGroup
		done     sync.WaitGroup
	)
	ready.Add(o.watchers)
	done.Add(o.watchers)
	for w := range o.watchers {
		pc := corev1.NewPodServiceClient(conns[w%len(conns)])
		go func() {
			defer done.Done()
			got := 0
			defer func() {
				if got == 0 {
					ready.Done()
				}
				missing.Add(int64(total - got))
			}()
			stream, err := pc.Watch(wctx, &metav1.ListOptions{Namespace: ns, ResourceVersion: rv})
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench: watch:", err)
				return
			}
			local := make([]time.Duration, 0, o.events)
			var arrivals []time.Time
			var names []string
			for got < total {
				ev, err := stream.Recv()
				if err != nil {
					if wctx.Err() == nil {
						fmt.Fprintln(os.Stderr, "bench: watch recv:", err)
					}
					break
				}
				now := time.Now()
				got++
				name := ev.GetObject().GetMetadata().GetName()
				if name == "ready" {
					ready.Done()
					continue
				}
				sent, err := strconv.ParseInt(ev.GetObject().GetMetadata().GetAnnotations()["bench.skiff.dev/sent"], 10, 64)
				if err == nil {
					local = append(local, now.Sub(time.Unix(0, sent)))
				}
				arrivals = append(arrivals, now)
				names = append(names, name)
			}
			mu.Lock()
			e2e = append(e2e, local...)
			for i, n := range names {
				if t, ok := returned[n]; ok {
					after = append(after, max(0, arrivals[i].Sub(t)))
				}
			}
			mu.Unlock()
		}()
	}
	if _, err := pods.Create(ctx, &corev1.PodRequest{Namespace: ns, Object: newPod(ns, "ready")}); err != nil {
		return err
	}
	waitOrTimeout(&ready, 2*time.Minute)
	if o.watchProf != "" {
		f, err := os.Create(o.watchProf)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	start := time.Now()
	for i := range o.events {
		p := newPod(ns, fmt.Sprintf("w-%d", i))
		p.Metadata.Annotations = map[string]string{"bench.skiff.dev/sent": strconv.FormatInt(time.Now().UnixNano(), 10)}
		if _, err := pods.Create(ctx, &corev1.PodRequest{Namespace: ns, Object: p}); err != nil {
			return fmt.Errorf("create watched pod: %w", err)
		}
		t := time.Now()
		mu.Lock()
		returned[p.Metadata.Name] = t
		mu.Unlock()
	}
	if !waitOrTimeout(&done, 2*time.Minute) {
		cancel()
		done.Wait()
	}
	r.watchElapsed = time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(e2e)
	slices.Sort(after)
	r.watchE2E, r.watchAfter, r.watchMissing = e2e, after, missing.Load()
	return nil
}

// waitOrTimeout waits for wg; false when d passed first.
func waitOrTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func pctOf(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[int(q*float64(len(s)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// machine describes where the benchmark ran.
func machine() string {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				f := strings.Fields(l)
				if len(f) >= 2 {
					if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
						mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
					}
				}
			}
		}
	}
	return fmt.Sprintf("- Date: %s\n- CPUs (nproc): %d, %s\n- Memory: %s\n- Go: %s %s/%s\n- Storage: embedded etcd in %s, fsync on\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), model, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH, os.TempDir())
}

// loadAvg is the 1-minute load average: other work on the machine skews every figure.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

func render(o options, r *results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## API server benchmark (make bench-api)\n\n")
	b.WriteString(machine())
	fmt.Fprintf(&b, "- Machine load average (1 min) at start %s, at end %s\n", r.loadStart, loadAvg())
	fmt.Fprintf(&b, "- Load: %d workers, %d operations per phase, median of %d repetitions; pod stored size %d bytes\n\n",
		o.workers, o.count, o.reps, r.podBytes)
	b.WriteString("| Phase | ops/s | p50 | p99 | errors |\n|---|---:|---:|---:|---:|\n")
	row := func(name string, s series) {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %d |\n", name, s.rate(), ms(s.p(0.50)), ms(s.p(0.99)), s.errors())
	}
	row("raw etcd txn put (clientv3)", r.etcd)
	row("Pod create, gRPC", r.grpcCreate)
	row("Pod create, REST (JSON, HTTP/1.1)", r.rest)
	row("Pod get, gRPC", r.grpcGet)
	row("Pod get, REST (JSON, HTTP/1.1)", r.restGet)
	b.WriteString("\n")
	et := r.etcd.rate()
	fmt.Fprintf(&b, "- Creates/s ÷ raw etcd puts/s: gRPC %.0f%%, REST %.0f%% (goal ≥ 50%%)\n",
		100*r.grpcCreate.rate()/et, 100*r.rest.rate()/et)
	worst := max(r.grpcCreate.p(0.99), r.rest.p(0.99))
	verdict := "within"
	if worst > time.Second {
		verdict = "OVER"
	}
	fmt.Fprintf(&b, "- p99 create latency: gRPC %s, REST %s: %s Kubernetes' 1 s SLO for mutating calls\n",
		ms(r.grpcCreate.p(0.99)), ms(r.rest.p(0.99)), verdict)
	fmt.Fprintf(&b, "\n### Watch delivery\n\n%d gRPC watchers (each its own stream, over %d connections) on one namespace; %d pods created one after another in %s.\n\n",
		o.watchers, o.watchConns, o.events, r.watchElapsed.Round(time.Millisecond))
	b.WriteString("| Measure | p50 | p99 | max |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| create sent → event at watcher | %s | %s | %s |\n", ms(pctOf(r.watchE2E, .5)), ms(pctOf(r.watchE2E, .99)), ms(pctOf(r.watchE2E, 1)))
	fmt.Fprintf(&b, "| create returned → event at watcher | %s | %s | %s |\n", ms(pctOf(r.watchAfter, .5)), ms(pctOf(r.watchAfter, .99)), ms(pctOf(r.watchAfter, 1)))
	fmt.Fprintf(&b, "\n%d events delivered, %d missing.\n", len(r.watchE2E), r.watchMissing)
	return b.String()
}
