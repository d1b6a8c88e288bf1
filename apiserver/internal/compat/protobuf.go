// Package compat is where the apiserver speaks the parts of Kubernetes'
// wire formats that its own codec (skiff.dev/proto/codec) does not: the
// protobuf encoding kubectl and client-go send and prefer
// (application/vnd.kubernetes.protobuf). It is the one package of the
// apiserver that imports k8s.io libraries; the rest stays on Skiff's protos.
//
// Objects cross between the two formats through Kubernetes JSON, the
// format both sides already agree on: a Skiff object is written by the
// codec as JSON, read into the Kubernetes Go type of its kind, and written
// as protobuf by apimachinery's serializer; a protobuf request goes the
// other way. A field that one side has and the other lacks is an error,
// never a silent loss.
package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"sort"
	"strings"

	"github.com/munnerz/goautoneg"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	// Skiff's kinds, whose descriptors pruneUnknownEmpty reads.
	_ "skiff.dev/proto/apps/v1"
	_ "skiff.dev/proto/batch/v1"
	_ "skiff.dev/proto/coordination/v1"
	_ "skiff.dev/proto/core/v1"
)

// Media types the REST API reads and writes.
const (
	MediaJSON     = "application/json"
	MediaYAML     = "application/yaml"
	MediaProtobuf = "application/vnd.kubernetes.protobuf"
	// MediaProtobufWatch is the Content-Type of a protobuf watch stream:
	// length-prefixed frames, each a metav1.WatchEvent whose object is a
	// protobuf envelope.
	MediaProtobufWatch = MediaProtobuf + ";stream=watch"
)

// supported lists the media types a response can be written in, in
// Kubernetes' order of preference for */*.
var supported = []string{MediaJSON, MediaYAML, MediaProtobuf}

var (
	scheme = newScheme()
	// envelope writes and reads the 'k8s\x00' prefix followed by a
	// runtime.Unknown holding the object's type and its protobuf bytes.
	envelope = protobuf.NewSerializer(scheme, scheme)
	// raw writes the frames of a watch stream: a WatchEvent's own bytes.
	raw = protobuf.NewRawSerializer(scheme, scheme)
	// strictJSON reads Skiff's JSON into Kubernetes' types and reports
	// every field they lack.
	strictJSON = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Strict: true})
)

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		coordinationv1.AddToScheme, autoscalingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	// DeleteOptions and the other option kinds as meta.k8s.io/v1, the
	// version client-go sends them in.
	metav1.AddToGroupVersion(s, metav1.SchemeGroupVersion)
	return s
}

// NotAcceptableError says that no media type of an Accept header can be served.
type NotAcceptableError struct{ Accept string }

func (e *NotAcceptableError) Error() string {
	return fmt.Sprintf("none of the media types in Accept %q can be served: the server writes %s", e.Accept, strings.Join(supported, ", "))
}

// UnsupportedMediaTypeError says that a request body's Content-Type
// cannot be read.
type UnsupportedMediaTypeError struct{ ContentType string }

func (e *UnsupportedMediaTypeError) Error() string {
	return fmt.Sprintf("the body of the request was in an unknown format (Content-Type %q): send one of %s", e.ContentType, strings.Join(supported, ", "))
}

// NegotiateOutput picks the media type of a response from an Accept
// header, as Kubernetes does: the highest q-value wins, ties go to the
// more specific entry and then to the earlier one, */* and application/*
// mean the server's first choice (JSON), q=0 excludes. An empty header is
// JSON. An entry with parameters the server does not understand, such as
// as=Table, is passed over. Watch streams accept stream=watch on protobuf.
func NegotiateOutput(accept string) (string, error) {
	if strings.TrimSpace(accept) == "" {
		return MediaJSON, nil
	}
	for _, a := range goautoneg.ParseAccept(accept) {
		if a.Q <= 0 || !plainParams(a.Params) {
			continue
		}
		switch {
		case a.Type == "*" && a.SubType == "*", a.Type == "application" && a.SubType == "*":
			return MediaJSON, nil
		case a.Type != "application":
			continue
		}
		for _, m := range supported {
			if m == a.Type+"/"+a.SubType {
				return m, nil
			}
		}
	}
	return "", &NotAcceptableError{Accept: accept}
}

