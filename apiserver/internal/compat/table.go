// Package compat holds what the apiserver does only to speak Kubernetes'
// own wire formats to Kubernetes clients (kubectl, client-go): server-side
// printing as meta.k8s.io Tables, among others.
package compat

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/proto/codec"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/printers"
)

// The includeObject values of a Table request: what each row's object is.
const (
	IncludeNone     = "None"     // no object
	IncludeMetadata = "Metadata" // a PartialObjectMetadata (the default)
	IncludeObject   = "Object"   // the whole object
)

// tableVersions are the meta.k8s.io versions a Table is served in.
var tableVersions = []string{"v1", "v1beta1"}

// AsPartialObjectMetadata is the As of a metadata-only response: client-go's
// metadata client (metadata informers) asks for
// as=PartialObjectMetadata(List);g=meta.k8s.io.
const AsPartialObjectMetadata = "PartialObjectMetadata"

// TableFormat is a meta.k8s.io representation a client asked for instead
// of the objects: a Table (kubectl's get sends Accept:
// application/json;as=Table;v=v1;g=meta.k8s.io, ...), or the objects'
// metadata only.
type TableFormat struct {
	Version       string // meta.k8s.io version: v1 or v1beta1
	IncludeObject string // of a Table: IncludeNone, IncludeMetadata or IncludeObject
	As            string // "" for a Table, or AsPartialObjectMetadata
}

// NegotiateTable reads the Accept header and the includeObject parameter
// of a get, list or watch. It returns the format when the first media type
// the apiserver can serve is a Table or PartialObjectMetadata(List), nil
// when it is a plain object, and a NotAcceptable error (406) when the
// client accepts only representations (as=...) the apiserver does not
// serve.
func NegotiateTable(accept string, query url.Values) (*TableFormat, error) {
	var asked []string
	for _, c := range parseAccept(accept) {
		typ, params := c.typ, c.params
		switch typ {
		case "application/json", "application/yaml", "application/*", "*/*", "application/vnd.kubernetes.protobuf":
		default:
			continue
		}
		as := params["as"]
		if as == "" {
			return nil, nil
		}
		asked = append(asked, c.raw)
		if params["g"] != "meta.k8s.io" || typ == "application/yaml" || typ == "application/vnd.kubernetes.protobuf" {
			continue
		}
		for _, v := range tableVersions {
			if params["v"] != v {
				continue
			}
			switch as {
			case AsPartialObjectMetadata, AsPartialObjectMetadata + "List":
				return &TableFormat{Version: v, As: AsPartialObjectMetadata}, nil
			case "Table":
				f := &TableFormat{Version: v, IncludeObject: IncludeMetadata}
				switch inc := query.Get("includeObject"); inc {
				case "":
				case IncludeNone, IncludeMetadata, IncludeObject:
					f.IncludeObject = inc
				default:
					return nil, apierrors.BadRequest("includeObject: unsupported value %q: use None, Metadata or Object", inc)
				}
				return f, nil
			}
		}
	}
	if len(asked) > 0 {
		return nil, apierrors.New(apierrors.ReasonNotAcceptable, "", "",
			fmt.Sprintf("only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io (and v1beta1) (not %s)", strings.Join(asked, ", ")))
	}
	return nil, nil
}

type acceptClause struct {
	raw    string
	typ    string
	params map[string]string
	q      float64
}

// parseAccept splits an Accept header into its media ranges, most
// preferred first (by q, then in the order given); q=0 ranges are dropped.
func parseAccept(accept string) []acceptClause {
	var out []acceptClause
	for _, raw := range strings.Split(accept, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		typ, params, err := mime.ParseMediaType(raw)
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				q = f
			}
		}
		if q <= 0 {
			continue
		}
		out = append(out, acceptClause{raw: raw, typ: typ, params: params, q: q})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	return out
}

// MIME is the media type under which the gateway's TableMarshaler for f is
// registered: the REST front sets it as the request's Accept once it has
// negotiated f, so the gateway picks that marshaler.
func (f TableFormat) MIME() string {
	if f.As == AsPartialObjectMetadata {
		return "application/vnd.skiff.partial+json;v=" + f.Version
	}
	return "application/vnd.skiff.table+json;v=" + f.Version + ";includeObject=" + f.IncludeObject
}

// TableMarshalers are the gateway marshalers of every TableFormat, by MIME.
func TableMarshalers() map[string]gwruntime.Marshaler {
	out := map[string]gwruntime.Marshaler{}
	for _, v := range tableVersions {
		for _, inc := range []string{IncludeNone, IncludeMetadata, IncludeObject} {
			f := TableFormat{Version: v, IncludeObject: inc}
			out[f.MIME()] = &tableMarshaler{f: f}
		}
		f := TableFormat{Version: v, As: AsPartialObjectMetadata}
		out[f.MIME()] = &tableMarshaler{f: f}
	}
	return out
}

