package server

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/compat"
	"skiff.dev/proto/codec"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// restTarget is a parsed REST path.
type restTarget struct {
	group, version string
	namespace      string
	resource, name string
	sub            string
	proxyPath      string // of .../{name}/proxy/{path...}: /{path...}
	watch          bool   // the legacy /watch/ form
	discovery      bool   // /api/v1 or /apis/<group>/<version>
	groupDiscovery bool   // /apis/<group>
}

// parsePath reads /api/v1/..., /apis/<group>/<version>/... paths.
func parsePath(p string) (restTarget, bool) {
	var t restTarget
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		t.version, parts = parts[1], parts[2:]
	case len(parts) == 2 && parts[0] == "apis":
		t.group, t.groupDiscovery = parts[1], true
		return t, true
	case len(parts) >= 3 && parts[0] == "apis":
		t.group, t.version, parts = parts[1], parts[2], parts[3:]
	default:
		return t, false
	}
	if len(parts) == 0 {
		t.discovery = true
		return t, true
	}
	if parts[0] == "watch" {
		t.watch, parts = true, parts[1:]
	}
	if len(parts) >= 3 && parts[0] == "namespaces" && parts[2] != "status" && parts[2] != "finalize" {
		t.namespace, parts = parts[1], parts[2:]
	}
	if len(parts) > 3 && parts[2] == "proxy" { // nodes/{name}/proxy/stats/summary
		t.proxyPath, parts = "/"+strings.Join(parts[3:], "/"), parts[:3]
	}
	if len(parts) == 0 || len(parts) > 3 {
		return t, false
	}
	t.resource = parts[0]
	if len(parts) > 1 {
		t.name = parts[1]
	}
	if len(parts) > 2 {
		t.sub = parts[2]
	}
	return t, true
}

// watch streams a REST watch: one JSON event per line, flushed as it comes,
// {"type":"ADDED","object":{...}}, or with media protobuf the length-
// prefixed frames of Kubernetes' protobuf watch; a failure ends the stream
// with an ERROR event carrying a Status, as Kubernetes does.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, t restTarget, table *compat.TableFormat, media string) {
	watch, ok := s.reg.Watch(t.group, t.resource)
	if !ok || t.sub != "" {
		writeErrorAs(w, media, apierrors.NotFound("path", r.URL.Path))
		return
	}
	opts := &metav1.ListOptions{}
	if err := gwruntime.PopulateQueryParameters(opts, r.URL.Query(), utilities.NewDoubleArray(nil)); err != nil {
		writeErrorAs(w, media, apierrors.BadRequest("invalid query: %v", err))
		return
	}
	opts.Namespace = t.namespace
	if t.name != "" {
		sel := "metadata.name=" + t.name
		if opts.FieldSelector != "" {
			sel += "," + opts.FieldSelector
		}
		opts.FieldSelector = sel
	}
	contentType, encode := watchEncoder(media)
	flusher, _ := w.(http.Flusher)
	started := false
	start := func() {
		if !started {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Transfer-Encoding", "chunked")
			w.WriteHeader(http.StatusOK)
			started = true
		}
	}
	var buf []byte
	established := func() {
		start()
		if flusher != nil {
			flusher.Flush()
		}
	}
	err := watch(r.Context(), opts, established, func(ev proto.Message) error {
		var b []byte
		var err error
		if table != nil {
			b, err = table.AppendWatchEvent(buf[:0], ev, time.Now())
		} else {
			b, err = codec.AppendJSON(buf[:0], ev)
		}
		if err != nil {
			return err
		}
		buf = b
		out, err := encode(b)
		if err != nil {
			return err
		}
		start()
		if _, err := w.Write(out); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
	if err == nil || r.Context().Err() != nil {
		return
	}
	if !started {
		writeErrorAs(w, media, err)
		return
	}
	st, _ := apierrors.ToStatus(err)
	b, _ := codec.Marshal(st)
	if out, err := encode([]byte(`{"type":"ERROR","object":` + string(b) + "}")); err == nil {
		_, _ = w.Write(out)
	}
}

// podLog streams pods/{name}/log as plain text.
func (s *Server) podLog(w http.ResponseWriter, r *http.Request, t restTarget) {
	opts := &corev1.PodLogOptions{}
	if err := gwruntime.PopulateQueryParameters(opts, r.URL.Query(), utilities.NewDoubleArray(nil)); err != nil {
		writeError(w, apierrors.BadRequest("invalid query: %v", err))
		return
	}
	opts.Namespace, opts.Name = t.namespace, t.name
	flusher, _ := w.(http.Flusher)
	stream := &logStream{ctx: r.Context(), w: w, flush: flusher}
	if err := s.reg.Pods.Log(opts, stream); err != nil && !stream.started {
		writeError(w, err)
	}
}

// podExec serves GET and POST .../pods/{name}/exec: the connection goes
// through to the kubelet of the pod's node, which speaks the streaming
// protocol (proto/remotecommand).
func (s *Server) podExec(w http.ResponseWriter, r *http.Request, t restTarget) {
	if s.cfg.PodExec == nil {
		writeError(w, apierrors.Unavailable("exec is not available: no kubelet connection configured"))
		return
	}
	pod, container, err := s.reg.Pods.ExecTarget(r.Context(), t.namespace, t.name, r.URL.Query().Get("container"))
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.cfg.PodExec(w, r, pod, container); err != nil {
		writeError(w, err)
	}
}

// podPortForward serves GET and POST .../pods/{name}/portforward?ports=80:
// the connection goes through to the kubelet of the pod's node, which
// speaks the port-forward protocol (proto/remotecommand).
func (s *Server) podPortForward(w http.ResponseWriter, r *http.Request, t restTarget) {
	if s.cfg.PodPortForward == nil {
		writeError(w, apierrors.Unavailable("port-forward is not available: no kubelet connection configured"))
		return
	}
	pod, err := s.reg.Pods.PortForwardTarget(r.Context(), t.namespace, t.name)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.cfg.PodPortForward(w, r, pod); err != nil {
		writeError(w, err)
	}
}

// nodeProxy serves GET /api/v1/nodes/{name}/proxy/{path...} from the
// node's kubelet (e.g. /stats/summary for `skiffctl top`).
func (s *Server) nodeProxy(w http.ResponseWriter, r *http.Request, t restTarget) {
	if s.cfg.NodeProxy == nil {
		writeError(w, apierrors.Unavailable("the node proxy is not available: no kubelet connection configured"))
		return
	}
	if err := s.cfg.NodeProxy(w, r, t.name, t.proxyPath); err != nil {
		writeError(w, err)
	}
}

type logStream struct {
	corev1.PodService_LogServer
	ctx     context.Context
	w       http.ResponseWriter
	flush   http.Flusher
	started bool
}

func (l *logStream) Context() context.Context { return l.ctx }

func (l *logStream) Send(b *httpbody.HttpBody) error {
	if !l.started {
		l.w.Header().Set("Content-Type", "text/plain")
		l.started = true
	}
	if _, err := l.w.Write(b.GetData()); err != nil {
		return err
	}
	if l.flush != nil {
		l.flush.Flush()
	}
	return nil
}

// ---------------------------------------------------------------- discovery

type apiResource struct {
	Name         string   `json:"name"`
	SingularName string   `json:"singularName"`
	Namespaced   bool     `json:"namespaced"`
	Group        string   `json:"group,omitempty"`
	Version      string   `json:"version,omitempty"`
	Kind         string   `json:"kind"`
	Verbs        []string `json:"verbs"`
	ShortNames   []string `json:"shortNames,omitempty"`
	Categories   []string `json:"categories,omitempty"`
}

type groupVersion struct {
	GroupVersion string `json:"groupVersion"`
	Version      string `json:"version"`
}

type apiGroup struct {
	Name             string         `json:"name"`
	Versions         []groupVersion `json:"versions"`
	PreferredVersion groupVersion   `json:"preferredVersion"`
}

func (s *Server) discoveryAPI(w http.ResponseWriter, r *http.Request) {
	if s.serveAggregated(w, r, true) {
		return
	}
	writeJSON(w, map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
		"serverAddressByClientCIDRs": []map[string]string{}})
}

