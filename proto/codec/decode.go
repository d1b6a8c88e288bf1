package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"sigs.k8s.io/yaml"

	"skiff.dev/proto/validation/field"
)

// Error is a value that does not fit the API: it names the field and,
// when the document was YAML, the line.
type Error struct {
	// Path is the field, as Kubernetes writes it: spec.ports[0].targetPort.
	Path string
	// Line is the 1-based line in the YAML document, 0 when unknown.
	Line int
	// Unknown is set when the field does not exist.
	Unknown bool
	// Msg says what is wrong with the value (empty for Unknown).
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch {
	case e.Unknown:
		fmt.Fprintf(&b, "unknown field %q", e.Path)
	case e.Path == "":
		b.WriteString(e.Msg)
	default:
		b.WriteString(e.Path + ": " + e.Msg)
	}
	return b.String()
}

// Unmarshal decodes a JSON object into m, replacing its contents.
func Unmarshal(data []byte, m proto.Message) error {
	d, err := ParseJSON(data)
	if err != nil {
		return err
	}
	return d.Decode(m)
}

// UnmarshalYAML decodes a YAML (or JSON) object into m, replacing its
// contents. Errors carry the line.
func UnmarshalYAML(data []byte, m proto.Message) error {
	d, err := ParseYAML(data)
	if err != nil {
		return err
	}
	return d.Decode(m)
}

// Document is one parsed JSON or YAML document, not yet bound to a message
// type: read its TypeMeta to choose one, then Decode.
type Document struct {
	v    any    // the JSON tree: map[string]any, []any, json.Number, string, bool, nil
	src  []byte // the YAML source, for line numbers; nil for JSON
	path []elem // where v sits in src
}

// ParseJSON parses one JSON value.
func ParseJSON(data []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not valid JSON: unexpected data after the top-level value")
	}
	return &Document{v: v}, nil
}

// ParseYAML parses one YAML document (JSON is YAML).
func ParseYAML(data []byte) (*Document, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	d, err := ParseJSON(j)
	if err != nil {
		return nil, err
	}
	d.src = data
	return d, nil
}

// TypeMeta returns the document's apiVersion and kind, empty when unset.
func (d *Document) TypeMeta() (apiVersion, kind string) {
	obj, _ := d.v.(map[string]any)
	apiVersion, _ = obj["apiVersion"].(string)
	kind, _ = obj["kind"].(string)
	return apiVersion, kind
}

// Items returns the documents in the "items" of a List, and whether the
// document has items at all.
func (d *Document) Items() ([]*Document, bool) {
	obj, _ := d.v.(map[string]any)
	items, ok := obj["items"].([]any)
	if !ok {
		return nil, false
	}
	out := make([]*Document, len(items))
	for i, it := range items {
		p := append(append([]elem(nil), d.path...), elem{key: "items", index: -1}, elem{index: i})
		out[i] = &Document{v: it, src: d.src, path: p}
	}
	return out, true
}

// Decode decodes the document into m, replacing its contents.
func (d *Document) Decode(m proto.Message) error {
	proto.Reset(m)
	dec := decoder{path: append([]elem(nil), d.path...)}
	if d.v == nil {
		return dec.errorf("expected an object, got null")
	}
	err := dec.message(d.v, m.ProtoReflect())
	var e *Error
	if errors.As(err, &e) && d.src != nil {
		e.Line = lineOf(d.src, dec.failed)
	}
	return err
}

// elem is one step of a field path: a field name, a map key (mapKey), or
// a list index when key is "".
type elem struct {
	key    string
	index  int
	mapKey bool
}

// pathString renders p as validation errors do: spec.ports[0].targetPort,
// metadata.labels[app].
func pathString(p []elem) string {
	if len(p) == 0 {
		return ""
	}
	var fp *field.Path
	for _, e := range p {
		switch {
		case e.mapKey:
			fp = fp.Key(e.key)
		case e.key == "":
			fp = fp.Index(e.index)
		default:
			fp = fp.Child(e.key)
		}
	}
	return fp.String()
}

type decoder struct {
	path   []elem
	failed []elem // the path of the first error, for its line
}

func (d *decoder) fail(e *Error) error {
	d.failed = append([]elem(nil), d.path...)
	return e
}

