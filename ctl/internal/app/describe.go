package app

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"
	"sigs.k8s.io/yaml"

	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/printers"
)

// maxAnnotationLen is where describe cuts long annotation values.
const maxAnnotationLen = 140

func (c *cli) describeCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "describe TYPE NAME | TYPE/NAME",
		Short:             "Show details of a resource and its recent events",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeResources,
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := parseTargets(args)
			if err != nil {
				return err
			}
			d, err := c.dyn()
			if err != nil {
				return err
			}
			first := true
			for _, t := range ts {
				ns := c.namespace()
				if !t.r.Namespaced {
					ns = ""
				}
				var objs []object
				if len(t.names) == 0 {
					if objs, _, err = d.List(cmd.Context(), t.r, &metav1.ListOptions{Namespace: ns}); err != nil {
						return err
					}
				}
				for _, n := range t.names {
					o, err := d.Get(cmd.Context(), t.r, ns, n)
					if err != nil {
						return err
					}
					objs = append(objs, o)
				}
				for _, o := range objs {
					if !first {
						fmt.Fprintln(c.out)
					}
					first = false
					if err := c.describe(cmd.Context(), d, t.r, o); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}

// describeWriter is kubectl's describe PrefixWriter: levels indent by two
// spaces, tabs align values with two spaces of padding.
type describeWriter struct {
	tw *tabwriter.Writer
}

func newPaddedTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
}

func newDescribeWriter(w io.Writer) *describeWriter {
	return &describeWriter{tw: newPaddedTabWriter(w)}
}

func (w *describeWriter) write(level int, format string, a ...any) {
	fmt.Fprintf(w.tw, strings.Repeat("  ", level)+format, a...)
}

func (w *describeWriter) flush() { w.tw.Flush() }

func (c *cli) describe(ctx context.Context, d dynamic, r *resource, o object) error {
	w := newDescribeWriter(c.out)
	switch x := o.(type) {
	case *corev1.Pod:
		describePod(w, x)
	case *appsv1.Deployment:
		if err := describeDeployment(ctx, d, w, x); err != nil {
			return err
		}
	case *appsv1.ReplicaSet:
		if err := describeReplicaSet(ctx, d, w, x); err != nil {
			return err
		}
	case *corev1.Service:
		describeService(ctx, d, w, x)
	case *corev1.Node:
		describeNode(w, x)
	default:
		m := o.GetMetadata()
		w.write(0, "Name:\t%s\n", m.GetName())
		if r.Namespaced {
			w.write(0, "Namespace:\t%s\n", m.GetNamespace())
		}
		labelsMultiline(w, "Labels", m.GetLabels())
		annotationsMultiline(w, "Annotations", m.GetAnnotations())
		w.write(0, "CreationTimestamp:\t%s\n", formatTime(m.GetCreationTimestamp()))
		w.flush()
		if err := describeRest(c.out, o); err != nil {
			return err
		}
	}
	if err := c.describeEvents(ctx, d, w, r, o); err != nil {
		return err
	}
	w.flush()
	return nil
}

// describeRest prints the fields of o other than its type and metadata,
// as YAML, for kinds without a dedicated describer.
func describeRest(w io.Writer, o object) error {
	y, err := toYAML(o)
	if err != nil {
		return err
	}
	var all map[string]any
	if err := yaml.Unmarshal(y, &all); err != nil {
		return err
	}
	for _, k := range []string{"apiVersion", "kind", "metadata"} {
		delete(all, k)
	}
	if len(all) == 0 {
		return nil
	}
	b, err := yaml.Marshal(all)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// describeEvents prints the object's events, oldest first, in kubectl's
// table: Type Reason Age From Message.
func (c *cli) describeEvents(ctx context.Context, d dynamic, w *describeWriter, r *resource, o object) error {
	m := o.GetMetadata()
	sel := "involvedObject.kind=" + r.Kind + ",involvedObject.name=" + m.GetName()
	if r.Namespaced {
		// A cluster-scoped object's events live in any namespace, and
		// kubelets name nodes by name, not uid.
		sel += ",involvedObject.namespace=" + m.GetNamespace() + ",involvedObject.uid=" + m.GetUid()
	}
	objs, _, err := d.List(ctx, resourceMust("events"), &metav1.ListOptions{Namespace: m.GetNamespace(), FieldSelector: sel})
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		w.write(0, "Events:\t<none>\n")
		return nil
	}
	w.flush()
	events := make([]*corev1.Event, len(objs))
	for i, e := range objs {
		events[i] = e.(*corev1.Event)
	}
	sortEvents(events)
	w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
	w.write(1, "----\t------\t----\t----\t-------\n")
	now := c.now()
	for _, e := range events {
		from := e.GetSource().GetComponent()
		if from == "" {
			from = e.GetReportingComponent()
		}
		w.write(1, "%s\t%s\t%s\t%s\t%s\n", e.GetType(), e.GetReason(), eventInterval(e, now), from, strings.TrimSpace(e.GetMessage()))
	}
	return nil
}

