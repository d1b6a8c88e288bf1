package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"sigs.k8s.io/yaml"

	"skiff.dev/proto/intstr"
)

// Marshal returns m's JSON, compact.
func Marshal(m proto.Message) ([]byte, error) {
	return AppendJSON(nil, m)
}

// AppendJSON appends m's JSON to b.
func AppendJSON(b []byte, m proto.Message) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	return appendMessage(b, m.ProtoReflect())
}

// MarshalIndent returns m's JSON indented with indent, as skiffctl prints it.
func MarshalIndent(m proto.Message, indent string) ([]byte, error) {
	b, err := Marshal(m)
	if err != nil {
		return nil, err
	}
	return Indent(b, indent), nil
}

// MarshalYAML returns m as YAML, keys sorted as kubectl prints them.
func MarshalYAML(m proto.Message) ([]byte, error) {
	b, err := Marshal(m)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(b)
}

var mapKeysPool = sync.Pool{New: func() any { return new([]protoreflect.MapKey) }}

func appendMessage(b []byte, m protoreflect.Message) ([]byte, error) {
	md := m.Descriptor()
	if md.FullName() == "google.protobuf.Timestamp" {
		return appendTimestamp(b, m)
	}
	if md.FullName().Parent() == "google.protobuf" {
		// Other well-known types have JSON forms of their own; the API
		// uses none of them today.
		j, err := protojson.Marshal(m.Interface())
		if err != nil {
			return b, err
		}
		return append(b, j...), nil
	}
	b = append(b, '{')
	first := true
	for _, fi := range fieldsOf(md) {
		fd := fi.fd
		if !fi.always && !m.Has(fd) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, fi.key...)
		var err error
		v := m.Get(fd)
		switch {
		case fd.IsList():
			b, err = appendList(b, fd, v.List())
		case fd.IsMap():
			b, err = appendMap(b, fd, v.Map())
		case fi.intOrString:
			b = appendIntOrString(b, v.String())
		default:
			b, err = appendSingular(b, fd, v)
		}
		if err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendList(b []byte, fd protoreflect.FieldDescriptor, l protoreflect.List) ([]byte, error) {
	b = append(b, '[')
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendSingular(b, fd, l.Get(i)); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

func appendMap(b []byte, fd protoreflect.FieldDescriptor, mp protoreflect.Map) ([]byte, error) {
	kp := mapKeysPool.Get().(*[]protoreflect.MapKey)
	keys := (*kp)[:0]
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	sort.Slice(keys, func(i, j int) bool { return lessKey(keys[i], keys[j]) })
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k.String())
		b = append(b, ':')
		if b, err = appendSingular(b, fd.MapValue(), mp.Get(k)); err != nil {
			break
		}
	}
	*kp = keys[:0]
	mapKeysPool.Put(kp)
	return append(b, '}'), err
}

func lessKey(a, b protoreflect.MapKey) bool {
	switch x := a.Interface().(type) {
	case string:
		return x < b.String()
	case bool:
		return !x && b.Bool()
	case int32, int64:
		return a.Int() < b.Int()
	default:
		return a.Uint() < b.Uint()
	}
}

func appendSingular(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return appendString(b, v.String()), nil
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case protoreflect.FloatKind:
		return appendFloat(b, v.Float(), 32), nil
	case protoreflect.DoubleKind:
		return appendFloat(b, v.Float(), 64), nil
	case protoreflect.BytesKind:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes())
		return append(b, '"'), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return appendString(b, string(ev.Name())), nil
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.Message().FullName() == "google.protobuf.Timestamp" {
			return appendTime(b, v.Message(), microTime[fd.FullName()])
		}
		return appendMessage(b, v.Message())
	}
	return b, fmt.Errorf("%s: unsupported kind %v", fd.FullName(), fd.Kind())
}

// appendIntOrString writes an integer as a JSON number, a name or a
// percentage as a string.
func appendIntOrString(b []byte, s string) []byte {
	if n, ok := intstr.Int(s); ok {
		return strconv.AppendInt(b, int64(n), 10)
	}
	return appendString(b, s)
}

func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// timestampTime is a google.protobuf.Timestamp as a UTC time, refused
// when out of the range RFC 3339 can write.
func timestampTime(m protoreflect.Message) (time.Time, error) {
	fds := m.Descriptor().Fields()
	secs := m.Get(fds.ByName("seconds")).Int()
	nanos := m.Get(fds.ByName("nanos")).Int()
	if nanos < 0 || nanos > 999_999_999 {
		return time.Time{}, fmt.Errorf("invalid google.protobuf.Timestamp: nanos %d out of range", nanos)
	}
	t := time.Unix(secs, nanos).UTC()
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("invalid google.protobuf.Timestamp: seconds %d out of range", secs)
	}
	return t, nil
}

// appendTime writes a Timestamp field as Kubernetes writes its times: a
// metav1.Time in whole seconds ("2026-12-01T20:00:01Z", which jq's
// fromdateiso8601 reads), a metav1.MicroTime (micro) with six fractional
// digits.
func appendTime(b []byte, m protoreflect.Message, micro bool) ([]byte, error) {
	t, err := timestampTime(m)
	if err != nil {
		return b, err
	}
	layout := "2006-01-02T15:04:05Z"
	if micro {
		layout = "2006-01-02T15:04:05.000000Z"
	}
	b = append(b, '"')
	b = t.AppendFormat(b, layout)
	return append(b, '"'), nil
}

// appendTimestamp writes a Timestamp as protojson does: RFC 3339 in UTC,
// with 0, 3, 6 or 9 fractional digits (a Timestamp that is not a field,
// or a list item).
func appendTimestamp(b []byte, m protoreflect.Message) ([]byte, error) {
	t, err := timestampTime(m)
	if err != nil {
		return b, err
	}
	x := t.Format("2006-01-02T15:04:05.000000000")
	x = strings.TrimSuffix(x, "000")
	x = strings.TrimSuffix(x, "000")
	x = strings.TrimSuffix(x, ".000")
	b = append(b, '"')
	b = append(b, x...)
	return append(b, 'Z', '"'), nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping as protojson does (no
// HTML escaping); invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= ' ' && c != '"' && c != '\\' && c < utf8.RuneSelf && c != 0x7f {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || n != 1 {
				i += n
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += n
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Indent indents compact JSON b, one level per indent.
func Indent(b []byte, indent string) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", indent); err != nil {
		return b
	}
	return out.Bytes()
}

// JSONToYAML turns JSON into YAML as MarshalYAML does, for values that are
// not messages.
func JSONToYAML(b []byte) ([]byte, error) {
	return yaml.JSONToYAML(b)
}
