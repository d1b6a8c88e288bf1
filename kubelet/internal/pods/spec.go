package pods

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"skiff.dev/kubelet/internal/podruntime"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/labels"
	"skiff.dev/proto/resource"
)

// containerSpec turns a pod's container into what the runtime runs.
func (w *worker) containerSpec(ctx context.Context, pod *corev1.Pod, c *corev1.Container, image string) (podruntime.ContainerSpec, error) {
	s := podruntime.ContainerSpec{
		Name: c.GetName(), Image: image, Command: c.GetCommand(), Args: c.GetArgs(), WorkingDir: c.GetWorkingDir(),
	}
	env, err := w.env(ctx, pod, c)
	if err != nil {
		return s, err
	}
	s.Env = env
	if err := resources(c, &s); err != nil {
		return s, err
	}
	mounts, err := w.mounts(ctx, pod, c)
	if err != nil {
		return s, err
	}
	s.Mounts = mounts
	return s, nil
}

// resources maps requests and limits to cgroup settings as Kubernetes:
// shares from the CPU request, a CFS quota from the CPU limit, the memory limit.
func resources(c *corev1.Container, s *podruntime.ContainerSpec) error {
	limits, err := resource.ParseList(c.GetResources().GetLimits())
	if err != nil {
		return fmt.Errorf("container %q: resources.limits: %w", c.GetName(), err)
	}
	requests, err := resource.ParseList(c.GetResources().GetRequests())
	if err != nil {
		return fmt.Errorf("container %q: resources.requests: %w", c.GetName(), err)
	}
	if m := limits.Memory(); !m.IsZero() {
		s.MemoryLimit = m.Value()
	}
	cpuReq := requests.CPU()
	if cpuReq.IsZero() {
		cpuReq = limits.CPU()
	}
	if milli := cpuReq.MilliValue(); milli > 0 {
		s.CPUShares = uint64(max(2, milli*1024/1000))
	}
	if milli := limits.CPU().MilliValue(); milli > 0 {
		s.CPUPeriod = 100000
		s.CPUQuota = max(1000, milli*100000/1000)
	}
	return nil
}

// env is the container's environment: the Service variables of the pod's
// namespace first, then the container's own (which win).
func (w *worker) env(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]string, error) {
	ns := pod.GetMetadata().GetNamespace()
	var out []string
	if links := pod.GetSpec().EnableServiceLinks; links == nil || *links {
		out = append(out, serviceEnv(w.m.services.ListNamespace(ns, labels.Everything()))...)
	}
	for _, e := range c.GetEnv() {
		v, err := w.envValue(ctx, pod, e)
		if err != nil {
			return nil, fmt.Errorf("container %q: env %s: %w", c.GetName(), e.GetName(), err)
		}
		out = append(out, e.GetName()+"="+v)
	}
	return out, nil
}

func (w *worker) envValue(ctx context.Context, pod *corev1.Pod, e *corev1.EnvVar) (string, error) {
	from := e.GetValueFrom()
	ns := pod.GetMetadata().GetNamespace()
	switch {
	case from == nil:
		return e.GetValue(), nil
	case from.GetFieldRef() != nil:
		switch p := from.GetFieldRef().GetFieldPath(); p {
		case "metadata.name":
			return pod.GetMetadata().GetName(), nil
		case "metadata.namespace":
			return ns, nil
		case "metadata.uid":
			return w.uid, nil
		case "spec.nodeName":
			return w.m.cfg.NodeName, nil
		case "status.hostIP":
			return w.m.cfg.HostIP, nil
		case "status.podIP":
			if pod.GetSpec().GetHostNetwork() {
				return w.m.cfg.HostIP, nil
			}
			return w.net.IP.String(), nil
		default:
			return "", fmt.Errorf("fieldRef %q is not supported", p)
		}
	case from.GetConfigMapKeyRef() != nil:
		ref := from.GetConfigMapKeyRef()
		cm, err := w.m.cs.CoreV1().ConfigMaps(ns).Get(ctx, ref.GetName())
		if err != nil {
			return "", optional(ref.Optional, fmt.Errorf("configmap %q: %w", ref.GetName(), err))
		}
		v, ok := cm.GetData()[ref.GetKey()]
		if !ok {
			return "", optional(ref.Optional, fmt.Errorf("configmap %q has no key %q", ref.GetName(), ref.GetKey()))
		}
		return v, nil
	case from.GetSecretKeyRef() != nil:
		ref := from.GetSecretKeyRef()
		sec, err := w.m.cs.CoreV1().Secrets(ns).Get(ctx, ref.GetName())
		if err != nil {
			return "", optional(ref.Optional, fmt.Errorf("secret %q: %w", ref.GetName(), err))
		}
		v, ok := sec.GetData()[ref.GetKey()]
		if !ok {
			return "", optional(ref.Optional, fmt.Errorf("secret %q has no key %q", ref.GetName(), ref.GetKey()))
		}
		return string(v), nil
	}
	return e.GetValue(), nil
}

func optional(opt *bool, err error) error {
	if opt != nil && *opt {
		return nil
	}
	return err
}

