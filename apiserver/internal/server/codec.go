package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"sigs.k8s.io/yaml"

	"skiff.dev/apiserver/internal/registry"
)

// maxBodyBytes bounds a request body: the largest object plus room for JSON.
const maxBodyBytes = 2 * registry.MaxObjectBytes

var (
	marshalOpts   = protojson.MarshalOptions{}
	unmarshalOpts = protojson.UnmarshalOptions{}
)

// jsonMarshaler reads and writes Kubernetes-shaped JSON: protojson with
// lowerCamelCase names. Unknown fields are an error naming the field; a JSON
// number where the API has a string (quantities such as `cpu: 1`, ports such
// as `targetPort: 8080`) is taken as that number's text, as Kubernetes takes it.
type jsonMarshaler struct {
	yaml bool
}

var _ runtime.Marshaler = (*jsonMarshaler)(nil)

func (m *jsonMarshaler) ContentType(any) string {
	if m.yaml {
		return "application/yaml"
	}
	return "application/json"
}

func (m *jsonMarshaler) Marshal(v any) ([]byte, error) {
	msg, ok := v.(proto.Message)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return m.out(b)
	}
	b, err := marshalOpts.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return m.out(b)
}

func (m *jsonMarshaler) out(b []byte) ([]byte, error) {
	if m.yaml {
		return yaml.JSONToYAML(b)
	}
	return b, nil
}

func (m *jsonMarshaler) Unmarshal(data []byte, v any) error {
	msg, err := target(v)
	if err != nil {
		return err
	}
	if m.yaml {
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return fmt.Errorf("the request body is not valid YAML: %w", err)
		}
		data = j
	}
	return decodeJSON(data, msg)
}

func (m *jsonMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(io.LimitReader(r, maxBodyBytes+1))
		if err != nil {
			return fmt.Errorf("reading the request body: %w", err)
		}
		if len(data) > maxBodyBytes {
			return fmt.Errorf("the request body is too large: over %d bytes", maxBodyBytes)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return io.EOF
		}
		return m.Unmarshal(data, v)
	})
}

func (m *jsonMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}

// target finds the message to decode into: a message, or a pointer to a
// nil message field that it allocates.
func target(v any) (proto.Message, error) {
	if msg, ok := v.(proto.Message); ok {
		return msg, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Pointer {
		if rv.Elem().IsNil() {
			rv.Elem().Set(reflect.New(rv.Elem().Type().Elem()))
		}
		if msg, ok := rv.Elem().Interface().(proto.Message); ok {
			return msg, nil
		}
	}
	return nil, fmt.Errorf("cannot decode into %T", v)
}

// decodeJSON is strict protojson, retried once with numbers turned into
// strings where the API expects strings.
func decodeJSON(data []byte, msg proto.Message) error {
	err := unmarshalOpts.Unmarshal(data, msg)
	if err == nil {
		return nil
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if jerr := dec.Decode(&raw); jerr != nil {
		return fmt.Errorf("the request body is not valid JSON: %v", jerr)
	}
	if coerce(raw, msg.ProtoReflect().Descriptor()) {
		fixed, _ := json.Marshal(raw)
		proto.Reset(msg)
		if err2 := unmarshalOpts.Unmarshal(fixed, msg); err2 == nil {
			return nil
		}
	}
	return errors.New(cleanProtoErr(err))
}

// cleanProtoErr drops protojson's "proto: " prefix and odd spacing.
func cleanProtoErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "proto:")
	s = strings.ReplaceAll(s, "\u00a0", " ")
	return "the request body is not a valid object: " + strings.TrimSpace(s)
}

// coerce rewrites, in place, JSON numbers that sit where md has string
// fields (or string map values). It reports whether it changed anything.
func coerce(v any, md protoreflect.MessageDescriptor) bool {
	obj, ok := v.(map[string]any)
	if !ok || md == nil {
		return false
	}
	changed := false
	for k, val := range obj {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByTextName(k)
		}
		if fd == nil {
			continue
		}
		switch {
		case fd.IsMap():
			vd := fd.MapValue()
			m, ok := val.(map[string]any)
			if !ok {
				continue
			}
			for mk, mv := range m {
				if n, ok := mv.(json.Number); ok && vd.Kind() == protoreflect.StringKind {
					m[mk] = n.String()
					changed = true
				} else if vd.Kind() == protoreflect.MessageKind && coerce(mv, vd.Message()) {
					changed = true
				}
			}
		case fd.IsList():
			l, ok := val.([]any)
			if !ok {
				continue
			}
			for i, item := range l {
				if n, ok := item.(json.Number); ok && fd.Kind() == protoreflect.StringKind {
					l[i] = n.String()
					changed = true
				} else if fd.Kind() == protoreflect.MessageKind && coerce(item, fd.Message()) {
					changed = true
				}
			}
		case fd.Kind() == protoreflect.StringKind:
			if n, ok := val.(json.Number); ok {
				obj[k] = n.String()
				changed = true
			}
		case fd.Kind() == protoreflect.MessageKind:
			if coerce(val, fd.Message()) {
				changed = true
			}
		}
	}
	return changed
}
