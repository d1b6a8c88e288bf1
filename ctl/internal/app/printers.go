package app

import (
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	"skiff.dev/proto/codec"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/labels"
)

// toJSON is the object's JSON as the REST API serves it (the one codec,
// skiff.dev/proto/codec), indented.
func toJSON(o object) ([]byte, error) {
	return codec.MarshalIndent(o, "    ")
}

// toYAML is toJSON as YAML, keys sorted as kubectl prints them.
func toYAML(o object) ([]byte, error) {
	return codec.MarshalYAML(o)
}

// printObjects writes objs in format: yaml, json, name (tables are
// printTable's).
func printObjects(w io.Writer, format string, r *resource, objs []object) error {
	switch format {
	case "yaml":
		for i, o := range objs {
			if i > 0 {
				fmt.Fprintln(w, "---")
			}
			b, err := toYAML(o)
			if err != nil {
				return err
			}
			w.Write(b)
		}
	case "json":
		if len(objs) != 1 {
			return printList(w, format, objs)
		}
		b, err := toJSON(objs[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\n", b)
	case "name":
		for _, o := range objs {
			fmt.Fprintf(w, "%s/%s\n", r.Qualified(), o.GetMetadata().GetName())
		}
	default:
		return errNoPrinter(format)
	}
	return nil
}

// table prints rows aligned as kubectl does.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)}
}

func (t *table) row(cols ...string) { fmt.Fprintln(t.tw, strings.Join(cols, "\t")) }

func (t *table) flush() { t.tw.Flush() }

// columns returns the header of r's table.
func columns(r *resource, wide, allNamespaces bool) []string {
	var h []string
	switch r.Kind {
	case "Pod":
		h = []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
		if wide {
			h = append(h, "IP", "NODE", "NOMINATED NODE", "READINESS GATES")
		}
	case "Deployment":
		h = []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}
		if wide {
			h = append(h, "CONTAINERS", "IMAGES", "SELECTOR")
		}
	case "ReplicaSet":
		h = []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"}
		if wide {
			h = append(h, "CONTAINERS", "IMAGES", "SELECTOR")
		}
	case "DaemonSet":
		h = []string{"NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"}
		if wide {
			h = append(h, "CONTAINERS", "IMAGES", "SELECTOR")
		}
	case "Node":
		h = []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION"}
		if wide {
			h = append(h, "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME")
		}
	case "Service":
		h = []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}
		if wide {
			h = append(h, "SELECTOR")
		}
	case "Endpoints":
		h = []string{"NAME", "ENDPOINTS", "AGE"}
	case "Event":
		h = []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}
		if wide {
			h = []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"}
		}
	case "ConfigMap":
		h = []string{"NAME", "DATA", "AGE"}
	case "Secret":
		h = []string{"NAME", "TYPE", "DATA", "AGE"}
	case "Namespace":
		h = []string{"NAME", "STATUS", "AGE"}
	case "Job":
		h = []string{"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"}
		if wide {
			h = append(h, "CONTAINERS", "IMAGES", "SELECTOR")
		}
	case "Lease":
		h = []string{"NAME", "HOLDER", "AGE"}
	default:
		h = []string{"NAME", "AGE"}
	}
	if allNamespaces && r.Namespaced {
		h = append([]string{"NAMESPACE"}, h...)
	}
	return h
}

