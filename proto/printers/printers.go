// Package printers is the one definition of the tables `get` prints for
// every kind: the columns (Kubernetes' pkg/printers/internalversion column
// definitions, with priority 1 for the `-o wide` ones) and each object's
// cells. skiffctl prints them itself; the apiserver serves them as
// meta.k8s.io/v1 Tables, which kubectl prints.
package printers

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
)

// Object is any API object.
type Object interface {
	proto.Message
	GetMetadata() *metav1.ObjectMeta
}

// Column is one column of a kind's table, as a meta.k8s.io/v1
// TableColumnDefinition describes it.
type Column struct {
	Name        string // as Kubernetes names it: "Nominated Node"; kubectl prints it upper-cased
	Type        string // "string" or "integer"
	Format      string // "name" for the object's name, else empty
	Description string
	Priority    int32 // 0: always shown; 1: only with -o wide
}

// Header is the column's title as kubectl prints it: "NOMINATED NODE".
func (c Column) Header() string { return strings.ToUpper(c.Name) }

const (
	descName       = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated."
	descAge        = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC."
	descContainers = "Names of each container in the template."
	descImages     = "Images referenced by each container in the template."
)

func name() Column {
	return Column{Name: "Name", Type: "string", Format: "name", Description: descName}
}
func age() Column { return Column{Name: "Age", Type: "string", Description: descAge} }
func str(n, desc string) Column {
	return Column{Name: n, Type: "string", Description: desc}
}
func integer(n, desc string) Column {
	return Column{Name: n, Type: "integer", Description: desc}
}
func wide(c Column) Column { c.Priority = 1; return c }

// templateColumns are the wide columns of kinds with a pod template.
func templateColumns(selector string) []Column {
	return []Column{wide(str("Containers", descContainers)), wide(str("Images", descImages)), wide(str("Selector", selector))}
}

