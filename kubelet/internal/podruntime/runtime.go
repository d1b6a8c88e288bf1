// Package podruntime runs pods' containers on containerd, in a containerd
// namespace of the kubelet's own: images (imported from archives, pulled
// per policy), the pod sandbox (a pause container holding the pod's
// network, IPC and UTS namespaces) and the app containers that join it,
// with their cgroup limits, mounts and CRI log files. Every container
// carries labels naming its pod, so a restarted kubelet finds them again.
package podruntime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
)

// Labels on every container the kubelet makes.
const (
	LabelPodUID       = "skiff.dev/pod-uid"
	LabelPodNamespace = "skiff.dev/pod-namespace"
	LabelPodName      = "skiff.dev/pod-name"
	LabelContainer    = "skiff.dev/container-name"
	LabelRestartCount = "skiff.dev/restart-count"
	LabelNetNS        = "skiff.dev/netns"
	LabelPodIP        = "skiff.dev/pod-ip"
	LabelExitCode     = "skiff.dev/exit-code"
	LabelReason       = "skiff.dev/reason"
	LabelFinishedAt   = "skiff.dev/finished-at"
)

// SandboxName is the container name of a pod's pause container.
const SandboxName = "POD"

// Config configures the runtime.
type Config struct {
	// Address is containerd's gRPC socket.
	Address string
	// Namespace is the kubelet's containerd namespace.
	Namespace string
	// Snapshotter unpacks images; empty is overlayfs.
	Snapshotter string
	// RootDir holds the pods' volumes and files: <RootDir>/pods/<uid>/.
	RootDir string
	// PodLogDir is the root of container logs (internal/logs' layout).
	PodLogDir string
	// LogDriver is the binary containerd's shim starts as a container's log
	// driver, with the arguments LogDriverArg and the log file.
	LogDriver string
	// PauseImage is the sandbox image.
	PauseImage string
	// InsecureRegistries are pulled from over plain HTTP, as registries on
	// loopback always are.
	InsecureRegistries []string
	// DockerConfig is a docker config.json with registry credentials; empty: none.
	DockerConfig string
}

// Runtime is the kubelet's containerd.
type Runtime struct {
	lg     *zap.Logger
	cfg    Config
	client *containerd.Client
	auth   map[string]authEntry

	closed atomic.Bool

	exitMu    sync.Mutex
	tracked   map[string]*Container // running containers, by ID
	stopExits context.CancelFunc

	pullMu sync.Mutex
	pulls  map[string]*pull // in flight, by reference
}

// New connects to containerd.
func New(lg *zap.Logger, cfg Config) (*Runtime, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = "overlayfs"
	}
	switch {
	case cfg.Namespace == "":
		return nil, errors.New("podruntime: containerd namespace must not be empty")
	case !filepath.IsAbs(cfg.LogDriver):
		return nil, fmt.Errorf("podruntime: log driver %q must be an absolute path", cfg.LogDriver)
	case cfg.PauseImage == "":
		return nil, errors.New("podruntime: pause image must not be empty")
	}
	auth, err := loadDockerConfig(cfg.DockerConfig)
	if err != nil {
		return nil, err
	}
	client, err := containerd.New(cfg.Address, containerd.WithDefaultNamespace(cfg.Namespace),
		containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("podruntime: connect to containerd at %s: %w", cfg.Address, err)
	}
	return &Runtime{lg: lg, cfg: cfg, client: client, auth: auth, pulls: map[string]*pull{}}, nil
}

// Close closes the connection; containers keep running.
func (r *Runtime) Close() error {
	r.closed.Store(true)
	r.exitMu.Lock()
	if r.stopExits != nil {
		r.stopExits()
	}
	r.exitMu.Unlock()
	return r.client.Close()
}

// Version is containerd's version.
func (r *Runtime) Version(ctx context.Context) (string, error) {
	v, err := r.client.Version(r.ns(ctx))
	if err != nil {
		return "", fmt.Errorf("containerd version: %w", err)
	}
	return v.Version, nil
}

func (r *Runtime) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.cfg.Namespace)
}