// serviceEnv are Kubernetes' Service environment variables:
// <SVC>_SERVICE_HOST, <SVC>_SERVICE_PORT(_<PORT>) and the Docker links.
func serviceEnv(svcs []*corev1.Service) []string {
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].GetMetadata().GetName() < svcs[j].GetMetadata().GetName() })
	var out []string
	for _, svc := range svcs {
		ip := svc.GetSpec().GetClusterIp()
		ports := svc.GetSpec().GetPorts()
		if ip == "" || ip == "None" || len(ports) == 0 {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(svc.GetMetadata().GetName(), "-", "_"))
		out = append(out, name+"_SERVICE_HOST="+ip, fmt.Sprintf("%s_SERVICE_PORT=%d", name, ports[0].GetPort()))
		for _, p := range ports {
			if p.GetName() != "" {
				out = append(out, fmt.Sprintf("%s_SERVICE_PORT_%s=%d", name, strings.ToUpper(strings.ReplaceAll(p.GetName(), "-", "_")), p.GetPort()))
			}
		}
		proto := strings.ToLower(ports[0].GetProtocol())
		if proto == "" {
			proto = "tcp"
		}
		out = append(out, fmt.Sprintf("%s_PORT=%s://%s:%d", name, proto, ip, ports[0].GetPort()))
		for _, p := range ports {
			pr := strings.ToLower(p.GetProtocol())
			if pr == "" {
				pr = "tcp"
			}
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.GetPort(), strings.ToUpper(pr))
			out = append(out, fmt.Sprintf("%s=%s://%s:%d", prefix, pr, ip, p.GetPort()),
				prefix+"_PROTO="+pr, fmt.Sprintf("%s_PORT=%d", prefix, p.GetPort()), prefix+"_ADDR="+ip)
		}
	}
	return out
}

// mounts prepares the volumes the container mounts and returns its bind mounts.
func (w *worker) mounts(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]specs.Mount, error) {
	vols := map[string]*corev1.Volume{}
	for _, v := range pod.GetSpec().GetVolumes() {
		vols[v.GetName()] = v
	}
	var out []specs.Mount
	for _, vm := range c.GetVolumeMounts() {
		v, ok := vols[vm.GetName()]
		if !ok {
			return nil, fmt.Errorf("container %q: volumeMounts %s: no volume of that name in the pod", c.GetName(), vm.GetName())
		}
		src, ro, err := w.volume(ctx, pod, v)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.GetName(), err)
		}
		if vm.GetSubPath() != "" {
			src = filepath.Join(src, filepath.Clean("/"+vm.GetSubPath()))
			if err := os.MkdirAll(src, 0o755); err != nil {
				return nil, fmt.Errorf("volume %q: subPath: %w", v.GetName(), err)
			}
		}
		opt := "rw"
		if ro || vm.GetReadOnly() {
			opt = "ro"
		}
		out = append(out, specs.Mount{Type: "bind", Source: src, Destination: vm.GetMountPath(), Options: []string{"rbind", opt}})
	}
	return out, nil
}

// volume makes a volume's directory on the node: <root>/pods/<uid>/volumes/<name>.
func (w *worker) volume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (dir string, readOnly bool, err error) {
	dir = filepath.Join(w.m.rt.PodDir(w.uid), "volumes", v.GetName())
	ns := pod.GetMetadata().GetNamespace()
	switch {
	case v.GetHostPath() != nil:
		hp := v.GetHostPath()
		switch hp.GetType() {
		case "DirectoryOrCreate":
			if err := os.MkdirAll(hp.GetPath(), 0o755); err != nil {
				return "", false, err
			}
		case "", "Directory", "File", "FileOrCreate", "Socket", "CharDevice", "BlockDevice":
			if hp.GetType() == "FileOrCreate" {
				f, err := os.OpenFile(hp.GetPath(), os.O_CREATE|os.O_RDONLY, 0o644)
				if err != nil {
					return "", false, err
				}
				f.Close()
			} else if _, err := os.Stat(hp.GetPath()); err != nil && hp.GetType() != "" {
				return "", false, fmt.Errorf("hostPath %s: %w", hp.GetPath(), err)
			}
		}
		return hp.GetPath(), false, nil
	case v.GetConfigMap() != nil:
		src := v.GetConfigMap()
		cm, err := w.m.cs.CoreV1().ConfigMaps(ns).Get(ctx, src.GetName())
		if err != nil {
			return "", false, optional(src.Optional, fmt.Errorf("configmap %q: %w", src.GetName(), err))
		}
		data := map[string][]byte{}
		for k, val := range cm.GetData() {
			data[k] = []byte(val)
		}
		for k, val := range cm.GetBinaryData() {
			data[k] = val
		}
		return dir, true, writeVolumeFiles(dir, data, src.GetItems(), src.DefaultMode)
	case v.GetSecret() != nil:
		src := v.GetSecret()
		sec, err := w.m.cs.CoreV1().Secrets(ns).Get(ctx, src.GetSecretName())
		if err != nil {
			return "", false, optional(src.Optional, fmt.Errorf("secret %q: %w", src.GetSecretName(), err))
		}
		return dir, true, writeVolumeFiles(dir, sec.GetData(), src.GetItems(), src.DefaultMode)
	default: // emptyDir, and a volume with no source
		return dir, false, os.MkdirAll(dir, 0o777)
	}
}

// writeVolumeFiles writes a configMap's or secret's keys (or the items
// chosen) as files of dir.
func writeVolumeFiles(dir string, data map[string][]byte, items []*corev1.KeyToPath, defaultMode *int32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode)
	}
	type file struct {
		path string
		mode os.FileMode
	}
	files := map[string]file{}
	if len(items) == 0 {
		for k := range data {
			files[k] = file{k, mode}
		}
	}
	for _, it := range items {
		if _, ok := data[it.GetKey()]; !ok {
			return fmt.Errorf("items: no key %q", it.GetKey())
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		files[it.GetKey()] = file{it.GetPath(), m}
	}
	for k, f := range files {
		p := filepath.Join(dir, filepath.Clean("/"+f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data[k], f.mode); err != nil {
			return err
		}
	}
	return nil
}