// cells returns o's row in r's table.
func cells(r *resource, o object, wide, allNamespaces bool, now time.Time) []string {
	m := o.GetMetadata()
	age := translateAge(m.GetCreationTimestamp(), now)
	var c []string
	switch x := o.(type) {
	case *corev1.Pod:
		row := podRow(x, now)
		c = []string{m.GetName(), fmt.Sprintf("%d/%d", row.ready, len(x.GetSpec().GetContainers())), row.status, row.restarts, age}
		if wide {
			c = append(c, orNone(x.GetStatus().GetPodIp()), orNone(x.GetSpec().GetNodeName()),
				orNone(x.GetStatus().GetNominatedNodeName()), "<none>")
		}
	case *appsv1.Deployment:
		s := x.GetStatus()
		c = []string{m.GetName(), fmt.Sprintf("%d/%d", s.GetReadyReplicas(), specReplicas(x.GetSpec().Replicas)),
			strconv.Itoa(int(s.GetUpdatedReplicas())), strconv.Itoa(int(s.GetAvailableReplicas())), age}
		if wide {
			names, images := containerColumns(x.GetSpec().GetTemplate().GetSpec())
			c = append(c, names, images, selectorString(x.GetSpec().GetSelector().GetMatchLabels()))
		}
	case *appsv1.ReplicaSet:
		s := x.GetStatus()
		c = []string{m.GetName(), strconv.Itoa(int(specReplicas(x.GetSpec().Replicas))), strconv.Itoa(int(s.GetReplicas())),
			strconv.Itoa(int(s.GetReadyReplicas())), age}
		if wide {
			names, images := containerColumns(x.GetSpec().GetTemplate().GetSpec())
			c = append(c, names, images, orNone(labels.FormatLabelSelector(x.GetSpec().GetSelector())))
		}
	case *appsv1.DaemonSet:
		s := x.GetStatus()
		c = []string{m.GetName(), itoa(s.GetDesiredNumberScheduled()), itoa(s.GetCurrentNumberScheduled()), itoa(s.GetNumberReady()),
			itoa(s.GetUpdatedNumberScheduled()), itoa(s.GetNumberAvailable()),
			selectorString(x.GetSpec().GetTemplate().GetSpec().GetNodeSelector()), age}
		if wide {
			names, images := containerColumns(x.GetSpec().GetTemplate().GetSpec())
			c = append(c, names, images, orNone(labels.FormatLabelSelector(x.GetSpec().GetSelector())))
		}
	case *corev1.Node:
		info := x.GetStatus().GetNodeInfo()
		c = []string{m.GetName(), nodeStatus(x), nodeRoles(x), age, info.GetKubeletVersion()}
		if wide {
			c = append(c, nodeAddress(x, "InternalIP"), nodeAddress(x, "ExternalIP"), orUnknown(info.GetOsImage()),
				orUnknown(info.GetKernelVersion()), orUnknown(info.GetContainerRuntimeVersion()))
		}
	case *corev1.Service:
		s := x.GetSpec()
		typ := s.GetType()
		if typ == "" {
			typ = "ClusterIP"
		}
		ext := "<none>"
		if len(s.GetExternalIps()) > 0 {
			ext = strings.Join(s.GetExternalIps(), ",")
		}
		c = []string{m.GetName(), typ, orNone(s.GetClusterIp()), ext, servicePorts(s.GetPorts()), age}
		if wide {
			c = append(c, selectorString(s.GetSelector()))
		}
	case *corev1.Endpoints:
		c = []string{m.GetName(), formatEndpoints(x, nil), age}
	case *corev1.Event:
		c = eventCells(x, wide, now)
	case *corev1.ConfigMap:
		c = []string{m.GetName(), strconv.Itoa(len(x.GetData()) + len(x.GetBinaryData())), age}
	case *corev1.Secret:
		c = []string{m.GetName(), x.GetType(), strconv.Itoa(len(x.GetData()) + len(x.GetStringData())), age}
	case *corev1.Namespace:
		phase := x.GetStatus().GetPhase()
		if phase == "" {
			phase = "Active"
		}
		c = []string{m.GetName(), phase, age}
	case *batchv1.Job:
		c = []string{m.GetName(), jobStatus(x), jobCompletions(x), jobDuration(x, now), age}
		if wide {
			names, images := containerColumns(x.GetSpec().GetTemplate().GetSpec())
			c = append(c, names, images, orNone(labels.FormatLabelSelector(x.GetSpec().GetSelector())))
		}
	default:
		c = []string{m.GetName(), age}
		if r.Kind == "Lease" {
			c = []string{m.GetName(), leaseHolder(o), age}
		}
	}
	if allNamespaces && r.Namespaced {
		c = append([]string{m.GetNamespace()}, c...)
	}
	return c
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// specReplicas is an optional replica count, 1 when unset as the API defaults it.
func specReplicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// podColumns are the computed columns of a pod's row.
type podColumns struct {
	ready    int
	status   string
	restarts string
}

// podRow computes READY, STATUS and RESTARTS as kubectl's printPod: the
// first init container not done ("Init:1/2", "Init:CrashLoopBackOff"),
// else the last container's waiting or terminated reason, else the phase
// (or status reason); Terminating while deleted and not finished.
func podRow(p *corev1.Pod, now time.Time) podColumns {
	st := p.GetStatus()
	reason := st.GetPhase()
	if st.GetReason() != "" {
		reason = st.GetReason()
	}
	var col podColumns
	restarts := 0
	var lastRestart time.Time
	noteRestart := func(cs *corev1.ContainerStatus) {
		restarts += int(cs.GetRestartCount())
		if t := cs.GetLastState().GetTerminated().GetFinishedAt(); t != nil && t.AsTime().After(lastRestart) {
			lastRestart = t.AsTime()
		}
	}
	initializing := false
	for i, cs := range st.GetInitContainerStatuses() {
		noteRestart(cs)
		term, wait := cs.GetState().GetTerminated(), cs.GetState().GetWaiting()
		switch {
		case term != nil && term.GetExitCode() == 0:
			continue
		case term != nil && term.GetReason() != "":
			reason = "Init:" + term.GetReason()
		case term != nil && term.GetSignal() != 0:
			reason = fmt.Sprintf("Init:Signal:%d", term.GetSignal())
		case term != nil:
			reason = fmt.Sprintf("Init:ExitCode:%d", term.GetExitCode())
		case wait.GetReason() != "" && wait.GetReason() != "PodInitializing":
			reason = "Init:" + wait.GetReason()
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(p.GetSpec().GetInitContainers()))
		}
		initializing = true
		break
	}
	if !initializing {
		restarts, lastRestart = 0, time.Time{}
		hasRunning := false
		statuses := st.GetContainerStatuses()
		for i := len(statuses) - 1; i >= 0; i-- {
			cs := statuses[i]
			noteRestart(cs)
			term, wait := cs.GetState().GetTerminated(), cs.GetState().GetWaiting()
			switch {
			case wait.GetReason() != "":
				reason = wait.GetReason()
			case term.GetReason() != "":
				reason = term.GetReason()
			case term != nil && term.GetSignal() != 0:
				reason = fmt.Sprintf("Signal:%d", term.GetSignal())
			case term != nil:
				reason = fmt.Sprintf("ExitCode:%d", term.GetExitCode())
			case cs.GetReady() && cs.GetState().GetRunning() != nil:
				hasRunning = true
				col.ready++
			}
		}
		if reason == "Completed" && hasRunning {
			reason = "NotReady"
			for _, c := range st.GetConditions() {
				if c.GetType() == "Ready" && c.GetStatus() == "True" {
					reason = "Running"
				}
			}
		}
	}
	if p.GetMetadata().GetDeletionTimestamp() != nil {
		switch {
		case st.GetReason() == "NodeLost":
			reason = "Unknown"
		case st.GetPhase() != "Succeeded" && st.GetPhase() != "Failed":
			reason = "Terminating"
		}
	}
	if reason == "" {
		reason = "Pending"
	}
	col.status = reason
	col.restarts = strconv.Itoa(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		col.restarts = fmt.Sprintf("%d (%s ago)", restarts, humanDuration(now.Sub(lastRestart)))
	}
	return col
}

