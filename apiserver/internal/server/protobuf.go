package server

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/compat"
	"skiff.dev/proto/codec"
)

// negotiate applies Kubernetes' content negotiation to a request for a
// resource: it picks the response's media type from Accept (406 when none
// can be served), refuses a body in an unknown format (415), and turns a
// protobuf body into the JSON the gateway reads. It returns the media type
// of the answer, and false when it has answered already.
func negotiate(w http.ResponseWriter, r *http.Request) (string, bool) {
	out, err := compat.NegotiateOutput(r.Header.Get("Accept"))
	var na *compat.NotAcceptableError
	if errors.As(err, &na) {
		writeError(w, apierrors.New(apierrors.ReasonNotAcceptable, "", "", err.Error()))
		return "", false
	}
	if out == compat.MediaProtobuf {
		// Everything behind this writes JSON; protobufWriter translates.
		r.Header.Set("Accept", compat.MediaJSON)
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodDelete {
		return out, true
	}
	if r.Method == http.MethodDelete && r.ContentLength == 0 {
		return out, true
	}
	in, err := compat.InputMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		writeErrorAs(w, out, apierrors.New(apierrors.ReasonUnsupportedMedia, "", "", err.Error()))
		return "", false
	}
	if in != compat.MediaProtobuf {
		return out, true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeErrorAs(w, out, apierrors.BadRequest("reading the request body: %v", err))
		return "", false
	}
	if len(body) > maxBodyBytes {
		writeErrorAs(w, out, apierrors.TooLarge("the request body is too large: over %d bytes", maxBodyBytes))
		return "", false
	}
	doc, err := compat.FromProtobuf(body)
	if err != nil {
		writeErrorAs(w, out, apierrors.BadRequest("%v", err))
		return "", false
	}
	r.Body = io.NopCloser(bytes.NewReader(doc))
	r.ContentLength = int64(len(doc))
	r.Header.Set("Content-Type", compat.MediaJSON)
	r.Header.Del("Content-Length")
	return out, true
}

// writeErrorAs answers with a Status in the negotiated media type.
func writeErrorAs(w http.ResponseWriter, media string, err error) {
	if media != compat.MediaProtobuf {
		writeError(w, err)
		return
	}
	p := &protobufWriter{w: w}
	writeError(p, err)
	p.finish()
}

// protobufWriter holds a response that the gateway writes as JSON and
// writes it as Kubernetes protobuf when it is complete.
type protobufWriter struct {
	w    http.ResponseWriter
	code int
	buf  bytes.Buffer
}

func (p *protobufWriter) Header() http.Header { return p.w.Header() }

func (p *protobufWriter) WriteHeader(code int) {
	if p.code == 0 {
		p.code = code
	}
}

func (p *protobufWriter) Write(b []byte) (int, error) {
	if p.code == 0 {
		p.code = http.StatusOK
	}
	return p.buf.Write(b)
}

// Flush does nothing: the body is translated whole, at finish.
func (p *protobufWriter) Flush() {}

// finish translates the JSON body and writes the response. An object that
// cannot be written as protobuf is a 500 that says so, not a partial body.
func (p *protobufWriter) finish() {
	code, body := p.code, p.buf.Bytes()
	if code == 0 {
		code = http.StatusOK
	}
	h := p.w.Header()
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == compat.MediaJSON && len(bytes.TrimSpace(body)) > 0 {
		pb, err := compat.ToProtobuf(body)
		ct := compat.MediaProtobuf
		if err != nil {
			code = http.StatusInternalServerError
			st, _ := apierrors.ToStatus(apierrors.Internal("the answer cannot be written as %s: %v (ask for %s)", compat.MediaProtobuf, err, compat.MediaJSON))
			j, _ := codec.Marshal(st)
			if pb, err = compat.ToProtobuf(j); err != nil {
				pb, ct = j, compat.MediaJSON
			}
		}
		h.Set("Content-Type", ct)
		body = pb
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	p.w.WriteHeader(code)
	_, _ = p.w.Write(body)
}

// watchEncoder encodes a watch stream's events, given as Kubernetes JSON,
// in the negotiated media type: JSON lines, or protobuf frames.
func watchEncoder(media string) (contentType string, encode func(event []byte) ([]byte, error)) {
	if media == compat.MediaProtobuf {
		return compat.MediaProtobufWatch, compat.WatchFrame
	}
	return compat.MediaJSON, func(event []byte) ([]byte, error) { return append(event, '\n'), nil }
}
