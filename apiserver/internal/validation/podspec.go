package validation

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/intstr"
	"skiff.dev/proto/resource"
	apivalidation "skiff.dev/proto/validation"
	"skiff.dev/proto/validation/field"
)

var (
	restartPolicies    = []string{RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever}
	dnsPolicies        = []string{DNSClusterFirstWithHostNet, DNSClusterFirst, DNSDefault}
	pullPolicies       = []string{PullAlways, PullNever, PullIfNotPresent}
	protocols          = []string{ProtocolTCP, ProtocolUDP, ProtocolSCTP}
	uriSchemes         = []string{URISchemeHTTP, URISchemeHTTPS}
	taintEffects       = []string{TaintEffectNoSchedule, TaintEffectPreferNoSchedule, TaintEffectNoExecute}
	hostPathTypes      = []string{"DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"}
	storageMediums     = []string{"Memory"}
	envFieldPaths      = []string{"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"}
	containerResources = []string{"cpu", "memory", "ephemeral-storage"}

	httpHeaderNameRE  = regexp.MustCompile(`^[-A-Za-z0-9]+$`)
	subscriptFieldRE  = regexp.MustCompile(`^metadata\.(labels|annotations)\['([^']*)'\]$`)
	maxVolumeFileMode = int32(0o777)
)

// podSpecOptions says what a pod spec's context allows.
type podSpecOptions struct {
	// restartPolicies the spec may use: all for pods, Always for
	// ReplicaSet, Deployment and DaemonSet templates, OnFailure or Never
	// for Job templates.
	restartPolicies []string
}

var podOptions = podSpecOptions{restartPolicies: restartPolicies}

// validatePodSpec checks a pod spec (of a pod or of a template).
func validatePodSpec(s *corev1.PodSpec, p *field.Path, opts podSpecOptions) field.ErrorList {
	if s == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	volumes, errs := validateVolumes(s.Volumes, p.Child("volumes"))
	names := map[string]bool{}
	errs = append(errs, validateContainers(s.InitContainers, volumes, names, true, p.Child("initContainers"))...)
	if len(s.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), ""))
	}
	errs = append(errs, validateContainers(s.Containers, volumes, names, false, p.Child("containers"))...)
	errs = append(errs, validateHostPorts(s.InitContainers, p.Child("initContainers"))...)
	errs = append(errs, validateHostPorts(s.Containers, p.Child("containers"))...)
	if s.HostNetwork {
		errs = append(errs, validateHostNetwork(s.InitContainers, p.Child("initContainers"))...)
		errs = append(errs, validateHostNetwork(s.Containers, p.Child("containers"))...)
	}
	errs = append(errs, validateEnum(s.RestartPolicy, opts.restartPolicies, p.Child("restartPolicy"))...)
	errs = append(errs, validateOptionalNonnegative(s.TerminationGracePeriodSeconds, p.Child("terminationGracePeriodSeconds"))...)
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds < 1 {
		errs = append(errs, field.Invalid(p.Child("activeDeadlineSeconds"), *s.ActiveDeadlineSeconds, "must be greater than or equal to 1"))
	}
	errs = append(errs, validateEnum(s.DnsPolicy, dnsPolicies, p.Child("dnsPolicy"))...)
	errs = append(errs, validateLabels(s.NodeSelector, p.Child("nodeSelector"))...)
	if s.ServiceAccountName != "" {
		errs = append(errs, validateDNSSubdomain(s.ServiceAccountName, p.Child("serviceAccountName"))...)
	}
	if s.NodeName != "" {
		errs = append(errs, validateDNSSubdomain(s.NodeName, p.Child("nodeName"))...)
	}
	if s.Hostname != "" {
		errs = append(errs, validateDNSLabel(s.Hostname, p.Child("hostname"))...)
	}
	if s.Subdomain != "" {
		errs = append(errs, validateDNSLabel(s.Subdomain, p.Child("subdomain"))...)
	}
	if s.SchedulerName != "" {
		errs = append(errs, validateDNSSubdomain(s.SchedulerName, p.Child("schedulerName"))...)
	}
	errs = append(errs, validateAffinity(s.Affinity, p.Child("affinity"))...)
	errs = append(errs, validateTolerations(s.Tolerations, p.Child("tolerations"))...)
	return errs
}

// ---------------------------------------------------------------- volumes

