package app

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "skiff.dev/proto/apps/v1"         // registers the apps/v1 messages
	_ "skiff.dev/proto/batch/v1"        // registers the batch/v1 messages
	_ "skiff.dev/proto/coordination/v1" // registers the coordination.k8s.io/v1 messages
	_ "skiff.dev/proto/core/v1"         // registers the v1 messages
	metav1 "skiff.dev/proto/meta/v1"
)

// resource describes one kind skiffctl knows: its names on the command
// line, its REST group and its gRPC service.
type resource struct {
	Kind       string   // Pod
	Plural     string   // pods
	Short      []string // po
	Group      string   // "" for core, apps, batch, coordination.k8s.io
	Version    string   // v1
	Package    string   // proto package: skiff.core.v1
	Namespaced bool
	Scale      bool // has /scale
}

// resources is every kind the apiserver serves (proto/internal/apigen/kinds.go).
var resources = []*resource{
	{Kind: "Namespace", Plural: "namespaces", Short: []string{"ns"}, Version: "v1", Package: "skiff.core.v1"},
	{Kind: "Pod", Plural: "pods", Short: []string{"po"}, Version: "v1", Package: "skiff.core.v1", Namespaced: true},
	{Kind: "Node", Plural: "nodes", Short: []string{"no"}, Version: "v1", Package: "skiff.core.v1"},
	{Kind: "Service", Plural: "services", Short: []string{"svc"}, Version: "v1", Package: "skiff.core.v1", Namespaced: true},
	{Kind: "Endpoints", Plural: "endpoints", Short: []string{"ep"}, Version: "v1", Package: "skiff.core.v1", Namespaced: true},
	{Kind: "Event", Plural: "events", Short: []string{"ev"}, Version: "v1", Package: "skiff.core.v1", Namespaced: true},
	{Kind: "ConfigMap", Plural: "configmaps", Short: []string{"cm"}, Version: "v1", Package: "skiff.core.v1", Namespaced: true},
	{Kind: "Secret", Plural: "secrets", Version: "v1", Package: "skiff.core.v1", Namespaced: true},
	{Kind: "ServiceAccount", Plural: "serviceaccounts", Short: []string{"sa"}, Version: "v1", Package: "skiff.core.v1", Namespaced: true},
	{Kind: "ReplicaSet", Plural: "replicasets", Short: []string{"rs"}, Group: "apps", Version: "v1", Package: "skiff.apps.v1", Namespaced: true, Scale: true},
	{Kind: "Deployment", Plural: "deployments", Short: []string{"deploy"}, Group: "apps", Version: "v1", Package: "skiff.apps.v1", Namespaced: true, Scale: true},
	{Kind: "DaemonSet", Plural: "daemonsets", Short: []string{"ds"}, Group: "apps", Version: "v1", Package: "skiff.apps.v1", Namespaced: true},
	{Kind: "Job", Plural: "jobs", Group: "batch", Version: "v1", Package: "skiff.batch.v1", Namespaced: true},
	{Kind: "Lease", Plural: "leases", Group: "coordination.k8s.io", Version: "v1", Package: "skiff.coordination.v1", Namespaced: true},
}

// Singular is the lower-case kind: "deployment".
func (r *resource) Singular() string { return strings.ToLower(r.Kind) }

// APIVersion is the apiVersion of manifests: "v1", "apps/v1".
func (r *resource) APIVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// Qualified is how kubectl names the kind in messages: "deployment.apps", "pod".
func (r *resource) Qualified() string {
	if r.Group == "" {
		return r.Singular()
	}
	return r.Singular() + "." + r.Group
}

// path is the REST path of the named object ("" name: the collection).
func (r *resource) path(ns, name string) string {
	p := "/api/" + r.Version
	if r.Group != "" {
		p = "/apis/" + r.Group + "/" + r.Version
	}
	if r.Namespaced && ns != "" {
		p += "/namespaces/" + url.PathEscape(ns)
	}
	p += "/" + r.Plural
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// method is the full gRPC method name of verb: "/skiff.core.v1.PodService/Get".
func (r *resource) method(verb string) string {
	return "/" + r.Package + "." + r.Kind + "Service/" + verb
}

func (r *resource) messageType(suffix string) protoreflect.MessageType {
	name := protoreflect.FullName(r.Package + "." + r.Kind + suffix)
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err != nil {
		panic(fmt.Sprintf("skiffctl: message %s not registered: %v", name, err))
	}
	return mt
}

// New returns an empty object of the kind with apiVersion and kind set.
func (r *resource) New() object {
	o := r.messageType("").New().Interface().(object)
	setTypeMeta(o, r)
	return o
}

// object is any API object.
type object interface {
	proto.Message
	GetMetadata() *metav1.ObjectMeta
}

// meta returns o's metadata, creating it if missing.
func meta(o object) *metav1.ObjectMeta {
	if m := o.GetMetadata(); m != nil {
		return m
	}
	m := o.ProtoReflect()
	f := m.Descriptor().Fields().ByName("metadata")
	m.Set(f, protoreflect.ValueOfMessage((&metav1.ObjectMeta{}).ProtoReflect()))
	return o.GetMetadata()
}

// setTypeMeta fills apiVersion and kind, which list items and some
// responses leave empty.
func setTypeMeta(o object, r *resource) {
	m := o.ProtoReflect()
	fs := m.Descriptor().Fields()
	if f := fs.ByName("api_version"); f != nil {
		m.Set(f, protoreflect.ValueOfString(r.APIVersion()))
	}
	if f := fs.ByName("kind"); f != nil {
		m.Set(f, protoreflect.ValueOfString(r.Kind))
	}
}

// lookupResource finds a kind by any name kubectl accepts: plural,
// singular, short name or kind, optionally qualified by group
// ("deployments.apps").
func lookupResource(name string) (*resource, error) {
	n := strings.ToLower(name)
	group := ""
	if i := strings.IndexByte(n, '.'); i > 0 {
		n, group = n[:i], n[i+1:]
	}
	for _, r := range resources {
		if group != "" && group != r.Group && !strings.HasPrefix(r.Group, group+".") {
			continue
		}
		if n == r.Plural || n == r.Singular() {
			return r, nil
		}
		for _, s := range r.Short {
			if n == s {
				return r, nil
			}
		}
	}
	return nil, fmt.Errorf("the server doesn't have a resource type %q", name)
}

// allCategory is kubectl's "all" category, as far as Skiff serves its
// kinds, in kubectl's order.
var allCategory = []string{"pods", "services", "daemonsets", "deployments", "replicasets", "jobs"}

// lookupResources is lookupResource that also expands the "all" category.
func lookupResources(name string) ([]*resource, error) {
	if strings.ToLower(name) == "all" {
		var out []*resource
		for _, n := range allCategory {
			out = append(out, resourceMust(n))
		}
		return out, nil
	}
	r, err := lookupResource(name)
	if err != nil {
		return nil, err
	}
	return []*resource{r}, nil
}

// resourceForKind finds the kind of a manifest by apiVersion and kind.
func resourceForKind(apiVersion, kind string) (*resource, error) {
	for _, r := range resources {
		if r.Kind == kind && r.APIVersion() == apiVersion {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no matches for kind %q in version %q", kind, apiVersion)
}

// resourceNames lists the plural names, for completion and help.
func resourceNames() []string {
	var out []string
	for _, r := range resources {
		out = append(out, r.Plural)
	}
	sort.Strings(out)
	return out
}
