package client

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// fakeConn records the calls of generated clients and answers streams
// with the messages in stream.
type fakeConn struct {
	mu     sync.Mutex
	method string
	args   proto.Message
	stream []proto.Message // messages each stream returns, then io.EOF
}

func (f *fakeConn) Invoke(_ context.Context, method string, args, _ any, _ ...grpc.CallOption) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.method, f.args = method, proto.Clone(args.(proto.Message))
	return nil
}

func (f *fakeConn) NewStream(ctx context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.method = method
	return &fakeStream{ctx: ctx, conn: f, msgs: append([]proto.Message(nil), f.stream...)}, nil
}

func (f *fakeConn) last() (string, proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.method, f.args
}

type fakeStream struct {
	ctx  context.Context
	conn *fakeConn
	msgs []proto.Message
}

func (s *fakeStream) Header() (metadata.MD, error) { return nil, nil }
func (s *fakeStream) Trailer() metadata.MD         { return nil }
func (s *fakeStream) CloseSend() error             { return nil }
func (s *fakeStream) Context() context.Context     { return s.ctx }
func (s *fakeStream) SendMsg(m any) error {
	s.conn.mu.Lock()
	defer s.conn.mu.Unlock()
	s.conn.args = proto.Clone(m.(proto.Message))
	return nil
}
func (s *fakeStream) RecvMsg(m any) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if len(s.msgs) == 0 {
		return io.EOF
	}
	proto.Merge(m.(proto.Message), s.msgs[0])
	s.msgs = s.msgs[1:]
	return nil
}

// newObject makes a T with metadata ns/name.
func newObject[T Object](ns, name string) T {
	var zero T
	m := zero.ProtoReflect().New()
	meta := &metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "5"}
	m.Set(m.Descriptor().Fields().ByName("metadata"), protoreflect.ValueOfMessage(meta.ProtoReflect()))
	return m.Interface().(T)
}

// field reads a field of a request message by name.
func field(m proto.Message, name string) protoreflect.Value {
	r := m.ProtoReflect()
	return r.Get(r.Descriptor().Fields().ByName(protoreflect.Name(name)))
}

func wantCall(t *testing.T, fc *fakeConn, method string, want proto.Message) {
	t.Helper()
	gotMethod, got := fc.last()
	if gotMethod != method {
		t.Errorf("method = %s, want %s", gotMethod, method)
	}
	if !proto.Equal(want, got) {
		t.Errorf("%s request:\n got %v\nwant %v", method, got, want)
	}
}