// PodRef names a pod and where its containers run.
type PodRef struct {
	UID, Namespace, Name string
	// NetNSPath is the pod's network namespace; empty is the host's
	// (hostNetwork).
	NetNSPath string
	// IP is the pod's IP, kept on the sandbox's labels.
	IP string
}

// PodDir is the pod's folder under the root dir.
func (r *Runtime) PodDir(uid string) string { return filepath.Join(r.cfg.RootDir, "pods", uid) }

// Container is one container of a pod, with the state last seen.
type Container struct {
	ID           string
	Pod          PodRef
	Name         string // the pod's container name, or SandboxName
	RestartCount int
	Labels       map[string]string

	mu     sync.Mutex
	state  State
	exited chan struct{} // closed once the task exited and its state is final
	pid    uint32
}

// State is a container's run state.
type State struct {
	Running    bool
	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int
	// Reason of an exited container: Completed, Error, OOMKilled.
	Reason string
}

// State is the container's state now.
func (c *Container) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Exited is closed once the container has exited.
func (c *Container) Exited() <-chan struct{} { return c.exited }

// PID is the container's process ID on the host while it runs.
func (c *Container) PID() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid
}

func containerFromLabels(id string, labels map[string]string) *Container {
	rc, _ := strconv.Atoi(labels[LabelRestartCount])
	c := &Container{
		ID: id, Name: labels[LabelContainer], RestartCount: rc, Labels: labels,
		Pod: PodRef{UID: labels[LabelPodUID], Namespace: labels[LabelPodNamespace], Name: labels[LabelPodName],
			NetNSPath: labels[LabelNetNS], IP: labels[LabelPodIP]},
		exited: make(chan struct{}),
	}
	return c
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// containerID makes a readable, unique container ID.
func containerID(pod PodRef, name string, restart int) string {
	return fmt.Sprintf("%s-%s-%d-%d", shortUID(pod.UID), strings.ToLower(name), restart, time.Now().UnixNano()%1e9)
}

func shortUID(uid string) string {
	uid = strings.ReplaceAll(uid, "-", "")
	if len(uid) > 12 {
		uid = uid[:12]
	}
	return uid
}

// ContainerSpec is what an app container runs.
type ContainerSpec struct {
	Name  string
	Image string
	// Command replaces the image's entrypoint; Args its cmd, as Kubernetes.
	Command, Args []string
	Env           []string // KEY=VALUE
	WorkingDir    string
	Mounts        []specs.Mount
	// MemoryLimit in bytes; 0 is none.
	MemoryLimit int64
	// CPUShares (1024 a CPU); 0 is the default.
	CPUShares uint64
	// CPUQuota per CPUPeriod microseconds; 0 is none.
	CPUQuota  int64
	CPUPeriod uint64
}

// StartSandbox creates and starts a pod's pause container: its own IPC and
// UTS namespaces (hostname = pod name) and the pod's network namespace.
func (r *Runtime) StartSandbox(ctx context.Context, pod PodRef, attempt int) (*Container, error) {
	ctx = r.ns(ctx)
	img, err := r.client.GetImage(ctx, r.cfg.PauseImage)
	if err != nil {
		return nil, fmt.Errorf("sandbox of pod %s/%s: pause image %s: %w", pod.Namespace, pod.Name, r.cfg.PauseImage, err)
	}
	opts := []oci.SpecOpts{oci.WithImageConfig(img), oci.WithMounts(r.etcMounts(pod))}
	if pod.NetNSPath == "" {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
	} else {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: pod.NetNSPath}),
			oci.WithHostname(pod.Name))
	}
	if err := r.writeEtcFiles(pod); err != nil {
		return nil, err
	}
	return r.create(ctx, pod, SandboxName, attempt, img, opts, "")
}

// etcMounts are the pod's /etc/hosts and /etc/hostname.
func (r *Runtime) etcMounts(pod PodRef) []specs.Mount {
	if pod.NetNSPath == "" {
		return []specs.Mount{{Type: "bind", Source: "/etc/hosts", Destination: "/etc/hosts", Options: []string{"rbind", "ro"}}}
	}
	dir := r.PodDir(pod.UID)
	return []specs.Mount{
		{Type: "bind", Source: filepath.Join(dir, "etc-hosts"), Destination: "/etc/hosts", Options: []string{"rbind", "ro"}},
		{Type: "bind", Source: filepath.Join(dir, "etc-hostname"), Destination: "/etc/hostname", Options: []string{"rbind", "ro"}},
	}
}