// validateVolumes checks the pod's volumes and returns the set of their names.
func validateVolumes(volumes []*corev1.Volume, p *field.Path) (map[string]bool, field.ErrorList) {
	names := map[string]bool{}
	var errs field.ErrorList
	for i, v := range volumes {
		ip := p.Index(i)
		if v == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(ip.Child("name"), ""))
		case names[v.Name]:
			errs = append(errs, field.Duplicate(ip.Child("name"), v.Name))
		default:
			errs = append(errs, validateDNSLabel(v.Name, ip.Child("name"))...)
		}
		names[v.Name] = true
		errs = append(errs, validateVolumeSource(v, ip)...)
	}
	return names, errs
}

// validateVolumeSource checks that a volume has exactly one source and that
// the source is valid.
func validateVolumeSource(v *corev1.Volume, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(set bool, name string) bool {
		if !set {
			return false
		}
		n++
		if n > 1 {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 volume type"))
			return false
		}
		return true
	}
	if one(v.HostPath != nil, "hostPath") {
		hp := p.Child("hostPath")
		if v.HostPath.Path == "" {
			errs = append(errs, field.Required(hp.Child("path"), ""))
		}
		errs = append(errs, validateNoBacksteps(v.HostPath.Path, hp.Child("path"))...)
		errs = append(errs, validateOptionalEnum(v.HostPath.Type, hostPathTypes, hp.Child("type"))...)
	}
	if one(v.EmptyDir != nil, "emptyDir") {
		ep := p.Child("emptyDir")
		errs = append(errs, validateOptionalEnum(v.EmptyDir.Medium, storageMediums, ep.Child("medium"))...)
		if v.EmptyDir.SizeLimit != "" {
			errs = append(errs, validateQuantity(v.EmptyDir.SizeLimit, ep.Child("sizeLimit"))...)
		}
	}
	if one(v.ConfigMap != nil, "configMap") {
		cp := p.Child("configMap")
		if v.ConfigMap.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		} else {
			errs = append(errs, validateDNSSubdomain(v.ConfigMap.Name, cp.Child("name"))...)
		}
		errs = append(errs, validateKeyToPaths(v.ConfigMap.Items, cp.Child("items"))...)
		errs = append(errs, validateFileMode(v.ConfigMap.DefaultMode, cp.Child("defaultMode"))...)
	}
	if one(v.Secret != nil, "secret") {
		sp := p.Child("secret")
		if v.Secret.SecretName == "" {
			errs = append(errs, field.Required(sp.Child("secretName"), ""))
		} else {
			errs = append(errs, validateDNSSubdomain(v.Secret.SecretName, sp.Child("secretName"))...)
		}
		errs = append(errs, validateKeyToPaths(v.Secret.Items, sp.Child("items"))...)
		errs = append(errs, validateFileMode(v.Secret.DefaultMode, sp.Child("defaultMode"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a volume type"))
	}
	return errs
}

// validateKeyToPaths checks the items a configMap or secret volume projects.
func validateKeyToPaths(items []*corev1.KeyToPath, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, it := range items {
		ip := p.Index(i)
		if it == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		if it.Key == "" {
			errs = append(errs, field.Required(ip.Child("key"), ""))
		} else {
			errs = append(errs, invalidAll(ip.Child("key"), it.Key, isConfigMapKey(it.Key))...)
		}
		if it.Path == "" {
			errs = append(errs, field.Required(ip.Child("path"), ""))
		} else {
			errs = append(errs, validateRelativePath(it.Path, ip.Child("path"))...)
		}
		errs = append(errs, validateFileMode(it.Mode, ip.Child("mode"))...)
	}
	return errs
}

// validateFileMode checks an optional file mode of a projected file.
func validateFileMode(mode *int32, p *field.Path) field.ErrorList {
	if mode != nil && (*mode < 0 || *mode > maxVolumeFileMode) {
		return field.ErrorList{field.Invalid(p, *mode, "must be a number between 0 and 0777 (octal), both inclusive")}
	}
	return nil
}

// ---------------------------------------------------------------- containers

// validateContainers checks a list of containers; names collects container
// names across init and regular containers so that they are unique.
func validateContainers(containers []*corev1.Container, volumes, names map[string]bool, init bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range containers {
		ip := p.Index(i)
		if c == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(ip.Child("name"), ""))
		case names[c.Name]:
			errs = append(errs, field.Duplicate(ip.Child("name"), c.Name))
		default:
			errs = append(errs, validateDNSLabel(c.Name, ip.Child("name"))...)
		}
		names[c.Name] = true
		errs = append(errs, validateContainer(c, volumes, init, ip)...)
	}
	return errs
}