// tableMarshaler encodes the gateway's answer to a get or list, an object
// or a list of objects, as a Table.
type tableMarshaler struct {
	f TableFormat
}

func (m *tableMarshaler) ContentType(any) string { return "application/json" }

func (m *tableMarshaler) Marshal(v any) ([]byte, error) {
	msg, ok := v.(proto.Message)
	if !ok {
		return json.Marshal(v)
	}
	if m.f.As == AsPartialObjectMetadata {
		return m.f.AppendPartial(nil, msg)
	}
	return m.f.AppendTable(nil, msg, time.Now())
}

func (m *tableMarshaler) Unmarshal(data []byte, v any) error {
	msg, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("cannot decode into %T", v)
	}
	return codec.Unmarshal(data, msg)
}

func (m *tableMarshaler) NewDecoder(r io.Reader) gwruntime.Decoder {
	return gwruntime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return m.Unmarshal(data, v)
	})
}

func (m *tableMarshaler) NewEncoder(w io.Writer) gwruntime.Encoder {
	return gwruntime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}

// The JSON of a meta.k8s.io Table.
type (
	table struct {
		Kind              string             `json:"kind"`
		APIVersion        string             `json:"apiVersion"`
		Metadata          listMeta           `json:"metadata"`
		ColumnDefinitions []columnDefinition `json:"columnDefinitions"`
		Rows              []tableRow         `json:"rows"`
	}
	listMeta struct {
		ResourceVersion    string `json:"resourceVersion,omitempty"`
		Continue           string `json:"continue,omitempty"`
		RemainingItemCount *int64 `json:"remainingItemCount,omitempty"`
	}
	columnDefinition struct {
		Name        string `json:"name"`
		Type        string `json:"type"`
		Format      string `json:"format"`
		Description string `json:"description"`
		Priority    int32  `json:"priority"`
	}
	tableRow struct {
		Cells      []any           `json:"cells"`
		Conditions []rowCondition  `json:"conditions,omitempty"`
		Object     json.RawMessage `json:"object"`
	}
	rowCondition struct {
		Type    string `json:"type"`
		Status  string `json:"status"`
		Reason  string `json:"reason,omitempty"`
		Message string `json:"message,omitempty"`
	}
)

// AppendTable appends v, an object or a list (a message with items and
// list metadata), as a Table of its kind: the columns of
// skiff.dev/proto/printers, one row per object, ages counted to now.
func (f TableFormat) AppendTable(b []byte, v proto.Message, now time.Time) ([]byte, error) {
	m := v.ProtoReflect()
	apiVersion, kind := stringField(m, "api_version"), stringField(m, "kind")
	t := table{Kind: "Table", APIVersion: "meta.k8s.io/" + f.Version, Rows: []tableRow{}}
	var objs []printers.Object
	if items := m.Descriptor().Fields().ByName("items"); items != nil && items.IsList() && strings.HasSuffix(kind, "List") {
		kind = strings.TrimSuffix(kind, "List")
		if lm, ok := messageField(m, "metadata").(*metav1.ListMeta); ok {
			t.Metadata = listMeta{ResourceVersion: lm.GetResourceVersion(), Continue: lm.GetContinue(), RemainingItemCount: lm.RemainingItemCount}
		}
		l := m.Get(items).List()
		for i := 0; i < l.Len(); i++ {
			o, ok := l.Get(i).Message().Interface().(printers.Object)
			if !ok {
				return b, fmt.Errorf("compat: %s item %T is not an API object", kind, l.Get(i).Message().Interface())
			}
			objs = append(objs, o)
		}
	} else {
		o, ok := v.(printers.Object)
		if !ok {
			return b, fmt.Errorf("compat: %T is not an API object", v)
		}
		t.Metadata.ResourceVersion = o.GetMetadata().GetResourceVersion()
		objs = []printers.Object{o}
	}
	for _, c := range printers.Columns(kind) {
		t.ColumnDefinitions = append(t.ColumnDefinitions, columnDefinition{Name: c.Name, Type: c.Type, Format: c.Format, Description: c.Description, Priority: c.Priority})
	}
	for _, o := range objs {
		row, err := f.row(o, apiVersion, kind, now)
		if err != nil {
			return b, err
		}
		t.Rows = append(t.Rows, row)
	}
	j, err := json.Marshal(t)
	if err != nil {
		return b, err
	}
	return append(b, j...), nil
}