func formatTime(t *timestamppb.Timestamp) string {
	if t == nil {
		return "<unset>"
	}
	return t.AsTime().Local().Format(time.RFC1123Z)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// labelsMultiline prints "Title:\tk=v" and the other labels on lines of
// their own, aligned.
func labelsMultiline(w *describeWriter, title string, m map[string]string) {
	w.write(0, "%s:\t", title)
	if len(m) == 0 {
		w.write(0, "<none>\n")
		return
	}
	for i, k := range sortedKeys(m) {
		if i > 0 {
			w.write(0, "\t")
		}
		w.write(0, "%s=%s\n", k, m[k])
	}
}

// annotationsMultiline is labelsMultiline for annotations: "k: v", long
// values cut, the last-applied-configuration left out.
func annotationsMultiline(w *describeWriter, title string, m map[string]string) {
	w.write(0, "%s:\t", title)
	var keys []string
	for _, k := range sortedKeys(m) {
		if k != "kubectl.kubernetes.io/last-applied-configuration" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		w.write(0, "<none>\n")
		return
	}
	for i, k := range keys {
		if i > 0 {
			w.write(0, "\t")
		}
		line := k + ": " + m[k]
		if len(line) > maxAnnotationLen {
			line = line[:maxAnnotationLen] + "..."
		}
		w.write(0, "%s\n", line)
	}
}

func controlledBy(w *describeWriter, m *metav1.ObjectMeta) {
	if ref := controllerOf(m); ref != nil {
		w.write(0, "Controlled By:\t%s/%s\n", ref.GetKind(), ref.GetName())
	}
}

func describePod(w *describeWriter, p *corev1.Pod) {
	m, s, st := p.GetMetadata(), p.GetSpec(), p.GetStatus()
	w.write(0, "Name:\t%s\n", m.GetName())
	w.write(0, "Namespace:\t%s\n", m.GetNamespace())
	if s.Priority != nil {
		w.write(0, "Priority:\t%d\n", s.GetPriority())
	}
	w.write(0, "Service Account:\t%s\n", s.GetServiceAccountName())
	if s.GetNodeName() == "" {
		w.write(0, "Node:\t<none>\n")
	} else {
		w.write(0, "Node:\t%s/%s\n", s.GetNodeName(), st.GetHostIp())
	}
	if st.GetStartTime() != nil {
		w.write(0, "Start Time:\t%s\n", formatTime(st.GetStartTime()))
	}
	labelsMultiline(w, "Labels", m.GetLabels())
	annotationsMultiline(w, "Annotations", m.GetAnnotations())
	if m.GetDeletionTimestamp() != nil {
		w.write(0, "Status:\tTerminating (lasts %s)\n", printers.HumanDuration(time.Until(m.GetDeletionTimestamp().AsTime())))
		w.write(0, "Termination Grace Period:\t%ds\n", m.GetDeletionGracePeriodSeconds())
	} else {
		w.write(0, "Status:\t%s\n", st.GetPhase())
	}
	if st.GetReason() != "" {
		w.write(0, "Reason:\t%s\n", st.GetReason())
	}
	if st.GetMessage() != "" {
		w.write(0, "Message:\t%s\n", st.GetMessage())
	}
	w.write(0, "IP:\t%s\n", st.GetPodIp())
	if len(st.GetPodIps()) == 0 {
		w.write(0, "IPs:\t<none>\n")
	} else {
		w.write(0, "IPs:\n")
		for _, ip := range st.GetPodIps() {
			w.write(1, "IP:\t%s\n", ip.GetIp())
		}
	}
	controlledBy(w, m)
	if len(s.GetInitContainers()) > 0 {
		describeContainers(w, "Init Containers", s.GetInitContainers(), st.GetInitContainerStatuses(), "")
	}
	describeContainers(w, "Containers", s.GetContainers(), st.GetContainerStatuses(), "")
	if len(st.GetConditions()) > 0 {
		w.write(0, "Conditions:\n  Type\tStatus\n")
		for _, c := range st.GetConditions() {
			w.write(1, "%v \t%v \n", c.GetType(), c.GetStatus())
		}
	}
	describeVolumes(w, s.GetVolumes(), "")
	qos := st.GetQosClass()
	if qos == "" {
		qos = podQOS(s)
	}
	w.write(0, "QoS Class:\t%s\n", qos)
	labelsMultiline(w, "Node-Selectors", s.GetNodeSelector())
	tolerationsMultiline(w, "Tolerations", s.GetTolerations())
}

// podQOS is the pod's quality of service class, computed as the kubelet
// does when status does not carry it yet.
func podQOS(s *corev1.PodSpec) string {
	some, guaranteed := false, true
	for _, c := range append(s.GetInitContainers(), s.GetContainers()...) {
		req, lim := c.GetResources().GetRequests(), c.GetResources().GetLimits()
		if len(req)+len(lim) > 0 {
			some = true
		}
		for _, r := range []string{"cpu", "memory"} {
			l, ok := lim[r]
			if !ok {
				guaranteed = false
			} else if q, ok := req[r]; ok && q != l {
				guaranteed = false
			}
		}
	}
	switch {
	case !some:
		return "BestEffort"
	case guaranteed:
		return "Guaranteed"
	}
	return "Burstable"
}

func tolerationsMultiline(w *describeWriter, title string, ts []*corev1.Toleration) {
	w.write(0, "%s:\t", title)
	if len(ts) == 0 {
		w.write(0, "<none>\n")
		return
	}
	for i, t := range ts {
		if i > 0 {
			w.write(0, "\t")
		}
		s := t.GetKey()
		if t.GetValue() != "" {
			s += "=" + t.GetValue()
		}
		if t.GetEffect() != "" {
			s += ":" + t.GetEffect()
		}
		if t.GetOperator() == "Exists" && t.GetValue() == "" {
			if t.GetKey() != "" || t.GetEffect() != "" {
				s += " "
			}
			s += "op=Exists"
		}
		if t.TolerationSeconds != nil {
			s += fmt.Sprintf(" for %ds", t.GetTolerationSeconds())
		}
		w.write(0, "%s\n", s)
	}
}

// describePodTemplate is kubectl's DescribePodTemplate, for describe of
// workloads and rollout history --revision.
func describePodTemplate(w *describeWriter, t *corev1.PodTemplateSpec) {
	w.write(0, "Pod Template:\n")
	if t == nil {
		w.write(1, "<unset>")
		return
	}
	labelsMultiline(w, "  Labels", t.GetMetadata().GetLabels())
	if len(t.GetMetadata().GetAnnotations()) > 0 {
		annotationsMultiline(w, "  Annotations", t.GetMetadata().GetAnnotations())
	}
	s := t.GetSpec()
	if s.GetServiceAccountName() != "" {
		w.write(1, "Service Account:\t%s\n", s.GetServiceAccountName())
	}
	if len(s.GetInitContainers()) > 0 {
		describeContainers(w, "Init Containers", s.GetInitContainers(), nil, "  ")
	}
	describeContainers(w, "Containers", s.GetContainers(), nil, "  ")
	describeVolumes(w, s.GetVolumes(), "  ")
	labelsMultiline(w, "  Node-Selectors", s.GetNodeSelector())
	tolerationsMultiline(w, "  Tolerations", s.GetTolerations())
}

func describeContainers(w *describeWriter, label string, ctrs []*corev1.Container, statuses []*corev1.ContainerStatus, space string) {
	byName := map[string]*corev1.ContainerStatus{}
	for _, st := range statuses {
		byName[st.GetName()] = st
	}
	none := ""
	if len(ctrs) == 0 {
		none = " <none>"
	}
	w.write(0, "%s%s:%s\n", space, label, none)
	nameIndent := ""
	if space != "" {
		nameIndent = " "
	}
	for _, c := range ctrs {
		st, ok := byName[c.GetName()]
		w.write(1, "%s%s:\n", nameIndent, c.GetName())
		if ok {
			w.write(2, "Container ID:\t%s\n", st.GetContainerId())
		}
		w.write(2, "Image:\t%s\n", c.GetImage())
		if ok {
			w.write(2, "Image ID:\t%s\n", st.GetImageId())
		}
		var ports, hostPorts []string
		for _, p := range c.GetPorts() {
			proto := p.GetProtocol()
			if proto == "" {
				proto = "TCP"
			}
			ports = append(ports, fmt.Sprintf("%d/%s", p.GetContainerPort(), proto))
			hostPorts = append(hostPorts, fmt.Sprintf("%d/%s", p.GetHostPort(), proto))
		}
		if len(ports) > 1 {
			w.write(2, "Ports:\t%s\n", strings.Join(ports, ", "))
			w.write(2, "Host Ports:\t%s\n", strings.Join(hostPorts, ", "))
		} else {
			w.write(2, "Port:\t%s\n", printers.OrNone(strings.Join(ports, "")))
			w.write(2, "Host Port:\t%s\n", printers.OrNone(strings.Join(hostPorts, "")))
		}
		for _, part := range []struct {
			title string
			lines []string
		}{{"Command", c.GetCommand()}, {"Args", c.GetArgs()}} {
			if len(part.lines) == 0 {
				continue
			}
			w.write(2, "%s:\n", part.title)
			for _, l := range part.lines {
				for s := range strings.SplitSeq(l, "\n") {
					w.write(3, "%s\n", s)
				}
			}
		}
		if ok {
			describeContainerState(w, "State", st.GetState())
			if st.GetLastState().GetTerminated() != nil {
				describeContainerState(w, "Last State", st.GetLastState())
			}
			w.write(2, "Ready:\t%s\n", map[bool]string{true: "True", false: "False"}[st.GetReady()])
			w.write(2, "Restart Count:\t%d\n", st.GetRestartCount())
		}
		for _, part := range []struct {
			title string
			m     map[string]string
		}{{"Limits", c.GetResources().GetLimits()}, {"Requests", c.GetResources().GetRequests()}} {
			if len(part.m) == 0 {
				continue
			}
			w.write(2, "%s:\n", part.title)
			for _, k := range sortedKeys(part.m) {
				w.write(3, "%s:\t%s\n", k, part.m[k])
			}
		}
		if len(c.GetEnv()) == 0 {
			w.write(2, "Environment:\t<none>\n")
		} else {
			w.write(2, "Environment:\n")
			for _, e := range c.GetEnv() {
				w.write(3, "%s:\t%s\n", e.GetName(), envValue(e))
			}
		}
		mounts := c.GetVolumeMounts()
		if len(mounts) == 0 {
			w.write(2, "Mounts:\t<none>\n")
		} else {
			w.write(2, "Mounts:\n")
			sorted := append([]*corev1.VolumeMount(nil), mounts...)
			sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].GetMountPath() < sorted[j].GetMountPath() })
			for _, vm := range sorted {
				flags := []string{"rw"}
				if vm.GetReadOnly() {
					flags[0] = "ro"
				}
				if vm.GetSubPath() != "" {
					flags = append(flags, fmt.Sprintf("path=%q", vm.GetSubPath()))
				}
				w.write(3, "%s from %s (%s)\n", vm.GetMountPath(), vm.GetName(), strings.Join(flags, ","))
			}
		}
	}
}

