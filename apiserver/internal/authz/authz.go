// Package authz decides whether an authenticated user may make a request,
// as Kubernetes' authorizers do (k8s.io/apiserver/pkg/authorization): the
// front turns every request, REST or gRPC, into Attributes (who, which
// verb, which resource in which namespace, or which non-resource path) and
// asks an Authorizer.
//
// Modes, named as kube-apiserver's --authorization-mode values:
// AlwaysAllow, AlwaysDeny and ABAC (a static policy file, one JSON policy
// per line, in Kubernetes' abac.authorization.kubernetes.io/v1beta1 format).
// Members of system:masters may always do everything, as in Kubernetes.
package authz

import (
	"context"
	"fmt"
	"slices"

	"skiff.dev/apiserver/internal/authn"
)

// Decision is an authorizer's answer.
type Decision int

const (
	// NoOpinion lets the next authorizer decide; if none does, the request
	// is denied.
	NoOpinion Decision = iota
	// Allow admits the request.
	Allow
	// Deny refuses the request at once.
	Deny
)

// Attributes describe a request, as Kubernetes' authorizer.Attributes.
type Attributes struct {
	User *authn.User
	// Verb is get, list, watch, create, update, patch, delete or
	// deletecollection for a resource request, and the lower-case HTTP
	// method for a non-resource request.
	Verb string
	// ResourceRequest tells an API object request from a plain path.
	ResourceRequest bool
	Namespace       string // "" for cluster-scoped resources and for all namespaces
	APIGroup        string // "" for core
	Resource        string // pods
	Subresource     string // status, binding, log, scale
	Name            string // "" for collections
	Path            string // the URL path of a non-resource request
}

// ReadOnly tells whether the request only reads.
func (a Attributes) ReadOnly() bool {
	switch a.Verb {
	case "get", "list", "watch", "head":
		return true
	}
	return false
}

// Authorizer decides on a request. The reason says why, for the user
// (appended to a Forbidden message) and for the log.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (d Decision, reason string, err error)
}

// AuthorizerFunc adapts a function to an Authorizer.
type AuthorizerFunc func(ctx context.Context, a Attributes) (Decision, string, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	return f(ctx, a)
}

// AlwaysAllow admits every request (kube-apiserver's AlwaysAllow mode).
var AlwaysAllow = AuthorizerFunc(func(context.Context, Attributes) (Decision, string, error) {
	return Allow, "", nil
})

// AlwaysDeny refuses every request (kube-apiserver's AlwaysDeny mode).
var AlwaysDeny = AuthorizerFunc(func(context.Context, Attributes) (Decision, string, error) {
	return Deny, "Everything is forbidden.", nil
})

// MastersGroup may do everything, whatever the mode.
const MastersGroup = "system:masters"

// privileged admits members of MastersGroup and has no opinion on others.
var privileged = AuthorizerFunc(func(_ context.Context, a Attributes) (Decision, string, error) {
	if a.User != nil && slices.Contains(a.User.Groups, MastersGroup) {
		return Allow, "", nil
	}
	return NoOpinion, "", nil
})

// Union asks each authorizer in turn, after the system:masters check; the
// first Allow or Deny decides. With no decision the request is denied,
// with the reasons given.
func Union(auths ...Authorizer) Authorizer {
	all := append([]Authorizer{privileged}, auths...)
	return AuthorizerFunc(func(ctx context.Context, a Attributes) (Decision, string, error) {
		var reasons string
		for _, az := range all {
			d, reason, err := az.Authorize(ctx, a)
			if err != nil {
				return Deny, "", err
			}
			if d != NoOpinion {
				return d, reason, nil
			}
			if reason != "" {
				if reasons != "" {
					reasons += "; "
				}
				reasons += reason
			}
		}
		return Deny, reasons, nil
	})
}

// Modes are the values --authorization-mode accepts.
var Modes = []string{"AlwaysAllow", "AlwaysDeny", "ABAC"}

// Config selects the authorizers.
type Config struct {
	// Modes in order, from --authorization-mode.
	Modes []string
	// PolicyFile is the ABAC policy file (--authorization-policy-file);
	// empty leaves only the built-in policy for the components.
	PolicyFile string
}

// New builds the union of the configured modes.
func New(cfg Config) (Authorizer, error) {
	if len(cfg.Modes) == 0 {
		return nil, fmt.Errorf("--authorization-mode: at least one mode is required, one of %v", Modes)
	}
	var auths []Authorizer
	for _, m := range cfg.Modes {
		switch m {
		case "AlwaysAllow":
			auths = append(auths, AlwaysAllow)
		case "AlwaysDeny":
			auths = append(auths, AlwaysDeny)
		case "ABAC":
			p, err := LoadPolicyFile(cfg.PolicyFile)
			if err != nil {
				return nil, fmt.Errorf("--authorization-policy-file: %w", err)
			}
			auths = append(auths, p)
		default:
			return nil, fmt.Errorf("--authorization-mode: unknown mode %q, want one of %v", m, Modes)
		}
	}
	if cfg.PolicyFile != "" && !slices.Contains(cfg.Modes, "ABAC") {
		return nil, fmt.Errorf("--authorization-policy-file is set but --authorization-mode %v has no ABAC", cfg.Modes)
	}
	return Union(auths...), nil
}

// ForbiddenMessage is Kubernetes' wording of a refusal, without the
// resource prefix: `User "bob" cannot list resource "pods" in API group ""
// in the namespace "default"`, then ": reason" when there is one.
func ForbiddenMessage(a Attributes, reason string) string {
	user := ""
	if a.User != nil {
		user = a.User.Name
	}
	var msg string
	switch {
	case !a.ResourceRequest:
		msg = fmt.Sprintf("User %q cannot %s path %q", user, a.Verb, a.Path)
	default:
		resource := a.Resource
		if a.Subresource != "" {
			resource += "/" + a.Subresource
		}
		if a.Namespace != "" {
			msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", user, a.Verb, resource, a.APIGroup, a.Namespace)
		} else {
			msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", user, a.Verb, resource, a.APIGroup)
		}
	}
	if reason != "" {
		msg += ": " + reason
	}
	return msg
}

// QualifiedResource is the resource as Kubernetes names it in errors:
// pods, deployments.apps.
func (a Attributes) QualifiedResource() string {
	if a.APIGroup == "" {
		return a.Resource
	}
	return a.Resource + "." + a.APIGroup
}