func (f TableFormat) row(o printers.Object, apiVersion, kind string, now time.Time) (tableRow, error) {
	r := tableRow{Cells: printers.Cells(o, now)}
	for _, c := range printers.Conditions(o) {
		r.Conditions = append(r.Conditions, rowCondition(c))
	}
	var err error
	switch f.IncludeObject {
	case IncludeNone:
	case IncludeObject:
		if stringField(o.ProtoReflect(), "kind") == "" {
			// List items come without their type; a row's object has it.
			o = proto.Clone(o).(printers.Object)
			setString(o.ProtoReflect(), "api_version", apiVersion)
			setString(o.ProtoReflect(), "kind", kind)
		}
		r.Object, err = codec.Marshal(o)
	default:
		r.Object, err = f.appendPartial(nil, o.GetMetadata())
	}
	return r, err
}

// appendPartial appends a PartialObjectMetadata: the object's metadata only.
func (f TableFormat) appendPartial(b []byte, m *metav1.ObjectMeta) ([]byte, error) {
	b = append(b, `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/`...)
	b = append(b, f.Version...)
	b = append(b, `","metadata":`...)
	if m == nil {
		m = &metav1.ObjectMeta{}
	}
	b, err := codec.AppendJSON(b, m)
	return append(b, '}'), err
}

// AppendWatchEvent appends a watch event, {"type":"ADDED","object":...},
// with its object as a Table of one row, as `kubectl get -w` asks (a
// BOOKMARK's object is a Table of no rows that carries the
// resourceVersion), or as a PartialObjectMetadata.
func (f TableFormat) AppendWatchEvent(b []byte, ev proto.Message, now time.Time) ([]byte, error) {
	m := ev.ProtoReflect()
	typ := "ADDED"
	if fd := m.Descriptor().Fields().ByName("type"); fd != nil && fd.Enum() != nil {
		if v := fd.Enum().Values().ByNumber(m.Get(fd).Enum()); v != nil {
			typ = string(v.Name())
		}
	}
	obj, ok := messageField(m, "object").(printers.Object)
	if !ok {
		return b, fmt.Errorf("compat: watch event %T has no object", ev)
	}
	b = append(b, `{"type":`...)
	b = strconv.AppendQuote(b, typ)
	b = append(b, `,"object":`...)
	var err error
	if typ == metav1.EventType_BOOKMARK.String() && f.As != AsPartialObjectMetadata {
		j, err := json.Marshal(table{Kind: "Table", APIVersion: "meta.k8s.io/" + f.Version,
			Metadata: listMeta{ResourceVersion: obj.GetMetadata().GetResourceVersion()}, ColumnDefinitions: []columnDefinition{}, Rows: []tableRow{}})
		if err != nil {
			return b, err
		}
		b = append(b, j...)
	} else if f.As == AsPartialObjectMetadata {
		if b, err = f.AppendPartial(b, obj); err != nil {
			return b, err
		}
	} else if b, err = f.AppendTable(b, obj, now); err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func stringField(m protoreflect.Message, name protoreflect.Name) string {
	if fd := m.Descriptor().Fields().ByName(name); fd != nil && fd.Kind() == protoreflect.StringKind {
		return m.Get(fd).String()
	}
	return ""
}

func setString(m protoreflect.Message, name protoreflect.Name, v string) {
	if fd := m.Descriptor().Fields().ByName(name); fd != nil && fd.Kind() == protoreflect.StringKind {
		m.Set(fd, protoreflect.ValueOfString(v))
	}
}

func messageField(m protoreflect.Message, name protoreflect.Name) proto.Message {
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Message() == nil || !m.Has(fd) {
		return nil
	}
	return m.Get(fd).Message().Interface()
}

// AppendPartial appends v's metadata only: a PartialObjectMetadata for an
// object, a PartialObjectMetadataList for a list.
func (f TableFormat) AppendPartial(b []byte, v proto.Message) ([]byte, error) {
	m := v.ProtoReflect()
	items := m.Descriptor().Fields().ByName("items")
	if items == nil || !items.IsList() {
		o, ok := v.(printers.Object)
		if !ok {
			return b, fmt.Errorf("compat: %T is not an API object", v)
		}
		return f.appendPartial(b, o.GetMetadata())
	}
	b = append(b, `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/`...)
	b = append(b, f.Version...)
	b = append(b, `","metadata":`...)
	lm, _ := messageField(m, "metadata").(*metav1.ListMeta)
	if lm == nil {
		lm = &metav1.ListMeta{}
	}
	b, err := codec.AppendJSON(b, lm)
	if err != nil {
		return b, err
	}
	b = append(b, `,"items":[`...)
	l := m.Get(items).List()
	for i := 0; i < l.Len(); i++ {
		o, ok := l.Get(i).Message().Interface().(printers.Object)
		if !ok {
			return b, fmt.Errorf("compat: list item %T is not an API object", l.Get(i).Message().Interface())
		}
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = f.appendPartial(b, o.GetMetadata()); err != nil {
			return b, err
		}
	}
	return append(b, "]}"...), nil
}
