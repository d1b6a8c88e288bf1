package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"skiff.dev/apiserver/internal/compat"
)

// TestProtobufWriterRefusesLoss: an answer that does not fit Kubernetes'
// type is a 500 Status that names the field, not a protobuf body without it.
func TestProtobufWriterRefusesLoss(t *testing.T) {
	rec := httptest.NewRecorder()
	p := &protobufWriter{w: rec}
	p.Header().Set("Content-Type", "application/json")
	_, _ = p.Write([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"colour":"red"}`))
	p.finish()
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != compat.MediaProtobuf {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if b := rec.Body.Bytes(); !bytes.HasPrefix(b, []byte("k8s\x00")) || !bytes.Contains(b, []byte("colour")) || !bytes.Contains(b, []byte("InternalError")) {
		t.Errorf("body %q", b)
	}
}

// TestNegotiateProtobufBody: a protobuf body reaches the gateway as JSON.
func TestNegotiateProtobufBody(t *testing.T) {
	json := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"}}`
	pb, err := compat.ToProtobuf([]byte(json))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/api/v1/namespaces/default/configmaps", bytes.NewReader(pb))
	r.Header.Set("Content-Type", compat.MediaProtobuf)
	r.Header.Set("Accept", compat.MediaProtobuf+", */*")
	media, ok := negotiate(httptest.NewRecorder(), r)
	if !ok || media != compat.MediaProtobuf {
		t.Fatalf("negotiate = %q, %v", media, ok)
	}
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Type") != compat.MediaJSON || r.Header.Get("Accept") != compat.MediaJSON ||
		!strings.Contains(string(body), `"data":{"k":"v"}`) || !strings.Contains(string(body), `"kind":"ConfigMap"`) {
		t.Errorf("request after negotiate: %v %s", r.Header, body)
	}
}
