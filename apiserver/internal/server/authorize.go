package server

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/authn"
	"skiff.dev/apiserver/internal/authz"
	"skiff.dev/apiserver/internal/registry"
)

// authorizer turns REST requests and gRPC calls into authz.Attributes and
// refuses what the configured Authorizer does not allow, with Kubernetes'
// Forbidden message.
type authorizer struct {
	lg       *zap.Logger
	az       authz.Authorizer
	services map[string]registry.Info // gRPC service full name -> kind
}

func newAuthorizer(lg *zap.Logger, az authz.Authorizer, infos []registry.Info) *authorizer {
	a := &authorizer{lg: lg.Named("authz"), az: az, services: map[string]registry.Info{}}
	for _, i := range infos {
		a.services[grpcServiceName(i)] = i
	}
	return a
}

// grpcServiceName is the generated service of a kind: skiff.apps.v1.DeploymentService.
func grpcServiceName(i registry.Info) string {
	pkg, _, _ := strings.Cut(i.Group, ".") // coordination.k8s.io -> coordination
	if pkg == "" {
		pkg = "core"
	}
	return "skiff." + pkg + "." + i.Version + "." + i.Kind + "Service"
}

// check asks the Authorizer and returns a Forbidden error unless it allows.
func (a *authorizer) check(ctx context.Context, attrs authz.Attributes) error {
	attrs.User, _ = authn.UserFrom(ctx)
	d, reason, err := a.az.Authorize(ctx, attrs)
	if err != nil {
		a.lg.Error("authorizer failed", zap.Error(err))
		return apierrors.Internal("authorization failed: %v", err)
	}
	if d == authz.Allow {
		return nil
	}
	msg := authz.ForbiddenMessage(attrs, reason)
	a.lg.Debug("forbidden", zap.String("message", msg))
	switch {
	case !attrs.ResourceRequest:
		return apierrors.New(apierrors.ReasonForbidden, "", "", "forbidden: "+msg)
	case attrs.Name != "":
		return apierrors.Forbidden(attrs.QualifiedResource(), attrs.Name, msg)
	default:
		return apierrors.New(apierrors.ReasonForbidden, attrs.QualifiedResource(), "", attrs.QualifiedResource()+" is forbidden: "+msg)
	}
}

// http authorizes REST requests; gRPC calls pass to the interceptors.
func (a *authorizer) http(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.check(r.Context(), restAttributes(r)); err != nil {
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// restAttributes reads a REST request as Kubernetes' RequestInfoFactory
// does: API paths are resource requests, every other path is not.
func restAttributes(r *http.Request) authz.Attributes {
	attrs := authz.Attributes{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	t, ok := parsePath(r.URL.Path)
	if !ok || t.discovery || t.groupDiscovery || t.resource == "" {
		return attrs
	}
	attrs.ResourceRequest = true
	attrs.APIGroup, attrs.Resource, attrs.Subresource, attrs.Name, attrs.Namespace = t.group, t.resource, t.sub, t.name, t.namespace
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case t.watch || isTrue(r.URL.Query().Get("watch")):
			attrs.Verb = "watch"
		case t.name == "":
			attrs.Verb = "list"
		default:
			attrs.Verb = "get"
		}
	case http.MethodPost:
		attrs.Verb = "create"
	case http.MethodPut:
		attrs.Verb = "update"
	case http.MethodPatch:
		attrs.Verb = "patch"
	case http.MethodDelete:
		attrs.Verb = "delete"
		if t.name == "" {
			attrs.Verb = "deletecollection"
		}
	}
	if attrs.Resource == "pods" && (attrs.Subresource == "exec" || attrs.Subresource == "portforward") {
		attrs.Verb = "create" // whatever the method, as Kubernetes authorizes exec and port-forward
	}
	namespaceOfNamespace(&attrs)
	return attrs
}

// namespaceOfNamespace: a request about one Namespace is in that
// namespace, as in Kubernetes, so a user allowed in "dev" may read it.
func namespaceOfNamespace(attrs *authz.Attributes) {
	if attrs.APIGroup == "" && attrs.Resource == "namespaces" && attrs.Name != "" {
		attrs.Namespace = attrs.Name
	}
}

// grpcVerbs maps the methods of the generated services to verbs and
// subresources.
var grpcVerbs = map[string][2]string{
	"Create":       {"create", ""},
	"Get":          {"get", ""},
	"List":         {"list", ""},
	"Watch":        {"watch", ""},
	"Update":       {"update", ""},
	"UpdateStatus": {"update", "status"},
	"Delete":       {"delete", ""},
	"Bind":         {"create", "binding"},
	"Log":          {"get", "log"},
	"GetScale":     {"get", "scale"},
	"UpdateScale":  {"update", "scale"},
	"Finalize":     {"update", "finalize"},
}

// grpcAttributes reads a call: the kind from the service, the verb from
// the method, the namespace and name from the request message.
func (a *authorizer) grpcAttributes(fullMethod string, req any) authz.Attributes {
	attrs := authz.Attributes{Path: fullMethod, Verb: "call"}
	service, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	info, ok := a.services[service]
	if !ok {
		return attrs // not an API kind: a non-resource request
	}
	attrs.ResourceRequest = true
	attrs.APIGroup, attrs.Resource = info.Group, info.Resource
	if v, ok := grpcVerbs[method]; ok {
		attrs.Verb, attrs.Subresource = v[0], v[1]
	} else {
		attrs.Verb = strings.ToLower(method)
	}
	if m, ok := req.(proto.Message); ok {
		attrs.Namespace, attrs.Name = requestTarget(m.ProtoReflect(), attrs.Verb == "create" && attrs.Subresource == "")
	}
	namespaceOfNamespace(&attrs)
	return attrs
}

// requestTarget reads the namespace and name a request is about: its own
// namespace and name fields, or else its object's metadata. A create
// names no object yet, as in Kubernetes.
func requestTarget(m protoreflect.Message, create bool) (ns, name string) {
	str := func(m protoreflect.Message, field string) string {
		if fd := m.Descriptor().Fields().ByName(protoreflect.Name(field)); fd != nil && fd.Kind() == protoreflect.StringKind {
			return m.Get(fd).String()
		}
		return ""
	}
	ns, name = str(m, "namespace"), str(m, "name")
	if fd := m.Descriptor().Fields().ByName("object"); fd != nil && fd.Message() != nil && m.Has(fd) {
		if md := fd.Message().Fields().ByName("metadata"); md != nil && md.Message() != nil {
			meta := m.Get(fd).Message().Get(md).Message()
			if ns == "" {
				ns = str(meta, "namespace")
			}
			if name == "" {
				name = str(meta, "name")
			}
		}
	}
	if create {
		name = ""
	}
	return ns, name
}

func (a *authorizer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := a.check(ctx, a.grpcAttributes(info.FullMethod, req)); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// stream authorizes a server-streaming call (Watch, Log) on its request
// message, the first the handler receives.
func (a *authorizer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &authorizedStream{ServerStream: ss, a: a, method: info.FullMethod})
}

type authorizedStream struct {
	grpc.ServerStream
	a      *authorizer
	method string
	once   sync.Once
	err    error
}

func (s *authorizedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	s.once.Do(func() { s.err = s.a.check(s.Context(), s.a.grpcAttributes(s.method, m)) })
	return s.err
}
