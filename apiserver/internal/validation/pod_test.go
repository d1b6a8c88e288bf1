package validation

import (
	"strings"
	"testing"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// validPod is a pod that passes validation once defaulted.
func validPod() *corev1.Pod {
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: "web-0", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: &corev1.PodSpec{
			Volumes: []*corev1.Volume{
				{Name: "data", EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: "1Gi"}},
				{Name: "config", ConfigMap: &corev1.ConfigMapVolumeSource{Name: "web-config",
					Items: []*corev1.KeyToPath{{Key: "nginx.conf", Path: "conf/nginx.conf"}}}},
			},
			InitContainers: []*corev1.Container{{Name: "init", Image: "busybox:1.36", Command: []string{"true"}}},
			Containers: []*corev1.Container{{
				Name:  "web",
				Image: "nginx:1.25",
				Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
				Env: []*corev1.EnvVar{
					{Name: "MODE", Value: "prod"},
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
				},
				EnvFrom: []*corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{Name: "web-config"}}},
				Resources: &corev1.ResourceRequirements{
					Limits:   map[string]string{"cpu": "500m", "memory": "128Mi"},
					Requests: map[string]string{"cpu": "250m"},
				},
				VolumeMounts:   []*corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "config", MountPath: "/etc/nginx", ReadOnly: true}},
				LivenessProbe:  &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Port: "http"}},
				ReadinessProbe: &corev1.Probe{TcpSocket: &corev1.TCPSocketAction{Port: "80"}},
			}},
			NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
			Tolerations:  []*corev1.Toleration{{Key: "dedicated", Value: "web", Effect: "NoSchedule"}},
			Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []*corev1.NodeSelectorTerm{{
					MatchExpressions: []*corev1.NodeSelectorRequirement{{Key: "zone", Operator: "In", Values: []string{"a", "b"}}},
				}}},
				PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.PreferredSchedulingTerm{{
					Weight: 10, Preference: &corev1.NodeSelectorTerm{
						MatchExpressions: []*corev1.NodeSelectorRequirement{{Key: "cores", Operator: "Gt", Values: []string{"4"}}},
					},
				}},
			}},
		},
	}
}

func defaultedPod() *corev1.Pod {
	p := validPod()
	DefaultPod(p)
	return p
}

func TestDefaultPod(t *testing.T) {
	p := &corev1.Pod{Spec: &corev1.PodSpec{
		HostNetwork: true,
		Volumes:     []*corev1.Volume{{Name: "scratch"}, {Name: "cfg", ConfigMap: &corev1.ConfigMapVolumeSource{Name: "c"}}},
		Containers: []*corev1.Container{{
			Name:  "c",
			Image: "nginx",
			Ports: []*corev1.ContainerPort{{ContainerPort: 8080}},
			Env:   []*corev1.EnvVar{{Name: "N", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			Resources: &corev1.ResourceRequirements{
				Limits: map[string]string{"cpu": "1", "memory": "1Gi"}, Requests: map[string]string{"cpu": "100m"},
			},
			LivenessProbe:  &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Port: "8080"}},
			ReadinessProbe: &corev1.Probe{TcpSocket: &corev1.TCPSocketAction{Port: "8080"}, PeriodSeconds: 5},
		}},
		Tolerations: []*corev1.Toleration{{Key: "k", Value: "v"}},
	}}
	DefaultPod(p)
	s := p.Spec
	c := s.Containers[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"restartPolicy", s.RestartPolicy, "Always"},
		{"terminationGracePeriodSeconds", s.GetTerminationGracePeriodSeconds(), int32(30)},
		{"dnsPolicy", s.DnsPolicy, "ClusterFirst"},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"enableServiceLinks", s.GetEnableServiceLinks(), true},
		{"volume without source", s.Volumes[0].EmptyDir != nil, true},
		{"configMap defaultMode", s.Volumes[1].ConfigMap.GetDefaultMode(), int32(0o644)},
		{"imagePullPolicy", c.ImagePullPolicy, "Always"},
		{"terminationMessagePath", c.TerminationMessagePath, "/dev/termination-log"},
		{"port protocol", c.Ports[0].Protocol, "TCP"},
		{"hostNetwork hostPort", c.Ports[0].HostPort, int32(8080)},
		{"fieldRef apiVersion", c.Env[0].ValueFrom.FieldRef.ApiVersion, "v1"},
		{"cpu request kept", c.Resources.Requests["cpu"], "100m"},
		{"memory request from limit", c.Resources.Requests["memory"], "1Gi"},
		{"probe timeoutSeconds", c.LivenessProbe.TimeoutSeconds, int32(1)},
		{"probe periodSeconds", c.LivenessProbe.PeriodSeconds, int32(10)},
		{"probe periodSeconds kept", c.ReadinessProbe.PeriodSeconds, int32(5)},
		{"probe successThreshold", c.LivenessProbe.SuccessThreshold, int32(1)},
		{"probe failureThreshold", c.LivenessProbe.FailureThreshold, int32(3)},
		{"httpGet path", c.LivenessProbe.HttpGet.Path, "/"},
		{"httpGet scheme", c.LivenessProbe.HttpGet.Scheme, "HTTP"},
		{"toleration operator", s.Tolerations[0].Operator, "Equal"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	expectIdempotent(t, p, DefaultPod)
	expectIdempotent(t, validPod(), DefaultPod)
	expectIdempotent(t, &corev1.Pod{}, DefaultPod)
}

