package main

// Group is one API group and version.
type Group struct {
	Name    string // REST group: "" for core, "apps", "coordination.k8s.io"
	Package string // proto package and folder: core, apps, batch, coordination
	Version string
	Kinds   []Kind
}

// Kind is one resource of a group and the verbs it serves.
type Kind struct {
	Name       string // Pod
	Plural     string // pods
	Namespaced bool
	HasStatus  bool // has a status written only through UpdateStatus
	Binding    bool // pods/binding
	Log        bool // pods/log
	Scale      bool // /scale
	Finalize   bool // namespaces/finalize: the namespace controller's spec.finalizers
}

// Groups is the API: every kind Skiff serves.
var Groups = []Group{
	{Name: "", Package: "core", Version: "v1", Kinds: []Kind{
		{Name: "Namespace", Plural: "namespaces", HasStatus: true, Finalize: true},
		{Name: "Pod", Plural: "pods", Namespaced: true, HasStatus: true, Binding: true, Log: true},
		{Name: "Node", Plural: "nodes", HasStatus: true},
		{Name: "Service", Plural: "services", Namespaced: true, HasStatus: true},
		{Name: "Endpoints", Plural: "endpoints", Namespaced: true},
		{Name: "Event", Plural: "events", Namespaced: true},
		{Name: "ConfigMap", Plural: "configmaps", Namespaced: true},
		{Name: "Secret", Plural: "secrets", Namespaced: true},
		{Name: "ServiceAccount", Plural: "serviceaccounts", Namespaced: true},
	}},
	{Name: "apps", Package: "apps", Version: "v1", Kinds: []Kind{
		{Name: "ReplicaSet", Plural: "replicasets", Namespaced: true, HasStatus: true, Scale: true},
		{Name: "Deployment", Plural: "deployments", Namespaced: true, HasStatus: true, Scale: true},
		{Name: "DaemonSet", Plural: "daemonsets", Namespaced: true, HasStatus: true},
	}},
	{Name: "batch", Package: "batch", Version: "v1", Kinds: []Kind{
		{Name: "Job", Plural: "jobs", Namespaced: true, HasStatus: true},
	}},
	{Name: "coordination.k8s.io", Package: "coordination", Version: "v1", Kinds: []Kind{
		{Name: "Lease", Plural: "leases", Namespaced: true},
	}},
}

func (g Group) any(f func(Kind) bool) bool {
	for _, k := range g.Kinds {
		if f(k) {
			return true
		}
	}
	return false
}

// NeedsHTTPBody reports whether a service of the group streams raw bytes.
func (g Group) NeedsHTTPBody() bool { return g.any(func(k Kind) bool { return k.Log }) }

// HasBinding reports whether the group needs BindingRequest.
func (g Group) HasBinding() bool { return g.any(func(k Kind) bool { return k.Binding }) }

// HasScale reports whether the group needs ScaleRequest.
func (g Group) HasScale() bool { return g.any(func(k Kind) bool { return k.Scale }) }
