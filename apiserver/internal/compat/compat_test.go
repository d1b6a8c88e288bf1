package compat

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/registry"
)

func testKinds(t *testing.T) []Kind {
	t.Helper()
	kinds, err := OpenAPIKinds([]registry.Info{
		{Version: "v1", Kind: "Pod", Resource: "pods", Singular: "pod", Namespaced: true, HasStatus: true},
		{Version: "v1", Kind: "Service", Resource: "services", Singular: "service", Namespaced: true, HasStatus: true},
		{Version: "v1", Kind: "Node", Resource: "nodes", Singular: "node", HasStatus: true},
		{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments", Singular: "deployment", Namespaced: true, HasStatus: true, Subresources: []string{"scale"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return kinds
}

// get walks a decoded JSON document by keys.
func get(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: not an object at %q", strings.Join(keys, "."), k)
		}
		v = m[k]
	}
	return v
}

func TestOpenAPIV3(t *testing.T) {
	o, err := NewOpenAPI(testKinds(t), "v0.0.0-test")
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]any
	if err := json.Unmarshal(o.v3Index, &index); err != nil {
		t.Fatal(err)
	}
	if url, _ := get(t, index, "paths", "apis/apps/v1", "serverRelativeURL").(string); url != "/openapi/v3/apis/apps/v1?hash="+o.v3["apis/apps/v1"].hash {
		t.Fatalf("apps/v1 URL %q", url)
	}
	var core map[string]any
	if err := json.Unmarshal(o.v3["api/v1"].body, &core); err != nil {
		t.Fatal(err)
	}
	schemas := get(t, core, "components", "schemas")
	pod := get(t, schemas, "io.k8s.api.core.v1.Pod")
	if gvk := get(t, pod, "x-kubernetes-group-version-kind"); !reflect.DeepEqual(gvk, []any{map[string]any{"group": "", "version": "v1", "kind": "Pod"}}) {
		t.Errorf("Pod GVK %v", gvk)
	}
	if ref := get(t, pod, "properties", "metadata", "allOf").([]any)[0]; !reflect.DeepEqual(ref, map[string]any{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}) {
		t.Errorf("Pod metadata %v", ref)
	}
	spec := get(t, schemas, "io.k8s.api.core.v1.PodSpec")
	for _, c := range []struct {
		def, field, strategy, key string
	}{
		{"io.k8s.api.core.v1.PodSpec", "containers", "merge", "name"},
		{"io.k8s.api.core.v1.PodSpec", "volumes", "merge,retainKeys", "name"},
		{"io.k8s.api.core.v1.Container", "ports", "merge", "containerPort"},
		{"io.k8s.api.core.v1.Container", "env", "merge", "name"},
		{"io.k8s.api.core.v1.Container", "volumeMounts", "merge", "mountPath"},
		{"io.k8s.api.core.v1.ServiceSpec", "ports", "merge", "port"},
	} {
		f := get(t, schemas, c.def, "properties", c.field)
		if s, k := get(t, f, "x-kubernetes-patch-strategy"), get(t, f, "x-kubernetes-patch-merge-key"); s != c.strategy || k != c.key {
			t.Errorf("%s.%s: patch strategy %v, merge key %v; want %s, %s", c.def, c.field, s, k, c.strategy, c.key)
		}
	}
	if req := get(t, spec, "required"); !reflect.DeepEqual(req, []any{"containers"}) {
		t.Errorf("PodSpec required %v", req)
	}
	if req := get(t, schemas, "io.k8s.api.core.v1.Container", "required"); !reflect.DeepEqual(req, []any{"name"}) {
		t.Errorf("Container required %v", req)
	}
	tp := get(t, schemas, "io.k8s.api.core.v1.ServicePort", "properties", "targetPort", "allOf").([]any)[0]
	if !reflect.DeepEqual(tp, map[string]any{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}) {
		t.Errorf("targetPort %v", tp)
	}
	if v := get(t, schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString", "x-kubernetes-int-or-string"); v != true {
		t.Errorf("IntOrString x-kubernetes-int-or-string %v", v)
	}
	if f := get(t, schemas, "io.k8s.api.core.v1.ObjectMeta"); f != nil {
		t.Errorf("ObjectMeta under core's name: %v", f)
	}
	// Every write names the fieldValidation parameter: kubectl then leaves
	// validation to the server.
	for path, ops := range get(t, core, "paths").(map[string]any) {
		for method, op := range ops.(map[string]any) {
			if method != "patch" && method != "put" && method != "post" {
				continue
			}
			found := false
			for _, p := range get(t, op, "parameters").([]any) {
				found = found || get(t, p, "name") == "fieldValidation" && get(t, p, "in") == "query"
			}
			if !found {
				t.Errorf("%s %s has no fieldValidation parameter", method, path)
			}
		}
	}
	if op := get(t, core, "paths", "/api/v1/namespaces/{namespace}/pods/{name}", "patch", "x-kubernetes-group-version-kind"); !reflect.DeepEqual(op, map[string]any{"group": "", "version": "v1", "kind": "Pod"}) {
		t.Errorf("pod PATCH GVK %v", op)
	}
	var apps map[string]any
	if err := json.Unmarshal(o.v3["apis/apps/v1"].body, &apps); err != nil {
		t.Fatal(err)
	}
	if op := get(t, apps, "paths", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "get", "x-kubernetes-group-version-kind"); !reflect.DeepEqual(op, map[string]any{"group": "autoscaling", "version": "v1", "kind": "Scale"}) {
		t.Errorf("deployments/scale GVK %v", op)
	}
	if d := get(t, apps, "components", "schemas", "io.k8s.api.apps.v1.DeploymentSpec", "properties", "replicas", "description"); d != "replicas defaults to 1." {
		t.Errorf("replicas description %q: want the contract's comment", d)
	}
}

