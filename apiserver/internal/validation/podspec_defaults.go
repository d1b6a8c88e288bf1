package validation

import (
	"strings"

	corev1 "skiff.dev/proto/core/v1"
)

// Values of pod and container fields, as Kubernetes spells them.
const (
	RestartPolicyAlways    = "Always"
	RestartPolicyOnFailure = "OnFailure"
	RestartPolicyNever     = "Never"

	DNSClusterFirst            = "ClusterFirst"
	DNSClusterFirstWithHostNet = "ClusterFirstWithHostNet"
	DNSDefault                 = "Default"

	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"

	ProtocolTCP  = "TCP"
	ProtocolUDP  = "UDP"
	ProtocolSCTP = "SCTP"

	URISchemeHTTP  = "HTTP"
	URISchemeHTTPS = "HTTPS"

	TolerationOpEqual  = "Equal"
	TolerationOpExists = "Exists"

	TaintEffectNoSchedule       = "NoSchedule"
	TaintEffectPreferNoSchedule = "PreferNoSchedule"
	TaintEffectNoExecute        = "NoExecute"

	// DefaultSchedulerName is the scheduler a pod gets when it names none.
	DefaultSchedulerName = "default-scheduler"
	// DefaultTerminationGracePeriodSeconds is a pod's default grace period.
	DefaultTerminationGracePeriodSeconds = 30
	// DefaultTerminationMessagePath is where a container may write why it ended.
	DefaultTerminationMessagePath = "/dev/termination-log"
	// DefaultVolumeMode is the file mode of configMap and secret volume files (0644).
	DefaultVolumeMode = 0o644
)

// defaultPodSpec fills a pod spec's defaults. restartPolicy is left as
// given when keepRestartPolicy is set (Job templates).
func defaultPodSpec(s *corev1.PodSpec, keepRestartPolicy bool) {
	if s == nil {
		return
	}
	if s.RestartPolicy == "" && !keepRestartPolicy {
		s.RestartPolicy = RestartPolicyAlways
	}
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = new(int32(DefaultTerminationGracePeriodSeconds))
	}
	if s.DnsPolicy == "" {
		s.DnsPolicy = DNSClusterFirst
	}
	if s.SchedulerName == "" {
		s.SchedulerName = DefaultSchedulerName
	}
	if s.EnableServiceLinks == nil {
		s.EnableServiceLinks = new(true)
	}
	for _, v := range s.Volumes {
		defaultVolume(v)
	}
	for _, c := range s.InitContainers {
		defaultContainer(c, s.HostNetwork)
	}
	for _, c := range s.Containers {
		defaultContainer(c, s.HostNetwork)
	}
	for _, t := range s.Tolerations {
		if t != nil && t.Operator == "" {
			t.Operator = TolerationOpEqual
		}
	}
}

// defaultVolume makes a volume with no source an emptyDir and gives
// configMap and secret volumes their default file mode.
func defaultVolume(v *corev1.Volume) {
	if v == nil {
		return
	}
	if v.HostPath == nil && v.EmptyDir == nil && v.ConfigMap == nil && v.Secret == nil {
		v.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if v.ConfigMap != nil && v.ConfigMap.DefaultMode == nil {
		v.ConfigMap.DefaultMode = new(int32(DefaultVolumeMode))
	}
	if v.Secret != nil && v.Secret.DefaultMode == nil {
		v.Secret.DefaultMode = new(int32(DefaultVolumeMode))
	}
}

// defaultContainer fills a container's defaults: pull policy from the
// image tag, port protocols (and host ports under hostNetwork), the
// termination message path, env field reference versions and probes.
func defaultContainer(c *corev1.Container, hostNetwork bool) {
	if c == nil {
		return
	}
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = PullAlways
		} else {
			c.ImagePullPolicy = PullIfNotPresent
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = DefaultTerminationMessagePath
	}
	for _, p := range c.Ports {
		if p == nil {
			continue
		}
		if p.Protocol == "" {
			p.Protocol = ProtocolTCP
		}
		if hostNetwork && p.HostPort == 0 {
			p.HostPort = p.ContainerPort
		}
	}
	for _, e := range c.Env {
		if ref := e.GetValueFrom().GetFieldRef(); ref != nil && ref.ApiVersion == "" {
			ref.ApiVersion = "v1"
		}
	}
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
}

// imageTag is the tag an image reference pulls: "latest" when it names
// neither tag nor digest, "" when it names only a digest.
func imageTag(image string) string {
	name, _, hasDigest := strings.Cut(image, "@")
	last := name[strings.LastIndex(name, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		return last[i+1:]
	}
	if hasDigest {
		return ""
	}
	return "latest"
}

// defaultProbe fills a probe's timings and its httpGet path and scheme.
func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if h := p.HttpGet; h != nil {
		if h.Path == "" {
			h.Path = "/"
		}
		if h.Scheme == "" {
			h.Scheme = URISchemeHTTP
		}
	}
}

// defaultPodRequests sets each container's missing requests to its limits,
// as Kubernetes does for pods (not for templates).
func defaultPodRequests(s *corev1.PodSpec) {
	for _, c := range append(append([]*corev1.Container(nil), s.GetInitContainers()...), s.GetContainers()...) {
		if c == nil || len(c.GetResources().GetLimits()) == 0 {
			continue
		}
		if c.Resources.Requests == nil {
			c.Resources.Requests = map[string]string{}
		}
		for k, v := range c.Resources.Limits {
			if _, ok := c.Resources.Requests[k]; !ok {
				c.Resources.Requests[k] = v
			}
		}
	}
}
