// Package compat is where the apiserver speaks Kubernetes' own libraries
// (k8s.io/api, k8s.io/apimachinery, gnostic) for what real kubectl and
// client-go expect of an apiserver beyond the REST paths: the OpenAPI
// documents, strategic merge patch, field validation. The rest of Skiff
// stays on its own protos; this package converts at the edge.
package compat

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"skiff.dev/apiserver/internal/registry"
	"skiff.dev/proto/codec"
	skiffopenapi "skiff.dev/proto/openapi"
)

// Kubernetes' names of the types that are not messages of a kind's package.
const (
	defTime        = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
	defQuantity    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	defIntOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	defStatus      = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
)

// Kind is one served kind, as the OpenAPI documents describe it.
type Kind struct {
	registry.Info
	Message protoreflect.MessageDescriptor // skiff.<group>.v1.<Kind>
	List    protoreflect.MessageDescriptor // skiff.<group>.v1.<Kind>List
	goType  reflect.Type                   // the k8s.io/api type, for patch tags, required fields and docs
	goList  reflect.Type
}

// Kinds finds the messages of the registry's kinds.
func OpenAPIKinds(infos []registry.Info) ([]Kind, error) {
	var out []Kind
	for _, i := range infos {
		k := Kind{Info: i}
		pkg := protoPackage(i.Group)
		var err error
		if k.Message, err = message(pkg + "." + i.Kind); err != nil {
			return nil, err
		}
		if k.List, err = message(pkg + "." + i.Kind + "List"); err != nil {
			return nil, err
		}
		k.goType = goType(i.Group, i.Version, i.Kind)
		k.goList = goType(i.Group, i.Version, i.Kind+"List")
		out = append(out, k)
	}
	return out, nil
}

func message(name string) (protoreflect.MessageDescriptor, error) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("openapi: no message %s: %w", name, err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("openapi: %s is not a message", name)
	}
	return md, nil
}

// protoPackage is the proto package of a REST group.
func protoPackage(group string) string {
	switch group {
	case "":
		return "skiff.core.v1"
	case "coordination.k8s.io":
		return "skiff.coordination.v1"
	default:
		return "skiff." + strings.TrimSuffix(group, ".k8s.io") + ".v1"
	}
}

// defName is Kubernetes' OpenAPI name of a message: skiff.core.v1.Pod is
// io.k8s.api.core.v1.Pod, skiff.meta.v1.ObjectMeta is
// io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta, and the /scale
// subresource's Scale is autoscaling/v1's.
func defName(md protoreflect.MessageDescriptor) string {
	pkg := string(md.ParentFile().Package())
	name := string(md.Name())
	switch {
	case md.FullName() == "google.protobuf.Timestamp":
		return defTime
	case pkg == "skiff.meta.v1":
		return "io.k8s.apimachinery.pkg.apis.meta.v1." + name
	case pkg == "skiff.apps.v1" && strings.HasPrefix(name, "Scale"):
		return "io.k8s.api.autoscaling.v1." + name
	case strings.HasPrefix(pkg, "skiff."):
		return "io.k8s.api." + strings.TrimPrefix(pkg, "skiff.") + "." + name
	}
	return strings.ReplaceAll(string(md.FullName()), "_", "")
}

// docs are the contract's comments, by swagger definition and JSON field
// name ("" is the message's own).
type docs map[string]map[string]string

func loadDocs() docs {
	var sw struct {
		Definitions map[string]struct {
			Description string `json:"description"`
			Title       string `json:"title"`
			Properties  map[string]struct {
				Description string `json:"description"`
				Title       string `json:"title"`
			} `json:"properties"`
		} `json:"definitions"`
	}
	out := docs{}
	if err := json.Unmarshal(skiffopenapi.Swagger, &sw); err != nil {
		return out
	}
	join := func(title, desc string) string {
		return strings.TrimSpace(title + "\n\n" + desc)
	}
	for name, d := range sw.Definitions {
		m := map[string]string{"": join(d.Title, d.Description)}
		for f, p := range d.Properties {
			m[f] = join(p.Title, p.Description)
		}
		out[name] = m
	}
	return out
}

// of is the comment of a message (field "") or of one of its fields.
func (d docs) of(md protoreflect.MessageDescriptor, field string) string {
	pkg := strings.TrimSuffix(strings.TrimPrefix(string(md.ParentFile().Package()), "skiff."), ".v1")
	for _, name := range []string{"v1" + string(md.Name()), pkg + "v1" + string(md.Name())} {
		if m, ok := d[name]; ok {
			return m[field]
		}
	}
	return ""
}

