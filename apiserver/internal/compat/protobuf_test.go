package compat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/proto/codec"
)

// quantities are Skiff's string fields that Kubernetes types as
// resource.Quantity (map values included), which must parse.
var quantities = map[protoreflect.FullName]bool{
	"skiff.core.v1.ResourceRequirements.limits":     true,
	"skiff.core.v1.ResourceRequirements.requests":   true,
	"skiff.core.v1.NodeStatus.capacity":             true,
	"skiff.core.v1.NodeStatus.allocatable":          true,
	"skiff.core.v1.EmptyDirVolumeSource.size_limit": true,
}

// apiVersions maps Skiff's proto packages to Kubernetes' apiVersions.
var apiVersions = map[protoreflect.FullName]string{
	"skiff.core.v1":         "v1",
	"skiff.meta.v1":         "v1",
	"skiff.apps.v1":         "apps/v1",
	"skiff.batch.v1":        "batch/v1",
	"skiff.coordination.v1": "coordination.k8s.io/v1",
}

// kinds are every Skiff message that is a Kubernetes object: it has
// apiVersion, kind and metadata.
func kinds(t *testing.T) []protoreflect.MessageType {
	var out []protoreflect.MessageType
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		md := mt.Descriptor()
		if _, ok := apiVersions[md.ParentFile().Package()]; !ok {
			return true
		}
		f := md.Fields()
		if f.ByName("api_version") != nil && f.ByName("kind") != nil && f.ByName("metadata") != nil {
			out = append(out, mt)
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Descriptor().FullName() < out[j].Descriptor().FullName() })
	if len(out) < 30 {
		t.Fatalf("found only %d Skiff kinds to round-trip", len(out))
	}
	return out
}

func apiVersion(md protoreflect.MessageDescriptor) string {
	if md.FullName() == "skiff.apps.v1.Scale" {
		return "autoscaling/v1"
	}
	return apiVersions[md.ParentFile().Package()]
}

// fill sets every field of m, recursively, to a value that is not its
// zero, so that a field lost on the way shows.
func fill(m protoreflect.Message, depth int) {
	if depth > 12 {
		return
	}
	if m.Descriptor().FullName() == "google.protobuf.Timestamp" {
		ts := timestamppb.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
		m.Set(m.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(ts.Seconds))
		return
	}
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			key := protoreflect.ValueOfString("key-" + string(fd.Name())).MapKey()
			if fd.MapValue().Message() != nil {
				fill(mp.Mutable(key).Message(), depth+1)
				continue
			}
			mp.Set(key, scalar(fd, fd.MapValue()))
		case fd.IsList():
			l := m.Mutable(fd).List()
			if fd.Message() != nil {
				fill(l.AppendMutable().Message(), depth+1)
				continue
			}
			l.Append(scalar(fd, fd))
		case fd.Message() != nil:
			fill(m.Mutable(fd).Message(), depth+1)
		default:
			m.Set(fd, scalar(fd, fd))
		}
	}
}

// scalar is a non-zero value for the field fd whose value type is vd.
func scalar(fd, vd protoreflect.FieldDescriptor) protoreflect.Value {
	switch vd.Kind() {
	case protoreflect.StringKind:
		if quantities[fd.FullName()] {
			return protoreflect.ValueOfString("250m")
		}
		if codec.IsIntOrString(fd) {
			return protoreflect.ValueOfString("http")
		}
		return protoreflect.ValueOfString("v-" + string(fd.Name()))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte("bytes of " + string(fd.Name())))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(7)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(7)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(7)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(7)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(vd.Enum().Values().Get(vd.Enum().Values().Len() - 1).Number())
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(1.5)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(1.5)
	}
	panic(fmt.Sprintf("no value for %s", fd.FullName()))
}

