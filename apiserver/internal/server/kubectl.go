package server

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/compat"
	"skiff.dev/apiserver/internal/registry"
	metav1 "skiff.dev/proto/meta/v1"
)

// newOpenAPI builds the /openapi/v2 and /openapi/v3 documents of reg's kinds.
func newOpenAPI(reg *registry.Registry, v *metav1.Version) (*compat.OpenAPI, error) {
	kinds, err := compat.OpenAPIKinds(reg.Infos())
	if err != nil {
		return nil, err
	}
	return compat.NewOpenAPI(kinds, v.GetGitVersion())
}

// checkFields applies the fieldValidation query parameter of a create,
// replace or patch to its JSON body (see compat.ValidateFields): unknown
// fields are refused (Strict), dropped with a warning (Warn) or dropped
// (Ignore). Without the parameter the codec refuses them, as it always
// has. It returns the body to decode and the warnings for the client.
func (s *Server) checkFields(r *http.Request, t restTarget, body []byte, patched bool) ([]byte, []string, error) {
	directive := r.URL.Query().Get("fieldValidation")
	if directive == "" || (t.sub != "" && t.sub != "status") {
		return body, nil, nil
	}
	kind, ok := s.kindOf(t)
	if !ok {
		return body, nil, nil
	}
	md, err := compat.MessageOf(t.group, kind)
	if err != nil {
		return body, nil, nil
	}
	fv, err := compat.ValidateFields(directive, body, md)
	if err != nil {
		return nil, nil, apierrors.BadRequest("%v", err)
	}
	if directive == compat.FieldValidationStrict && len(fv.Unknown) > 0 {
		msg := compat.StrictError(fv.Unknown)
		if !patched {
			version := t.version
			if t.group != "" {
				version = t.group + "/" + t.version
			}
			msg = fmt.Sprintf("%s in version %q cannot be handled as a %s: %s", kind, version, kind, msg)
		}
		return nil, nil, apierrors.BadRequest("%s", msg)
	}
	return fv.Body, fv.Warnings, nil
}

// addWarnings sets Kubernetes' Warning headers, which kubectl prints as
// "Warning: <text>".
func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, warning := range warnings {
		w.Header().Add("Warning", "299 - "+strconv.Quote(warning))
	}
}

// validateBody is checkFields on the JSON body of a POST or PUT; it
// answers and returns false when the body is refused.
func (s *Server) validateBody(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Query().Get("fieldValidation") == "" || (r.Method != http.MethodPost && r.Method != http.MethodPut) {
		return true
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return true
	}
	t, ok := parsePath(r.URL.Path)
	if !ok || t.discovery || t.groupDiscovery {
		return true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, apierrors.New(apierrors.ReasonRequestEntityLarge, "", "", fmt.Sprintf("the request body is too large: over %d bytes", maxBodyBytes)))
		return false
	}
	body, warnings, err := s.checkFields(r, t, body, false)
	if err != nil {
		writeError(w, err)
		return false
	}
	addWarnings(w, warnings)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true
}

// refuseDryRun answers a dry run (?dryRun=, kubectl diff, --dry-run=server)
// of a write that cannot run one with an error, so that what the client
// asked only to preview is not stored. Writes of objects, of their status,
// a namespace's finalize and PATCH of scale run dry in the registry (the
// request messages carry dry_run); the binding, eviction and a PUT of scale
// do not.
func refuseDryRun(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || !r.URL.Query().Has("dryRun") {
		return false
	}
	t, ok := parsePath(r.URL.Path)
	if !ok || t.sub == "" || t.sub == "status" || t.sub == "finalize" || t.sub == "scale" && r.Method == http.MethodPatch {
		return false
	}
	writeError(w, apierrors.BadRequest("dryRun is not supported for %s %s: nothing was changed", r.Method, r.URL.Path))
	return true
}