// TestOpenAPIV2Protobuf: the protobuf form is gnostic's Document of the
// JSON form.
func TestOpenAPIV2Protobuf(t *testing.T) {
	o, err := NewOpenAPI(testKinds(t), "v0.0.0-test")
	if err != nil {
		t.Fatal(err)
	}
	var doc openapiv2.Document
	if err := proto.Unmarshal(o.v2Proto, &doc); err != nil {
		t.Fatal(err)
	}
	var pod *openapiv2.Schema
	for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
		if d.GetName() == "io.k8s.api.core.v1.Pod" {
			pod = d.GetValue()
		}
	}
	if pod == nil {
		t.Fatal("no io.k8s.api.core.v1.Pod definition")
	}
	found := false
	for _, e := range pod.GetVendorExtension() {
		if e.GetName() == "x-kubernetes-group-version-kind" {
			found = strings.Contains(e.GetValue().GetYaml(), "kind: Pod")
		}
	}
	if !found {
		t.Errorf("Pod has no x-kubernetes-group-version-kind: %v", pod.GetVendorExtension())
	}
	if doc.GetSwagger() != "2.0" {
		t.Errorf("swagger %q", doc.GetSwagger())
	}
}

func TestWantsProtobuf(t *testing.T) {
	for accept, want := range map[string]bool{
		"application/com.github.proto-openapi.spec.v2@v1.0+protobuf":                          true,
		"application/com.github.proto-openapi.spec.v2.v1.0+protobuf, application/json":        true,
		"application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf":        false,
		"application/com.github.proto-openapi.spec.v2@v1.0+protobuf; q=0.5, application/json": false,
		"": false,
	} {
		if got := wantsProtobuf(accept); got != want {
			t.Errorf("wantsProtobuf(%q) = %v, want %v", accept, got, want)
		}
	}
}

func TestStrategicMergePatch(t *testing.T) {
	doc := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{"spec":{"containers":[` +
		`{"name":"a","image":"a:1","env":[{"name":"X","value":"1"},{"name":"Y","value":"2"}]},{"name":"b","image":"b:1"}]}}}}`
	for _, c := range []struct{ name, patch, want string }{
		{"merge by name", `{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"b:2"}]}}}}`,
			`[{"env":[{"name":"X","value":"1"},{"name":"Y","value":"2"}],"image":"a:1","name":"a"},{"image":"b:2","name":"b"}]`},
		{"delete a container", `{"spec":{"template":{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}}}`,
			`[{"image":"b:1","name":"b"}]`},
		{"delete an env var", `{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],"containers":[{"name":"a","env":[{"name":"X","$patch":"delete"}]}]}}}}`,
			`[{"env":[{"name":"Y","value":"2"}],"image":"a:1","name":"a"},{"image":"b:1","name":"b"}]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := StrategicMergePatch([]byte(doc), []byte(c.patch), "apps", "v1", "Deployment")
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Spec struct {
					Template struct {
						Spec struct {
							Containers json.RawMessage `json:"containers"`
						} `json:"spec"`
					} `json:"template"`
				} `json:"spec"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if string(got.Spec.Template.Spec.Containers) != c.want {
				t.Errorf("containers %s\nwant       %s", got.Spec.Template.Spec.Containers, c.want)
			}
		})
	}
	if _, err := StrategicMergePatch([]byte(doc), []byte(`{}`), "apps", "v1", "Widget"); err == nil {
		t.Error("a kind without Kubernetes type was patched")
	}
}

func TestValidateFields(t *testing.T) {
	md, err := MessageOf("", "Pod")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"apiVersion":"v1","kind":"Pod","zeta":1,"metadata":{"name":"p","colour":"blue"},` +
		`"spec":{"containers":[{"name":"c","image":"i","size":3}],"nodeSelector":{"disk":"ssd"}}}`
	for _, c := range []struct {
		directive, wantBody string
		warnings            []string
	}{
		{FieldValidationStrict, body, nil},
		{FieldValidationWarn, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"image":"i","name":"c"}],"nodeSelector":{"disk":"ssd"}}}`,
			[]string{`unknown field "metadata.colour"`, `unknown field "spec.containers[0].size"`, `unknown field "zeta"`}},
		{FieldValidationIgnore, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"image":"i","name":"c"}],"nodeSelector":{"disk":"ssd"}}}`, nil},
	} {
		t.Run(c.directive, func(t *testing.T) {
			fv, err := ValidateFields(c.directive, []byte(body), md)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"metadata.colour", "spec.containers[0].size", "zeta"}; !reflect.DeepEqual(fv.Unknown, want) {
				t.Errorf("unknown %q, want %q", fv.Unknown, want)
			}
			if string(fv.Body) != c.wantBody || !reflect.DeepEqual(fv.Warnings, c.warnings) {
				t.Errorf("body %s\nwant %s\nwarnings %q, want %q", fv.Body, c.wantBody, fv.Warnings, c.warnings)
			}
		})
	}
	if got := StrictError([]string{"zeta", "metadata.colour"}); got != `strict decoding error: unknown field "zeta", unknown field "metadata.colour"` {
		t.Errorf("StrictError: %s", got)
	}
	if _, err := ValidateFields("Loose", []byte(body), md); err == nil || !strings.Contains(err.Error(), `got "Loose"`) {
		t.Errorf("fieldValidation=Loose: %v", err)
	}
}