var columns = map[string][]Column{
	"Pod": {name(),
		str("Ready", "The aggregate readiness state of this pod for accepting traffic."),
		str("Status", "The aggregate status of the containers in this pod."),
		str("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
		age(),
		wide(str("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.")),
		wide(str("Node", "NodeName indicates in which node this pod is scheduled.")),
		wide(str("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.")),
		wide(str("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.")),
	},
	"Deployment": append([]Column{name(),
		str("Ready", "Number of the pod with ready state"),
		str("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
		str("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
		age()},
		templateColumns("Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.")...),
	"ReplicaSet": append([]Column{name(),
		integer("Desired", "Replicas is the number of desired pods."),
		integer("Current", "Replicas is the most recently observed number of non-terminating pods."),
		integer("Ready", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition."),
		age()},
		templateColumns("Selector is a label query over pods that should match the replica count.")...),
	"DaemonSet": append([]Column{name(),
		integer("Desired", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod)."),
		integer("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
		integer("Ready", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition."),
		integer("Up-to-date", "The total number of nodes that are running updated daemon pod"),
		integer("Available", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
		str("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
		age()},
		templateColumns("A label query over pods that are managed by the daemon set.")...),
	"Job": append([]Column{name(),
		str("Status", "Status of the job."),
		str("Completions", "The number of successfully completed pods and the desired number of them."),
		str("Duration", "Time required to complete the job."),
		age()},
		templateColumns("A label query over pods that should match the pod count.")...),
	"Node": {name(),
		str("Status", "The status of the node"),
		str("Roles", "The roles of the node"),
		age(),
		str("Version", "Kubelet Version reported by the node."),
		wide(str("Internal-IP", "List of addresses reachable to the node.")),
		wide(str("External-IP", "List of addresses reachable to the node.")),
		wide(str("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).")),
		wide(str("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).")),
		wide(str("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).")),
	},
	"Service": {name(),
		str("Type", "type determines how the Service is exposed."),
		str("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
		str("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
		str("Port(s)", "The list of ports that are exposed by this service."),
		age(),
		wide(str("Selector", "Route service traffic to pods with label keys and values matching this selector.")),
	},
	"Endpoints": {name(),
		str("Endpoints", "The set of all endpoints is the union of all subsets."),
		age(),
	},
	"Event": {
		str("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
		str("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
		str("Reason", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
		str("Object", "The object that this event is about."),
		wide(str("Subobject", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].")),
		wide(str("Source", "The component reporting this event. Should be a short machine understandable string.")),
		str("Message", "A human-readable description of the status of this operation."),
		wide(str("First Seen", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)")),
		wide(str("Count", "The number of times this event has occurred.")),
		wide(name()),
	},
	"ConfigMap": {name(),
		str("Data", "Data contains the configuration data."),
		age(),
	},
	"Secret": {name(),
		str("Type", "Used to facilitate programmatic handling of secret data."),
		str("Data", "Data contains the secret data."),
		age(),
	},
	"ServiceAccount": {name(),
		str("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."),
		age(),
	},
	"Namespace": {name(),
		str("Status", "The status of the namespace"),
		age(),
	},
	"Lease": {name(),
		str("Holder", "holderIdentity contains the identity of the holder of a current lease."),
		age(),
	},
}

// defaultColumns are those of a kind without a printer of its own.
var defaultColumns = []Column{name(), age()}

// Columns is kind's table: every column, the wide ones with priority 1.
func Columns(kind string) []Column {
	if c, ok := columns[kind]; ok {
		return c
	}
	return defaultColumns
}

// Cells is o's row in its kind's table, one cell per column of
// Columns(kind): a string, or an int64 for a count (in an integer column,
// or a string one where Kubernetes declares it so). now is the time ages
// are counted to.
func Cells(o Object, now time.Time) []any {
	m := o.GetMetadata()
	age := TranslateTimestamp(m.GetCreationTimestamp(), now)
	switch x := o.(type) {
	case *corev1.Pod:
		row := PodRow(x, now)
		ip := x.GetStatus().GetPodIp()
		if ips := x.GetStatus().GetPodIps(); len(ips) > 0 {
			ip = ips[0].GetIp()
		}
		return []any{m.GetName(), fmt.Sprintf("%d/%d", row.Ready, len(x.GetSpec().GetContainers())), row.Status, row.Restarts, age,
			OrNone(ip), OrNone(x.GetSpec().GetNodeName()), OrNone(x.GetStatus().GetNominatedNodeName()), "<none>"}
	case *appsv1.Deployment:
		s := x.GetStatus()
		names, images := ContainerColumns(x.GetSpec().GetTemplate().GetSpec())
		return []any{m.GetName(), fmt.Sprintf("%d/%d", s.GetReadyReplicas(), deploymentReplicas(x.GetSpec())),
			int64(s.GetUpdatedReplicas()), int64(s.GetAvailableReplicas()), age,
			names, images, FormatLabels(x.GetSpec().GetSelector().GetMatchLabels())}
	case *appsv1.ReplicaSet:
		s := x.GetStatus()
		names, images := ContainerColumns(x.GetSpec().GetTemplate().GetSpec())
		return []any{m.GetName(), int64(replicaSetReplicas(x.GetSpec())), int64(s.GetReplicas()), int64(s.GetReadyReplicas()), age,
			names, images, OrNone(labels.FormatLabelSelector(x.GetSpec().GetSelector()))}
	case *appsv1.DaemonSet:
		s := x.GetStatus()
		names, images := ContainerColumns(x.GetSpec().GetTemplate().GetSpec())
		return []any{m.GetName(), int64(s.GetDesiredNumberScheduled()), int64(s.GetCurrentNumberScheduled()), int64(s.GetNumberReady()),
			int64(s.GetUpdatedNumberScheduled()), int64(s.GetNumberAvailable()),
			FormatLabels(x.GetSpec().GetTemplate().GetSpec().GetNodeSelector()), age,
			names, images, OrNone(labels.FormatLabelSelector(x.GetSpec().GetSelector()))}
	case *corev1.Node:
		info := x.GetStatus().GetNodeInfo()
		return []any{m.GetName(), NodeStatus(x), NodeRoles(x), age, info.GetKubeletVersion(),
			NodeAddress(x, "InternalIP"), NodeAddress(x, "ExternalIP"), orUnknown(info.GetOsImage()),
			orUnknown(info.GetKernelVersion()), orUnknown(info.GetContainerRuntimeVersion())}
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
		return []any{m.GetName(), typ, OrNone(s.GetClusterIp()), ext, ServicePorts(s.GetPorts()), age, FormatLabels(s.GetSelector())}
	case *corev1.Endpoints:
		return []any{m.GetName(), FormatEndpoints(x, nil), age}
	case *corev1.Event:
		return eventCells(x, now)
	case *corev1.ConfigMap:
		return []any{m.GetName(), int64(len(x.GetData()) + len(x.GetBinaryData())), age}
	case *corev1.Secret:
		return []any{m.GetName(), x.GetType(), int64(len(x.GetData()) + len(x.GetStringData())), age}
	case *corev1.ServiceAccount:
		return []any{m.GetName(), int64(len(x.GetSecrets())), age}
	case *corev1.Namespace:
		phase := x.GetStatus().GetPhase()
		if phase == "" {
			phase = "Active"
		}
		return []any{m.GetName(), phase, age}
	case *batchv1.Job:
		names, images := ContainerColumns(x.GetSpec().GetTemplate().GetSpec())
		return []any{m.GetName(), JobStatus(x), JobCompletions(x), JobDuration(x, now), age,
			names, images, OrNone(labels.FormatLabelSelector(x.GetSpec().GetSelector()))}
	case *coordinationv1.Lease:
		return []any{m.GetName(), OrNone(x.GetSpec().GetHolderIdentity()), age}
	}
	return []any{m.GetName(), age}
}

// Condition is a row condition of a meta.k8s.io/v1 TableRow.
type Condition struct {
	Type, Status, Reason, Message string
}

// Conditions are o's row conditions: a pod that has finished is
// Completed, as Kubernetes marks it.
func Conditions(o Object) []Condition {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return nil
	}
	switch p.GetStatus().GetPhase() {
	case "Succeeded":
		return []Condition{{Type: "Completed", Status: "True", Reason: "Succeeded", Message: "The pod has completed successfully."}}
	case "Failed":
		return []Condition{{Type: "Completed", Status: "True", Reason: "Failed", Message: "The pod failed."}}
	}
	return nil
}

// OrNone is s, or "<none>" when s is empty.
func OrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

// SpecReplicas is an optional replica count, 1 when unset as the API defaults it.
func SpecReplicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// deploymentReplicas and replicaSetReplicas are the desired replicas of
// a spec that may be missing.
func deploymentReplicas(s *appsv1.DeploymentSpec) int32 {
	if s == nil {
		return 1
	}
	return SpecReplicas(s.Replicas)
}

func replicaSetReplicas(s *appsv1.ReplicaSetSpec) int32 {
	if s == nil {
		return 1
	}
	return SpecReplicas(s.Replicas)
}

// PodColumns are the computed columns of a pod's row.
type PodColumns struct {
	Ready    int    // ready containers
	Status   string // STATUS
	Restarts string // RESTARTS: "0", "5 (2m ago)"
}

// PodRow computes READY, STATUS and RESTARTS as Kubernetes' printPod: the
// first init container not done ("Init:1/2", "Init:CrashLoopBackOff"),
// else the last container's waiting or terminated reason, else the phase
// (or status reason); Terminating while deleted and not finished.
func PodRow(p *corev1.Pod, now time.Time) PodColumns {
	st := p.GetStatus()
	reason := st.GetPhase()
	if st.GetReason() != "" {
		reason = st.GetReason()
	}
	var col PodColumns
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
				col.Ready++
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
	col.Status = reason
	col.Restarts = strconv.Itoa(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		col.Restarts = fmt.Sprintf("%d (%s ago)", restarts, HumanDuration(now.Sub(lastRestart)))
	}
	return col
}

// NodeStatus is a node's STATUS: Ready, NotReady or Unknown, with
// ",SchedulingDisabled" when it is cordoned.
func NodeStatus(n *corev1.Node) string {
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

// NodeRoles is a node's ROLES, from its node-role.kubernetes.io/ labels.
func NodeRoles(n *corev1.Node) string {
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

// NodeAddress is the node's first address of typ ("InternalIP"), or "<none>".
func NodeAddress(n *corev1.Node, typ string) string {
	for _, a := range n.GetStatus().GetAddresses() {
		if a.GetType() == typ {
			return a.GetAddress()
		}
	}
	return "<none>"
}

// ServicePorts renders ports as kubectl: 80/TCP, 80:30080/TCP.
func ServicePorts(ports []*corev1.ServicePort) string {
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

// JobStatus is the STATUS of a job: the first condition that holds of
// Complete, Failed, (Terminating), Suspended, FailureTarget,
// SuccessCriteriaMet; else Running.
func JobStatus(j *batchv1.Job) string {
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

// JobCompletions is COMPLETIONS: succeeded/completions, or "0/1 of 3" for a
// work queue job with parallelism 3.
func JobCompletions(j *batchv1.Job) string {
	succeeded := j.GetStatus().GetSucceeded()
	if j.GetSpec() != nil && j.GetSpec().Completions != nil {
		return fmt.Sprintf("%d/%d", succeeded, j.GetSpec().GetCompletions())
	}
	if p := j.GetSpec().GetParallelism(); p > 1 {
		return fmt.Sprintf("%d/1 of %d", succeeded, p)
	}
	return fmt.Sprintf("%d/1", succeeded)
}

// JobDuration is how long the job ran: until now, or until it completed.
func JobDuration(j *batchv1.Job, now time.Time) string {
	st := j.GetStatus()
	switch {
	case st.GetStartTime() == nil:
		return ""
	case st.GetCompletionTime() == nil:
		return HumanDuration(now.Sub(st.GetStartTime().AsTime()))
	}
	return HumanDuration(st.GetCompletionTime().AsTime().Sub(st.GetStartTime().AsTime()))
}

// FormatEndpoints is ENDPOINTS: ip:port for each port (all ports, or the
// one named port) and address, at most three and "+ N more...".
func FormatEndpoints(ep *corev1.Endpoints, port *string) string {
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

// eventCells is an event's row: Kubernetes' printEvent.
func eventCells(e *corev1.Event, now time.Time) []any {
	first := TranslateTimestamp(e.GetFirstTimestamp(), now)
	if e.GetFirstTimestamp() == nil {
		first = TranslateTimestamp(e.GetEventTime(), now)
	}
	last := first
	if e.GetLastTimestamp() != nil {
		last = TranslateTimestamp(e.GetLastTimestamp(), now)
	}
	ref := e.GetInvolvedObject()
	target := strings.ToLower(ref.GetKind())
	if ref.GetName() != "" {
		target += "/" + ref.GetName()
	}
	count := e.GetCount()
	if count == 0 {
		count = 1
	}
	return []any{last, e.GetType(), e.GetReason(), target, ref.GetFieldPath(), EventSource(e),
		strings.TrimSpace(e.GetMessage()), first, int64(count), e.GetMetadata().GetName()}
}

// EventSource is the SOURCE of an event: "component, host".
func EventSource(e *corev1.Event) string {
	component := e.GetSource().GetComponent()
	if component == "" {
		component = e.GetReportingComponent()
	}
	host := e.GetSource().GetHost()
	if host == "" {
		host = e.GetReportingInstance()
	}
	switch {
	case component == "":
		return "<unknown>"
	case host == "":
		return component
	}
	return component + ", " + host
}

// ContainerColumns are the CONTAINERS and IMAGES of a pod template.
func ContainerColumns(spec *corev1.PodSpec) (names, images string) {
	var n, i []string
	for _, c := range spec.GetContainers() {
		n = append(n, c.GetName())
		i = append(i, c.GetImage())
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}

// FormatLabels renders a label map as k=v,k=v sorted by key, or "<none>".
func FormatLabels(m map[string]string) string {
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

// TranslateTimestamp is the AGE column: how long ago t was, as kubectl
// prints it; "<unknown>" for no time.
func TranslateTimestamp(t *timestamppb.Timestamp, now time.Time) string {
	if t == nil {
		return "<unknown>"
	}
	return HumanDuration(now.Sub(t.AsTime()))
}

// HumanDuration is apimachinery's duration.HumanDuration: "119s", "9m5s",
// "7h30m", "3d5h", "2y70d".
func HumanDuration(d time.Duration) string {
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
