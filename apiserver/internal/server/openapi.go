package server

import (
	"skiff.dev/apiserver/internal/compat"
	"skiff.dev/apiserver/internal/registry"
	metav1 "skiff.dev/proto/meta/v1"
)

// newOpenAPI builds the /openapi/v2 and /openapi/v3 documents of reg's kinds.
func newOpenAPI(reg *registry.Registry, v *metav1.Version) (*compat.OpenAPI, error) {
	kinds, err := compat.Kinds(reg.Infos())
	if err != nil {
		return nil, err
	}
	return compat.NewOpenAPI(kinds, v.GetGitVersion())
}