func (r *Runtime) writeEtcFiles(pod PodRef) error {
	if pod.NetNSPath == "" {
		return nil
	}
	dir := r.PodDir(pod.UID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if pod.IP != "" {
		hosts += pod.IP + "\t" + pod.Name + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "etc-hosts"), []byte(hosts), 0o644); err != nil {
		return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc-hostname"), []byte(pod.Name+"\n"), 0o644); err != nil {
		return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// StartContainer creates and starts an app container in the sandbox's
// namespaces, logging to <PodLogDir>/<ns>_<pod>_<uid>/<name>/<restart>.log.
func (r *Runtime) StartContainer(ctx context.Context, sandbox *Container, spec ContainerSpec, restart int) (*Container, error) {
	ctx = r.ns(ctx)
	pod := sandbox.Pod
	img, err := r.client.GetImage(ctx, spec.Image)
	if err != nil {
		return nil, fmt.Errorf("container %q: image %s: %w", spec.Name, spec.Image, err)
	}
	pid := sandbox.PID()
	if pid == 0 {
		return nil, fmt.Errorf("container %q: the pod's sandbox is not running", spec.Name)
	}
	opts := []oci.SpecOpts{oci.WithImageConfig(img)}
	switch {
	case len(spec.Command) > 0:
		opts = append(opts, oci.WithProcessArgs(append(append([]string(nil), spec.Command...), spec.Args...)...))
	case len(spec.Args) > 0:
		opts = append(opts, oci.WithImageConfigArgs(img, spec.Args))
	}
	if len(spec.Env) > 0 {
		opts = append(opts, oci.WithEnv(spec.Env))
	}
	if spec.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(spec.WorkingDir))
	}
	ipc := specs.LinuxNamespace{Type: specs.IPCNamespace, Path: fmt.Sprintf("/proc/%d/ns/ipc", pid)}
	opts = append(opts, oci.WithLinuxNamespace(ipc))
	if pod.NetNSPath == "" {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
	} else {
		opts = append(opts,
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: pod.NetNSPath}),
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.UTSNamespace, Path: fmt.Sprintf("/proc/%d/ns/uts", pid)}))
	}
	opts = append(opts, oci.WithMounts(append(r.etcMounts(pod), spec.Mounts...)))
	if spec.MemoryLimit > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(spec.MemoryLimit)))
	}
	if spec.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(spec.CPUShares))
	}
	if spec.CPUQuota > 0 {
		opts = append(opts, oci.WithCPUCFS(spec.CPUQuota, spec.CPUPeriod))
	}
	logPath := filepath.Join(r.cfg.PodLogDir, pod.Namespace+"_"+pod.Name+"_"+pod.UID, spec.Name, strconv.Itoa(restart)+".log")
	return r.create(ctx, pod, spec.Name, restart, img, opts, logPath)
}