// envValue is how describe shows an environment variable's value.
func envValue(e *corev1.EnvVar) string {
	vf := e.GetValueFrom()
	switch {
	case vf == nil:
		return e.GetValue()
	case vf.GetFieldRef() != nil:
		return fmt.Sprintf(" (%s:%s)", vf.GetFieldRef().GetApiVersion(), vf.GetFieldRef().GetFieldPath())
	case vf.GetConfigMapKeyRef() != nil:
		r := vf.GetConfigMapKeyRef()
		return fmt.Sprintf("<set to the key '%s' of config map '%s'>\tOptional: %t", r.GetKey(), r.GetName(), r.GetOptional())
	case vf.GetSecretKeyRef() != nil:
		r := vf.GetSecretKeyRef()
		return fmt.Sprintf("<set to the key '%s' in secret '%s'>\tOptional: %t", r.GetKey(), r.GetName(), r.GetOptional())
	}
	return ""
}

func describeContainerState(w *describeWriter, name string, s *corev1.ContainerState) {
	switch {
	case s.GetRunning() != nil:
		w.write(2, "%s:\tRunning\n", name)
		w.write(3, "Started:\t%s\n", formatTime(s.GetRunning().GetStartedAt()))
	case s.GetTerminated() != nil:
		t := s.GetTerminated()
		w.write(2, "%s:\tTerminated\n", name)
		if t.GetReason() != "" {
			w.write(3, "Reason:\t%s\n", t.GetReason())
		}
		if t.GetMessage() != "" {
			w.write(3, "Message:\t%s\n", t.GetMessage())
		}
		w.write(3, "Exit Code:\t%d\n", t.GetExitCode())
		if t.GetSignal() > 0 {
			w.write(3, "Signal:\t%d\n", t.GetSignal())
		}
		w.write(3, "Started:\t%s\n", formatTime(t.GetStartedAt()))
		w.write(3, "Finished:\t%s\n", formatTime(t.GetFinishedAt()))
	default:
		w.write(2, "%s:\tWaiting\n", name)
		if r := s.GetWaiting().GetReason(); r != "" {
			w.write(3, "Reason:\t%s\n", r)
		}
	}
}

