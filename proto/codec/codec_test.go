package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/proto/apps/v1"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden pins the JSON of typical objects: each testdata/X.yaml is
// decoded and encoded, and the result compared with testdata/X.golden
// (indented there for reading; the compact form must be byte-identical).
func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		msg  proto.Message
	}{
		{"service", &corev1.Service{}},
		{"deployment", &appsv1.Deployment{}},
		{"pod", &corev1.Pod{}},
		{"podlist", &corev1.PodList{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", tc.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := UnmarshalYAML(src, tc.msg); err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, append(Indent(got, "  "), '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, want); err != nil {
				t.Fatalf("%s: %v", golden, err)
			}
			if !bytes.Equal(got, compact.Bytes()) {
				t.Fatalf("JSON differs from %s (run with -update to accept)\ngot:  %s\nwant: %s", golden, got, compact.Bytes())
			}

			// What we write reads back to the same object.
			back := tc.msg.ProtoReflect().New().Interface()
			if err := Unmarshal(got, back); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(back, tc.msg) {
				t.Fatalf("round trip changed the object:\n%v\n%v", back, tc.msg)
			}
		})
	}
}

func TestIntOrStringEncoding(t *testing.T) {
	cases := []struct {
		target, want string
	}{
		{"8080", `"targetPort":8080`},
		{"http", `"targetPort":"http"`},
		{"25%", `"targetPort":"25%"`},
		{"-1", `"targetPort":-1`},
		{"99999999999", `"targetPort":"99999999999"`}, // not an int32: kept as written
		{"+1", `"targetPort":"+1"`},
		{"", `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			b, err := Marshal(&corev1.ServicePort{TargetPort: tc.target})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.want) {
				t.Fatalf("got %s, want it to contain %s", b, tc.want)
			}
		})
	}
}

// TestIntOrStringFields checks the table against the API: every entry is a
// string field that exists, so a renamed field fails here, not silently.
func TestIntOrStringFields(t *testing.T) {
	_ = corev1.File_core_v1_types_proto
	_ = appsv1.File_apps_v1_types_proto
	for name := range intOrString {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		fd, ok := d.(protoreflect.FieldDescriptor)
		if !ok || fd.Kind() != protoreflect.StringKind || fd.IsList() {
			t.Errorf("%s is not a singular string field", name)
		}
	}
}

func TestEmptyListsHaveItems(t *testing.T) {
	for _, m := range []proto.Message{&corev1.PodList{}, &corev1.ServiceList{}, &appsv1.DeploymentList{}, &corev1.NamespaceList{}} {
		b, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"items":[]`) {
			t.Errorf("%s: %s has no \"items\":[]", m.ProtoReflect().Descriptor().Name(), b)
		}
	}
	// Other repeated fields stay omitted when empty, as Kubernetes' omitempty.
	b, _ := Marshal(&corev1.PodSpec{})
	if string(b) != `{}` {
		t.Errorf("empty PodSpec = %s, want {}", b)
	}
}

