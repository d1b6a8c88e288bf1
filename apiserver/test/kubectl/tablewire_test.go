package kubectl

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

const kubectlGetAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

// get sends a GET with accept and returns the status and the body.
func (e *tableEnv) get(t *testing.T, path, accept string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(tableCtx(t), "GET", e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type wireTable struct {
	Kind, APIVersion  string
	Metadata          map[string]any
	ColumnDefinitions []struct{ Name string }
	Rows              []struct {
		Cells  []any
		Object map[string]any
	}
}

func decodeWire[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// TestTableWire checks what kubectl and client-go read off the wire: a
// Table's paging metadata and row objects, 406 for a representation the
// apiserver does not serve, and the metadata client's
// PartialObjectMetadataList.
func TestTableWire(t *testing.T) {
	e := newTableEnv(t)

	code, b := e.get(t, "/api/v1/namespaces/default/pods?limit=1", kubectlGetAccept)
	tbl := decodeWire[wireTable](t, b)
	if code != 200 || tbl.Kind != "Table" || tbl.APIVersion != "meta.k8s.io/v1" || len(tbl.Rows) != 1 ||
		tbl.Metadata["continue"] == nil || tbl.Metadata["resourceVersion"] == nil || tbl.Metadata["remainingItemCount"] != float64(1) {
		t.Fatalf("a page of a Table: HTTP %d %s; want one row and the list's resourceVersion, continue and remainingItemCount", code, b)
	}
	if o := tbl.Rows[0].Object; o["kind"] != "PartialObjectMetadata" || o["metadata"].(map[string]any)["name"] != "setup" {
		t.Errorf("row object %v, want setup's PartialObjectMetadata", o)
	}
	code, b = e.get(t, "/api/v1/namespaces/default/pods?limit=1&continue="+tbl.Metadata["continue"].(string), kubectlGetAccept)
	if tbl = decodeWire[wireTable](t, b); code != 200 || len(tbl.Rows) != 1 || tbl.Rows[0].Cells[0] != "web-1" || tbl.Metadata["continue"] != nil {
		t.Errorf("the next page: HTTP %d %s; want web-1's row and no continue", code, b)
	}

	code, b = e.get(t, "/api/v1/namespaces/default/pods/web-1?includeObject=Object", kubectlGetAccept)
	if tbl = decodeWire[wireTable](t, b); code != 200 || len(tbl.Rows) != 1 || tbl.Rows[0].Object["kind"] != "Pod" ||
		tbl.Rows[0].Object["status"].(map[string]any)["podIP"] != "10.244.1.5" {
		t.Errorf("includeObject=Object: HTTP %d %s; want the whole pod in the row", code, b)
	}
	code, b = e.get(t, "/api/v1/namespaces/default/pods?includeObject=None", kubectlGetAccept)
	if tbl = decodeWire[wireTable](t, b); code != 200 || len(tbl.Rows) != 2 || tbl.Rows[0].Object != nil {
		t.Errorf("includeObject=None: HTTP %d %s; want rows without objects", code, b)
	}
	code, b = e.get(t, "/api/v1/namespaces/default/pods?includeObject=All", kubectlGetAccept)
	if st := decodeWire[metav1.Status](t, b); code != 400 || !strings.Contains(st.Message, `includeObject: unsupported value "All"`) {
		t.Errorf("includeObject=All: HTTP %d %s; want 400 naming the value", code, b)
	}

	code, b = e.get(t, "/api/v1/namespaces/default/pods", "application/json;as=Table;v=v2;g=meta.k8s.io")
	if st := decodeWire[map[string]any](t, b); code != 406 || st["kind"] != "Status" || st["reason"] != "NotAcceptable" || st["code"] != float64(406) {
		t.Errorf("an unsupported Table version: HTTP %d %s; want a 406 NotAcceptable Status", code, b)
	}
	code, b = e.get(t, "/api/v1/namespaces/default/pods/web-1", "application/json")
	if o := decodeWire[map[string]any](t, b); code != 200 || o["kind"] != "Pod" {
		t.Errorf("plain JSON: HTTP %d %s; want the pod", code, b)
	}

	metadataAccept := "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
	code, b = e.get(t, "/api/v1/namespaces/default/configmaps", metadataAccept)
	list := decodeWire[struct {
		Kind     string
		Metadata map[string]any
		Items    []struct {
			Kind     string
			Metadata map[string]any
			Data     map[string]any
		}
	}](t, b)
	if code != 200 || list.Kind != "PartialObjectMetadataList" || list.Metadata["resourceVersion"] == nil || len(list.Items) != 1 ||
		list.Items[0].Kind != "PartialObjectMetadata" || list.Items[0].Metadata["name"] != "settings" || list.Items[0].Data != nil {
		t.Errorf("the metadata client's list: HTTP %d %s; want settings' metadata only", code, b)
	}
}

// TestTableWatchWire: a Table watch sends one Table of one row per event.
func TestTableWatchWire(t *testing.T) {
	e := newTableEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code, b := e.get(t, "/api/v1/namespaces/default/configmaps", kubectlGetAccept)
	rv, _ := decodeWire[wireTable](t, b).Metadata["resourceVersion"].(string)
	if code != 200 || rv == "" {
		t.Fatalf("list: HTTP %d %s", code, b)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion="+rv, nil)
	req.Header.Set("Accept", kubectlGetAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tableMust[*corev1.ConfigMap](t, "create configmap")(corev1.NewConfigMapServiceClient(e.conn).Create(ctx, &corev1.ConfigMapRequest{Object: &corev1.ConfigMap{
		Metadata: tableMeta("watched", nil), Data: map[string]string{"k": "v"}}}))
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() {
		t.Fatalf("watch ended: %v", sc.Err())
	}
	ev := decodeWire[struct {
		Type   string
		Object wireTable
	}](t, sc.Bytes())
	if ev.Type != "ADDED" || ev.Object.Kind != "Table" || len(ev.Object.Rows) != 1 || ev.Object.Rows[0].Cells[0] != "watched" ||
		ev.Object.Rows[0].Cells[1] != float64(1) || len(ev.Object.ColumnDefinitions) != 3 {
		t.Errorf("watch event %s, want ADDED with a Table of watched's one row", sc.Bytes())
	}
}

// TestStatusDetails: an error's Status names the resource and its group
// apart, as Kubernetes' does.
func TestStatusDetails(t *testing.T) {
	e := newTableEnv(t)
	code, b := e.get(t, "/apis/apps/v1/namespaces/default/deployments/nope", "application/json")
	want := `{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","message":"deployments.apps \"nope\" not found","reason":"NotFound","details":{"name":"nope","group":"apps","kind":"deployments"},"code":404}`
	if code != 404 || strings.TrimSpace(string(b)) != want {
		t.Errorf("HTTP %d %s\nwant 404 %s", code, b, want)
	}
	code, b = e.get(t, "/apis/apps/v1/namespaces/default/deployments/nope", kubectlGetAccept)
	if code != 404 || strings.TrimSpace(string(b)) != want {
		t.Errorf("asking for a Table: HTTP %d %s\nwant 404 %s", code, b, want)
	}
}

// TestWatchAnswersAtOnce: a watch answers as soon as it is established,
// before any change (client-go's Watch returns only then), and a gRPC
// watch that lists first keeps streaming after its initial events.
func TestWatchAnswersAtOnce(t *testing.T) {
	e := newTableEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("a REST watch with nothing to send did not answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("REST watch: HTTP %d %s, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	st, err := corev1.NewPodServiceClient(e.conn).Watch(ctx, &metav1.ListOptions{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"setup", "web-1"} {
		ev, err := st.Recv()
		if err != nil || ev.GetType() != metav1.EventType_ADDED || ev.GetObject().GetMetadata().GetName() != want {
			t.Fatalf("initial event %v %s, %v; want ADDED %s", ev.GetType(), ev.GetObject().GetMetadata().GetName(), err, want)
		}
	}
	tableMust[*corev1.Pod](t, "create pod")(corev1.NewPodServiceClient(e.conn).Create(ctx, &corev1.PodRequest{Object: &corev1.Pod{
		Metadata: tableMeta("later", nil), Spec: &corev1.PodSpec{Containers: []*corev1.Container{tableContainer("c", "busybox:1.36")}}}}))
	ev, err := st.Recv()
	if err != nil || ev.GetType() != metav1.EventType_ADDED || ev.GetObject().GetMetadata().GetName() != "later" {
		t.Fatalf("event after the initial ones: %v %s, %v; want ADDED later", ev.GetType(), ev.GetObject().GetMetadata().GetName(), err)
	}
}