// exercise calls every common verb of r and checks what reached the wire.
func exercise[T Object, L ObjectList[T]](t *testing.T, fc *fakeConn, r *Resource[T, L], service string) {
	t.Helper()
	ctx := context.Background()
	ns := r.Namespace()
	obj := newObject[T](ns, "obj")

	if _, err := r.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	_, req := fc.last()
	if field(req, "namespace").String() != ns || field(req, "name").String() != "obj" ||
		!proto.Equal(field(req, "object").Message().Interface(), obj) {
		t.Errorf("Create sent %v", req)
	}
	if m, _ := fc.last(); m != service+"Create" {
		t.Errorf("Create called %s", m)
	}

	if _, err := r.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if m, req := fc.last(); m != service+"Update" || !proto.Equal(field(req, "object").Message().Interface(), obj) {
		t.Errorf("Update called %s with %v", m, req)
	}

	if _, err := r.Get(ctx, "obj"); err != nil {
		t.Fatal(err)
	}
	wantCall(t, fc, service+"Get", &metav1.GetOptions{Namespace: ns, Name: "obj"})

	if _, err := r.List(ctx, ListOptions{LabelSelector: "app=web", Limit: 10, Continue: "c"}); err != nil {
		t.Fatal(err)
	}
	wantCall(t, fc, service+"List", &metav1.ListOptions{Namespace: ns, LabelSelector: "app=web", Limit: 10, Continue: "c"})

	grace := int64(0)
	if err := r.Delete(ctx, "obj", DeleteOptions{GracePeriodSeconds: &grace, PreconditionUID: "u1", PropagationPolicy: "Foreground"}); err != nil {
		t.Fatal(err)
	}
	uid := "u1"
	wantCall(t, fc, service+"Delete", &metav1.DeleteOptions{
		Namespace: ns, Name: "obj", GracePeriodSeconds: &grace,
		Preconditions: &metav1.Preconditions{Uid: &uid}, PropagationPolicy: "Foreground",
	})

	// The stream answers one event of the kind's XWatchEvent type.
	mt, err := findMessage(service, "WatchEvent")
	if err != nil {
		t.Fatal(err)
	}
	ev, md := mt.New(), mt.Descriptor()
	ev.Set(md.Fields().ByName("type"), protoreflect.ValueOfEnum(metav1.EventType_MODIFIED.Number()))
	ev.Set(md.Fields().ByName("object"), protoreflect.ValueOfMessage(obj.ProtoReflect()))
	fc.stream = []proto.Message{ev.Interface()}
	w, err := r.Watch(ctx, ListOptions{ResourceVersion: "5", AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	wantCall(t, fc, service+"Watch", &metav1.ListOptions{Namespace: ns, ResourceVersion: "5", AllowWatchBookmarks: true})
	got, err := w.Recv()
	if err != nil || got.Type != metav1.EventType_MODIFIED || !proto.Equal(got.Object, obj) {
		t.Errorf("Watch Recv = %v %v, %v", got.Type, got.Object, err)
	}
	if _, err := w.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("Watch Recv at end = %v, want io.EOF", err)
	}
}

// findMessage finds <Kind><suffix> in the package of service
// "/skiff.core.v1.PodService/".
func findMessage(service, suffix string) (protoreflect.MessageType, error) {
	full := strings.TrimSuffix(strings.TrimPrefix(service, "/"), "Service/") + suffix
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(full))
	if err != nil {
		return nil, err
	}
	return mt, nil
}

