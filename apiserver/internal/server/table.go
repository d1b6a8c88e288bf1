package server

import (
	"net/http"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"skiff.dev/apiserver/internal/compat"
)

// negotiateTable reads whether a GET of an object, a list or a watch asks
// for a meta.k8s.io Table (kubectl get does); for a get or list it points
// the request's Accept at the gateway's Table marshaler. It answers the
// request itself (406, 400) and returns false when the Accept or
// includeObject cannot be served.
func negotiateTable(w http.ResponseWriter, r *http.Request, t restTarget) (*compat.TableFormat, bool) {
	if t.discovery || t.groupDiscovery || (t.sub != "" && t.sub != "status") {
		return nil, true
	}
	table, err := compat.NegotiateTable(r.Header.Get("Accept"), r.URL.Query())
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	if table != nil {
		r.Header.Set("Accept", table.MIME())
	}
	return table, true
}

// tableMarshalers registers the Table encoders with the gateway.
func tableMarshalers() gwruntime.ServeMuxOption {
	return func(mux *gwruntime.ServeMux) {
		for mime, m := range compat.TableMarshalers() {
			gwruntime.WithMarshalerOption(mime, m)(mux)
		}
	}
}