func nodeStatus(n *corev1.Node) string {
	st := "Unknown"
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			if c.GetStatus() == "True" {
				st = "Ready"
			} else {
				st = "NotReady"
			}
		}
	}
	if n.GetSpec().GetUnschedulable() {
		st += ",SchedulingDisabled"
	}
	return st
}

func nodeRoles(n *corev1.Node) string {
	var roles []string
	for k, v := range n.GetMetadata().GetLabels() {
		if role, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && role != "" {
			roles = append(roles, role)
		} else if k == "kubernetes.io/role" && v != "" {
			roles = append(roles, v)
		}
	}
	if len(roles) == 0 {
		return "<none>"
	}
	sort.Strings(roles)
	return strings.Join(roles, ",")
}

// servicePorts renders ports as kubectl: 80/TCP, 80:30080/TCP.
func servicePorts(ports []*corev1.ServicePort) string {
	if len(ports) == 0 {
		return "<none>"
	}
	var out []string
	for _, p := range ports {
		proto := p.GetProtocol()
		if proto == "" {
			proto = "TCP"
		}
		if p.GetNodePort() != 0 {
			out = append(out, fmt.Sprintf("%d:%d/%s", p.GetPort(), p.GetNodePort(), proto))
		} else {
			out = append(out, fmt.Sprintf("%d/%s", p.GetPort(), proto))
		}
	}
	return strings.Join(out, ",")
}

// jobStatus is kubectl's STATUS of a job: the first condition that holds
// of Complete, Failed, (Terminating), Suspended, FailureTarget,
// SuccessCriteriaMet; else Running.
func jobStatus(j *batchv1.Job) string {
	has := func(t string) bool {
		for _, c := range j.GetStatus().GetConditions() {
			if c.GetType() == t && c.GetStatus() == "True" {
				return true
			}
		}
		return false
	}
	switch {
	case has("Complete"):
		return "Complete"
	case has("Failed"):
		return "Failed"
	case j.GetMetadata().GetDeletionTimestamp() != nil:
		return "Terminating"
	case has("Suspended"):
		return "Suspended"
	case has("FailureTarget"):
		return "FailureTarget"
	case has("SuccessCriteriaMet"):
		return "SuccessCriteriaMet"
	}
	return "Running"
}

// jobCompletions is kubectl's COMPLETIONS: succeeded/completions, or
// "0/1 of 3" for a work queue job with parallelism 3.
func jobCompletions(j *batchv1.Job) string {
	succeeded := j.GetStatus().GetSucceeded()
	if j.GetSpec().Completions != nil {
		return fmt.Sprintf("%d/%d", succeeded, j.GetSpec().GetCompletions())
	}
	if p := j.GetSpec().GetParallelism(); p > 1 {
		return fmt.Sprintf("%d/1 of %d", succeeded, p)
	}
	return fmt.Sprintf("%d/1", succeeded)
}

