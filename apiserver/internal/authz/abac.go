package authz

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"skiff.dev/apiserver/internal/authn"
)

// PolicyAPIVersion and PolicyKind head every line of a policy file, as in
// Kubernetes' ABAC mode.
const (
	PolicyAPIVersion = "abac.authorization.kubernetes.io/v1beta1"
	PolicyKind       = "Policy"
)

// Policy is one line of an ABAC policy file:
//
//	{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy",
//	 "spec": {"user": "alice", "namespace": "dev", "resource": "*", "apiGroup": "*"}}
type Policy struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Spec       PolicySpec `json:"spec"`
}

// PolicySpec says who may do what. An empty or "*" value of a field
// matches as in Kubernetes: user and group select the subject ("*" for
// every user), readonly limits it to get, list and watch, namespace,
// resource and apiGroup select resource requests ("*" for all; namespace
// "" is cluster-scoped only), nonResourcePath selects plain paths ("*",
// an exact path, or a prefix ending in "*").
type PolicySpec struct {
	User            string `json:"user,omitempty"`
	Group           string `json:"group,omitempty"`
	Readonly        bool   `json:"readonly,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	NonResourcePath string `json:"nonResourcePath,omitempty"`
}

// PolicyList is an ABAC authorizer: a request is allowed when one policy
// matches it, and otherwise left to the next authorizer.
type PolicyList []Policy

// noPolicyMatched is Kubernetes' reason when no ABAC policy matches.
const noPolicyMatched = "No policy matched."

// Authorize allows a request one of the policies matches.
func (pl PolicyList) Authorize(_ context.Context, a Attributes) (Decision, string, error) {
	if slices.ContainsFunc(pl, func(p Policy) bool { return p.matches(a) }) {
		return Allow, "", nil
	}
	return NoOpinion, noPolicyMatched, nil
}

func (p Policy) matches(a Attributes) bool {
	if !p.subjectMatches(a.User) || (p.Spec.Readonly && !a.ReadOnly()) {
		return false
	}
	s := p.Spec
	if a.ResourceRequest {
		return (s.Namespace == "*" || s.Namespace == a.Namespace) &&
			(s.Resource == "*" || s.Resource == a.Resource) &&
			(s.APIGroup == "*" || s.APIGroup == a.APIGroup) &&
			(s.Resource != "" || s.APIGroup != "" || s.Namespace != "")
	}
	switch {
	case s.NonResourcePath == "":
		return false
	case s.NonResourcePath == "*", s.NonResourcePath == a.Path:
		return true
	case strings.HasSuffix(s.NonResourcePath, "*"):
		return strings.HasPrefix(a.Path, strings.TrimSuffix(s.NonResourcePath, "*"))
	}
	return false
}

// subjectMatches: the user and the group the policy names, if any, must
// both match; a policy that names neither matches nobody.
func (p Policy) subjectMatches(u *authn.User) bool {
	if u == nil {
		return false
	}
	s := p.Spec
	if s.User == "" && s.Group == "" {
		return false
	}
	if s.User != "" && s.User != "*" && s.User != u.Name {
		return false
	}
	if s.Group != "" && s.Group != "*" && !slices.Contains(u.Groups, s.Group) {
		return false
	}
	return true
}

// LoadPolicyFile reads an ABAC policy file: one JSON Policy per line;
// blank lines and lines starting with # are skipped. The built-in policy
// of the components (Bootstrap) comes first. An empty path gives the
// built-in policy alone.
func LoadPolicyFile(path string) (PolicyList, error) {
	pl := Bootstrap()
	if path == "" {
		return pl, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	more, err := ParsePolicies(path, b)
	if err != nil {
		return nil, err
	}
	return append(pl, more...), nil
}

// ParsePolicies parses the lines of a policy file; an error names the
// file and line and says what is wrong.
func ParsePolicies(name string, data []byte) (PolicyList, error) {
	var pl PolicyList
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var p Policy
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		switch {
		case p.APIVersion != PolicyAPIVersion:
			return nil, fmt.Errorf("%s:%d: apiVersion: want %q, got %q", name, n, PolicyAPIVersion, p.APIVersion)
		case p.Kind != PolicyKind:
			return nil, fmt.Errorf("%s:%d: kind: want %q, got %q", name, n, PolicyKind, p.Kind)
		case p.Spec.User == "" && p.Spec.Group == "":
			return nil, fmt.Errorf("%s:%d: spec: a policy needs a user or a group (\"*\" for everyone)", name, n)
		case p.Spec.NonResourcePath == "" && p.Spec.Resource == "" && p.Spec.APIGroup == "" && p.Spec.Namespace == "":
			return nil, fmt.Errorf("%s:%d: spec: a policy needs resource/apiGroup/namespace or nonResourcePath", name, n)
		}
		pl = append(pl, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return pl, nil
}

// Users and groups of the components' certificates (see internal/pki).
const (
	SchedulerUser         = "system:kube-scheduler"
	ControllerManagerUser = "system:kube-controller-manager"
	KubeProxyUser         = "system:kube-proxy"
	NodesGroup            = "system:nodes"
	AuthenticatedGroup    = "system:authenticated"
	UnauthenticatedGroup  = "system:unauthenticated"
)

// Bootstrap is the built-in policy, the counterpart of Kubernetes' default
// RBAC roles: discovery, version and health for everyone, and what each
// component needs to do its work.
func Bootstrap() PolicyList {
	p := func(s PolicySpec) Policy { return Policy{APIVersion: PolicyAPIVersion, Kind: PolicyKind, Spec: s} }
	readAll := func(user, group string) Policy {
		return p(PolicySpec{User: user, Group: group, Readonly: true, Namespace: "*", Resource: "*", APIGroup: "*"})
	}
	write := func(user, group, apiGroup string, resources ...string) []Policy {
		var out []Policy
		for _, r := range resources {
			out = append(out, p(PolicySpec{User: user, Group: group, Namespace: "*", Resource: r, APIGroup: apiGroup}))
		}
		return out
	}
	pl := PolicyList{
		// system:public-info-viewer and system:discovery.
		p(PolicySpec{Group: UnauthenticatedGroup, Readonly: true, NonResourcePath: "/healthz"}),
		p(PolicySpec{Group: UnauthenticatedGroup, Readonly: true, NonResourcePath: "/livez"}),
		p(PolicySpec{Group: UnauthenticatedGroup, Readonly: true, NonResourcePath: "/readyz"}),
		p(PolicySpec{Group: UnauthenticatedGroup, Readonly: true, NonResourcePath: "/version"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/healthz"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/livez"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/readyz"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/version"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/api"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/api/*"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/apis"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/apis/*"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/openapi"}),
		p(PolicySpec{Group: AuthenticatedGroup, Readonly: true, NonResourcePath: "/openapi/*"}),
		// The controller-manager reconciles every kind.
		p(PolicySpec{User: ControllerManagerUser, Namespace: "*", Resource: "*", APIGroup: "*"}),
		// The scheduler reads the cluster and binds pods.
		readAll(SchedulerUser, ""),
		// kube-proxy reads Services, Endpoints and Nodes.
		readAll(KubeProxyUser, ""),
		// Kubelets read the cluster, and own their Node, its pods' status
		// and their Lease.
		readAll("", NodesGroup),
	}
	pl = append(pl, write(SchedulerUser, "", "", "pods", "events")...)
	pl = append(pl, write(SchedulerUser, "", "coordination.k8s.io", "leases")...)
	pl = append(pl, write(KubeProxyUser, "", "", "events")...)
	pl = append(pl, write("", NodesGroup, "", "nodes", "pods", "events")...)
	pl = append(pl, write("", NodesGroup, "coordination.k8s.io", "leases")...)
	return pl
}
