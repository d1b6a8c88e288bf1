package app

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// day is the unit of the events' ages: ages in days print the same for
// an hour, so the tables below do not depend on how fast the test runs.
const day = 24 * time.Hour

type eventSpec struct {
	ns, name        string
	kind, obj, uid  string
	typ, reason     string
	message, source string
	first, last     time.Duration // ago
	count           int32
}

func (e *env) createEvents(specs ...eventSpec) {
	e.t.Helper()
	now := time.Now()
	for _, s := range specs {
		ev := &corev1.Event{
			Metadata:       &metav1.ObjectMeta{Name: s.name, Namespace: s.ns},
			InvolvedObject: &corev1.ObjectReference{Kind: s.kind, Name: s.obj, Namespace: s.ns, Uid: s.uid},
			Type:           s.typ, Reason: s.reason, Message: s.message,
			Source:         &corev1.EventSource{Component: s.source},
			FirstTimestamp: timestamppb.New(now.Add(-s.first)),
			LastTimestamp:  timestamppb.New(now.Add(-s.last)),
			Count:          s.count,
		}
		if _, err := e.client().CoreV1().Events(s.ns).Create(e.ctx(), ev); err != nil {
			e.t.Fatalf("create event %s: %v", s.name, err)
		}
	}
}

// eventsEnv is a pod web-1 with two events, a deployment's event and an
// event in another namespace.
func eventsEnv(t *testing.T) *env {
	e := newEnv(t)
	e.createPods(podOn("default", "web-1", "", "", ""))
	pod, err := e.client().CoreV1().Pods("default").Get(e.ctx(), "web-1")
	if err != nil {
		t.Fatal(err)
	}
	uid := pod.GetMetadata().GetUid()
	e.must("create", "namespace", "other")
	e.createEvents(
		eventSpec{ns: "default", name: "web-1.1", kind: "Pod", obj: "web-1", uid: uid, typ: "Normal", reason: "Scheduled",
			message: "Successfully assigned default/web-1 to n1", source: "default-scheduler", first: 3 * day, last: 3 * day, count: 1},
		eventSpec{ns: "default", name: "web-1.2", kind: "Pod", obj: "web-1", uid: uid, typ: "Warning", reason: "BackOff",
			message: "Back-off restarting failed container ", source: "kubelet", first: 5 * day, last: 2 * day, count: 3},
		eventSpec{ns: "default", name: "web.1", kind: "Deployment", obj: "web", typ: "Normal", reason: "ScalingReplicaSet",
			message: "Scaled up replica set web-7d4b9 to 2", source: "deployment-controller", first: 4 * day, last: 4 * day, count: 1},
		eventSpec{ns: "other", name: "x.1", kind: "Pod", obj: "x", typ: "Normal", reason: "Created",
			message: "Created container c", source: "kubelet", first: 6 * day, last: 6 * day, count: 1},
	)
	return e
}

func TestEvents(t *testing.T) {
	e := eventsEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"events"}, `LAST SEEN         TYPE      REASON              OBJECT           MESSAGE
4d                Normal    ScalingReplicaSet   Deployment/web   Scaled up replica set web-7d4b9 to 2
3d                Normal    Scheduled           Pod/web-1        Successfully assigned default/web-1 to n1
2d (x3 over 5d)   Warning   BackOff             Pod/web-1        Back-off restarting failed container
`},
		{[]string{"events", "-A"}, `NAMESPACE   LAST SEEN         TYPE      REASON              OBJECT           MESSAGE
other       6d                Normal    Created             Pod/x            Created container c
default     4d                Normal    ScalingReplicaSet   Deployment/web   Scaled up replica set web-7d4b9 to 2
default     3d                Normal    Scheduled           Pod/web-1        Successfully assigned default/web-1 to n1
default     2d (x3 over 5d)   Warning   BackOff             Pod/web-1        Back-off restarting failed container
`},
		{[]string{"events", "--for", "pod/web-1"}, `LAST SEEN         TYPE      REASON      OBJECT      MESSAGE
3d                Normal    Scheduled   Pod/web-1   Successfully assigned default/web-1 to n1
2d (x3 over 5d)   Warning   BackOff     Pod/web-1   Back-off restarting failed container
`},
		{[]string{"events", "--types", "warning", "--no-headers"}, "2d (x3 over 5d)   Warning   BackOff   Pod/web-1   Back-off restarting failed container\n"},
		{[]string{"events", "--types=Normal,Warning", "--for", "deployments.apps/web"}, `LAST SEEN   TYPE     REASON              OBJECT           MESSAGE
4d          Normal   ScalingReplicaSet   Deployment/web   Scaled up replica set web-7d4b9 to 2
`},
		{[]string{"events", "-n", "other"}, `LAST SEEN   TYPE     REASON    OBJECT   MESSAGE
6d          Normal   Created   Pod/x    Created container c
`},
		// get events keeps kubectl's own columns: lower-case kinds, the
		// last time seen, the server's order.
		{[]string{"get", "events"}, `LAST SEEN   TYPE      REASON              OBJECT           MESSAGE
3d          Normal    Scheduled           pod/web-1        Successfully assigned default/web-1 to n1
2d          Warning   BackOff             pod/web-1        Back-off restarting failed container
4d          Normal    ScalingReplicaSet   deployment/web   Scaled up replica set web-7d4b9 to 2
`},
		{[]string{"get", "ev", "-A", "--field-selector", "type=Warning"}, `NAMESPACE   LAST SEEN   TYPE      REASON    OBJECT      MESSAGE
default     2d          Warning   BackOff   pod/web-1   Back-off restarting failed container
`},
		{[]string{"get", "ev", "web-1.2", "-o", "wide"}, `LAST SEEN   TYPE      REASON    OBJECT      SUBOBJECT   SOURCE    MESSAGE                                FIRST SEEN   COUNT   NAME
2d          Warning   BackOff   pod/web-1               kubelet   Back-off restarting failed container   5d           3       web-1.2
`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if got := e.must(tt.args...); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}

	// -o yaml is one EventList, oldest first, that apply takes back.
	y := e.must("events", "--for", "pod/web-1", "-o", "yaml")
	if !strings.HasPrefix(y, "apiVersion: v1\nitems:\n") || !strings.Contains(y, "kind: EventList\n") ||
		strings.Index(y, "reason: Scheduled") > strings.Index(y, "reason: BackOff") || strings.Count(y, "kind: Event\n") != 2 {
		t.Errorf("events -o yaml:\n%s", y)
	}
	if out, errOut, code := e.runIn(y, "apply", "-f", "-"); code != 0 || out != "event/web-1.1 unchanged\nevent/web-1.2 unchanged\n" {
		t.Errorf("apply of events -o yaml: %d %q %q", code, out, errOut)
	}
	if js := e.must("events", "--types", "Warning", "-o", "json"); !strings.Contains(js, `"kind": "EventList"`) || !strings.Contains(js, `"reason": "BackOff"`) {
		t.Errorf("events -o json:\n%s", js)
	}
}

func TestEventsErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		args               []string
		wantErr            string
		wantCode           int
		wantStdoutNonEmpty bool
	}{
		{[]string{"events"}, "No events found in default namespace.\n", 0, false},
		{[]string{"events", "-A"}, "No events found.\n", 0, false},
		{[]string{"events", "--types", "Info"}, "error: valid --types are Normal or Warning\n", 1, false},
		{[]string{"events", "--for", "web"}, "error: --for must be in resource/name form\n", 1, false},
		{[]string{"events", "--for", "pod/a/b"}, "error: arguments in resource/name form may not have more than one slash\n", 1, false},
		{[]string{"events", "--for", "widget/a"}, "error: the server doesn't have a resource type \"widget\"\n", 1, false},
		{[]string{"events", "-o", "wide"}, "error: unable to match a printer suitable for the output format \"wide\", allowed formats are: json,yaml\n", 1, false},
		{[]string{"events", "extra"}, "error: unknown command \"extra\" for \"skiffctl events\"\n", 1, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if code != tt.wantCode || errOut != tt.wantErr || out != "" {
				t.Errorf("code %d stdout %q stderr %q, want code %d stderr %q", code, out, errOut, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestEventsWatch(t *testing.T) {
	e := eventsEnv(t)
	r := e.start("events", "--watch", "--for", "pod/web-1", "--types", "Warning")
	r.waitFor("BackOff")
	// Events of other objects and of other types are not printed; a
	// matching one made after them is, under the same header.
	e.createEvents(
		eventSpec{ns: "default", name: "web.2", kind: "Deployment", obj: "web", typ: "Warning", reason: "Other",
			message: "not about web-1", source: "x", first: day, last: day, count: 1},
		eventSpec{ns: "default", name: "web-1.3", kind: "Pod", obj: "web-1", typ: "Normal", reason: "Pulled",
			message: "not a warning", source: "kubelet", first: day, last: day, count: 1},
		eventSpec{ns: "default", name: "web-1.4", kind: "Pod", obj: "web-1", typ: "Warning", reason: "Unhealthy",
			message: "Readiness probe failed", source: "kubelet", first: day, last: day, count: 1},
	)
	r.waitFor("Unhealthy")
	if code := r.stop(); code != 0 {
		t.Errorf("events --watch exit %d", code)
	}
	out, errOut := r.output()
	want := "LAST SEEN         TYPE      REASON    OBJECT      MESSAGE\n" +
		"2d (x3 over 5d)   Warning   BackOff   Pod/web-1   Back-off restarting failed container\n" +
		"24h   Warning   Unhealthy   Pod/web-1   Readiness probe failed\n"
	if out != want || errOut != "" {
		t.Errorf("events --watch printed\n%s\nwant\n%s\nstderr: %s", out, want, errOut)
	}
}

func TestDescribeEvents(t *testing.T) {
	e := eventsEnv(t)
	out := e.must("describe", "pod", "web-1")
	want := `Events:
  Type     Reason     Age              From               Message
  ----     ------     ----             ----               -------
  Normal   Scheduled  3d               default-scheduler  Successfully assigned default/web-1 to n1
  Warning  BackOff    2d (x3 over 5d)  kubelet            Back-off restarting failed container
`
	if !strings.HasSuffix(out, want) {
		t.Errorf("describe pod web-1 ends with\n%s\nwant\n%s", out[max(0, len(out)-len(want)-200):], want)
	}
	for _, line := range []string{"Name:             web-1\n", "Namespace:        default\n", "Node:             <none>\n",
		"Status:           Pending\n", "Containers:\n  c:\n    Image:        busybox\n", "QoS Class:        BestEffort\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("describe pod web-1 lacks %q:\n%s", line, out)
		}
	}
	// An object without events says so.
	e.must("create", "configmap", "cfg")
	if out := e.must("describe", "cm", "cfg"); !strings.HasSuffix(out, "\nEvents:  <none>\n") {
		t.Errorf("describe cm cfg:\n%s", out)
	}
}