// create makes and starts a container; logPath empty discards its output.
// Each container has a shim of its own. Sharing the sandbox's shim (runc's
// shim groups, as CRI does) started pods faster, but in one test run that
// hung, a grouped shim stayed alive with no task and its sandbox was not
// removed (containerd 1.6). That is not understood yet, so groups are off.
func (r *Runtime) create(ctx context.Context, pod PodRef, name string, restart int, img containerd.Image, opts []oci.SpecOpts, logPath string) (*Container, error) {
	id := containerID(pod, name, restart)
	labels := map[string]string{
		LabelPodUID: pod.UID, LabelPodNamespace: pod.Namespace, LabelPodName: pod.Name,
		LabelContainer: name, LabelRestartCount: strconv.Itoa(restart),
	}
	if name == SandboxName {
		labels[LabelNetNS], labels[LabelPodIP] = pod.NetNSPath, pod.IP
	}
	cont, err := r.client.NewContainer(ctx, id,
		containerd.WithImage(img),
		containerd.WithSnapshotter(r.cfg.Snapshotter),
		containerd.WithNewSnapshot(id, img),
		containerd.WithNewSpec(opts...),
		containerd.WithContainerLabels(labels),
	)
	if err != nil {
		return nil, fmt.Errorf("create container %q of pod %s/%s: %w", name, pod.Namespace, pod.Name, err)
	}
	c := containerFromLabels(id, labels)
	creator := cio.NullIO
	if logPath != "" {
		creator = cio.BinaryIO(r.cfg.LogDriver, map[string]string{LogDriverArg: logPath})
	}
	task, err := cont.NewTask(ctx, creator)
	if err != nil {
		r.removeContainer(ctx, cont)
		return nil, fmt.Errorf("create task of container %q of pod %s/%s: %w", name, pod.Namespace, pod.Name, err)
	}
	if _, err := r.track(ctx, c); err != nil {
		_, _ = task.Delete(ctx, containerd.WithProcessKill)
		r.removeContainer(ctx, cont)
		return nil, fmt.Errorf("watch container %q of pod %s/%s: %w", name, pod.Namespace, pod.Name, err)
	}
	c.mu.Lock()
	c.state.Running = true // until its exit, which may come before Start returns
	c.mu.Unlock()
	if err := task.Start(ctx); err != nil {
		r.untrack(c.ID)
		_, _ = task.Delete(ctx, containerd.WithProcessKill)
		r.removeContainer(ctx, cont)
		return nil, fmt.Errorf("start container %q of pod %s/%s: %w", name, pod.Namespace, pod.Name, err)
	}
	// The start time is the container's creation time in containerd, which
	// a restarted kubelet reads back (a label would cost a metadata write).
	started := time.Now()
	if info, err := cont.Info(ctx, containerd.WithoutRefreshedMetadata); err == nil {
		started = info.CreatedAt
	}
	c.mu.Lock()
	c.state.StartedAt = started
	if c.state.Running {
		c.pid = task.Pid()
	}
	c.mu.Unlock()
	return c, nil
}

// exited records the exit of a container's task (code, reason, time) on
// its labels and deletes the task.
func (r *Runtime) exited(ctx context.Context, c *Container, code uint32, finished time.Time) {
	cont, err := r.client.LoadContainer(ctx, c.ID)
	if err != nil {
		r.lg.Warn("load exited container", zap.String("container", c.ID), zap.Error(err))
		r.markExited(c, int(code), "Error", finished)
		return
	}
	if finished.IsZero() {
		finished = time.Now()
	}
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	if r.oomKilled(ctx, cont) {
		reason = "OOMKilled"
	}
	task, err := cont.Task(ctx, nil)
	if err != nil {
		task = nil
	}
	r.finish(ctx, cont, task, c, int(code), reason, finished)
}

func (r *Runtime) finish(ctx context.Context, cont containerd.Container, task containerd.Task, c *Container, code int, reason string, finished time.Time) {
	if task != nil {
		if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			r.lg.Warn("delete task", zap.String("container", c.ID), zap.Error(err))
		}
	}
	if _, err := cont.SetLabels(ctx, map[string]string{
		LabelExitCode: strconv.Itoa(code), LabelReason: reason, LabelFinishedAt: finished.UTC().Format(time.RFC3339Nano),
	}); err != nil && !errdefs.IsNotFound(err) {
		r.lg.Warn("label container", zap.String("container", c.ID), zap.Error(err))
	}
	r.markExited(c, code, reason, finished)
}

func (r *Runtime) markExited(c *Container, code int, reason string, finished time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state.Running, c.state.ExitCode, c.state.Reason, c.state.FinishedAt = false, code, reason, finished
	c.pid = 0
	select {
	case <-c.exited:
	default:
		close(c.exited)
	}
}

// oomKilled reads the container's memory cgroup: was a process of it
// killed for want of memory? (cgroup v2 memory.events, v1 memory.oom_control.)
func (r *Runtime) oomKilled(ctx context.Context, cont containerd.Container) bool {
	spec, err := cont.Spec(ctx)
	if err != nil || spec.Linux == nil || spec.Linux.CgroupsPath == "" {
		return false
	}
	cg := spec.Linux.CgroupsPath
	for _, f := range []string{
		filepath.Join("/sys/fs/cgroup", cg, "memory.events"),
		filepath.Join("/sys/fs/cgroup/memory", cg, "memory.oom_control"),
	} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, " "); ok && k == "oom_kill" && v != "0" {
				return true
			}
		}
	}
	return false
}