func TestDefaultPodKeepsGivenValues(t *testing.T) {
	p := &corev1.Pod{Spec: &corev1.PodSpec{
		RestartPolicy:                 "Never",
		TerminationGracePeriodSeconds: new(int32(0)),
		DnsPolicy:                     "Default",
		SchedulerName:                 "my-scheduler",
		Containers:                    []*corev1.Container{{Name: "c", Image: "nginx", ImagePullPolicy: "Never"}},
	}}
	DefaultPod(p)
	if s := p.Spec; s.RestartPolicy != "Never" || s.GetTerminationGracePeriodSeconds() != 0 || s.DnsPolicy != "Default" ||
		s.SchedulerName != "my-scheduler" || s.Containers[0].ImagePullPolicy != "Never" {
		t.Errorf("defaulting overwrote given values: %v", s)
	}
}

func TestDefaultImagePullPolicy(t *testing.T) {
	tests := []struct{ image, want string }{
		{"nginx", "Always"},
		{"nginx:latest", "Always"},
		{"nginx:1.25", "IfNotPresent"},
		{"registry.local:5000/nginx", "Always"},
		{"registry.local:5000/team/nginx:1.25", "IfNotPresent"},
		{"nginx@sha256:0123456789abcdef", "IfNotPresent"},
		{"nginx:1.25@sha256:0123456789abcdef", "IfNotPresent"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			p := &corev1.Pod{Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: tt.image}}}}
			DefaultPod(p)
			if got := p.Spec.Containers[0].ImagePullPolicy; got != tt.want {
				t.Errorf("imagePullPolicy = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidatePod(t *testing.T) {
	const c0 = "spec.containers[0]"
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"valid", func(p *corev1.Pod) {}, nil},
		{"generateName instead of name", func(p *corev1.Pod) { p.Metadata.Name, p.Metadata.GenerateName = "", "web-" }, nil},
		{"hostNetwork with matching ports", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 80
		}, nil},

		// containers
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []string{"spec.containers" + required}},
		{"container without name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" }, []string{c0 + ".name" + required}},
		{"container name not a label", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Web_1" }, []string{c0 + ".name" + invalid}},
		{"container name used by init container", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "init" }, []string{c0 + ".name" + duplicate}},
		{"two containers with one name", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, &corev1.Container{Name: "web", Image: "x", ImagePullPolicy: "Always"})
		}, []string{"spec.containers[1].name" + duplicate}},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []string{c0 + ".image" + required}},
		{"init container without image", func(p *corev1.Pod) { p.Spec.InitContainers[0].Image = "" }, []string{"spec.initContainers[0].image" + required}},
		{"image with spaces", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" }, []string{c0 + ".image" + invalid}},
		{"bad pull policy", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" }, []string{c0 + ".imagePullPolicy" + notSupported}},

		// ports
		{"container port 0", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 }, []string{c0 + ".ports[0].containerPort" + required}},
		{"container port too big", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }, []string{c0 + ".ports[0].containerPort" + invalid}},
		{"host port too big", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].HostPort = 65536 }, []string{c0 + ".ports[0].hostPort" + invalid}},
		{"bad protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" }, []string{c0 + ".ports[0].protocol" + notSupported}},
		{"port name not IANA", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "http_x" }, []string{c0 + ".ports[0].name" + invalid}},
		{"port name too long", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "a-very-long-port-name" }, []string{c0 + ".ports[0].name" + invalid}},
		{"duplicate port name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, &corev1.ContainerPort{Name: "http", ContainerPort: 81, Protocol: "TCP"})
		}, []string{c0 + ".ports[1].name" + duplicate}},
		{"bad host IP", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].HostIp = "1.2.3" }, []string{c0 + ".ports[0].hostIP" + invalid}},
		{"host port used twice", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports[0].HostPort = 8080
			p.Spec.Containers = append(p.Spec.Containers, &corev1.Container{Name: "side", Image: "x", ImagePullPolicy: "Always",
				Ports: []*corev1.ContainerPort{{ContainerPort: 9090, HostPort: 8080, Protocol: "TCP"}}})
		}, []string{"spec.containers[1].ports[0].hostPort" + duplicate}},
		{"hostNetwork with other host port", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 8080
		}, []string{c0 + ".ports[0].hostPort" + invalid}},

		// volumes and mounts
		{"volume without name", func(p *corev1.Pod) { p.Spec.Volumes[0].Name = "" }, []string{"spec.volumes[0].name" + required, c0 + ".volumeMounts[0].name" + notFoundErr}},
		{"duplicate volume name", func(p *corev1.Pod) { p.Spec.Volumes[1].Name = "data" }, []string{"spec.volumes[1].name" + duplicate, c0 + ".volumeMounts[1].name" + notFoundErr}},
		{"volume without source", func(p *corev1.Pod) { p.Spec.Volumes[0].EmptyDir = nil }, []string{"spec.volumes[0]" + required}},
		{"volume with two sources", func(p *corev1.Pod) {
			p.Spec.Volumes[0].Secret = &corev1.SecretVolumeSource{SecretName: "s"}
		}, []string{"spec.volumes[0].secret" + forbidden}},
		{"hostPath without path", func(p *corev1.Pod) {
			p.Spec.Volumes[0].EmptyDir, p.Spec.Volumes[0].HostPath = nil, &corev1.HostPathVolumeSource{}
		}, []string{"spec.volumes[0].hostPath.path" + required}},
		{"hostPath bad type", func(p *corev1.Pod) {
			p.Spec.Volumes[0].EmptyDir, p.Spec.Volumes[0].HostPath = nil, &corev1.HostPathVolumeSource{Path: "/srv", Type: "Folder"}
		}, []string{"spec.volumes[0].hostPath.type" + notSupported}},
		{"emptyDir bad size", func(p *corev1.Pod) { p.Spec.Volumes[0].EmptyDir.SizeLimit = "lots" }, []string{"spec.volumes[0].emptyDir.sizeLimit" + invalid}},
		{"emptyDir bad medium", func(p *corev1.Pod) { p.Spec.Volumes[0].EmptyDir.Medium = "Disk" }, []string{"spec.volumes[0].emptyDir.medium" + notSupported}},
		{"configMap volume without name", func(p *corev1.Pod) { p.Spec.Volumes[1].ConfigMap.Name = "" }, []string{"spec.volumes[1].configMap.name" + required}},
		{"configMap item with absolute path", func(p *corev1.Pod) { p.Spec.Volumes[1].ConfigMap.Items[0].Path = "/etc/x" }, []string{"spec.volumes[1].configMap.items[0].path" + invalid}},
		{"configMap item path escaping", func(p *corev1.Pod) { p.Spec.Volumes[1].ConfigMap.Items[0].Path = "../x" }, []string{"spec.volumes[1].configMap.items[0].path" + invalid}},
		{"configMap item bad key", func(p *corev1.Pod) { p.Spec.Volumes[1].ConfigMap.Items[0].Key = "a/b" }, []string{"spec.volumes[1].configMap.items[0].key" + invalid}},
		{"file mode too big", func(p *corev1.Pod) { p.Spec.Volumes[1].ConfigMap.DefaultMode = new(int32(0o1000)) }, []string{"spec.volumes[1].configMap.defaultMode" + invalid}},
		{"secret volume without name", func(p *corev1.Pod) {
			p.Spec.Volumes[1].ConfigMap, p.Spec.Volumes[1].Secret = nil, &corev1.SecretVolumeSource{}
		}, []string{"spec.volumes[1].secret.secretName" + required}},
		{"mount of unknown volume", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "cache" }, []string{c0 + ".volumeMounts[0].name" + notFoundErr}},
		{"mount without path", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "" }, []string{c0 + ".volumeMounts[0].mountPath" + required}},
		{"relative mount path", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "data" }, []string{c0 + ".volumeMounts[0].mountPath" + invalid}},
		{"mount path used twice", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[1].MountPath = "/data" }, []string{c0 + ".volumeMounts[1].mountPath" + invalid}},
		{"subPath escaping", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].SubPath = "a/../../b" }, []string{c0 + ".volumeMounts[0].subPath" + invalid}},

		// resources
		{"bad quantity", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Limits["cpu"] = "half" }, []string{c0 + ".resources.limits[cpu]" + invalid}},
		{"negative quantity", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests["cpu"] = "-1" }, []string{c0 + ".resources.requests[cpu]" + invalid}},
		{"request above limit", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests["memory"] = "0.5Gi" }, []string{c0 + ".resources.requests[memory]" + invalid}},
		{"request above limit in other units", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests["cpu"] = "0.6" }, []string{c0 + ".resources.requests[cpu]" + invalid}},
		{"request equal to limit in other units", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests["cpu"] = "0.5" }, nil},
		{"unknown resource", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Limits["gpu"] = "1" }, []string{c0 + ".resources.limits[gpu]" + invalid}},
		{"extended resource", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Limits["example.com/gpu"] = "1" }, nil},

		// probes
		{"probe without handler", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe.HttpGet = nil }, []string{c0 + ".livenessProbe" + required}},
		{"probe with two handlers", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe.TcpSocket = &corev1.TCPSocketAction{Port: "80"}
		}, []string{c0 + ".livenessProbe.tcpSocket" + forbidden}},
		{"exec probe without command", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe.HttpGet, p.Spec.Containers[0].LivenessProbe.Exec = nil, &corev1.ExecAction{}
		}, []string{c0 + ".livenessProbe.exec.command" + required}},
		{"probe port 0", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe.TcpSocket.Port = "0" }, []string{c0 + ".readinessProbe.tcpSocket.port" + invalid}},
		{"probe port bad name", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe.HttpGet.Port = "Http" }, []string{c0 + ".livenessProbe.httpGet.port" + invalid}},
		{"probe without port", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe.HttpGet.Port = "" }, []string{c0 + ".livenessProbe.httpGet.port" + required}},
		{"probe bad scheme", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe.HttpGet.Scheme = "FTP" }, []string{c0 + ".livenessProbe.httpGet.scheme" + notSupported}},
		{"probe bad header", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe.HttpGet.HttpHeaders = []*corev1.HTTPHeader{{Name: "X Bad", Value: "1"}}
		}, []string{c0 + ".livenessProbe.httpGet.httpHeaders[0].name" + invalid}},
		{"negative period", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe.PeriodSeconds = -1 }, []string{c0 + ".readinessProbe.periodSeconds" + invalid}},
		{"liveness success threshold 2", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe.SuccessThreshold = 2 }, []string{c0 + ".livenessProbe.successThreshold" + invalid}},
		{"readiness success threshold 2", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe.SuccessThreshold = 2 }, nil},
		{"readiness grace period", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe.TerminationGracePeriodSeconds = new(int32(5))
		}, []string{c0 + ".readinessProbe.terminationGracePeriodSeconds" + invalid}},
		{"init container probe", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].ReadinessProbe = &corev1.Probe{Exec: &corev1.ExecAction{Command: []string{"true"}}}
		}, []string{"spec.initContainers[0].readinessProbe" + forbidden}},

		// env
		{"env without name", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "" }, []string{c0 + ".env[0].name" + required}},
		{"env name with digit first", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "1MODE" }, []string{c0 + ".env[0].name" + invalid}},
		{"env with value and valueFrom", func(p *corev1.Pod) { p.Spec.Containers[0].Env[1].Value = "x" }, []string{c0 + ".env[1].valueFrom" + invalid}},
		{"env valueFrom empty", func(p *corev1.Pod) { p.Spec.Containers[0].Env[1].ValueFrom = &corev1.EnvVarSource{} }, []string{c0 + ".env[1].valueFrom" + invalid}},
		{"env valueFrom two sources", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[1].ValueFrom.SecretKeyRef = &corev1.SecretKeySelector{Name: "s", Key: "k"}
		}, []string{c0 + ".env[1].valueFrom" + invalid}},
		{"env unsupported field path", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[1].ValueFrom.FieldRef.FieldPath = "spec.containers"
		}, []string{c0 + ".env[1].valueFrom.fieldRef.fieldPath" + notSupported}},
		{"env configMap ref without key", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[1].ValueFrom = &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{Name: "c"}}
		}, []string{c0 + ".env[1].valueFrom.configMapKeyRef.key" + required}},
		{"envFrom without source", func(p *corev1.Pod) { p.Spec.Containers[0].EnvFrom[0].ConfigMapRef = nil }, []string{c0 + ".envFrom[0]" + invalid}},
		{"envFrom bad prefix", func(p *corev1.Pod) { p.Spec.Containers[0].EnvFrom[0].Prefix = "9" }, []string{c0 + ".envFrom[0].prefix" + invalid}},
		{"envFrom without name", func(p *corev1.Pod) { p.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name = "" }, []string{c0 + ".envFrom[0].configMapRef.name" + required}},

		// pod-level fields
		{"no restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "" }, []string{"spec.restartPolicy" + required}},
		{"bad restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, []string{"spec.restartPolicy" + notSupported}},
		{"negative grace period", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = new(int32(-1)) }, []string{"spec.terminationGracePeriodSeconds" + invalid}},
		{"zero active deadline", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = new(int32(0)) }, []string{"spec.activeDeadlineSeconds" + invalid}},
		{"bad dns policy", func(p *corev1.Pod) { p.Spec.DnsPolicy = "None" }, []string{"spec.dnsPolicy" + notSupported}},
		{"bad node selector key", func(p *corev1.Pod) { p.Spec.NodeSelector["bad key"] = "x" }, []string{"spec.nodeSelector" + invalid}},
		{"bad node name", func(p *corev1.Pod) { p.Spec.NodeName = "Node_1" }, []string{"spec.nodeName" + invalid}},
		{"bad service account name", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "-sa" }, []string{"spec.serviceAccountName" + invalid}},
		{"bad hostname", func(p *corev1.Pod) { p.Spec.Hostname = "a.b" }, []string{"spec.hostname" + invalid}},

		// tolerations
		{"toleration without key must be Exists", func(p *corev1.Pod) { p.Spec.Tolerations[0].Key = "" }, []string{"spec.tolerations[0].operator" + invalid}},
		{"toleration without key and Exists", func(p *corev1.Pod) {
			p.Spec.Tolerations[0] = &corev1.Toleration{Operator: "Exists"}
		}, nil},
		{"toleration bad operator", func(p *corev1.Pod) { p.Spec.Tolerations[0].Operator = "NotEqual" }, []string{"spec.tolerations[0].operator" + notSupported}},
		{"toleration Exists with value", func(p *corev1.Pod) { p.Spec.Tolerations[0].Operator = "Exists" }, []string{"spec.tolerations[0].value" + invalid}},
		{"toleration bad value", func(p *corev1.Pod) { p.Spec.Tolerations[0].Value = "a b" }, []string{"spec.tolerations[0].value" + invalid}},
		{"toleration bad key", func(p *corev1.Pod) { p.Spec.Tolerations[0].Key = "a b" }, []string{"spec.tolerations[0].key" + invalid}},
		{"toleration bad effect", func(p *corev1.Pod) { p.Spec.Tolerations[0].Effect = "NoRun" }, []string{"spec.tolerations[0].effect" + notSupported}},
		{"tolerationSeconds without NoExecute", func(p *corev1.Pod) {
			p.Spec.Tolerations[0].TolerationSeconds = new(int32(60))
		}, []string{"spec.tolerations[0].effect" + invalid}},

		// affinity
		{"affinity without terms", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = nil
		}, []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms" + required}},
		{"In without values", func(p *corev1.Pod) { requiredExpr(p).Values = nil }, []string{requiredExprPath + ".values" + required}},
		{"Exists with values", func(p *corev1.Pod) { requiredExpr(p).Operator = "Exists" }, []string{requiredExprPath + ".values" + forbidden}},
		{"Gt with two values", func(p *corev1.Pod) { requiredExpr(p).Operator = "Gt" }, []string{requiredExprPath + ".values" + required}},
		{"Lt with a word", func(p *corev1.Pod) {
			requiredExpr(p).Operator, requiredExpr(p).Values = "Lt", []string{"ten"}
		}, []string{requiredExprPath + ".values[0]" + invalid}},
		{"bad affinity operator", func(p *corev1.Pod) { requiredExpr(p).Operator = "Like" }, []string{requiredExprPath + ".operator" + notSupported}},
		{"bad affinity key", func(p *corev1.Pod) { requiredExpr(p).Key = "-zone" }, []string{requiredExprPath + ".key" + invalid}},
		{"bad affinity value", func(p *corev1.Pod) { requiredExpr(p).Values[0] = "a b" }, []string{requiredExprPath + ".values[0]" + invalid}},
		{"match field other than name", func(p *corev1.Pod) {
			term := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0]
			term.MatchFields = []*corev1.NodeSelectorRequirement{{Key: "spec.podCIDR", Operator: "In", Values: []string{"x"}}}
		}, []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key" + notSupported}},
		{"preference weight 0", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight = 0
		}, []string{"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight" + invalid}},

		// metadata
		{"no name", func(p *corev1.Pod) { p.Metadata.Name = "" }, []string{"metadata.name" + required}},
		{"bad name", func(p *corev1.Pod) { p.Metadata.Name = "Web_0" }, []string{"metadata.name" + invalid}},
		{"no namespace", func(p *corev1.Pod) { p.Metadata.Namespace = "" }, []string{"metadata.namespace" + required}},
		{"no metadata", func(p *corev1.Pod) { p.Metadata = nil }, []string{"metadata" + required}},
		{"no spec", func(p *corev1.Pod) { p.Spec = nil }, []string{"spec" + required}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultedPod()
			tt.mutate(p)
			expectErrors(t, ValidatePod(p), tt.want...)
		})
	}
}