// plainParams tells whether an Accept entry's parameters leave the media
// type as it is: a charset, the pretty flag, or protobuf's stream=watch.
func plainParams(p map[string]string) bool {
	for k, v := range p {
		switch {
		case k == "charset", k == "pretty", k == "stream" && v == "watch":
		default:
			return false
		}
	}
	return true
}

// InputMediaType is the media type of a request body from its
// Content-Type; an empty one is JSON, as in Kubernetes.
func InputMediaType(contentType string) (string, error) {
	if strings.TrimSpace(contentType) == "" {
		return MediaJSON, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", &UnsupportedMediaTypeError{ContentType: contentType}
	}
	for _, m := range supported {
		if m == mt {
			return m, nil
		}
	}
	return "", &UnsupportedMediaTypeError{ContentType: contentType}
}

// ToProtobuf turns the Kubernetes JSON of an object, a list, a Scale or a
// Status into Kubernetes' protobuf envelope. A field that the Kubernetes
// type lacks is an error.
func ToProtobuf(doc []byte) ([]byte, error) {
	obj, err := fromJSON(doc)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := envelope.Encode(obj, &buf); err != nil {
		return nil, fmt.Errorf("encode %s as protobuf: %w", obj.GetObjectKind().GroupVersionKind().Kind, err)
	}
	return buf.Bytes(), nil
}