// validateContainer checks one container, except its name.
func validateContainer(c *corev1.Container, volumes map[string]bool, init bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case c.Image == "":
		errs = append(errs, field.Required(p.Child("image"), ""))
	case c.Image != strings.TrimSpace(c.Image):
		errs = append(errs, field.Invalid(p.Child("image"), c.Image, "must not have leading or trailing whitespace"))
	}
	errs = append(errs, validateEnum(c.ImagePullPolicy, pullPolicies, p.Child("imagePullPolicy"))...)
	errs = append(errs, validateContainerPorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateResources(c.Resources, p.Child("resources"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, volumes, p.Child("volumeMounts"))...)
	probes := []struct {
		probe *corev1.Probe
		name  string
	}{{c.LivenessProbe, "livenessProbe"}, {c.ReadinessProbe, "readinessProbe"}, {c.StartupProbe, "startupProbe"}}
	for _, pr := range probes {
		switch {
		case pr.probe == nil:
		case init:
			errs = append(errs, field.Forbidden(p.Child(pr.name), "may not be set for init containers"))
		default:
			errs = append(errs, validateProbe(pr.probe, pr.name, p.Child(pr.name))...)
		}
	}
	return errs
}

// validateContainerPorts checks port numbers, names (unique IANA names)
// and protocols.
func validateContainerPorts(ports []*corev1.ContainerPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, port := range ports {
		ip := p.Index(i)
		if port == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		if port.Name != "" {
			if names[port.Name] {
				errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
			} else {
				errs = append(errs, invalidAll(ip.Child("name"), port.Name, intstr.IsValidPortName(port.Name))...)
			}
			names[port.Name] = true
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(ip.Child("containerPort"), ""))
		} else {
			errs = append(errs, invalidAll(ip.Child("containerPort"), port.ContainerPort, apivalidation.IsValidPortNum(int(port.ContainerPort)))...)
		}
		if port.HostPort != 0 {
			errs = append(errs, invalidAll(ip.Child("hostPort"), port.HostPort, apivalidation.IsValidPortNum(int(port.HostPort)))...)
		}
		errs = append(errs, validateEnum(port.Protocol, protocols, ip.Child("protocol"))...)
		if port.HostIp != "" {
			errs = append(errs, validateIP(port.HostIp, ip.Child("hostIP"))...)
		}
	}
	return errs
}

// validateHostPorts reports a host port and protocol used twice among
// containers that run side by side.
func validateHostPorts(containers []*corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, c := range containers {
		for j, port := range c.GetPorts() {
			if port == nil || port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%d/%s", port.HostIp, port.HostPort, port.Protocol)
			if seen[key] {
				errs = append(errs, field.Duplicate(p.Index(i).Child("ports").Index(j).Child("hostPort"),
					fmt.Sprintf("%d/%s", port.HostPort, port.Protocol)))
			}
			seen[key] = true
		}
	}
	return errs
}