const requiredExprPath = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]"

func requiredExpr(p *corev1.Pod) *corev1.NodeSelectorRequirement {
	return p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
}

func TestValidatePodMessages(t *testing.T) {
	p := defaultedPod()
	p.Spec.Containers[0].Image = ""
	p.Spec.Containers[0].Resources.Requests["memory"] = "256Mi"
	errs := ValidatePod(p)
	expectDetail(t, errs, "spec.containers[0].image", "spec.containers[0].image: Required value")
	expectDetail(t, errs, "spec.containers[0].resources.requests[memory]",
		`spec.containers[0].resources.requests[memory]: Invalid value: "256Mi": must be less than or equal to memory limit of 128Mi`)

	p = defaultedPod()
	p.Spec.Containers[0].VolumeMounts[0].Name = "cache"
	p.Spec.Containers[0].Resources.Limits["cpu"] = "1 core"
	errs = ValidatePod(p)
	expectDetail(t, errs, "spec.containers[0].volumeMounts[0].name", `spec.containers[0].volumeMounts[0].name: Not found: "cache"`)
	expectDetail(t, errs, "spec.containers[0].resources.limits[cpu]",
		`spec.containers[0].resources.limits[cpu]: Invalid value: "1 core": quantities must match the regular expression`)

	old := defaultedPod()
	p = defaultedPod()
	p.Spec.NodeName = "node-1"
	p.Spec.Containers[0].Ports[0].ContainerPort = 8080
	expectDetail(t, ValidatePodUpdate(p, old), "spec", "spec: Forbidden: pod updates may not change fields other than "+
		"`spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds` and `spec.tolerations` "+
		"(only additions to existing tolerations); changed: spec.containers[0].ports[0].containerPort, spec.nodeName")
}

func TestValidatePodUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
		detail string
	}{
		{"nothing changed", func(p *corev1.Pod) {}, nil, ""},
		{"labels changed", func(p *corev1.Pod) { p.Metadata.Labels["tier"] = "front" }, nil, ""},
		{"image changed", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.26" }, nil, ""},
		{"init image changed", func(p *corev1.Pod) { p.Spec.InitContainers[0].Image = "busybox:1.37" }, nil, ""},
		{"active deadline set", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = new(int32(60)) }, nil, ""},
		{"toleration added", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, &corev1.Toleration{Key: "x", Operator: "Exists"})
		}, nil, ""},
		{"node name set", func(p *corev1.Pod) { p.Spec.NodeName = "node-1" }, []string{"spec" + forbidden}, "changed: spec.nodeName"},
		{"container port changed", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 81 },
			[]string{"spec" + forbidden}, "changed: spec.containers[0].ports[0].containerPort"},
		{"restart policy changed", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Never" }, []string{"spec" + forbidden}, "pod updates may not change fields other than"},
		{"container added", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, &corev1.Container{Name: "side", Image: "x", ImagePullPolicy: "Always"})
		}, []string{"spec.containers" + forbidden}, ""},
		{"toleration removed", func(p *corev1.Pod) { p.Spec.Tolerations = nil }, []string{"spec.tolerations" + forbidden}, ""},
		{"image cleared", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []string{"spec.containers[0].image" + required}, ""},
		{"name changed", func(p *corev1.Pod) { p.Metadata.Name = "web-1" }, []string{"metadata.name" + invalid}, "field is immutable"},
		{"namespace changed", func(p *corev1.Pod) { p.Metadata.Namespace = "other" }, []string{"metadata.namespace" + invalid}, "field is immutable"},
		{"uid changed", func(p *corev1.Pod) { p.Metadata.Uid = "u2" }, []string{"metadata.uid" + invalid}, "field is immutable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := defaultedPod()
			old.Metadata.Uid = "u1"
			newObj := defaultedPod()
			newObj.Metadata.Uid = "u1"
			tt.mutate(newObj)
			errs := ValidatePodUpdate(newObj, old)
			expectErrors(t, errs, tt.want...)
			if tt.detail != "" && len(tt.want) > 0 {
				expectDetail(t, errs, strings.Split(tt.want[0], ": ")[0], tt.detail)
			}
		})
	}
}