func describeVolumes(w *describeWriter, vols []*corev1.Volume, space string) {
	if len(vols) == 0 {
		w.write(0, "%sVolumes:\t<none>\n", space)
		return
	}
	w.write(0, "%sVolumes:\n", space)
	nameIndent := ""
	if space != "" {
		nameIndent = " "
	}
	for _, v := range vols {
		w.write(1, "%s%s:\n", nameIndent, v.GetName())
		switch {
		case v.GetHostPath() != nil:
			w.write(2, "Type:\tHostPath (bare host directory volume)\n    Path:\t%s\n    HostPathType:\t%s\n",
				v.GetHostPath().GetPath(), v.GetHostPath().GetType())
		case v.GetEmptyDir() != nil:
			limit := v.GetEmptyDir().GetSizeLimit()
			if limit == "" {
				limit = "<unset>"
			}
			w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t%s\n    SizeLimit:\t%s\n",
				v.GetEmptyDir().GetMedium(), limit)
		case v.GetConfigMap() != nil:
			w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t%s\n    Optional:\t%t\n",
				v.GetConfigMap().GetName(), v.GetConfigMap().GetOptional())
		case v.GetSecret() != nil:
			w.write(2, "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t%s\n    Optional:\t%t\n",
				v.GetSecret().GetSecretName(), v.GetSecret().GetOptional())
		default:
			w.write(2, "<unknown>\n")
		}
	}
}