// TestKubernetesShape: fields Kubernetes writes even when zero are written,
// and 64-bit integers are numbers (protojson writes them as strings).
func TestKubernetesShape(t *testing.T) {
	cases := []struct {
		msg  proto.Message
		want string
	}{
		{&corev1.ContainerStatus{Name: "a"}, `{"name":"a","ready":false,"restartCount":0,"image":"","imageID":""}`},
		{&appsv1.ScaleStatus{}, `{"replicas":0}`},
		{&appsv1.ReplicaSetStatus{}, `{"replicas":0}`},
		{&metav1.Status{Status: "Failure"}, `{"metadata":{},"status":"Failure"}`},
		{&corev1.PodList{}, `{"metadata":{},"items":[]}`},
		{&corev1.Pod{}, `{}`},
		{&metav1.ListMeta{RemainingItemCount: proto.Int64(3)}, `{"remainingItemCount":3}`},
	}
	for _, tc := range cases {
		b, err := Marshal(tc.msg)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.msg.ProtoReflect().Descriptor().Name(), b, tc.want)
		}
	}
	for name := range alwaysWritten {
		if _, err := protoregistry.GlobalFiles.FindDescriptorByName(name); err != nil {
			t.Errorf("alwaysWritten: %s: %v", name, err)
		}
	}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name    string
		yaml    bool
		body    string
		check   func(*corev1.Service) bool
		wantErr string
	}{
		{name: "numbers where the API has strings", body: `{"metadata":{"name":"web"},"spec":{"ports":[{"port":80,"targetPort":8080}]}}`,
			check: func(s *corev1.Service) bool {
				return s.Spec.Ports[0].TargetPort == "8080" && s.Spec.Ports[0].Port == 80
			}},
		{name: "named target port", body: `{"spec":{"ports":[{"port":80,"targetPort":"http"}]}}`,
			check: func(s *corev1.Service) bool { return s.Spec.Ports[0].TargetPort == "http" }},
		{name: "snake_case names as protojson takes them", body: `{"spec":{"cluster_ip":"10.0.0.1"}}`,
			check: func(s *corev1.Service) bool { return s.Spec.ClusterIp == "10.0.0.1" }},
		{name: "null leaves a field unset", body: `{"metadata":{"name":"a","creationTimestamp":null}}`,
			check: func(s *corev1.Service) bool { return s.Metadata.CreationTimestamp == nil }},
		{name: "yaml", yaml: true, body: "metadata:\n  name: web\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n    targetPort: 8080\n",
			check: func(s *corev1.Service) bool {
				return s.Spec.ClusterIp == "10.0.0.1" && s.Spec.Ports[0].TargetPort == "8080"
			}},
		{name: "integer written as a float", body: `{"spec":{"ports":[{"port":80.0}]}}`,
			check: func(s *corev1.Service) bool { return s.Spec.Ports[0].Port == 80 }},
		{name: "unknown field is named with its path", body: `{"spec":{"replica":3}}`, wantErr: `unknown field "spec.replica"`},
		{name: "unknown field in yaml has its line", yaml: true, body: "metadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    tragetPort: 8080\n",
			wantErr: `line 6: unknown field "spec.ports[0].tragetPort"`},
		{name: "wrong type names path and line", yaml: true, body: "metadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n  - port: eighty\n",
			wantErr: `line 6: spec.ports[1].port: expected an integer, got "eighty"`},
		{name: "out of range", body: `{"spec":{"ports":[{"port":4294967296}]}}`, wantErr: `spec.ports[0].port: 4294967296 is out of range`},
		{name: "list where an object belongs", body: `{"spec":{"ports":"eighty"}}`, wantErr: `spec.ports: expected a list, got "eighty"`},
		{name: "bool where a string belongs", body: `{"metadata":{"labels":{"on":true}}}`, wantErr: `metadata.labels[on]: expected a string, got true`},
		{name: "bad time", body: `{"metadata":{"creationTimestamp":"yesterday"}}`, wantErr: `metadata.creationTimestamp: expected an RFC 3339 time`},
		{name: "malformed json", body: `{"metadata":`, wantErr: "not valid JSON"},
		{name: "trailing data", body: `{}{}`, wantErr: "not valid JSON"},
		{name: "not an object", body: `[1]`, wantErr: "expected an object, got a list"},
		{name: "malformed yaml", yaml: true, body: "metadata: [", wantErr: "not valid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{}
			var err error
			if tc.yaml {
				err = UnmarshalYAML([]byte(tc.body), svc)
			} else {
				err = Unmarshal([]byte(tc.body), svc)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(svc) {
				t.Fatalf("decoded %v", svc)
			}
		})
	}
}

func TestQuantitiesAndProbePorts(t *testing.T) {
	src := `
spec:
  containers:
  - name: a
    image: x
    resources:
      requests: {cpu: 1, memory: 1Gi}
      limits: {cpu: 0.5, memory: 128974848}
    livenessProbe: {httpGet: {port: 80}}
    readinessProbe: {tcpSocket: {port: 8080}}
`
	pod := &corev1.Pod{}
	if err := UnmarshalYAML([]byte(src), pod); err != nil {
		t.Fatal(err)
	}
	c := pod.Spec.Containers[0]
	if r := c.Resources; r.Requests["cpu"] != "1" || r.Requests["memory"] != "1Gi" || r.Limits["cpu"] != "0.5" || r.Limits["memory"] != "128974848" {
		t.Errorf("resources = %v", r)
	}
	if c.LivenessProbe.HttpGet.Port != "80" || c.ReadinessProbe.TcpSocket.Port != "8080" {
		t.Errorf("probe ports = %q, %q", c.LivenessProbe.HttpGet.Port, c.ReadinessProbe.TcpSocket.Port)
	}
	b, err := Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"httpGet":{"port":80}`, `"tcpSocket":{"port":8080}`, `"cpu":"1"`, `"memory":"1Gi"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not contain %s", b, want)
		}
	}
}