func TestValidatePodUpdateDeadlineAndTolerationSeconds(t *testing.T) {
	old := defaultedPod()
	old.Spec.ActiveDeadlineSeconds = new(int32(60))
	old.Spec.Tolerations = []*corev1.Toleration{{Key: "k", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: new(int32(300))}}
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"deadline lowered", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = new(int32(30)) }, nil},
		{"deadline raised", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = new(int32(90)) }, []string{"spec.activeDeadlineSeconds" + invalid}},
		{"deadline removed", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil }, []string{"spec.activeDeadlineSeconds" + invalid}},
		{"tolerationSeconds changed", func(p *corev1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = new(int32(10)) }, nil},
		{"toleration effect changed", func(p *corev1.Pod) {
			p.Spec.Tolerations[0].Effect = "NoSchedule"
			p.Spec.Tolerations[0].TolerationSeconds = nil
		},
			[]string{"spec.tolerations" + forbidden}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newObj := defaultedPod()
			newObj.Spec.ActiveDeadlineSeconds = new(int32(60))
			newObj.Spec.Tolerations = []*corev1.Toleration{{Key: "k", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: new(int32(300))}}
			tt.mutate(newObj)
			expectErrors(t, ValidatePodUpdate(newObj, old), tt.want...)
		})
	}
}

