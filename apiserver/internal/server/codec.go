package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/registry"
	"skiff.dev/proto/codec"
)

// maxBodyBytes bounds a request body: the largest object plus room for JSON.
const maxBodyBytes = 2 * registry.MaxObjectBytes

// jsonMarshaler adapts skiff.dev/proto/codec, the one Kubernetes JSON and
// YAML codec, to the gateway: requests are decoded and responses encoded
// exactly as skiffctl decodes manifests and prints objects.
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
		if err != nil || !m.yaml {
			return b, err
		}
		return codec.JSONToYAML(b)
	}
	if m.yaml {
		return codec.MarshalYAML(msg)
	}
	return codec.Marshal(msg)
}

func (m *jsonMarshaler) Unmarshal(data []byte, v any) error {
	msg, err := target(v)
	if err != nil {
		return err
	}
	if m.yaml {
		return bodyError(codec.UnmarshalYAML(data, msg))
	}
	return bodyError(codec.Unmarshal(data, msg))
}

// bodyError says that the request body is at fault.
func bodyError(err error) error {
	var fe *codec.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return fmt.Errorf("the request body is not a valid object: %w", err)
	default:
		return fmt.Errorf("the request body is %w", err)
	}
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