func TestListItemsKeepTheirLines(t *testing.T) {
	src := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Service\n  spec:\n    ports: [{port: x}]\n"
	d, err := ParseYAML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	items, ok := d.Items()
	if !ok || len(items) != 2 {
		t.Fatalf("items = %d, %v", len(items), ok)
	}
	if av, k := items[1].TypeMeta(); av != "v1" || k != "Service" {
		t.Fatalf("TypeMeta = %q, %q", av, k)
	}
	err = items[1].Decode(&corev1.Service{})
	var e *Error
	if !errors.As(err, &e) || e.Line != 10 || e.Path != "items[1].spec.ports[0].port" {
		t.Fatalf("got %#v", err)
	}
}

var benchPod = func() *corev1.Pod {
	src, err := os.ReadFile("testdata/pod.yaml")
	if err != nil {
		panic(err)
	}
	p := &corev1.Pod{}
	if err := UnmarshalYAML(src, p); err != nil {
		panic(err)
	}
	return p
}()

func BenchmarkEncodePod(b *testing.B) {
	b.Run("codec", func(b *testing.B) {
		for b.Loop() {
			if _, err := Marshal(benchPod); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		for b.Loop() {
			if _, err := protojson.Marshal(benchPod); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodePod decodes the JSON protojson writes (IntOrString as
// strings, which both decoders take) so the figures compare.
func BenchmarkDecodePod(b *testing.B) {
	data, err := protojson.Marshal(benchPod)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("codec", func(b *testing.B) {
		for b.Loop() {
			if err := Unmarshal(data, &corev1.Pod{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		for b.Loop() {
			if err := protojson.Unmarshal(data, &corev1.Pod{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMicroTime: the fields Kubernetes types as MicroTime are written with
// exactly six fractional digits, as client-go reads them, and read back.
func TestMicroTime(t *testing.T) {
	lease := &coordinationv1.Lease{ApiVersion: "coordination.k8s.io/v1", Kind: "Lease",
		Metadata: &metav1.ObjectMeta{Name: "l"},
		Spec: &coordinationv1.LeaseSpec{
			AcquireTime: timestamppb.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)),
			RenewTime:   timestamppb.New(time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)),
		}}
	b, err := Marshal(lease)
	if err != nil {
		t.Fatal(err)
	}
	want := `"spec":{"acquireTime":"2026-03-04T05:06:07.000000Z","renewTime":"2026-03-04T05:06:07.123456Z"}`
	if !strings.Contains(string(b), want) {
		t.Errorf("Marshal = %s, want it to hold %s", b, want)
	}
	back := &coordinationv1.Lease{}
	if err := Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	if got := back.GetSpec().GetRenewTime().AsTime(); !got.Equal(time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)) {
		t.Errorf("renewTime read back as %v", got)
	}
}

// TestTimes: times are written as Kubernetes writes them, whole seconds
// for a metav1.Time (jq's fromdateiso8601 reads them), six fractional
// digits for a metav1.MicroTime.
func TestTimes(t *testing.T) {
	ts := timestamppb.New(time.Date(2026, 12, 1, 20, 0, 1, 123456789, time.UTC))
	ev := &corev1.Event{Metadata: &metav1.ObjectMeta{CreationTimestamp: ts}, EventTime: ts, LastTimestamp: ts}
	b, err := Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"metadata":{"creationTimestamp":"2026-12-01T20:00:01Z"},"lastTimestamp":"2026-12-01T20:00:01Z","eventTime":"2026-12-01T20:00:01.123456Z"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	lease := &coordinationv1.Lease{Spec: &coordinationv1.LeaseSpec{RenewTime: timestamppb.New(time.Date(2026, 12, 1, 20, 0, 1, 0, time.UTC))}}
	if b, _ := Marshal(lease); string(b) != `{"spec":{"renewTime":"2026-12-01T20:00:01.000000Z"}}` {
		t.Errorf("lease %s, want renewTime with six fractional digits", b)
	}
}
