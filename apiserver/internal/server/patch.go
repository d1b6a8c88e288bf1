package server

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/compat"
	"skiff.dev/apiserver/internal/registry"
	"skiff.dev/proto/codec"
)

// Patch content types, as Kubernetes names them.
const (
	mergePatch     = "application/merge-patch+json"
	jsonPatch      = "application/json-patch+json"
	strategicPatch = "application/strategic-merge-patch+json"
	applyPatch     = "application/apply-patch+yaml"
)

// patch serves PATCH of an object or of its status or scale subresource:
// a JSON merge patch (RFC 7386), a JSON patch (RFC 6902) or a strategic
// merge patch (Kubernetes' merge keys, see compat) applied to the object's
// Kubernetes JSON, then stored with the rules of an update.
// Concurrent writers are handled by re-applying the patch to the newer
// object, as Kubernetes does; a resourceVersion in the patch is a
// precondition.
func (s *Server) patch(w http.ResponseWriter, r *http.Request, t restTarget) {
	if t.name == "" || t.watch {
		writeError(w, apierrors.New(apierrors.ReasonMethodNotAllowed, "", "", fmt.Sprintf("PATCH needs an object: %s names a collection", r.URL.Path)))
		return
	}
	dry, err := registry.DryRun("PatchOptions", r.URL.Query()["dryRun"])
	if err != nil {
		writeError(w, err)
		return
	}
	patchFn, ok := s.reg.Patch(t.group, t.resource, t.sub)
	if !ok {
		if _, known := s.reg.Watch(t.group, t.resource); known {
			writeError(w, apierrors.New(apierrors.ReasonMethodNotAllowed, "", "", fmt.Sprintf("the server does not allow PATCH on %s", r.URL.Path)))
			return
		}
		writeError(w, apierrors.NotFound("path", r.URL.Path))
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var apply func(doc []byte) ([]byte, error)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, apierrors.New(apierrors.ReasonRequestEntityLarge, "", "", fmt.Sprintf("the patch is too large: over %d bytes", maxBodyBytes)))
		return
	}
	switch ct {
	case mergePatch:
		if !jsonObject(body) {
			writeError(w, apierrors.BadRequest("the merge patch must be a JSON object"))
			return
		}
		apply = func(doc []byte) ([]byte, error) { return jsonpatch.MergePatch(doc, body) }
	case jsonPatch:
		p, err := jsonpatch.DecodePatch(body)
		if err != nil {
			writeError(w, apierrors.BadRequest("the JSON patch is not valid: %v", err))
			return
		}
		apply = func(doc []byte) ([]byte, error) { return p.Apply(doc) }
	case strategicPatch:
		if !jsonObject(body) {
			writeError(w, apierrors.BadRequest("the strategic merge patch must be a JSON object"))
			return
		}
		group, version, kind, ok := t.group, t.version, "", false
		if kind, ok = s.kindOf(t); t.sub == "scale" {
			group, version, kind = "autoscaling", "v1", "Scale"
		}
		if !ok || !compat.HasStrategicMergePatch(group, version, kind) {
			writeError(w, apierrors.New(apierrors.ReasonUnsupportedMedia, "", "", fmt.Sprintf(
				"%s is not supported for %s: send %s or %s", ct, r.URL.Path, mergePatch, jsonPatch)))
			return
		}
		apply = func(doc []byte) ([]byte, error) {
			return compat.StrategicMergePatch(doc, body, group, version, kind)
		}
	case applyPatch:
		writeError(w, apierrors.New(apierrors.ReasonUnsupportedMedia, "", "", fmt.Sprintf(
			"server-side apply (%s) is not supported by Skiff: use client-side apply (kubectl apply without --server-side)", ct)))
		return
	default:
		writeError(w, apierrors.New(apierrors.ReasonUnsupportedMedia, "", "", fmt.Sprintf(
			"the body of the request was in an unknown format (Content-Type %q) - accepted media types include: %s, %s, %s", ct, jsonPatch, mergePatch, strategicPatch)))
		return
	}
	var warnings []string // of the last try: a conflict re-applies the patch
	obj, err := patchFn(r.Context(), t.namespace, t.name, dry, func(cur proto.Message) (proto.Message, error) {
		doc, err := codec.Marshal(cur)
		if err != nil {
			return nil, apierrors.Internal("encode %s: %v", t.resource, err)
		}
		patched, err := apply(doc)
		if err != nil {
			return nil, apierrors.BadRequest("the patch cannot be applied: %v", err)
		}
		if patched, warnings, err = s.checkFields(r, t, patched, true); err != nil {
			return nil, err
		}
		out := cur.ProtoReflect().New().Interface()
		if err := codec.Unmarshal(patched, out); err != nil {
			return nil, apierrors.BadRequest("the patched object is not valid: %v", err)
		}
		return out, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	m := &jsonMarshaler{yaml: strings.Contains(r.Header.Get("Accept"), "yaml")}
	b, err := m.Marshal(obj)
	if err != nil {
		writeError(w, apierrors.Internal("encode %s: %v", t.resource, err))
		return
	}
	w.Header().Set("Content-Type", m.ContentType(nil))
	_, _ = w.Write(b)
}

// kindOf is the kind a REST path's resource serves.
func (s *Server) kindOf(t restTarget) (string, bool) {
	for _, i := range s.reg.Infos() {
		if i.Group == t.group && i.Version == t.version && i.Resource == t.resource {
			return i.Kind, true
		}
	}
	return "", false
}

// jsonObject tells whether b is a JSON object, the only valid merge patch
// of an object.
func jsonObject(b []byte) bool {
	s := strings.TrimSpace(string(b))
	return strings.HasPrefix(s, "{")
}

// deleteOptionsBody is the DeleteOptions object kubectl and client-go send
// as the body of a DELETE.
type deleteOptionsBody struct {
	Kind               string `json:"kind"`
	APIVersion         string `json:"apiVersion"`
	GracePeriodSeconds *int64 `json:"gracePeriodSeconds"`
	PropagationPolicy  string `json:"propagationPolicy"`
	Preconditions      *struct {
		UID             string `json:"uid"`
		ResourceVersion string `json:"resourceVersion"`
	} `json:"preconditions"`
	OrphanDependents *bool    `json:"orphanDependents"`
	DryRun           []string `json:"dryRun"`
}

// deleteOptionsFromBody moves the DeleteOptions of a DELETE's body into its
// query, where the gateway reads them; a body field wins over the query, as
// in Kubernetes. An option we cannot honour is refused, not ignored.
func deleteOptionsFromBody(r *http.Request) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return apierrors.BadRequest("reading the request body: %v", err)
	}
	r.Body = http.NoBody
	r.ContentLength = 0
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	var o deleteOptionsBody
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return apierrors.BadRequest("the body of a DELETE must be DeleteOptions: %v", err)
	}
	if o.Kind != "" && o.Kind != "DeleteOptions" {
		return apierrors.BadRequest("the body of a DELETE must be DeleteOptions, got kind %q", o.Kind)
	}
	q := r.URL.Query()
	if len(o.DryRun) > 0 {
		q["dryRun"] = o.DryRun
	}
	if o.GracePeriodSeconds != nil {
		q.Set("gracePeriodSeconds", strconv.FormatInt(*o.GracePeriodSeconds, 10))
	}
	if o.OrphanDependents != nil && o.PropagationPolicy == "" {
		o.PropagationPolicy = "Background"
		if *o.OrphanDependents {
			o.PropagationPolicy = "Orphan"
		}
	}
	if o.PropagationPolicy != "" {
		q.Set("propagationPolicy", o.PropagationPolicy)
	}
	if p := o.Preconditions; p != nil {
		if p.UID != "" {
			q.Set("preconditions.uid", p.UID)
		}
		if p.ResourceVersion != "" {
			q.Set("preconditions.resourceVersion", p.ResourceVersion)
		}
	}
	r.URL.RawQuery = q.Encode()
	return nil
}