// fromJSON reads Kubernetes JSON into the Kubernetes type its apiVersion
// and kind name.
func fromJSON(doc []byte) (runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	if gvk.Kind == "" {
		return nil, errors.New("not a Kubernetes object: it has no kind")
	}
	obj, _, err := strictJSON.Decode(doc, nil, nil)
	if err != nil {
		if runtime.IsNotRegisteredError(err) {
			return nil, fmt.Errorf("%s %s has no protobuf form", tm.APIVersion, tm.Kind)
		}
		return nil, fmt.Errorf("%s %s does not fit Kubernetes' type: %w", tm.APIVersion, tm.Kind, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

// FromProtobuf reads a protobuf envelope (a request body) and returns the
// object's Kubernetes JSON, with apiVersion and kind.
func FromProtobuf(body []byte) ([]byte, error) {
	obj, gvk, err := envelope.Decode(body, nil, nil)
	if err != nil {
		if runtime.IsNotRegisteredError(err) && gvk != nil {
			return nil, fmt.Errorf("the request body is a %s %s, which this server does not serve", gvk.GroupVersion(), gvk.Kind)
		}
		return nil, fmt.Errorf("the request body is not a valid protobuf object: %w", err)
	}
	obj.GetObjectKind().SetGroupVersionKind(*gvk)
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("the request body's %s cannot be written as JSON: %w", gvk.Kind, err)
	}
	return pruneUnknownEmpty(b, *gvk)
}

// pruneUnknownEmpty drops, from the JSON the Kubernetes types write, the
// members that Skiff's type of the object does not have and whose value is
// empty (null, "", {} or []): Go's encoding writes several such members
// that carry nothing (a node's nodeInfo.kubeProxyVersion: "", a
// creationTimestamp: null), and an empty value is not lost by leaving it
// out. A member Skiff lacks that holds a value stays, so that the codec
// refuses the request and names it. Members Skiff has are never touched:
// an explicit {} (emptyDir: {}) or "" means something there.
func pruneUnknownEmpty(doc []byte, gvk schema.GroupVersionKind) ([]byte, error) {
	md := skiffMessage(gvk)
	if md == nil {
		return doc, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	prune(v, md)
	return json.Marshal(v)
}

// skiffMessage is the descriptor of Skiff's message for a Kubernetes kind:
// skiff.<group>.<version>.<Kind>, or nil when Skiff has none.
func skiffMessage(gvk schema.GroupVersionKind) protoreflect.MessageDescriptor {
	group := gvk.Group
	switch group {
	case "":
		group = "core"
	case "coordination.k8s.io":
		group = "coordination"
	case "autoscaling":
		group = "apps" // Skiff keeps Scale beside the kinds that have it
	}
	name := protoreflect.FullName("skiff." + group + "." + gvk.Version + "." + gvk.Kind)
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err != nil {
		return nil
	}
	return mt.Descriptor()
}

func prune(v any, md protoreflect.MessageDescriptor) {
	obj, ok := v.(map[string]any)
	if !ok || strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return
	}
	for k, e := range obj {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			if (k != "apiVersion" && k != "kind") && empty(e) {
				delete(obj, k)
			}
			continue
		}
		switch {
		case fd.IsMap():
			if m, ok := e.(map[string]any); ok && fd.MapValue().Message() != nil {
				for _, ev := range m {
					prune(ev, fd.MapValue().Message())
				}
			}
		case fd.Message() == nil:
		case fd.IsList():
			if l, ok := e.([]any); ok {
				for _, ev := range l {
					prune(ev, fd.Message())
				}
			}
		default:
			prune(e, fd.Message())
		}
	}
}

// empty reports whether v is a JSON value that says no more than absence.
// false and 0 are not: they may differ from a field's default.
func empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

// WatchFrame turns one watch event in Kubernetes JSON,
// {"type":"ADDED","object":{...}}, into one frame of a protobuf watch
// stream: a 4-byte big-endian length, then the metav1.WatchEvent whose
// object is the protobuf envelope of the event's object.
func WatchFrame(event []byte) ([]byte, error) {
	var ev struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("not a watch event: %w", err)
	}
	obj, err := ToProtobuf(ev.Object)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := protobuf.LengthDelimitedFramer.NewFrameWriter(&buf)
	out := &metav1.WatchEvent{Type: ev.Type, Object: runtime.RawExtension{Raw: obj}}
	var body bytes.Buffer
	if err := raw.Encode(out, &body); err != nil {
		return nil, fmt.Errorf("encode watch event: %w", err)
	}
	if _, err := w.Write(body.Bytes()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadWatchFrames reads a protobuf watch stream back into Kubernetes JSON
// events, one per frame, for tests and tools.
func ReadWatchFrames(r io.Reader) ([][]byte, error) {
	fr := protobuf.LengthDelimitedFramer.NewFrameReader(io.NopCloser(r))
	var out [][]byte
	for {
		b, err := readFrame(fr)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		var ev metav1.WatchEvent
		if err := ev.Unmarshal(b); err != nil {
			return out, fmt.Errorf("frame %d is not a WatchEvent: %w", len(out), err)
		}
		obj, gvk, err := envelope.Decode(ev.Object.Raw, nil, nil)
		if err != nil {
			return out, fmt.Errorf("frame %d: %w", len(out), err)
		}
		obj.GetObjectKind().SetGroupVersionKind(*gvk)
		j, err := json.Marshal(map[string]any{"type": ev.Type, "object": obj})
		if err != nil {
			return out, err
		}
		out = append(out, j)
	}
}

// readFrame reads one whole frame from a length-delimited frame reader,
// which hands a long frame out in pieces.
func readFrame(fr io.Reader) ([]byte, error) {
	buf := make([]byte, 4096)
	var out []byte
	for {
		n, err := fr.Read(buf)
		out = append(out, buf[:n]...)
		switch {
		case err == io.ErrShortBuffer:
			continue
		case err != nil:
			return out, err
		}
		return out, nil
	}
}

// Kinds lists the apiVersion/kind pairs that have a protobuf form, sorted.
func Kinds() []string {
	var out []string
	for gvk := range scheme.AllKnownTypes() {
		out = append(out, gvk.GroupVersion().String()+" "+gvk.Kind)
	}
	sort.Strings(out)
	return out
}