func TestValidatePodStatusUpdate(t *testing.T) {
	tests := []struct {
		name     string
		oldPhase string
		status   *corev1.PodStatus
		want     []string
	}{
		{"running", "Pending", &corev1.PodStatus{Phase: "Running", PodIp: "10.244.1.5", HostIp: "192.168.1.10",
			PodIps:            []*corev1.PodIP{{Ip: "10.244.1.5"}},
			Conditions:        []*corev1.PodCondition{{Type: "Ready", Status: "True"}},
			ContainerStatuses: []*corev1.ContainerStatus{{Name: "web", RestartCount: 1}}}, nil},
		{"bad phase", "Pending", &corev1.PodStatus{Phase: "Sleeping"}, []string{"status.phase" + notSupported}},
		{"leaving a terminal phase", "Succeeded", &corev1.PodStatus{Phase: "Running"}, []string{"status.phase" + forbidden}},
		{"bad pod IP", "Pending", &corev1.PodStatus{Phase: "Running", PodIp: "10.244.1"}, []string{"status.podIP" + invalid}},
		{"bad podIPs", "Pending", &corev1.PodStatus{Phase: "Running", PodIps: []*corev1.PodIP{{Ip: "x"}}}, []string{"status.podIPs[0].ip" + invalid}},
		{"bad condition status", "Pending", &corev1.PodStatus{Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "Yes"}}},
			[]string{"status.conditions[0].status" + notSupported}},
		{"container status without name", "Pending", &corev1.PodStatus{ContainerStatuses: []*corev1.ContainerStatus{{}}},
			[]string{"status.containerStatuses[0].name" + required}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := defaultedPod()
			old.Status = &corev1.PodStatus{Phase: tt.oldPhase}
			newObj := defaultedPod()
			newObj.Status = tt.status
			expectErrors(t, ValidatePodStatusUpdate(newObj, old), tt.want...)
		})
	}
}

func TestValidatePodBinding(t *testing.T) {
	tests := []struct {
		name   string
		target *corev1.ObjectReference
		want   []string
	}{
		{"node", &corev1.ObjectReference{Kind: "Node", Name: "node-1"}, nil},
		{"no kind", &corev1.ObjectReference{Name: "node-1"}, nil},
		{"no target", nil, []string{"target" + required}},
		{"no name", &corev1.ObjectReference{Kind: "Node"}, []string{"target.name" + required}},
		{"not a node", &corev1.ObjectReference{Kind: "Pod", Name: "p"}, []string{"target.kind" + notSupported}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectErrors(t, ValidatePodBinding(&corev1.Binding{Target: tt.target}), tt.want...)
		})
	}
}