// fullObject is a Skiff object of the kind mt with every field set, and
// apiVersion and kind as Kubernetes names them. Items of a list carry no
// apiVersion and kind, as in Kubernetes' protobuf.
func fullObject(mt protoreflect.MessageType) proto.Message {
	m := mt.New()
	fill(m, 0)
	md := mt.Descriptor()
	clearTypeMeta(m, true)
	m.Set(md.Fields().ByName("api_version"), protoreflect.ValueOfString(apiVersion(md)))
	m.Set(md.Fields().ByName("kind"), protoreflect.ValueOfString(string(md.Name())))
	return m.Interface()
}

// clearTypeMeta clears apiVersion and kind of the objects inside m (list
// items), keeping those of references (ownerReferences, involvedObject).
func clearTypeMeta(m protoreflect.Message, top bool) {
	f := m.Descriptor().Fields()
	if !top && f.ByName("api_version") != nil && f.ByName("metadata") != nil {
		m.Clear(f.ByName("api_version"))
		m.Clear(f.ByName("kind"))
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				clearTypeMeta(v.List().Get(i).Message(), false)
			}
		case !fd.IsMap() && fd.Message() != nil:
			clearTypeMeta(v.Message(), false)
		}
		return true
	})
}

// TestRoundTripEveryKind writes each Skiff kind, every field set, as
// Kubernetes protobuf and reads it back: the JSON must come back equal, so
// no field is lost or changed either way.
func TestRoundTripEveryKind(t *testing.T) {
	for _, mt := range kinds(t) {
		t.Run(string(mt.Descriptor().Name()), func(t *testing.T) {
			obj := fullObject(mt)
			want, err := codec.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := ToProtobuf(want)
			if err != nil {
				t.Fatalf("ToProtobuf: %v\nJSON: %s", err, want)
			}
			if !bytes.HasPrefix(pb, []byte("k8s\x00")) {
				t.Fatalf("protobuf does not start with the envelope's magic: %q", pb[:min(8, len(pb))])
			}
			doc, err := FromProtobuf(pb)
			if err != nil {
				t.Fatalf("FromProtobuf: %v", err)
			}
			back := mt.New().Interface()
			if err := codec.Unmarshal(doc, back); err != nil {
				t.Fatalf("Skiff's codec refuses the JSON read from protobuf: %v\n%s", err, doc)
			}
			got, _ := codec.Marshal(back)
			if !bytes.Equal(got, want) {
				t.Errorf("round trip changed the object:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestEnvelopeBytes reads the bytes ToProtobuf writes with nothing but
// the protobuf wire format: 'k8s\x00', then a runtime.Unknown whose
// typeMeta (1) holds apiVersion (1) and kind (2), and whose raw (2) is the
// ConfigMap, metadata (1) name (1), data (2) a map entry.
func TestEnvelopeBytes(t *testing.T) {
	pb, err := ToProtobuf([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web","namespace":"default"},"data":{"k":"v"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pb, []byte{'k', '8', 's', 0}) {
		t.Fatalf("no envelope magic: % x", pb[:4])
	}
	unk := fieldsOf(t, pb[4:])
	tm := fieldsOf(t, unk[1][0])
	if got := string(tm[1][0]) + " " + string(tm[2][0]); got != "v1 ConfigMap" {
		t.Errorf("typeMeta = %q, want apiVersion v1, kind ConfigMap", got)
	}
	cm := fieldsOf(t, unk[2][0])
	meta := fieldsOf(t, cm[1][0])
	if string(meta[1][0]) != "web" || string(meta[3][0]) != "default" {
		t.Errorf("metadata name, namespace = %q, %q; want web, default", meta[1][0], meta[3][0])
	}
	entry := fieldsOf(t, cm[2][0])
	if string(entry[1][0]) != "k" || string(entry[2][0]) != "v" {
		t.Errorf("data entry = %q: %q, want k: v", entry[1][0], entry[2][0])
	}
	for _, n := range []protowire.Number{3, 4} { // contentEncoding, contentType: empty
		if len(unk[n]) != 1 || len(unk[n][0]) != 0 {
			t.Errorf("Unknown field %d = %q, want one empty string", n, unk[n])
		}
	}
}

// fieldsOf splits a protobuf message into its length-delimited fields by number.
func fieldsOf(t *testing.T, b []byte) map[protowire.Number][][]byte {
	t.Helper()
	out := map[protowire.Number][][]byte{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			t.Fatalf("bad field %d: %v", num, protowire.ParseError(n))
		}
		out[num] = append(out[num], v)
		b = b[n:]
	}
	return out
}

// TestWatchFrame checks one frame of a protobuf watch: a big-endian length,
// then a WatchEvent with type (1) and object (2), a RawExtension whose raw
// (1) is the object's envelope; and reads the frames back.
func TestWatchFrame(t *testing.T) {
	ev := []byte(`{"type":"MODIFIED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","resourceVersion":"9"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}`)
	frame, err := WatchFrame(ev)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.BigEndian.Uint32(frame); int(n) != len(frame)-4 {
		t.Fatalf("frame length prefix %d, want %d", n, len(frame)-4)
	}
	we := fieldsOf(t, frame[4:])
	if string(we[1][0]) != "MODIFIED" {
		t.Errorf("event type %q, want MODIFIED", we[1][0])
	}
	raw := fieldsOf(t, we[2][0])
	if !bytes.HasPrefix(raw[1][0], []byte("k8s\x00")) {
		t.Errorf("event object is not an envelope: %q", raw[1][0][:4])
	}
	second, err := WatchFrame([]byte(`{"type":"DELETED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	errorEvent, err := WatchFrame([]byte(`{"type":"ERROR","object":{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}`))
	if err != nil {
		t.Fatal(err)
	}
	second = append(second, errorEvent...)
	events, err := ReadWatchFrames(bytes.NewReader(append(frame, second...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || !strings.Contains(string(events[2]), `"type":"ERROR"`) || !strings.Contains(string(events[2]), `"reason":"Expired"`) || !strings.Contains(string(events[0]), `"type":"MODIFIED"`) || !strings.Contains(string(events[0]), `"image":"nginx"`) ||
		!strings.Contains(string(events[1]), `"type":"DELETED"`) {
		t.Errorf("read back %s", bytes.Join(events, []byte("\n")))
	}
}

func TestNegotiateOutput(t *testing.T) {
	for _, tc := range []struct {
		accept, want string
	}{
		{"", MediaJSON},
		{"*/*", MediaJSON},
		{"application/*", MediaJSON},
		{"application/json", MediaJSON},
		{"application/yaml", MediaYAML},
		{"application/vnd.kubernetes.protobuf", MediaProtobuf},
		{"application/vnd.kubernetes.protobuf, */*", MediaProtobuf},
		{"application/vnd.kubernetes.protobuf,application/json", MediaProtobuf},
		{"application/vnd.kubernetes.protobuf;stream=watch", MediaProtobuf},
		{"application/json;q=0.5, application/vnd.kubernetes.protobuf", MediaProtobuf},
		{"application/vnd.kubernetes.protobuf;q=0.1, application/json;q=0.9", MediaJSON},
		{"application/vnd.kubernetes.protobuf;q=0, application/yaml;q=0.2", MediaYAML},
		{"text/html, */*;q=0.8", MediaJSON},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json", MediaJSON},
		{"application/json; charset=utf-8", MediaJSON},
		{"text/html", ""},
		{"application/xml, text/plain", ""},
		{"application/json;as=Table;v=v1;g=meta.k8s.io", ""},
		{"application/json;q=0", ""},
	} {
		got, err := NegotiateOutput(tc.accept)
		if tc.want == "" {
			var na *NotAcceptableError
			if !errors.As(err, &na) || !strings.Contains(err.Error(), "application/vnd.kubernetes.protobuf") {
				t.Errorf("NegotiateOutput(%q) = %q, %v; want a NotAcceptableError naming what is served", tc.accept, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NegotiateOutput(%q) = %q, %v; want %q", tc.accept, got, err, tc.want)
		}
	}
}

func TestInputMediaType(t *testing.T) {
	for _, tc := range []struct {
		ct, want string
	}{
		{"", MediaJSON},
		{"application/json", MediaJSON},
		{"application/json; charset=utf-8", MediaJSON},
		{"application/yaml", MediaYAML},
		{"application/vnd.kubernetes.protobuf", MediaProtobuf},
		{"text/plain", ""},
		{"application/x-www-form-urlencoded", ""},
		{"not a media type;;", ""},
	} {
		got, err := InputMediaType(tc.ct)
		if tc.want == "" {
			var um *UnsupportedMediaTypeError
			if !errors.As(err, &um) {
				t.Errorf("InputMediaType(%q) = %q, %v; want an UnsupportedMediaTypeError", tc.ct, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("InputMediaType(%q) = %q, %v; want %q", tc.ct, got, err, tc.want)
		}
	}
}

// TestStrictBothWays: a field Kubernetes' type lacks is refused when
// writing protobuf, and a request field Skiff lacks is kept so that
// Skiff's codec refuses it; an empty one Skiff lacks is dropped.
func TestStrictBothWays(t *testing.T) {
	if _, err := ToProtobuf([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"colour":"red"}`)); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("ToProtobuf with an unknown field: %v, want an error naming it", err)
	}
	if _, err := ToProtobuf([]byte(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"a"}}`)); err == nil || !strings.Contains(err.Error(), "example.com/v1 Widget") {
		t.Errorf("ToProtobuf of an unknown kind: %v, want an error naming it", err)
	}
	// A pod with a field Skiff does not have: spec.priorityClassName.
	pb := mustProtobuf(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"priorityClassName":"high","containers":[{"name":"c","image":"i"}]}}`)
	doc, err := FromProtobuf(pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := codec.Unmarshal(doc, mustType(t, "skiff.core.v1.Pod").New().Interface()); err == nil || !strings.Contains(err.Error(), "priorityClassName") {
		t.Errorf("Skiff's codec took a pod with spec.priorityClassName: %v\n%s", err, doc)
	}
	// The same pod without it: the empty fields Kubernetes writes
	// (creationTimestamp: null, resources: {}) are no trouble.
	pb = mustProtobuf(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
	if doc, err = FromProtobuf(pb); err != nil {
		t.Fatal(err)
	}
	pod := mustType(t, "skiff.core.v1.Pod").New().Interface()
	if err := codec.Unmarshal(doc, pod); err != nil {
		t.Errorf("Skiff's codec refused %s: %v", doc, err)
	}
	if !bytes.Contains(doc, []byte(`"resources":{}`)) {
		t.Errorf("an empty object of a field Skiff has was dropped: %s", doc)
	}
	if _, err := FromProtobuf([]byte("k8s\x00garbage")); err == nil || !strings.Contains(err.Error(), "not a valid protobuf object") {
		t.Errorf("FromProtobuf(garbage) = %v", err)
	}
	if _, err := FromProtobuf([]byte(`{"kind":"Pod"}`)); err == nil {
		t.Error("FromProtobuf took JSON")
	}
}

func mustProtobuf(t *testing.T, doc string) []byte {
	t.Helper()
	pb, err := toProtobufLoose([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// toProtobufLoose encodes Kubernetes JSON that may hold fields Skiff
// lacks, as a Kubernetes client would send it.
func toProtobufLoose(doc []byte) ([]byte, error) {
	obj, _, err := strictJSON.Decode(doc, nil, nil)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = envelope.Encode(obj, &buf)
	return buf.Bytes(), err
}

func mustType(t *testing.T, name protoreflect.FullName) protoreflect.MessageType {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return mt
}
