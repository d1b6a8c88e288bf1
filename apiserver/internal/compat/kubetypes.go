package compat

import (
	"reflect"
	"strings"

	k8sappsv1 "k8s.io/api/apps/v1"
	k8sautoscalingv1 "k8s.io/api/autoscaling/v1"
	k8sbatchv1 "k8s.io/api/batch/v1"
	k8scoordinationv1 "k8s.io/api/coordination/v1"
	k8scorev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// kubeScheme holds the k8s.io/api types of the kinds Skiff serves: they carry
// Kubernetes' patch strategies and merge keys (struct tags), which fields
// are required (no omitempty) and Kubernetes' field documentation.
var kubeScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		k8scorev1.AddToScheme, k8sappsv1.AddToScheme, k8sbatchv1.AddToScheme,
		k8scoordinationv1.AddToScheme, k8sautoscalingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// goType is the Go type of group/version/kind, nil when k8s.io/api has none.
func goType(group, version, kind string) reflect.Type {
	obj, err := kubeScheme.New(k8sschema.GroupVersionKind{Group: group, Version: version, Kind: kind})
	if err != nil {
		return nil
	}
	return reflect.TypeOf(obj).Elem()
}

// goField finds the field of struct t that JSON names name, looking into
// inlined structs (TypeMeta), and the struct that holds it.
func goField(t reflect.Type, name string) (reflect.StructField, reflect.Type, bool) {
	if t == nil || t.Kind() != reflect.Struct {
		return reflect.StructField{}, nil, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		tagName, opts, _ := strings.Cut(tag, ",")
		if tagName == "" && (f.Anonymous || strings.Contains(opts, "inline")) {
			if sf, owner, ok := goField(f.Type, name); ok {
				return sf, owner, true
			}
			continue
		}
		if tagName == name {
			return f, t, true
		}
	}
	return reflect.StructField{}, nil, false
}

// requiredTag tells whether Kubernetes' OpenAPI lists f as required: its
// JSON is written even when empty and it is not a pointer.
func requiredTag(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	return !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer
}

// swaggerDoc is Kubernetes' documentation of t and its fields.
func swaggerDoc(t reflect.Type) map[string]string {
	if t == nil {
		return nil
	}
	if d, ok := reflect.New(t).Elem().Interface().(interface{ SwaggerDoc() map[string]string }); ok {
		return d.SwaggerDoc()
	}
	return nil
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func elem(t reflect.Type) reflect.Type {
	t = deref(t)
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}

func mapElem(t reflect.Type) reflect.Type {
	t = deref(t)
	if t != nil && t.Kind() == reflect.Map {
		return t.Elem()
	}
	return nil
}

func structType(t reflect.Type) reflect.Type {
	t = deref(t)
	if t != nil && t.Kind() == reflect.Struct {
		return t
	}
	return nil
}