func exerciseStatus[T Object, L ObjectList[T]](t *testing.T, fc *fakeConn, r *StatusResource[T, L], service string) {
	t.Helper()
	exercise(t, fc, r.Resource, service)
	obj := newObject[T](r.Namespace(), "obj")
	if _, err := r.UpdateStatus(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	if m, req := fc.last(); m != service+"UpdateStatus" || !proto.Equal(field(req, "object").Message().Interface(), obj) {
		t.Errorf("UpdateStatus called %s with %v", m, req)
	}
}

func TestEveryKind(t *testing.T) {
	fc := &fakeConn{}
	cs := NewForConn(fc)
	core, apps := cs.CoreV1(), cs.AppsV1()
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"namespaces", func(t *testing.T) { exerciseStatus(t, fc, core.Namespaces(), "/skiff.core.v1.NamespaceService/") }},
		{"pods", func(t *testing.T) {
			exerciseStatus(t, fc, core.Pods("ns1").StatusResource, "/skiff.core.v1.PodService/")
		}},
		{"pods all namespaces", func(t *testing.T) { exerciseStatus(t, fc, core.Pods("").StatusResource, "/skiff.core.v1.PodService/") }},
		{"nodes", func(t *testing.T) { exerciseStatus(t, fc, core.Nodes(), "/skiff.core.v1.NodeService/") }},
		{"services", func(t *testing.T) { exerciseStatus(t, fc, core.Services("ns1"), "/skiff.core.v1.ServiceService/") }},
		{"endpoints", func(t *testing.T) { exercise(t, fc, core.Endpoints("ns1"), "/skiff.core.v1.EndpointsService/") }},
		{"events", func(t *testing.T) { exercise(t, fc, core.Events("ns1"), "/skiff.core.v1.EventService/") }},
		{"configmaps", func(t *testing.T) { exercise(t, fc, core.ConfigMaps("ns1"), "/skiff.core.v1.ConfigMapService/") }},
		{"secrets", func(t *testing.T) { exercise(t, fc, core.Secrets("ns1"), "/skiff.core.v1.SecretService/") }},
		{"serviceaccounts", func(t *testing.T) {
			exercise(t, fc, core.ServiceAccounts("ns1"), "/skiff.core.v1.ServiceAccountService/")
		}},
		{"replicasets", func(t *testing.T) {
			exerciseStatus(t, fc, apps.ReplicaSets("ns1").StatusResource, "/skiff.apps.v1.ReplicaSetService/")
		}},
		{"deployments", func(t *testing.T) {
			exerciseStatus(t, fc, apps.Deployments("ns1").StatusResource, "/skiff.apps.v1.DeploymentService/")
		}},
		{"daemonsets", func(t *testing.T) { exerciseStatus(t, fc, apps.DaemonSets("ns1"), "/skiff.apps.v1.DaemonSetService/") }},
		{"jobs", func(t *testing.T) { exerciseStatus(t, fc, cs.BatchV1().Jobs("ns1"), "/skiff.batch.v1.JobService/") }},
		{"leases", func(t *testing.T) {
			exercise(t, fc, cs.CoordinationV1().Leases("ns1"), "/skiff.coordination.v1.LeaseService/")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestCreateKeepsObjectNamespaceAcrossNamespaces(t *testing.T) {
	fc := &fakeConn{}
	pods := NewForConn(fc).CoreV1().Pods("")
	if _, err := pods.Create(context.Background(), newObject[*corev1.Pod]("team-a", "p")); err != nil {
		t.Fatal(err)
	}
	_, req := fc.last()
	if ns := req.(*corev1.PodRequest).GetNamespace(); ns != "team-a" {
		t.Errorf("request namespace = %q, want the object's team-a", ns)
	}
}

func TestPodBindAndLog(t *testing.T) {
	fc := &fakeConn{}
	pods := NewForConn(fc).CoreV1().Pods("ns1")
	ctx := context.Background()

	if err := pods.Bind(ctx, "web-0", "node-1"); err != nil {
		t.Fatal(err)
	}
	wantCall(t, fc, "/skiff.core.v1.PodService/Bind", &corev1.BindingRequest{
		Namespace: "ns1", Name: "web-0",
		Object: &corev1.Binding{
			ApiVersion: "v1", Kind: "Binding",
			Metadata: &metav1.ObjectMeta{Namespace: "ns1", Name: "web-0"},
			Target:   &corev1.ObjectReference{Kind: "Node", ApiVersion: "v1", Name: "node-1"},
		},
	})

	fc.stream = []proto.Message{
		&httpbody.HttpBody{Data: []byte("hello ")},
		&httpbody.HttpBody{Data: []byte("")},
		&httpbody.HttpBody{Data: []byte("world\n")},
	}
	r, err := pods.Log(ctx, "web-0", &corev1.PodLogOptions{Container: "app", Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wantCall(t, fc, "/skiff.core.v1.PodService/Log", &corev1.PodLogOptions{Namespace: "ns1", Name: "web-0", Container: "app", Follow: true})
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "hello world\n" {
		t.Errorf("log = %q, %v", b, err)
	}
}

func TestScale(t *testing.T) {
	fc := &fakeConn{}
	deps := NewForConn(fc).AppsV1().Deployments("ns1")
	ctx := context.Background()
	if _, err := deps.GetScale(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	wantCall(t, fc, "/skiff.apps.v1.DeploymentService/GetScale", &metav1.GetOptions{Namespace: "ns1", Name: "web"})
	sc := &appsv1.Scale{Spec: &appsv1.ScaleSpec{Replicas: 3}}
	if _, err := NewForConn(fc).AppsV1().ReplicaSets("ns1").UpdateScale(ctx, "web-1", sc); err != nil {
		t.Fatal(err)
	}
	wantCall(t, fc, "/skiff.apps.v1.ReplicaSetService/UpdateScale", &appsv1.ScaleRequest{Namespace: "ns1", Name: "web-1", Object: sc})
}
