package compat

import (
	"net/http"
	"strings"
)

// OpenAPI v2 media types: JSON, and the protobuf kubectl asks for.
const (
	mimeV2Proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	mimeV3Proto = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
)

// ServeHTTP answers GET /openapi/v2, /openapi/v3 and /openapi/v3/<gv>, as
// Kubernetes does: v2 as JSON or protobuf with an ETag; v3 as an index of
// group/versions, each at a URL with the hash of its document, which is
// then served as immutable (a stale hash is redirected to the current one).
func (o *OpenAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/openapi/v2":
		w.Header().Set("ETag", `"`+o.v2ETag+`"`)
		w.Header().Set("Vary", "Accept")
		if strings.Contains(r.Header.Get("If-None-Match"), o.v2ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if strings.Contains(r.Header.Get("Accept"), mimeV2Proto) {
			w.Header().Set("Content-Type", mimeV2Proto)
			_, _ = w.Write(o.v2Proto)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(o.v2JSON)
	case p == "/openapi/v3" || p == "/openapi/v3/":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache, private")
		_, _ = w.Write(o.v3Index)
	case strings.HasPrefix(p, "/openapi/v3/"):
		key := strings.TrimPrefix(p, "/openapi/v3/")
		doc, ok := o.v3[key]
		if !ok {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		if strings.Contains(r.Header.Get("Accept"), mimeV3Proto) && !strings.Contains(r.Header.Get("Accept"), "json") {
			http.Error(w, "only application/json is served", http.StatusNotAcceptable)
			return
		}
		h := r.URL.Query().Get("hash")
		switch {
		case h != "" && h != doc.hash:
			http.Redirect(w, r, "/openapi/v3/"+key+"?hash="+doc.hash, http.StatusMovedPermanently)
			return
		case h != "":
			w.Header().Set("Cache-Control", "public, immutable")
			w.Header().Set("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")
		default:
			w.Header().Set("Cache-Control", "no-cache, private")
		}
		w.Header().Set("ETag", `"`+doc.hash+`"`)
		if strings.Contains(r.Header.Get("If-None-Match"), doc.hash) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc.body)
	default:
		http.Error(w, "404 page not found", http.StatusNotFound)
	}
}
