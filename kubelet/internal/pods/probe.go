package pods

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"skiff.dev/kubelet/internal/nsdial"
	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
)

// probeSet runs the probes of one run of a container.
type probeSet struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu             sync.Mutex
	startupDone    bool
	isReady        bool
	restartBecause string
}

func (p *probeSet) stop() {
	p.cancel()
	p.wg.Wait()
}

func (p *probeSet) started() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.startupDone
}

func (p *probeSet) ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.isReady
}

// restartReason is why the container must restart ("failed liveness
// probe"), or empty.
func (p *probeSet) restartReason() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restartBecause
}

type probeKind string

const (
	liveness  probeKind = "Liveness"
	readiness probeKind = "Readiness"
	startup   probeKind = "Startup"
)

// startProbes starts the container's probers; with none, it is started
// and ready at once (nil).
func (w *worker) startProbes(pod *corev1.Pod, spec *corev1.Container, c *podruntime.Container) *probeSet {
	if spec.GetLivenessProbe() == nil && spec.GetReadinessProbe() == nil && spec.GetStartupProbe() == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps := &probeSet{cancel: cancel, startupDone: spec.GetStartupProbe() == nil, isReady: spec.GetReadinessProbe() == nil}
	for kind, probe := range map[probeKind]*corev1.Probe{liveness: spec.GetLivenessProbe(), readiness: spec.GetReadinessProbe(), startup: spec.GetStartupProbe()} {
		if probe == nil {
			continue
		}
		ps.wg.Add(1)
		go func() {
			defer ps.wg.Done()
			w.runProber(ctx, pod, spec, c, ps, kind, probe)
		}()
	}
	return ps
}

func orDefault(v, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

// runProber probes periodically and turns consecutive results into the
// probe's outcome, with Kubernetes' defaults (period 10 s, timeout 1 s,
// success threshold 1, failure threshold 3).
func (w *worker) runProber(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, c *podruntime.Container, ps *probeSet, kind probeKind, probe *corev1.Probe) {
	period, timeout := orDefault(probe.GetPeriodSeconds(), 10), orDefault(probe.GetTimeoutSeconds(), 1)
	successThreshold, failureThreshold := max(1, int(probe.GetSuccessThreshold())), max(1, int(probe.GetFailureThreshold()))
	if probe.GetFailureThreshold() <= 0 {
		failureThreshold = 3
	}
	if d := time.Duration(probe.GetInitialDelaySeconds()) * time.Second; d > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
	t := time.NewTicker(period)
	defer t.Stop()
	var successes, failures int
	for {
		if kind == startup || ps.started() {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			err := w.probeOnce(pctx, pod, spec, c, probe)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				successes, failures = successes+1, 0
			} else {
				successes, failures = 0, failures+1
				w.event(pod, client.EventTypeWarning, "Unhealthy", "%s probe failed: %v", kind, err)
			}
			changed, done := false, false
			ps.mu.Lock()
			switch {
			case kind == startup && successes >= successThreshold:
				ps.startupDone, changed, done = true, true, true
			case kind == startup && failures >= failureThreshold:
				ps.restartBecause, changed, done = "failed startup probe", true, true
			case kind == liveness && failures >= failureThreshold:
				ps.restartBecause, changed, done = "failed liveness probe", true, true
			case kind == readiness && successes >= successThreshold && !ps.isReady:
				ps.isReady, changed = true, true
			case kind == readiness && failures >= failureThreshold && ps.isReady:
				ps.isReady, changed = false, true
			}
			ps.mu.Unlock()
			if changed {
				w.poke()
			}
			if done {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probeOnce runs one check: HTTP GET, TCP connect or exec. HTTP and TCP
// probes connect from inside the pod's network namespace, so they reach
// the pod's IP wherever the kubelet itself runs.
func (w *worker) probeOnce(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, c *podruntime.Container, probe *corev1.Probe) error {
	host := w.m.cfg.HostIP
	if !pod.GetSpec().GetHostNetwork() && w.net.IP != nil {
		host = w.net.IP.String()
	}
	netns := ""
	if !pod.GetSpec().GetHostNetwork() {
		netns = w.net.NetNSPath
	}
	switch {
	case probe.GetExec() != nil:
		code, err := w.m.rt.Exec(ctx, c, probe.GetExec().GetCommand(), podruntime.Stdio{})
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command %q exited with %d", probe.GetExec().GetCommand(), code)
		}
		return nil
	case probe.GetHttpGet() != nil:
		g := probe.GetHttpGet()
		port, err := resolvePort(g.GetPort(), spec)
		if err != nil {
			return err
		}
		if g.GetHost() != "" {
			host = g.GetHost()
		}
		scheme := "http"
		if g.GetScheme() == "HTTPS" {
			scheme = "https"
		}
		url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), g.GetPath())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "skiff-probe/1.0")
		for _, h := range g.GetHttpHeaders() {
			req.Header.Set(h.GetName(), h.GetValue())
		}
		tr := &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return nsdial.Dial(ctx, netns, network, addr)
			},
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as Kubernetes' HTTPS probes
			DisableKeepAlives: true,
		}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.CopyN(io.Discard, resp.Body, 10<<10)
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return nil
	case probe.GetTcpSocket() != nil:
		s := probe.GetTcpSocket()
		port, err := resolvePort(s.GetPort(), spec)
		if err != nil {
			return err
		}
		if s.GetHost() != "" {
			host = s.GetHost()
		}
		conn, err := nsdial.Dial(ctx, netns, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return errors.New("probe has no handler: want exec, httpGet or tcpSocket")
}

// resolvePort is a port number, or the number of a named container port.
func resolvePort(port string, spec *corev1.Container) (int, error) {
	if n, err := strconv.Atoi(port); err == nil {
		return n, nil
	}
	for _, p := range spec.GetPorts() {
		if p.GetName() == port {
			return int(p.GetContainerPort()), nil
		}
	}
	return 0, fmt.Errorf("port %q: no container port of that name", port)
}