func (d *decoder) errorf(format string, args ...any) error {
	return d.fail(&Error{Path: pathString(d.path), Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) message(v any, m protoreflect.Message) error {
	md := m.Descriptor()
	if md.FullName() == "google.protobuf.Timestamp" {
		return d.timestamp(v, m)
	}
	if md.FullName().Parent() == "google.protobuf" {
		j, _ := json.Marshal(v)
		if err := protojson.Unmarshal(j, m.Interface()); err != nil {
			return d.errorf("%s", strings.TrimSpace(strings.TrimPrefix(err.Error(), "proto:")))
		}
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return d.errorf("expected an object, got %s", describe(v))
	}
	// Report the error of the first key in order, whatever the map's order.
	var firstErr error
	var firstKey string
	var failed []elem
	for k, val := range obj {
		if firstErr != nil && k > firstKey {
			continue
		}
		if err := d.field(m, md, k, val); err != nil {
			firstErr, firstKey, failed = err, k, d.failed
		}
	}
	d.failed = failed
	return firstErr
}

func (d *decoder) field(m protoreflect.Message, md protoreflect.MessageDescriptor, k string, v any) error {
	d.path = append(d.path, elem{key: k, index: -1})
	defer func() { d.path = d.path[:len(d.path)-1] }()
	fd := md.Fields().ByJSONName(k)
	if fd == nil {
		fd = md.Fields().ByTextName(k)
	}
	if fd == nil {
		return d.fail(&Error{Path: pathString(d.path), Unknown: true})
	}
	if v == nil {
		return nil // null leaves the field unset, as in protojson
	}
	switch {
	case fd.IsList():
		arr, ok := v.([]any)
		if !ok {
			return d.errorf("expected a list, got %s", describe(v))
		}
		l := m.Mutable(fd).List()
		for i, item := range arr {
			d.path = append(d.path, elem{index: i})
			val, err := d.value(fd, item, l.NewElement)
			d.path = d.path[:len(d.path)-1]
			if err != nil {
				return err
			}
			l.Append(val)
		}
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			return d.errorf("expected an object, got %s", describe(v))
		}
		mp := m.Mutable(fd).Map()
		for mk, item := range obj {
			d.path = append(d.path, elem{key: mk, index: -1, mapKey: true})
			key, err := d.mapKey(fd.MapKey(), mk)
			var val protoreflect.Value
			if err == nil {
				val, err = d.value(fd.MapValue(), item, mp.NewValue)
			}
			d.path = d.path[:len(d.path)-1]
			if err != nil {
				return err
			}
			mp.Set(key, val)
		}
	case fd.Message() != nil:
		return d.message(v, m.Mutable(fd).Message())
	default:
		val, err := d.scalar(fd, v)
		if err != nil {
			return err
		}
		m.Set(fd, val)
	}
	return nil
}

// value decodes one list element or map value.
func (d *decoder) value(fd protoreflect.FieldDescriptor, v any, newValue func() protoreflect.Value) (protoreflect.Value, error) {
	if fd.Message() != nil {
		val := newValue()
		if v == nil {
			return val, d.errorf("expected an object, got null")
		}
		return val, d.message(v, val.Message())
	}
	if v == nil {
		return protoreflect.Value{}, d.errorf("expected a value, got null")
	}
	return d.scalar(fd, v)
}

func (d *decoder) mapKey(fd protoreflect.FieldDescriptor, k string) (protoreflect.MapKey, error) {
	if fd.Kind() == protoreflect.StringKind {
		return protoreflect.ValueOfString(k).MapKey(), nil
	}
	v, err := d.scalar(fd, k)
	return v.MapKey(), err
}

func (d *decoder) scalar(fd protoreflect.FieldDescriptor, v any) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		switch x := v.(type) {
		case string:
			return protoreflect.ValueOfString(x), nil
		case json.Number:
			// A number where the API has a string: an IntOrString such as
			// targetPort: 8080, or a quantity such as cpu: 1.
			return protoreflect.ValueOfString(x.String()), nil
		}
		return protoreflect.Value{}, d.errorf("expected a string, got %s", describe(v))
	case protoreflect.BoolKind:
		if x, ok := v.(bool); ok {
			return protoreflect.ValueOfBool(x), nil
		}
		return protoreflect.Value{}, d.errorf("expected true or false, got %s", describe(v))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := d.integer(v, 32, true)
		return protoreflect.ValueOfInt32(int32(n)), err
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := d.integer(v, 64, true)
		return protoreflect.ValueOfInt64(n), err
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := d.integer(v, 32, false)
		return protoreflect.ValueOfUint32(uint32(n)), err
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := d.integer(v, 64, false)
		return protoreflect.ValueOfUint64(uint64(n)), err
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, err := d.float(v)
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), err
		}
		return protoreflect.ValueOfFloat64(f), err
	case protoreflect.BytesKind:
		s, ok := v.(string)
		if !ok {
			return protoreflect.Value{}, d.errorf("expected a base64 string, got %s", describe(v))
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				return protoreflect.ValueOfBytes(b), nil
			}
		}
		return protoreflect.Value{}, d.errorf("expected a base64 string, got %s", describe(v))
	case protoreflect.EnumKind:
		switch x := v.(type) {
		case string:
			if ev := fd.Enum().Values().ByName(protoreflect.Name(x)); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), nil
			}
		case json.Number:
			if n, err := strconv.ParseInt(x.String(), 10, 32); err == nil {
				return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
			}
		}
		return protoreflect.Value{}, d.errorf("unsupported value %s", describe(v))
	}
	return protoreflect.Value{}, d.errorf("unsupported field kind %v", fd.Kind())
}