// schema is a JSON schema under construction.
type jsonSchema = map[string]any

// flavor is the OpenAPI version a document is written for.
type flavor int

const (
	v2 flavor = iota
	v3
)

func (f flavor) ref(name string) string {
	if f == v2 {
		return "#/definitions/" + name
	}
	return "#/components/schemas/" + name
}

// builder makes the definitions of the messages reachable from the kinds.
type builder struct {
	f    flavor
	docs docs
	defs map[string]jsonSchema
}

func newBuilder(f flavor, d docs) *builder {
	return &builder{f: f, docs: d, defs: map[string]jsonSchema{}}
}

// refTo is a property that refers to a definition, with its description
// beside the reference (in v3 inside allOf, as Kubernetes writes it).
func (b *builder) refTo(name, desc string) jsonSchema {
	if b.f == v3 {
		s := jsonSchema{"allOf": []any{jsonSchema{"$ref": b.f.ref(name)}}}
		if desc != "" {
			s["description"] = desc
		}
		return s
	}
	s := jsonSchema{"$ref": b.f.ref(name)}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// oneOf is a value of either type, as Kubernetes writes IntOrString and
// Quantity: in v3 a oneOf (kubectl explain then names the type), in v2 a
// string.
func (b *builder) oneOf(s jsonSchema, types ...string) jsonSchema {
	if b.f == v2 {
		s["type"] = "string"
		return s
	}
	var alts []any
	for _, t := range types {
		alts = append(alts, jsonSchema{"type": t})
	}
	s["oneOf"] = alts
	return s
}

// define adds the definition of md, and of every message it refers to,
// and returns its name. gt is md's Kubernetes Go type when known: it gives
// the patch strategies, the required fields and, where the contract has
// no comment, the documentation. gvks tag the definition of a kind.
func (b *builder) define(md protoreflect.MessageDescriptor, gt reflect.Type, gvks ...map[string]string) string {
	name := defName(md)
	if _, ok := b.defs[name]; ok {
		if len(gvks) > 0 {
			b.defs[name]["x-kubernetes-group-version-kind"] = gvkList(gvks)
		}
		return name
	}
	switch name {
	case defTime:
		b.defs[name] = jsonSchema{"type": "string", "format": "date-time",
			"description": "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers."}
		return name
	}
	s := jsonSchema{"type": "object"}
	b.defs[name] = s // before the fields: messages may refer to themselves
	desc := b.docs.of(md, "")
	if desc == "" {
		desc = swaggerDoc(gt)[""]
	}
	if desc != "" {
		s["description"] = desc
	}
	props := jsonSchema{}
	var required []string
	fds := md.Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		jn := fd.JSONName()
		sf, owner, hasGo := goField(gt, jn)
		p := b.field(md, fd, owner, sf, hasGo)
		props[jn] = p
		if hasGo && requiredTag(sf) && owner.Name() != "TypeMeta" {
			required = append(required, jn)
		}
	}
	s["properties"] = props
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	if len(gvks) > 0 {
		s["x-kubernetes-group-version-kind"] = gvkList(gvks)
	}
	return name
}

func gvkList(gvks []map[string]string) []any {
	out := make([]any, len(gvks))
	for i, g := range gvks {
		out[i] = g
	}
	return out
}

// field is the schema of one field of md; sf is the Kubernetes Go field
// of the same JSON name, in gt, when hasGo.
func (b *builder) field(md protoreflect.MessageDescriptor, fd protoreflect.FieldDescriptor, gt reflect.Type, sf reflect.StructField, hasGo bool) jsonSchema {
	jn := fd.JSONName()
	desc := b.docs.of(md, jn)
	if desc == "" && hasGo {
		desc = swaggerDoc(gt)[jn]
	}
	var ft reflect.Type
	if hasGo {
		ft = sf.Type
	}
	var s jsonSchema
	switch {
	case fd.IsList():
		s = jsonSchema{"type": "array", "items": b.value(fd, elem(ft), "")}
		if desc != "" {
			s["description"] = desc
		}
	case fd.IsMap():
		s = jsonSchema{"type": "object", "additionalProperties": b.value(fd.MapValue(), mapElem(ft), "")}
		if desc != "" {
			s["description"] = desc
		}
	default:
		s = b.value(fd, ft, desc)
	}
	if hasGo {
		if v := sf.Tag.Get("patchStrategy"); v != "" {
			s["x-kubernetes-patch-strategy"] = v
		}
		if v := sf.Tag.Get("patchMergeKey"); v != "" {
			s["x-kubernetes-patch-merge-key"] = v
		}
	}
	return s
}