// validateHostNetwork checks that under hostNetwork every container port is
// exposed as the same host port.
func validateHostNetwork(containers []*corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range containers {
		for j, port := range c.GetPorts() {
			if port != nil && port.HostPort != port.ContainerPort {
				errs = append(errs, field.Invalid(p.Index(i).Child("ports").Index(j).Child("hostPort"), port.HostPort,
					"must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

// validateEnv checks env var names and their value sources.
func validateEnv(env []*corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range env {
		ip := p.Index(i)
		if ev == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		if ev.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		} else {
			errs = append(errs, invalidAll(ip.Child("name"), ev.Name, isEnvVarName(ev.Name))...)
		}
		errs = append(errs, validateEnvVarSource(ev, ip.Child("valueFrom"))...)
	}
	return errs
}

// validateEnvVarSource checks that valueFrom names exactly one source and
// is not combined with value.
func validateEnvVarSource(ev *corev1.EnvVar, p *field.Path) field.ErrorList {
	src := ev.ValueFrom
	if src == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if src.FieldRef != nil {
		n++
		errs = append(errs, validateObjectFieldSelector(src.FieldRef, p.Child("fieldRef"))...)
	}
	if src.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(src.ConfigMapKeyRef.Name, src.ConfigMapKeyRef.Key, p.Child("configMapKeyRef"))...)
	}
	if src.SecretKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(src.SecretKeyRef.Name, src.SecretKeyRef.Key, p.Child("secretKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(p, "", "must specify one of: `fieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case n > 1:
		errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
	}
	if ev.Value != "" {
		errs = append(errs, field.Invalid(p, "", "may not be specified when `value` is not empty"))
	}
	return errs
}

// validateObjectFieldSelector checks a downward-API field reference.
func validateObjectFieldSelector(ref *corev1.ObjectFieldSelector, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.ApiVersion == "" {
		errs = append(errs, field.Required(p.Child("apiVersion"), ""))
	} else if ref.ApiVersion != "v1" {
		errs = append(errs, field.NotSupported(p.Child("apiVersion"), ref.ApiVersion, []string{"v1"}))
	}
	fp := p.Child("fieldPath")
	switch m := subscriptFieldRE.FindStringSubmatch(ref.FieldPath); {
	case ref.FieldPath == "":
		errs = append(errs, field.Required(fp, ""))
	case m != nil:
		errs = append(errs, invalidAll(fp, ref.FieldPath, apivalidation.IsQualifiedName(strings.ToLower(m[2])))...)
	case !slices.Contains(envFieldPaths, ref.FieldPath):
		errs = append(errs, field.NotSupported(fp, ref.FieldPath,
			append(append([]string(nil), envFieldPaths...), "metadata.labels['<KEY>']", "metadata.annotations['<KEY>']")))
	}
	return errs
}

// validateKeySelector checks a reference to one key of a ConfigMap or Secret.
func validateKeySelector(name, key string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, validateDNSSubdomain(name, p.Child("name"))...)
	}
	if key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	} else {
		errs = append(errs, invalidAll(p.Child("key"), key, isConfigMapKey(key))...)
	}
	return errs
}

// validateEnvFrom checks that each envFrom names exactly one ConfigMap or
// Secret and that its prefix makes valid env var names.
func validateEnvFrom(sources []*corev1.EnvFromSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, src := range sources {
		ip := p.Index(i)
		if src == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		if src.Prefix != "" {
			errs = append(errs, invalidAll(ip.Child("prefix"), src.Prefix, isEnvVarName(src.Prefix))...)
		}
		n := 0
		if src.ConfigMapRef != nil {
			n++
			errs = append(errs, validateRefName(src.ConfigMapRef.Name, ip.Child("configMapRef", "name"))...)
		}
		if src.SecretRef != nil {
			n++
			errs = append(errs, validateRefName(src.SecretRef.Name, ip.Child("secretRef", "name"))...)
		}
		switch {
		case n == 0:
			errs = append(errs, field.Invalid(ip, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(ip, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

// validateRefName checks a required name of a referenced object.
func validateRefName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return validateDNSSubdomain(name, p)
}

// validateResources checks resource names and quantities, and that no
// request exceeds its limit.
func validateResources(r *corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	limits := map[string]resource.Quantity{}
	lp := p.Child("limits")
	for _, k := range sortedKeys(r.Limits) {
		errs = append(errs, validateResourceName(k, lp.Key(k))...)
		q, qerrs := parseNonnegativeQuantity(r.Limits[k], lp.Key(k))
		errs = append(errs, qerrs...)
		if qerrs == nil {
			limits[k] = q
		}
	}
	rp := p.Child("requests")
	for _, k := range sortedKeys(r.Requests) {
		errs = append(errs, validateResourceName(k, rp.Key(k))...)
		q, qerrs := parseNonnegativeQuantity(r.Requests[k], rp.Key(k))
		errs = append(errs, qerrs...)
		if limit, ok := limits[k]; ok && qerrs == nil && q.Cmp(limit) > 0 {
			errs = append(errs, field.Invalid(rp.Key(k), r.Requests[k],
				fmt.Sprintf("must be less than or equal to %s limit of %s", k, r.Limits[k])))
		}
	}
	return errs
}

// validateResourceName checks a container resource name: cpu, memory,
// ephemeral-storage, hugepages-<size>, or a domain-prefixed extended resource.
func validateResourceName(name string, p *field.Path) field.ErrorList {
	if errs := validateLabelName(name, p); len(errs) > 0 {
		return errs
	}
	if strings.Contains(name, "/") || slices.Contains(containerResources, name) || strings.HasPrefix(name, "hugepages-") {
		return nil
	}
	return field.ErrorList{field.Invalid(p, name, "must be a standard resource for containers")}
}

// parseNonnegativeQuantity parses a quantity that may not be negative.
func parseNonnegativeQuantity(v string, p *field.Path) (resource.Quantity, field.ErrorList) {
	q, err := resource.ParseQuantity(v)
	switch {
	case errors.Is(err, resource.ErrFormatWrong):
		// The error repeats the value, which the field error shows already.
		return q, field.ErrorList{field.Invalid(p, v, resource.ErrFormatWrong.Error())}
	case err != nil:
		return q, field.ErrorList{field.Invalid(p, v, err.Error())}
	case q.Sign() < 0:
		return q, field.ErrorList{field.Invalid(p, v, isNegativeMsg)}
	}
	return q, nil
}

// validateQuantity checks a quantity field that may not be negative.
func validateQuantity(v string, p *field.Path) field.ErrorList {
	_, errs := parseNonnegativeQuantity(v, p)
	return errs
}

// validateVolumeMounts checks that mounts name existing volumes at
// absolute, distinct paths.
func validateVolumeMounts(mounts []*corev1.VolumeMount, volumes map[string]bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := map[string]bool{}
	for i, m := range mounts {
		ip := p.Index(i)
		if m == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		switch {
		case m.Name == "":
			errs = append(errs, field.Required(ip.Child("name"), ""))
		case !volumes[m.Name]:
			errs = append(errs, notFound(ip.Child("name"), m.Name))
		}
		mp := ip.Child("mountPath")
		switch {
		case m.MountPath == "":
			errs = append(errs, field.Required(mp, ""))
		case !strings.HasPrefix(m.MountPath, "/"):
			errs = append(errs, field.Invalid(mp, m.MountPath, "must be an absolute path"))
		case paths[m.MountPath]:
			errs = append(errs, field.Invalid(mp, m.MountPath, "must be unique"))
		}
		paths[m.MountPath] = true
		if m.SubPath != "" {
			errs = append(errs, validateRelativePath(m.SubPath, ip.Child("subPath"))...)
		}
	}
	return errs
}

// validateProbe checks that a probe has exactly one valid handler and sane
// timings. name is the probe's field: livenessProbe, readinessProbe or
// startupProbe.
func validateProbe(pr *corev1.Probe, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(set bool, handler string) bool {
		if !set {
			return false
		}
		n++
		if n > 1 {
			errs = append(errs, field.Forbidden(p.Child(handler), "may not specify more than 1 handler type"))
			return false
		}
		return true
	}
	if one(pr.Exec != nil, "exec") && len(pr.Exec.Command) == 0 {
		errs = append(errs, field.Required(p.Child("exec", "command"), ""))
	}
	if one(pr.HttpGet != nil, "httpGet") {
		errs = append(errs, validateHTTPGetAction(pr.HttpGet, p.Child("httpGet"))...)
	}
	if one(pr.TcpSocket != nil, "tcpSocket") {
		errs = append(errs, validatePortNumOrName(pr.TcpSocket.Port, p.Child("tcpSocket", "port"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a handler type"))
	}
	errs = append(errs, validateNonnegative(int64(pr.InitialDelaySeconds), p.Child("initialDelaySeconds"))...)
	errs = append(errs, validateNonnegative(int64(pr.TimeoutSeconds), p.Child("timeoutSeconds"))...)
	errs = append(errs, validateNonnegative(int64(pr.PeriodSeconds), p.Child("periodSeconds"))...)
	errs = append(errs, validateNonnegative(int64(pr.SuccessThreshold), p.Child("successThreshold"))...)
	errs = append(errs, validateNonnegative(int64(pr.FailureThreshold), p.Child("failureThreshold"))...)
	if name != "readinessProbe" && pr.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
	}
	if g := pr.TerminationGracePeriodSeconds; g != nil {
		if name == "readinessProbe" {
			errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *g, "must not be set for readinessProbes"))
		} else {
			errs = append(errs, validatePositive(int64(*g), p.Child("terminationGracePeriodSeconds"))...)
		}
	}
	return errs
}

// validateHTTPGetAction checks an httpGet probe's path, port, scheme and headers.
func validateHTTPGetAction(h *corev1.HTTPGetAction, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	errs = append(errs, validatePortNumOrName(h.Port, p.Child("port"))...)
	errs = append(errs, validateEnum(h.Scheme, uriSchemes, p.Child("scheme"))...)
	for i, hd := range h.HttpHeaders {
		if !httpHeaderNameRE.MatchString(hd.GetName()) {
			errs = append(errs, field.Invalid(p.Child("httpHeaders").Index(i).Child("name"), hd.GetName(),
				"a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name')"))
		}
	}
	return errs
}

// ---------------------------------------------------------------- scheduling

// validateTolerations checks toleration keys, operators, values and effects.
func validateTolerations(tolerations []*corev1.Toleration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		ip := p.Index(i)
		if t == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		if t.Key != "" {
			errs = append(errs, validateLabelName(t.Key, ip.Child("key"))...)
		} else if t.Operator != TolerationOpExists {
			errs = append(errs, field.Invalid(ip.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != TaintEffectNoExecute {
			errs = append(errs, field.Invalid(ip.Child("effect"), t.Effect,
				"effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case TolerationOpEqual, "":
			errs = append(errs, invalidAll(ip.Child("value"), t.Value, apivalidation.IsValidLabelValue(t.Value))...)
		case TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(ip.Child("value"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(ip.Child("operator"), t.Operator, []string{TolerationOpEqual, TolerationOpExists}))
		}
		errs = append(errs, validateOptionalEnum(t.Effect, taintEffects, ip.Child("effect"))...)
	}
	return errs
}

// validateAffinity checks node affinity: required terms and weighted
// preferred terms.
func validateAffinity(a *corev1.Affinity, p *field.Path) field.ErrorList {
	na := a.GetNodeAffinity()
	if na == nil {
		return nil
	}
	np := p.Child("nodeAffinity")
	var errs field.ErrorList
	if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
		rp := np.Child("requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
		if len(req.NodeSelectorTerms) == 0 {
			errs = append(errs, field.Required(rp, "must have at least one node selector term"))
		}
		for i, t := range req.NodeSelectorTerms {
			errs = append(errs, validateNodeSelectorTerm(t, rp.Index(i))...)
		}
	}
	pp := np.Child("preferredDuringSchedulingIgnoredDuringExecution")
	for i, t := range na.PreferredDuringSchedulingIgnoredDuringExecution {
		ip := pp.Index(i)
		if t == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		if t.Weight < 1 || t.Weight > 100 {
			errs = append(errs, field.Invalid(ip.Child("weight"), t.Weight, "must be in the range 1-100"))
		}
		if t.Preference == nil {
			errs = append(errs, field.Required(ip.Child("preference"), ""))
			continue
		}
		errs = append(errs, validateNodeSelectorTerm(t.Preference, ip.Child("preference"))...)
	}
	return errs
}

// validateNodeSelectorTerm checks a term's label expressions and field
// expressions (only metadata.name, with In or NotIn and one value).
func validateNodeSelectorTerm(t *corev1.NodeSelectorTerm, p *field.Path) field.ErrorList {
	if t == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for i, r := range t.MatchExpressions {
		errs = append(errs, validateNodeSelectorRequirement(r, p.Child("matchExpressions").Index(i))...)
	}
	for i, r := range t.MatchFields {
		ip := p.Child("matchFields").Index(i)
		if r == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		if r.Key != "metadata.name" {
			errs = append(errs, field.NotSupported(ip.Child("key"), r.Key, []string{"metadata.name"}))
		}
		switch r.Operator {
		case opIn, opNotIn:
			if len(r.Values) != 1 {
				errs = append(errs, field.Required(ip.Child("values"),
					"must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
			}
		default:
			errs = append(errs, field.NotSupported(ip.Child("operator"), r.Operator, []string{opIn, opNotIn}))
		}
	}
	return errs
}

// validateNodeSelectorRequirement checks one node label expression.
func validateNodeSelectorRequirement(r *corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	if r == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	vp := p.Child("values")
	switch r.Operator {
	case opIn, opNotIn:
		if len(r.Values) == 0 {
			errs = append(errs, field.Required(vp, "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case opExists, opDoesNotExist:
		if len(r.Values) > 0 {
			errs = append(errs, field.Forbidden(vp, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case opGt, opLt:
		if len(r.Values) != 1 {
			errs = append(errs, field.Required(vp, "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		} else if _, err := strconv.ParseInt(r.Values[0], 10, 64); err != nil {
			errs = append(errs, field.Invalid(vp.Index(0), r.Values[0], "must be an integer when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("operator"), r.Operator,
			[]string{opIn, opNotIn, opExists, opDoesNotExist, opGt, opLt}))
	}
	errs = append(errs, validateLabelName(r.Key, p.Child("key"))...)
	if r.Operator != opGt && r.Operator != opLt {
		for j, v := range r.Values {
			errs = append(errs, invalidAll(vp.Index(j), v, apivalidation.IsValidLabelValue(v))...)
		}
	}
	return errs
}
