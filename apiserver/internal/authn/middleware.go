package authn

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"skiff.dev/proto/codec"
	metav1 "skiff.dev/proto/meta/v1"
)

// PublicPaths may be requested without credentials, by AnonymousUser, as
// Kubernetes' system:public-info-viewer role allows.
var PublicPaths = []string{"/healthz", "/livez", "/readyz", "/version", "/version/"}

// IsPublicPath tells whether path is one of PublicPaths.
func IsPublicPath(path string) bool { return slices.Contains(PublicPaths, path) }

// grpcCodeUnauthenticated is codes.Unauthenticated, spelt out so that this
// package needs nothing of grpc.
const grpcCodeUnauthenticated = 16

// unauthorizedMessage is all a rejected client learns, as in Kubernetes;
// the reason is in the apiserver's log.
const unauthorizedMessage = "Unauthorized"

// Middleware authenticates every request with a before passing it to next
// with the user in its context (UserFrom). A request without credentials
// to a public path (PublicPaths) goes on as AnonymousUser. Any other
// request is answered 401 Unauthorized in its own protocol: a gRPC status
// Unauthenticated for gRPC, a Kubernetes Status object for REST. Invalid
// credentials are rejected on public paths too.
func Middleware(lg *zap.Logger, a Authenticator, next http.Handler) http.Handler {
	if lg == nil {
		lg = zap.NewNop()
	}
	lg = lg.Named("authn")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := authenticate(lg, a, r)
		if !ok {
			unauthorized(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), user)))
	})
}

// Request authenticates r as Middleware does, for a front that answers the
// 401 itself (a gRPC server on its own transport builds r from the call). It
// returns false when r must be refused.
func Request(lg *zap.Logger, a Authenticator, r *http.Request) (*User, bool) {
	if lg == nil {
		lg = zap.NewNop()
	}
	return authenticate(lg.Named("authn"), a, r)
}

func authenticate(lg *zap.Logger, a Authenticator, r *http.Request) (*User, bool) {
	user, ok, err := a.Authenticate(r)
	switch {
	case err != nil:
		lg.Info("unable to authenticate the request", zap.String("path", r.URL.Path),
			zap.String("remote", r.RemoteAddr), zap.Error(err))
		return nil, false
	case ok:
	case IsPublicPath(r.URL.Path):
		user = &User{Name: AnonymousUser, Groups: []string{UnauthenticatedGroup}}
	default:
		lg.Debug("request without credentials", zap.String("path", r.URL.Path),
			zap.String("remote", r.RemoteAddr))
		return nil, false
	}
	return user, true
}

// UnauthorizedMessage is the message of every 401, in REST and gRPC.
const UnauthorizedMessage = unauthorizedMessage

// unauthorized answers r with 401 in r's protocol.
func unauthorized(w http.ResponseWriter, r *http.Request) {
	if isGRPC(r) {
		writeGRPCStatus(w, grpcCodeUnauthenticated, unauthorizedMessage)
		return
	}
	writeStatus(w, http.StatusUnauthorized, "Unauthorized", unauthorizedMessage)
}

// isGRPC tells a gRPC request (application/grpc, application/grpc+proto,
// ...) from REST; gRPC-Web (application/grpc-web) cannot read HTTP
// trailers and gets the REST answer, whose 401 it maps to Unauthenticated.
func isGRPC(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	rest, ok := strings.CutPrefix(ct, "application/grpc")
	return ok && (rest == "" || rest[0] == '+' || rest[0] == ';')
}

// writeGRPCStatus ends a gRPC call with a status and no response message, as gRPC
// over HTTP/2 requires: HTTP 200, then grpc-status and grpc-message as
// trailers.
func writeGRPCStatus(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/grpc")
	w.WriteHeader(http.StatusOK)
	h.Set(http.TrailerPrefix+"Grpc-Status", strconv.Itoa(code))
	h.Set(http.TrailerPrefix+"Grpc-Message", encodeGRPCMessage(msg))
}

// encodeGRPCMessage percent-encodes msg for the grpc-message trailer, as
// the gRPC over HTTP/2 protocol asks: every byte outside printable ASCII,
// and '%'.
func encodeGRPCMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c >= ' ' && c <= '~' && c != '%' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// writeStatus answers with a failure Status object, as kube-apiserver does.
func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	body, err := codec.Marshal(&metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Failure", Message: msg, Reason: reason, Code: int32(code)})
	if err != nil {
		http.Error(w, msg, code) // cannot happen: status has only strings and ints
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