// value is the schema of one value of fd (an element of a list, the value
// of a map), with gt its Kubernetes Go type when known.
func (b *builder) value(fd protoreflect.FieldDescriptor, gt reflect.Type, desc string) jsonSchema {
	for gt != nil && gt.Kind() == reflect.Pointer {
		gt = gt.Elem()
	}
	var s jsonSchema
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		name := b.define(fd.Message(), structType(gt))
		return b.refTo(name, desc)
	case protoreflect.StringKind:
		switch {
		case codec.IsIntOrString(fd) || gt != nil && gt.Name() == "IntOrString":
			b.defs[defIntOrString] = b.oneOf(jsonSchema{"format": "int-or-string", "x-kubernetes-int-or-string": true,
				"description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number."},
				"integer", "string")
			return b.refTo(defIntOrString, desc)
		case gt != nil && gt.Name() == "Quantity":
			b.defs[defQuantity] = b.oneOf(jsonSchema{
				"description": "Quantity is a fixed-point representation of a number: a plain number (2, 0.5), an SI suffix (250m, 1k, 1M) or a binary one (128Mi, 1Gi)."},
				"string", "number")
			return b.refTo(defQuantity, desc)
		}
		s = jsonSchema{"type": "string"}
	case protoreflect.BoolKind:
		s = jsonSchema{"type": "boolean"}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		s = jsonSchema{"type": "integer", "format": "int32"}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		s = jsonSchema{"type": "integer", "format": "int64"}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		s = jsonSchema{"type": "number", "format": "double"}
	case protoreflect.BytesKind:
		s = jsonSchema{"type": "string", "format": "byte"}
	case protoreflect.EnumKind:
		s = jsonSchema{"type": "string"}
	default:
		s = jsonSchema{}
	}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// ---------------------------------------------------------------- documents

// gv is one group/version's path prefix and OpenAPI v3 path key.
func gvPath(group, version string) (prefix, key string) {
	if group == "" {
		return "/api/" + version, "api/" + version
	}
	return "/apis/" + group + "/" + version, "apis/" + group + "/" + version
}

func gvk(group, version, kind string) map[string]string {
	return map[string]string{"group": group, "version": version, "kind": kind}
}

// paths are the REST paths of kinds with their operations, each tagged with
// its kind (x-kubernetes-group-version-kind) and, for writes, the
// fieldValidation parameter kubectl looks for before it leaves
// validation to the server.
func (b *builder) paths(kinds []Kind) jsonSchema {
	out := jsonSchema{}
	for _, k := range kinds {
		prefix, _ := gvPath(k.Group, k.Version)
		obj := b.define(k.Message, k.goType, gvk(k.Group, k.Version, k.Kind))
		list := b.define(k.List, k.goList, gvk(k.Group, k.Version, k.Kind+"List"))
		kg := gvk(k.Group, k.Version, k.Kind)
		coll := prefix + "/" + k.Resource
		if k.Namespaced {
			out[coll] = jsonSchema{"get": b.op("list"+k.Kind+"ForAllNamespaces", "list", kg, list, nil)}
			coll = prefix + "/namespaces/{namespace}/" + k.Resource
		}
		item := coll + "/{name}"
		out[coll] = jsonSchema{
			"get":  b.op("list"+k.Kind, "list", kg, list, nil),
			"post": b.op("create"+k.Kind, "post", kg, obj, []string{"application/json", "application/yaml"}),
		}
		out[item] = b.itemOps(k.Kind, "", kg, obj)
		if k.HasStatus {
			out[item+"/status"] = b.itemOps(k.Kind, "Status", kg, obj)
		}
		for _, sub := range k.Subresources {
			if sub != "scale" {
				continue
			}
			scale, err := message("skiff.apps.v1.Scale")
			if err != nil {
				continue
			}
			out[item+"/scale"] = b.itemOps(k.Kind, "Scale", gvk("autoscaling", "v1", "Scale"), b.define(scale, goType("autoscaling", "v1", "Scale")))
		}
	}
	return out
}