func describeDeployment(ctx context.Context, d dynamic, w *describeWriter, dep *appsv1.Deployment) error {
	m, s, st := dep.GetMetadata(), dep.GetSpec(), dep.GetStatus()
	w.write(0, "Name:\t%s\n", m.GetName())
	w.write(0, "Namespace:\t%s\n", m.GetNamespace())
	w.write(0, "CreationTimestamp:\t%s\n", formatTime(m.GetCreationTimestamp()))
	labelsMultiline(w, "Labels", m.GetLabels())
	annotationsMultiline(w, "Annotations", m.GetAnnotations())
	w.write(0, "Selector:\t%s\n", labels.FormatLabelSelector(s.GetSelector()))
	w.write(0, "Replicas:\t%d desired | %d updated | %d total | %d available | %d unavailable\n",
		printers.SpecReplicas(s.Replicas), st.GetUpdatedReplicas(), st.GetReplicas(), st.GetAvailableReplicas(), st.GetUnavailableReplicas())
	w.write(0, "StrategyType:\t%s\n", s.GetStrategy().GetType())
	w.write(0, "MinReadySeconds:\t%d\n", s.GetMinReadySeconds())
	if ru := s.GetStrategy().GetRollingUpdate(); ru != nil {
		w.write(0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n", ru.GetMaxUnavailable(), ru.GetMaxSurge())
	}
	describePodTemplate(w, s.GetTemplate())
	if len(st.GetConditions()) > 0 {
		w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
		w.write(1, "----\t------\t------\n")
		for _, c := range st.GetConditions() {
			w.write(1, "%v \t%v\t%v\n", c.GetType(), c.GetStatus(), c.GetReason())
		}
	}
	rss, err := ownedReplicaSets(ctx, d, dep)
	if err != nil {
		return err
	}
	newRS := newReplicaSet(dep, rss)
	var old []string
	for _, rs := range rss {
		if rs != newRS && printers.SpecReplicas(rs.GetSpec().Replicas) != 0 {
			old = append(old, replicaSetSummary(rs))
		}
	}
	w.write(0, "OldReplicaSets:\t%s\n", printers.OrNone(strings.Join(old, ", ")))
	if newRS == nil {
		w.write(0, "NewReplicaSet:\t<none>\n")
	} else {
		w.write(0, "NewReplicaSet:\t%s\n", replicaSetSummary(newRS))
	}
	return nil
}

func replicaSetSummary(rs *appsv1.ReplicaSet) string {
	return fmt.Sprintf("%s (%d/%d replicas created)", rs.GetMetadata().GetName(), rs.GetStatus().GetReplicas(), printers.SpecReplicas(rs.GetSpec().Replicas))
}

func describeReplicaSet(ctx context.Context, d dynamic, w *describeWriter, rs *appsv1.ReplicaSet) error {
	m, s := rs.GetMetadata(), rs.GetSpec()
	sel := labels.FormatLabelSelector(s.GetSelector())
	w.write(0, "Name:\t%s\n", m.GetName())
	w.write(0, "Namespace:\t%s\n", m.GetNamespace())
	w.write(0, "Selector:\t%s\n", sel)
	labelsMultiline(w, "Labels", m.GetLabels())
	annotationsMultiline(w, "Annotations", m.GetAnnotations())
	controlledBy(w, m)
	w.write(0, "Replicas:\t%d current / %d desired\n", rs.GetStatus().GetReplicas(), printers.SpecReplicas(s.Replicas))
	phases := map[string]int{}
	if sel != "" {
		pods, _, err := d.List(ctx, resourceMust("pods"), &metav1.ListOptions{Namespace: m.GetNamespace(), LabelSelector: sel})
		if err != nil {
			return err
		}
		for _, p := range pods {
			if ref := controllerOf(p.GetMetadata()); ref != nil && ref.GetUid() == m.GetUid() {
				phases[p.(*corev1.Pod).GetStatus().GetPhase()]++
			}
		}
	}
	w.write(0, "Pods Status:\t%d Running / %d Waiting / %d Succeeded / %d Failed\n",
		phases["Running"], phases["Pending"], phases["Succeeded"], phases["Failed"])
	describePodTemplate(w, s.GetTemplate())
	if cs := rs.GetStatus().GetConditions(); len(cs) > 0 {
		w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
		w.write(1, "----\t------\t------\n")
		for _, c := range cs {
			w.write(1, "%v \t%v\t%v\n", c.GetType(), c.GetStatus(), c.GetReason())
		}
	}
	return nil
}

func describeService(ctx context.Context, d dynamic, w *describeWriter, svc *corev1.Service) {
	m, s := svc.GetMetadata(), svc.GetSpec()
	w.write(0, "Name:\t%s\n", m.GetName())
	w.write(0, "Namespace:\t%s\n", m.GetNamespace())
	labelsMultiline(w, "Labels", m.GetLabels())
	annotationsMultiline(w, "Annotations", m.GetAnnotations())
	w.write(0, "Selector:\t%s\n", printers.FormatLabels(s.GetSelector()))
	typ := s.GetType()
	if typ == "" {
		typ = "ClusterIP"
	}
	w.write(0, "Type:\t%s\n", typ)
	w.write(0, "IP:\t%s\n", printers.OrNone(s.GetClusterIp()))
	if len(s.GetClusterIps()) > 0 {
		w.write(0, "IPs:\t%s\n", strings.Join(s.GetClusterIps(), ","))
	}
	if len(s.GetExternalIps()) > 0 {
		w.write(0, "External IPs:\t%s\n", strings.Join(s.GetExternalIps(), ","))
	}
	var ep *corev1.Endpoints
	if obj, err := d.Get(ctx, resourceMust("endpoints"), m.GetNamespace(), m.GetName()); err == nil {
		ep = obj.(*corev1.Endpoints)
	}
	for _, p := range s.GetPorts() {
		name := p.GetName()
		if name == "" {
			name = "<unset>"
		}
		proto := p.GetProtocol()
		if proto == "" {
			proto = "TCP"
		}
		w.write(0, "Port:\t%s\t%d/%s\n", name, p.GetPort(), proto)
		w.write(0, "TargetPort:\t%s/%s\n", p.GetTargetPort(), proto)
		if p.GetNodePort() != 0 {
			w.write(0, "NodePort:\t%s\t%d/%s\n", name, p.GetNodePort(), proto)
		}
		portName := p.GetName()
		w.write(0, "Endpoints:\t%s\n", printers.FormatEndpoints(ep, &portName))
	}
	affinity := s.GetSessionAffinity()
	if affinity == "" {
		affinity = "None"
	}
	w.write(0, "Session Affinity:\t%s\n", affinity)
	if typ == "NodePort" {
		policy := s.GetExternalTrafficPolicy()
		if policy == "" {
			policy = "Cluster"
		}
		w.write(0, "External Traffic Policy:\t%s\n", policy)
	}
}

func describeNode(w *describeWriter, n *corev1.Node) {
	m, s, st := n.GetMetadata(), n.GetSpec(), n.GetStatus()
	w.write(0, "Name:\t%s\n", m.GetName())
	w.write(0, "Roles:\t%s\n", printers.NodeRoles(n))
	labelsMultiline(w, "Labels", m.GetLabels())
	annotationsMultiline(w, "Annotations", m.GetAnnotations())
	w.write(0, "CreationTimestamp:\t%s\n", formatTime(m.GetCreationTimestamp()))
	if len(s.GetTaints()) == 0 {
		w.write(0, "Taints:\t<none>\n")
	} else {
		for i, t := range s.GetTaints() {
			title := "Taints:"
			if i > 0 {
				title = ""
			}
			val := t.GetKey()
			if t.GetValue() != "" {
				val += "=" + t.GetValue()
			}
			w.write(0, "%s\t%s:%s\n", title, val, t.GetEffect())
		}
	}
	w.write(0, "Unschedulable:\t%t\n", s.GetUnschedulable())
	if len(st.GetConditions()) > 0 {
		w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
		w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
		for _, c := range st.GetConditions() {
			w.write(1, "%v \t%v \t%s \t%s \t%v \t%v\n", c.GetType(), c.GetStatus(),
				formatTime(c.GetLastHeartbeatTime()), formatTime(c.GetLastTransitionTime()), c.GetReason(), c.GetMessage())
		}
	}
	w.write(0, "Addresses:\n")
	for _, a := range st.GetAddresses() {
		w.write(1, "%s:\t%s\n", a.GetType(), a.GetAddress())
	}
	for _, part := range []struct {
		title string
		m     map[string]string
	}{{"Capacity", st.GetCapacity()}, {"Allocatable", st.GetAllocatable()}} {
		if len(part.m) == 0 {
			continue
		}
		w.write(0, "%s:\n", part.title)
		for _, k := range sortedKeys(part.m) {
			w.write(1, "%s:\t%s\n", k, part.m[k])
		}
	}
	if ni := st.GetNodeInfo(); ni != nil {
		w.write(0, "System Info:\n")
		w.write(1, "Machine ID:\t%s\n", ni.GetMachineId())
		w.write(1, "System UUID:\t%s\n", ni.GetSystemUuid())
		w.write(1, "Boot ID:\t%s\n", ni.GetBootId())
		w.write(1, "Kernel Version:\t%s\n", ni.GetKernelVersion())
		w.write(1, "OS Image:\t%s\n", ni.GetOsImage())
		w.write(1, "Operating System:\t%s\n", ni.GetOperatingSystem())
		w.write(1, "Architecture:\t%s\n", ni.GetArchitecture())
		w.write(1, "Container Runtime Version:\t%s\n", ni.GetContainerRuntimeVersion())
		w.write(1, "Kubelet Version:\t%s\n", ni.GetKubeletVersion())
	}
	if s.GetPodCidr() != "" {
		w.write(0, "PodCIDR:\t%s\n", s.GetPodCidr())
		w.write(0, "PodCIDRs:\t%s\n", strings.Join(s.GetPodCidrs(), ","))
	}
}