// Stop sends SIGTERM to a running container, then SIGKILL after grace, and
// waits (bounded by ctx) until it has exited.
func (r *Runtime) Stop(ctx context.Context, c *Container, grace time.Duration) error {
	ctx = r.ns(ctx)
	if !c.State().Running {
		return nil
	}
	cont, err := r.client.LoadContainer(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("stop container %s: %w", c.ID, err)
	}
	task, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		// Its exit is being recorded.
		select {
		case <-c.exited:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("stop container %s: %w", c.ID, ctx.Err())
		}
	}
	if err != nil {
		return fmt.Errorf("stop container %s: %w", c.ID, err)
	}
	if grace > 0 {
		if err := task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("stop container %s: SIGTERM: %w", c.ID, err)
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-c.exited:
			return nil
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: SIGKILL: %w", c.ID, err)
	}
	select {
	case <-c.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Remove deletes a container and its snapshot; a running one is killed first.
func (r *Runtime) Remove(ctx context.Context, c *Container) error {
	ctx = r.ns(ctx)
	if c.State().Running {
		kctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := r.Stop(kctx, c, 0)
		cancel()
		if err != nil {
			return err
		}
	}
	cont, err := r.client.LoadContainer(ctx, c.ID)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove container %s: %w", c.ID, err)
	}
	return r.removeContainer(ctx, cont)
}

func (r *Runtime) removeContainer(ctx context.Context, cont containerd.Container) error {
	if task, err := cont.Task(ctx, nil); err == nil {
		_, _ = task.Delete(ctx, containerd.WithProcessKill)
	}
	if err := cont.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", cont.ID(), err)
	}
	return nil
}

// List returns every container of the kubelet's namespace, picking up
// running ones (a kubelet restart) and the recorded exits of the others.
func (r *Runtime) List(ctx context.Context) ([]*Container, error) {
	ctx = r.ns(ctx)
	conts, err := r.client.Containers(ctx, `labels."`+LabelPodUID+`"`)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []*Container
	for _, cont := range conts {
		info, err := cont.Info(ctx, containerd.WithoutRefreshedMetadata)
		if err != nil {
			continue
		}
		labels := info.Labels
		c := containerFromLabels(cont.ID(), labels)
		c.state.StartedAt = info.CreatedAt
		if labels[LabelFinishedAt] != "" {
			code, _ := strconv.Atoi(labels[LabelExitCode])
			c.state = State{StartedAt: c.state.StartedAt, FinishedAt: parseTime(labels[LabelFinishedAt]), ExitCode: code, Reason: labels[LabelReason]}
			close(c.exited)
			out = append(out, c)
			continue
		}
		task, err := cont.Task(ctx, nil)
		if err != nil {
			// Created but never started, or its task is gone: an unknown exit.
			r.finish(ctx, cont, nil, c, 255, "Error", time.Now())
			out = append(out, c)
			continue
		}
		c.state.Running = true
		c.pid = task.Pid()
		if c, err = r.track(ctx, c); err != nil {
			return nil, fmt.Errorf("watch container %s: %w", cont.ID(), err)
		}
		// It may have exited while no one watched.
		if st, err := task.Status(ctx); err == nil && st.Status == containerd.Stopped {
			r.handleExit(c.ID, st.ExitStatus, st.ExitTime)
		}
		out = append(out, c)
	}
	return out, nil
}

// PauseImage is the sandbox image.
func (r *Runtime) PauseImage() string { return r.cfg.PauseImage }

// RemovePodDir removes a terminated pod's files and volumes (not hostPath ones).
func (r *Runtime) RemovePodDir(uid string) {
	dir := r.PodDir(uid)
	if err := os.RemoveAll(dir); err != nil {
		r.lg.Warn("remove pod dir", zap.String("dir", dir), zap.Error(err))
	}
}