func (s *Server) groups() []apiGroup {
	seen := map[string]bool{}
	var out []apiGroup
	for _, i := range s.reg.Infos() {
		if i.Group == "" || seen[i.Group] {
			continue
		}
		seen[i.Group] = true
		gv := groupVersion{GroupVersion: i.Group + "/" + i.Version, Version: i.Version}
		out = append(out, apiGroup{Name: i.Group, Versions: []groupVersion{gv}, PreferredVersion: gv})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

func (s *Server) discoveryAPIs(w http.ResponseWriter, r *http.Request) {
	if s.serveAggregated(w, r, false) {
		return
	}
	writeJSON(w, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": s.groups()})
}

func (s *Server) discoveryGroupVersion(w http.ResponseWriter, r *http.Request, t restTarget) {
	if t.groupDiscovery {
		for _, g := range s.groups() {
			if g.Name == t.group {
				writeJSON(w, map[string]any{"kind": "APIGroup", "apiVersion": "v1", "name": g.Name,
					"versions": g.Versions, "preferredVersion": g.PreferredVersion})
				return
			}
		}
		writeError(w, apierrors.NotFound("path", r.URL.Path))
		return
	}
	resources := s.apiResources(t.group, t.version)
	if resources == nil {
		writeError(w, apierrors.NotFound("path", r.URL.Path))
		return
	}
	gv := t.version
	if t.group != "" {
		gv = t.group + "/" + t.version
	}
	writeJSON(w, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

// apiResources are the resources and subresources of group/version, as
// discovery lists them.
func (s *Server) apiResources(group, version string) []apiResource {
	var resources []apiResource
	for _, i := range s.reg.Infos() {
		if i.Group != group || i.Version != version {
			continue
		}
		resources = append(resources, apiResource{Name: i.Resource, SingularName: i.Singular, Namespaced: i.Namespaced,
			Kind: i.Kind, Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}, ShortNames: i.ShortNames,
			Categories: compat.Categories(i.Group, i.Resource)})
		if i.HasStatus {
			resources = append(resources, apiResource{Name: i.Resource + "/status", Namespaced: i.Namespaced,
				Kind: i.Kind, Verbs: []string{"get", "patch", "update"}})
		}
		for _, sub := range i.Subresources {
			res := apiResource{Name: i.Resource + "/" + sub, Namespaced: i.Namespaced, Kind: i.Kind}
			switch sub {
			case "binding":
				res.Kind, res.Verbs = "Binding", []string{"create"}
			case "log":
				res.Kind, res.Verbs = "Pod", []string{"get"}
			case "finalize":
				res.Verbs = []string{"update"}
			case "scale":
				res.Group, res.Version, res.Kind, res.Verbs = "autoscaling", "v1", "Scale", []string{"get", "patch", "update"}
			}
			resources = append(resources, res)
		}
	}
	// By name, as Kubernetes lists them: the order of `kubectl get all`.
	sort.SliceStable(resources, func(a, b int) bool { return resources[a].Name < resources[b].Name })
	return resources
}