func (b *builder) itemOps(kind, sub string, kg map[string]string, obj string) jsonSchema {
	ops := jsonSchema{
		"get":   b.op("read"+kind+sub, "get", kg, obj, nil),
		"put":   b.op("replace"+kind+sub, "put", kg, obj, []string{"application/json", "application/yaml"}),
		"patch": b.op("patch"+kind+sub, "patch", kg, obj, []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"}),
	}
	if sub == "" {
		ops["delete"] = b.op("delete"+kind, "delete", kg, obj, nil)
	}
	return ops
}

func (b *builder) op(id, action string, kg map[string]string, result string, consumes []string) jsonSchema {
	op := jsonSchema{
		"operationId":                     id,
		"x-kubernetes-action":             action,
		"x-kubernetes-group-version-kind": kg,
	}
	var params []any
	if consumes != nil {
		for _, p := range []struct{ name, desc string }{
			{"dryRun", "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed"},
			{"fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."},
			{"fieldValidation", "fieldValidation instructs the server on how to handle objects in the request containing unknown fields: Ignore drops them, Warn drops them with a warning for each, Strict (the default) fails the request with an error naming each."},
		} {
			if b.f == v3 {
				params = append(params, jsonSchema{"name": p.name, "in": "query", "description": p.desc, "schema": jsonSchema{"type": "string", "uniqueItems": true}})
			} else {
				params = append(params, jsonSchema{"name": p.name, "in": "query", "description": p.desc, "type": "string", "uniqueItems": true})
			}
		}
		body := jsonSchema{"$ref": b.f.ref(result)}
		if action == "patch" {
			body = jsonSchema{"type": "object"}
		}
		if b.f == v3 {
			content := jsonSchema{}
			for _, c := range consumes {
				content[c] = jsonSchema{"schema": body}
			}
			op["requestBody"] = jsonSchema{"content": content, "required": true}
		} else {
			op["consumes"] = consumes
			params = append(params, jsonSchema{"name": "body", "in": "body", "required": true, "schema": body})
		}
	}
	if params != nil {
		op["parameters"] = params
	}
	res := jsonSchema{"$ref": b.f.ref(result)}
	if b.f == v3 {
		op["responses"] = jsonSchema{"200": jsonSchema{"description": "OK", "content": jsonSchema{"application/json": jsonSchema{"schema": res}, "application/yaml": jsonSchema{"schema": res}}}}
	} else {
		op["produces"] = []string{"application/json", "application/yaml"}
		op["responses"] = jsonSchema{"200": jsonSchema{"description": "OK", "schema": res}}
	}
	return op
}

// OpenAPI holds the documents, made once at start: the contract does not
// change while the apiserver runs.
type OpenAPI struct {
	v2JSON      []byte
	v2Proto     []byte
	v2ETag      string
	v2ProtoETag string
	v3          map[string]v3Doc // by path key: api/v1, apis/apps/v1
	v3Index     []byte
}

type v3Doc struct {
	body []byte
	hash string
}

// NewOpenAPI builds the documents of kinds.
func NewOpenAPI(kinds []Kind, version string) (*OpenAPI, error) {
	d := loadDocs()
	o := &OpenAPI{v3: map[string]v3Doc{}}
	info := jsonSchema{"title": "Skiff", "version": version}

	b := newBuilder(v2, d)
	doc := jsonSchema{"swagger": "2.0", "info": info, "paths": b.paths(kinds), "definitions": b.defs}
	var err error
	if o.v2JSON, err = json.Marshal(doc); err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	gd, err := openapiv2.ParseDocument(o.v2JSON)
	if err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	opts := proto.MarshalOptions{Deterministic: true}
	if o.v2Proto, err = opts.Marshal(gd); err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	o.v2ETag, o.v2ProtoETag = hash(o.v2JSON), hash(o.v2Proto)

	byGV := map[string][]Kind{}
	for _, k := range kinds {
		_, key := gvPath(k.Group, k.Version)
		byGV[key] = append(byGV[key], k)
	}
	index := jsonSchema{}
	for key, ks := range byGV {
		b := newBuilder(v3, d)
		paths := b.paths(ks)
		doc := jsonSchema{"openapi": "3.0.0", "info": info, "paths": paths, "components": jsonSchema{"schemas": b.defs}}
		body, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("openapi v3 %s: %w", key, err)
		}
		h := hash(body)
		o.v3[key] = v3Doc{body: body, hash: h}
		index[key] = jsonSchema{"serverRelativeURL": "/openapi/v3/" + key + "?hash=" + h}
	}
	if o.v3Index, err = json.Marshal(jsonSchema{"paths": index}); err != nil {
		return nil, err
	}
	return o, nil
}

func hash(b []byte) string { return fmt.Sprintf("%X", sha512.Sum512(b)) }