// jobDuration is how long the job ran: until now, or until it completed.
func jobDuration(j *batchv1.Job, now time.Time) string {
	st := j.GetStatus()
	switch {
	case st.GetStartTime() == nil:
		return ""
	case st.GetCompletionTime() == nil:
		return humanDuration(now.Sub(st.GetStartTime().AsTime()))
	}
	return humanDuration(st.GetCompletionTime().AsTime().Sub(st.GetStartTime().AsTime()))
}

// formatEndpoints is kubectl's ENDPOINTS: ip:port for each port (all
// ports, or the one named port) and address, at most three and "+ N more...".
func formatEndpoints(ep *corev1.Endpoints, port *string) string {
	if len(ep.GetSubsets()) == 0 {
		return "<none>"
	}
	const max = 3
	var list []string
	count, more := 0, false
	add := func(s string) {
		if len(list) == max {
			more = true
			return
		}
		list = append(list, s)
	}
	for _, ss := range ep.GetSubsets() {
		if len(ss.GetPorts()) == 0 {
			count += len(ss.GetAddresses())
			for _, a := range ss.GetAddresses() {
				add(a.GetIp())
			}
			continue
		}
		for _, p := range ss.GetPorts() {
			if port != nil && p.GetName() != *port {
				continue
			}
			count += len(ss.GetAddresses())
			for _, a := range ss.GetAddresses() {
				add(net.JoinHostPort(a.GetIp(), strconv.Itoa(int(p.GetPort()))))
			}
		}
	}
	s := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", s, count-max)
	}
	return s
}

func nodeAddress(n *corev1.Node, typ string) string {
	for _, a := range n.GetStatus().GetAddresses() {
		if a.GetType() == typ {
			return a.GetAddress()
		}
	}
	return "<none>"
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

func leaseHolder(o object) string {
	type holder interface{ GetHolderIdentity() string }
	m := o.ProtoReflect()
	if f := m.Descriptor().Fields().ByName("spec"); f != nil {
		if h, ok := m.Get(f).Message().Interface().(holder); ok && h.GetHolderIdentity() != "" {
			return h.GetHolderIdentity()
		}
	}
	return "<none>"
}

func containerColumns(spec *corev1.PodSpec) (string, string) {
	var names, images []string
	for _, c := range spec.GetContainers() {
		names = append(names, c.GetName())
		images = append(images, c.GetImage())
	}
	return strings.Join(names, ","), strings.Join(images, ",")
}

// selectorString renders a label map as k=v,k=v sorted by key.
func selectorString(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, k+"="+m[k])
	}
	return strings.Join(out, ",")
}

// translateAge is the AGE column: how long ago t was, as kubectl prints it.
func translateAge(t *timestamppb.Timestamp, now time.Time) string {
	if t == nil {
		return "<unknown>"
	}
	return humanDuration(now.Sub(t.AsTime()))
}

// humanDuration is kubectl's (apimachinery duration.HumanDuration).
func humanDuration(d time.Duration) string {
	if seconds := int(d.Seconds()); seconds < -1 {
		return "<invalid>"
	} else if seconds < 0 {
		return "0s"
	} else if seconds < 60*2 {
		return fmt.Sprintf("%ds", seconds)
	}
	minutes := int(d / time.Minute)
	if minutes < 10 {
		s := int(d/time.Second) % 60
		if s == 0 {
			return fmt.Sprintf("%dm", minutes)
		}
		return fmt.Sprintf("%dm%ds", minutes, s)
	} else if minutes < 60*3 {
		return fmt.Sprintf("%dm", minutes)
	}
	hours := int(d / time.Hour)
	if hours < 8 {
		m := int(d/time.Minute) % 60
		if m == 0 {
			return fmt.Sprintf("%dh", hours)
		}
		return fmt.Sprintf("%dh%dm", hours, m)
	} else if hours < 48 {
		return fmt.Sprintf("%dh", hours)
	} else if hours < 24*8 {
		h := hours % 24
		if h == 0 {
			return fmt.Sprintf("%dd", hours/24)
		}
		return fmt.Sprintf("%dd%dh", hours/24, h)
	} else if hours < 24*365*2 {
		return fmt.Sprintf("%dd", hours/24)
	} else if hours < 24*365*8 {
		dy := (hours / 24) % 365
		if dy == 0 {
			return fmt.Sprintf("%dy", hours/24/365)
		}
		return fmt.Sprintf("%dy%dd", hours/24/365, dy)
	}
	return fmt.Sprintf("%dy", hours/24/365)
}
