package server

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Aggregated discovery (apidiscovery.k8s.io v2, and v2beta1 for older
// clients): every group, version and resource of /api or /apis in one
// answer, which kubectl 1.32 and client-go ask for first.
const (
	aggregatedV2      = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
	aggregatedV2Beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
)

type gvk struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

type discoveryResource struct {
	Resource         string                 `json:"resource"`
	ResponseKind     *gvk                   `json:"responseKind"`
	Scope            string                 `json:"scope"`
	SingularResource string                 `json:"singularResource"`
	Verbs            []string               `json:"verbs"`
	ShortNames       []string               `json:"shortNames,omitempty"`
	Categories       []string               `json:"categories,omitempty"`
	Subresources     []discoverySubresource `json:"subresources,omitempty"`
}

type discoverySubresource struct {
	Subresource  string   `json:"subresource"`
	ResponseKind *gvk     `json:"responseKind"`
	Verbs        []string `json:"verbs"`
}

type discoveryVersion struct {
	Version   string              `json:"version"`
	Resources []discoveryResource `json:"resources"`
	Freshness string              `json:"freshness"`
}

type discoveryGroup struct {
	Metadata struct {
		Name              string `json:"name,omitempty"`
		CreationTimestamp any    `json:"creationTimestamp"`
	} `json:"metadata"`
	Versions []discoveryVersion `json:"versions"`
}

// aggregatedType is the aggregated discovery media type the Accept header
// asks for first, or "" for the legacy documents.
func aggregatedType(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		params := map[string]string{}
		fields := strings.Split(part, ";")
		if strings.TrimSpace(fields[0]) != "application/json" {
			continue
		}
		for _, f := range fields[1:] {
			if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok {
				params[k] = v
			}
		}
		if params["g"] != "apidiscovery.k8s.io" || params["as"] != "APIGroupDiscoveryList" {
			if len(params) == 0 {
				return "" // plain JSON comes first: the legacy documents
			}
			continue
		}
		switch params["v"] {
		case "v2":
			return aggregatedV2
		case "v2beta1":
			return aggregatedV2Beta1
		}
	}
	return ""
}

// serveAggregated answers /api (core) or /apis (groups) in aggregated form
// when the client asks for it; false leaves the legacy answer to the caller.
func (s *Server) serveAggregated(w http.ResponseWriter, r *http.Request, core bool) bool {
	ct := aggregatedType(r.Header.Get("Accept"))
	if ct == "" {
		return false
	}
	var groups []discoveryGroup
	if core {
		groups = append(groups, s.discoveryGroup("", "v1"))
	} else {
		for _, g := range s.groups() {
			groups = append(groups, s.discoveryGroup(g.Name, g.PreferredVersion.Version))
		}
	}
	if groups == nil {
		groups = []discoveryGroup{}
	}
	apiVersion := "apidiscovery.k8s.io/v2"
	if ct == aggregatedV2Beta1 {
		apiVersion = "apidiscovery.k8s.io/v2beta1"
	}
	b, _ := json.Marshal(map[string]any{"kind": "APIGroupDiscoveryList", "apiVersion": apiVersion,
		"metadata": map[string]any{}, "items": groups})
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Vary", "Accept")
	_, _ = w.Write(append(b, '\n'))
	return true
}

// discoveryGroup lists group/version's resources with their subresources.
func (s *Server) discoveryGroup(group, version string) discoveryGroup {
	var g discoveryGroup
	g.Metadata.Name = group
	v := discoveryVersion{Version: version, Freshness: "Current", Resources: []discoveryResource{}}
	byName := map[string]int{}
	for _, res := range s.apiResources(group, version) {
		kind := &gvk{Group: group, Version: version, Kind: res.Kind}
		if res.Group != "" {
			kind.Group, kind.Version = res.Group, res.Version
		}
		parent, sub, isSub := strings.Cut(res.Name, "/")
		if !isSub {
			scope := "Cluster"
			if res.Namespaced {
				scope = "Namespaced"
			}
			byName[res.Name] = len(v.Resources)
			v.Resources = append(v.Resources, discoveryResource{Resource: res.Name, ResponseKind: kind, Scope: scope,
				SingularResource: res.SingularName, Verbs: res.Verbs, ShortNames: res.ShortNames, Categories: res.Categories})
			continue
		}
		if i, ok := byName[parent]; ok {
			v.Resources[i].Subresources = append(v.Resources[i].Subresources, discoverySubresource{Subresource: sub, ResponseKind: kind, Verbs: res.Verbs})
		}
	}
	g.Versions = []discoveryVersion{v}
	return g
}