// integer takes a JSON number, or a string holding one as protojson does,
// that is an integer in range.
func (d *decoder) integer(v any, bits int, signed bool) (int64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		return 0, d.errorf("expected an integer, got %s", describe(v))
	}
	if signed {
		if n, err := strconv.ParseInt(s, 10, bits); err == nil {
			return n, nil
		}
	} else if n, err := strconv.ParseUint(s, 10, bits); err == nil {
		return int64(n), nil
	}
	// 1e3 or 80.0 are integers too.
	f, err := strconv.ParseFloat(s, 64)
	if err == nil && f == math.Trunc(f) {
		lo, hi := -math.Ldexp(1, bits-1), math.Ldexp(1, bits-1)
		if !signed {
			lo, hi = 0, math.Ldexp(1, bits)
		}
		if f >= lo && f < hi && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return 0, d.errorf("%s is out of range", s)
	}
	return 0, d.errorf("expected an integer, got %s", describe(v))
}

func (d *decoder) float(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f, nil
		}
	case string:
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f, nil
		}
	}
	return 0, d.errorf("expected a number, got %s", describe(v))
}

func (d *decoder) timestamp(v any, m protoreflect.Message) error {
	s, ok := v.(string)
	if !ok {
		return d.errorf("expected an RFC 3339 time such as \"2006-01-02T15:04:05Z\", got %s", describe(v))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return d.errorf("expected an RFC 3339 time such as \"2006-01-02T15:04:05Z\", got %q", s)
	}
	ts := timestamppb.New(t)
	if err := ts.CheckValid(); err != nil {
		return d.errorf("time %q is out of range", s)
	}
	fds := m.Descriptor().Fields()
	m.Set(fds.ByName("seconds"), protoreflect.ValueOfInt64(ts.Seconds))
	m.Set(fds.ByName("nanos"), protoreflect.ValueOfInt32(ts.Nanos))
	return nil
}

// describe names a JSON value for an error: its text for scalars, its type
// for the rest.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// lineOf finds the line of path in a YAML document: the line of the key
// for a field, of the item for a list index. It returns 0 when the path
// cannot be followed (an error elsewhere).
func lineOf(src []byte, path []elem) int {
	var doc yamlv3.Node
	if yamlv3.Unmarshal(src, &doc) != nil || doc.Kind != yamlv3.DocumentNode || len(doc.Content) == 0 {
		return 0
	}
	n := doc.Content[0]
	line := n.Line
	for _, e := range path {
		for n.Kind == yamlv3.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yamlv3.Node
		switch {
		case e.key == "" && n.Kind == yamlv3.SequenceNode && e.index < len(n.Content):
			next = n.Content[e.index]
			line = next.Line
		case e.key != "" && n.Kind == yamlv3.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == e.key {
					next = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}
