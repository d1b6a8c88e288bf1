package compat

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/apiserver/internal/apierrors"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

const kubectlAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

func TestNegotiateTable(t *testing.T) {
	tests := []struct {
		name    string
		accept  string
		query   string
		want    *TableFormat
		wantErr string // the error's reason
	}{
		{"no accept", "", "", nil, ""},
		{"plain json", "application/json", "", nil, ""},
		{"yaml", "application/yaml", "", nil, ""},
		{"anything", "*/*", "", nil, ""},
		{"kubectl get", kubectlAccept, "", &TableFormat{Version: "v1", IncludeObject: IncludeMetadata}, ""},
		{"kubectl get --sort-by", kubectlAccept, "includeObject=Object", &TableFormat{Version: "v1", IncludeObject: IncludeObject}, ""},
		{"no objects", kubectlAccept, "includeObject=None", &TableFormat{Version: "v1", IncludeObject: IncludeNone}, ""},
		{"v1beta1 only", "application/json;as=Table;v=v1beta1;g=meta.k8s.io", "", &TableFormat{Version: "v1beta1", IncludeObject: IncludeMetadata}, ""},
		{"an unsupported table first", "application/json;as=Table;v=v2;g=meta.k8s.io, application/json", "", nil, ""},
		{"preferred by q", "application/json;q=0.5, application/json;as=Table;v=v1;g=meta.k8s.io", "", &TableFormat{Version: "v1", IncludeObject: IncludeMetadata}, ""},
		{"q=0 is refused", "application/json;as=Table;v=v1;g=meta.k8s.io;q=0", "", nil, ""},
		{"unsupported version only", "application/json;as=Table;v=v2;g=meta.k8s.io", "", nil, apierrors.ReasonNotAcceptable},
		{"other group only", "application/json;as=Table;v=v1;g=example.com", "", nil, apierrors.ReasonNotAcceptable},
		{"other representation only", "application/json;as=Summary;v=v1;g=meta.k8s.io", "", nil, apierrors.ReasonNotAcceptable},
		{"a yaml table", "application/yaml;as=Table;v=v1;g=meta.k8s.io", "", nil, apierrors.ReasonNotAcceptable},
		{"bad includeObject", kubectlAccept, "includeObject=Everything", nil, apierrors.ReasonBadRequest},
		{"metadata client list", "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json", "",
			&TableFormat{Version: "v1", As: AsPartialObjectMetadata}, ""},
		{"metadata client get", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1", "", &TableFormat{Version: "v1beta1", As: AsPartialObjectMetadata}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			got, err := NegotiateTable(tt.accept, q)
			if tt.wantErr != "" {
				if apierrors.ReasonOf(err) != tt.wantErr {
					t.Fatalf("NegotiateTable = %v, %v; want a %s error", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("NegotiateTable = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNotAcceptableIs406(t *testing.T) {
	_, err := NegotiateTable("application/json;as=Table;v=v2;g=meta.k8s.io", nil)
	st, code := apierrors.ToStatus(err)
	if code != 406 || st.GetReason() != "NotAcceptable" || !strings.Contains(st.GetMessage(), "as=Table;v=v2") {
		t.Errorf("status %d %+v, want 406 NotAcceptable naming what was asked", code, st)
	}
}

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testPods() *corev1.PodList {
	created := timestamppb.New(now.Add(-90 * time.Second))
	remaining := int64(7)
	return &corev1.PodList{ApiVersion: "v1", Kind: "PodList",
		Metadata: &metav1.ListMeta{ResourceVersion: "42", Continue: "next-page", RemainingItemCount: &remaining},
		Items: []*corev1.Pod{
			{Metadata: &metav1.ObjectMeta{Name: "web-1", Namespace: "default", Uid: "u1", ResourceVersion: "40", CreationTimestamp: created, Labels: map[string]string{"app": "web"}},
				Spec: &corev1.PodSpec{NodeName: "node-1", Containers: []*corev1.Container{{Name: "web", Image: "nginx"}}},
				Status: &corev1.PodStatus{Phase: "Running", PodIp: "10.244.1.5",
					ContainerStatuses: []*corev1.ContainerStatus{{Name: "web", Ready: true, State: &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}},
			{Metadata: &metav1.ObjectMeta{Name: "done", Namespace: "default", CreationTimestamp: created},
				Spec:   &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox"}}},
				Status: &corev1.PodStatus{Phase: "Succeeded"}},
		}}
}

// decoded is a Table as a client decodes it.
type decoded struct {
	Kind, APIVersion string
	Metadata         map[string]any
	Rows             []struct {
		Cells      []any
		Conditions []map[string]string
		Object     json.RawMessage
	}
	ColumnDefinitions []map[string]any
}

func decode(t *testing.T, b []byte) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("table is not JSON: %v\n%s", err, b)
	}
	return d
}

func TestAppendTableOfList(t *testing.T) {
	f := TableFormat{Version: "v1", IncludeObject: IncludeMetadata}
	b, err := f.AppendTable(nil, testPods(), now)
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, b)
	if got.Kind != "Table" || got.APIVersion != "meta.k8s.io/v1" {
		t.Errorf("kind %q apiVersion %q, want Table meta.k8s.io/v1", got.Kind, got.APIVersion)
	}
	if got.Metadata["resourceVersion"] != "42" || got.Metadata["continue"] != "next-page" || got.Metadata["remainingItemCount"] != float64(7) {
		t.Errorf("metadata = %v, want the list's resourceVersion, continue and remainingItemCount", got.Metadata)
	}
	var names []string
	for _, c := range got.ColumnDefinitions {
		names = append(names, c["name"].(string)+"/"+c["type"].(string)+"/"+c["format"].(string)+"/"+string(rune('0'+int(c["priority"].(float64)))))
		if c["description"] == "" {
			t.Errorf("column %v has no description", c)
		}
	}
	wantCols := "Name/string/name/0 Ready/string//0 Status/string//0 Restarts/string//0 Age/string//0 IP/string//1 Node/string//1 Nominated Node/string//1 Readiness Gates/string//1"
	if strings.Join(names, " ") != wantCols {
		t.Errorf("columns\n%s\nwant\n%s", strings.Join(names, " "), wantCols)
	}
	if len(got.Rows) != 2 {
		t.Fatalf("%d rows, want 2", len(got.Rows))
	}
	cells, _ := json.Marshal(got.Rows[0].Cells)
	if want := `["web-1","1/1","Running","0","90s","10.244.1.5","node-1","\u003cnone\u003e","\u003cnone\u003e"]`; string(cells) != want {
		t.Errorf("row 1 cells %s, want %s", cells, want)
	}
	if want := `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"web-1","namespace":"default","uid":"u1","resourceVersion":"40","creationTimestamp":"2026-01-02T03:02:35Z","labels":{"app":"web"}}}`; string(got.Rows[0].Object) != want {
		t.Errorf("row 1 object\n%s\nwant\n%s", got.Rows[0].Object, want)
	}
	if got.Rows[0].Conditions != nil {
		t.Errorf("a running pod's row has conditions %v", got.Rows[0].Conditions)
	}
	if c := got.Rows[1].Conditions; len(c) != 1 || c[0]["type"] != "Completed" || c[0]["status"] != "True" || c[0]["reason"] != "Succeeded" {
		t.Errorf("a succeeded pod's row conditions = %v, want Completed True (Succeeded)", c)
	}
}

func TestIncludeObject(t *testing.T) {
	for _, tt := range []struct {
		f    TableFormat
		want string // the first row's object
	}{
		{TableFormat{Version: "v1", IncludeObject: IncludeNone}, `null`},
		{TableFormat{Version: "v1beta1", IncludeObject: IncludeMetadata}, `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1beta1","metadata":{"name":"done","namespace":"default","creationTimestamp":"2026-01-02T03:02:35Z"}}`},
		{TableFormat{Version: "v1", IncludeObject: IncludeObject}, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"done","namespace":"default","creationTimestamp":"2026-01-02T03:02:35Z"},"spec":{"containers":[{"name":"c","image":"busybox"}]},"status":{"phase":"Succeeded"}}`},
	} {
		t.Run(tt.f.IncludeObject, func(t *testing.T) {
			list := testPods()
			list.Items = list.Items[1:]
			before := proto.Clone(list)
			b, err := tt.f.AppendTable(nil, list, now)
			if err != nil {
				t.Fatal(err)
			}
			got := decode(t, b)
			if got.APIVersion != "meta.k8s.io/"+tt.f.Version {
				t.Errorf("apiVersion %q, want meta.k8s.io/%s", got.APIVersion, tt.f.Version)
			}
			if string(got.Rows[0].Object) != tt.want {
				t.Errorf("object\n%s\nwant\n%s", got.Rows[0].Object, tt.want)
			}
			if !proto.Equal(before, list) {
				t.Error("AppendTable changed the list it encoded")
			}
		})
	}
}

func TestAppendTableOfObject(t *testing.T) {
	cm := &corev1.ConfigMap{ApiVersion: "v1", Kind: "ConfigMap",
		Metadata: &metav1.ObjectMeta{Name: "settings", Namespace: "default", ResourceVersion: "9", CreationTimestamp: timestamppb.New(now.Add(-3 * time.Hour))},
		Data:     map[string]string{"a": "1", "b": "2"}}
	b, err := TableFormat{Version: "v1", IncludeObject: IncludeNone}.AppendTable(nil, cm, now)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"9"},"columnDefinitions":[` +
		`{"name":"Name","type":"string","format":"name","description":"` + descName(t) + `","priority":0},` +
		`{"name":"Data","type":"string","format":"","description":"Data contains the configuration data.","priority":0},` +
		`{"name":"Age","type":"string","format":"","description":"` + descAge(t) + `","priority":0}],` +
		`"rows":[{"cells":["settings",2,"3h"],"object":null}]}`
	if string(b) != want {
		t.Errorf("table\n%s\nwant\n%s", b, want)
	}
}

func descName(t *testing.T) string { return columnDescription(t, "Name") }
func descAge(t *testing.T) string  { return columnDescription(t, "Age") }

func columnDescription(t *testing.T, name string) string {
	b, _ := TableFormat{Version: "v1"}.AppendTable(nil, &corev1.ConfigMap{Kind: "ConfigMap", Metadata: &metav1.ObjectMeta{}}, now)
	for _, c := range decode(t, b).ColumnDefinitions {
		if c["name"] == name {
			return c["description"].(string)
		}
	}
	t.Fatalf("no column %s", name)
	return ""
}

func TestEmptyListHasRows(t *testing.T) {
	b, err := TableFormat{Version: "v1", IncludeObject: IncludeMetadata}.AppendTable(nil,
		&corev1.PodList{ApiVersion: "v1", Kind: "PodList", Metadata: &metav1.ListMeta{ResourceVersion: "5"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"rows":[]`) || !strings.Contains(string(b), `"metadata":{"resourceVersion":"5"}`) {
		t.Errorf("empty list's table %s, want rows [] and the list's resourceVersion", b)
	}
}

func TestAppendWatchEvent(t *testing.T) {
	f := TableFormat{Version: "v1", IncludeObject: IncludeMetadata}
	pod := testPods().Items[0]
	b, err := f.AppendWatchEvent(nil, &corev1.PodWatchEvent{Type: metav1.EventType_MODIFIED, Object: pod}, now)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Type   string
		Object json.RawMessage
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("event is not JSON: %v\n%s", err, b)
	}
	tbl := decode(t, ev.Object)
	if ev.Type != "MODIFIED" || tbl.Kind != "Table" || len(tbl.Rows) != 1 || tbl.Rows[0].Cells[0] != "web-1" || tbl.Metadata["resourceVersion"] != "40" {
		t.Errorf("event %s, want MODIFIED with a Table of web-1's one row at its resourceVersion", b)
	}

	b, err = f.AppendWatchEvent(nil, &corev1.PodWatchEvent{Type: metav1.EventType_BOOKMARK,
		Object: &corev1.Pod{Metadata: &metav1.ObjectMeta{ResourceVersion: "77"}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"BOOKMARK","object":{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"77"},"columnDefinitions":[],"rows":[]}}`; string(b) != want {
		t.Errorf("bookmark\n%s\nwant\n%s", b, want)
	}
}

func TestAppendPartial(t *testing.T) {
	f := TableFormat{Version: "v1", As: AsPartialObjectMetadata}
	list := testPods()
	list.Items[1].Metadata.Labels = nil
	b, err := f.AppendPartial(nil, list)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"42","continue":"next-page","remainingItemCount":7},"items":[` +
		`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"web-1","namespace":"default","uid":"u1","resourceVersion":"40","creationTimestamp":"2026-01-02T03:02:35Z","labels":{"app":"web"}}},` +
		`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"done","namespace":"default","creationTimestamp":"2026-01-02T03:02:35Z"}}]}`
	if string(b) != want {
		t.Errorf("partial list\n%s\nwant\n%s", b, want)
	}
	b, err = f.AppendWatchEvent(nil, &corev1.PodWatchEvent{Type: metav1.EventType_DELETED, Object: list.Items[1]}, now)
	if err != nil {
		t.Fatal(err)
	}
	want = `{"type":"DELETED","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"done","namespace":"default","creationTimestamp":"2026-01-02T03:02:35Z"}}}`
	if string(b) != want {
		t.Errorf("partial watch event\n%s\nwant\n%s", b, want)
	}
	b, _ = f.AppendPartial(nil, &corev1.PodList{Kind: "PodList"})
	if want := `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{},"items":[]}`; string(b) != want {
		t.Errorf("empty partial list %s, want %s", b, want)
	}
}
