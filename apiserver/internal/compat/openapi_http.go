package compat

import (
	"net/http"
	"strconv"
	"strings"
)

// OpenAPI v2 media types: JSON, and the protobuf kubectl asks for (by its
// old name, with "@") and gets (by its new one), as from kube-openapi.
const (
	mimeV2Proto           = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	mimeV2ProtoDeprecated = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
)

// wantsProtobuf tells whether the Accept header prefers the protobuf form
// of /openapi/v2 to JSON: the first of the highest q wins.
func wantsProtobuf(accept string) bool {
	best, proto := -1.0, false
	for _, part := range strings.Split(accept, ",") {
		media, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "q" {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		var isProto bool
		switch strings.TrimSpace(media) {
		case mimeV2Proto, mimeV2ProtoDeprecated:
			isProto = true
		case "application/json", "application/*", "*/*":
		default:
			continue
		}
		if q > best {
			best, proto = q, isProto
		}
	}
	return proto
}

// ServeHTTP answers GET /openapi/v2, /openapi/v3 and /openapi/v3/<gv>, as
// Kubernetes does: v2 as JSON or protobuf with an ETag; v3 as an index of
// group/versions, each at a URL with the hash of its document, which is
// then served as immutable (a stale hash is redirected to the current one).
func (o *OpenAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/openapi/v2":
		body, etag, ct := o.v2JSON, o.v2ETag, "application/json"
		if wantsProtobuf(r.Header.Get("Accept")) {
			body, etag, ct = o.v2Proto, o.v2ProtoETag, mimeV2Proto
		}
		w.Header().Set("ETag", `"`+etag+`"`)
		w.Header().Set("Vary", "Accept")
		if strings.Contains(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(body)
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
