package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/proto/codec"
	metav1 "skiff.dev/proto/meta/v1"
)

// restClient reads the apiserver's plain HTTP paths (/version, discovery)
// with the same endpoints and credentials as the gRPC connection.
type restClient struct {
	hc    *http.Client
	tls   *tls.Config
	bases []string // scheme://host:port
	token string
}

func newRESTClient(r *resolved, tc *tls.Config) *restClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	timeout := r.timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	rc := &restClient{hc: &http.Client{Transport: tr, Timeout: timeout}, tls: tc, token: r.token}
	for _, ep := range r.endpoints {
		scheme := "http://"
		if ep.secure {
			scheme = "https://"
		}
		rc.bases = append(rc.bases, scheme+ep.target)
	}
	return rc
}

// httpCodes are the gRPC codes of the apiserver's HTTP statuses.
var httpCodes = map[int]codes.Code{
	http.StatusBadRequest:           codes.InvalidArgument,
	http.StatusUnauthorized:         codes.Unauthenticated,
	http.StatusForbidden:            codes.PermissionDenied,
	http.StatusNotFound:             codes.NotFound,
	http.StatusConflict:             codes.Aborted,
	http.StatusUnprocessableEntity:  codes.InvalidArgument,
	http.StatusUnsupportedMediaType: codes.InvalidArgument,
	http.StatusMethodNotAllowed:     codes.Unimplemented,
	http.StatusGone:                 codes.OutOfRange,
	http.StatusTooManyRequests:      codes.ResourceExhausted,
	http.StatusServiceUnavailable:   codes.Unavailable,
	http.StatusInternalServerError:  codes.Internal,
}

// restError is the gRPC status error of an HTTP refusal: the code of its
// status, the message of its Kubernetes Status body.
func restError(httpCode int, body []byte) error {
	var st metav1.Status
	if codec.Unmarshal(body, &st) != nil || st.Message == "" {
		st.Message = strings.TrimSpace(string(body))
	}
	code, ok := httpCodes[httpCode]
	if !ok {
		code = codes.Unknown
	}
	s := status.New(code, st.Message)
	if st.Reason != "" { // the Status' reason, as gRPC errors of the apiserver carry it
		if d, err := s.WithDetails(&errdetails.ErrorInfo{Reason: st.Reason}); err == nil {
			s = d
		}
	}
	return s.Err()
}

// RESTGet fetches path (e.g. /version or /apis) from the first apiserver
// that answers, with the Clientset's credentials. A refusal is a gRPC
// status error with the code of its HTTP status and the message of its
// Kubernetes Status body, like the errors of every other call.
func (cs *Clientset) RESTGet(ctx context.Context, path string) ([]byte, error) {
	return cs.RESTDo(ctx, http.MethodGet, path, "", nil)
}

// RESTDo sends one request to the REST API (a PATCH with its content
// type, say) and returns the body of a 2xx answer; refusals are errors as
// RESTGet's. A GET fails over to the next apiserver on any failure to get
// an answer; other methods only when the connection could not be made,
// so a write is never sent twice.
func (cs *Clientset) RESTDo(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	if cs.rest == nil {
		return nil, errors.New("this client has no REST endpoints (made with NewForConn)")
	}
	var errs []string
	for _, base := range cs.rest.bases {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Accept", "application/json")
		if cs.rest.token != "" {
			req.Header.Set("Authorization", "Bearer "+cs.rest.token)
		}
		resp, err := cs.rest.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, status.FromContextError(ctx.Err()).Err()
			}
			var op *net.OpError
			if method != http.MethodGet && !(errors.As(err, &op) && op.Op == "dial") {
				return nil, status.Error(codes.Unavailable, fmt.Sprintf("%s %s: %v", method, path, err))
			}
			errs = append(errs, err.Error())
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return b, nil
		}
		err = restError(resp.StatusCode, b)
		if method == http.MethodGet && status.Code(err) == codes.Unavailable {
			errs = append(errs, status.Convert(err).Message())
			continue
		}
		return nil, err
	}
	return nil, status.Error(codes.Unavailable, fmt.Sprintf("%s %s: %s", method, path, strings.Join(errs, "; ")))
}
