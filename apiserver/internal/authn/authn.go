// Package authn authenticates the requests of the apiserver's one HTTP
// handler, which serves both gRPC (grpc.Server.ServeHTTP) and REST: every
// credential is read from the *http.Request, from the TLS client certificate
// (r.TLS.PeerCertificates) or from the Authorization header (which gRPC
// per-RPC credentials send as the "authorization" metadata).
//
// It follows Kubernetes' request authentication
// (k8s.io/apiserver/pkg/authentication): x509 client certificates
// (--client-ca-file), a static token file (--token-auth-file), a union that
// tries each and adds the group system:authenticated, and a filter that puts
// the user into the request's context or answers 401.
//
// The TLS server should ask for client certificates without verifying them
// itself (tls.RequestClientCert, as kube-apiserver does), so that a request
// with a bad certificate can still authenticate by token, and the X509
// authenticator reports why a certificate was rejected.
package authn

import (
	"context"
	"net/http"
	"slices"
)

// Well-known users and groups, as in Kubernetes.
const (
	// AnonymousUser is the user of a request without credentials to a
	// public path.
	AnonymousUser = "system:anonymous"
	// UnauthenticatedGroup is the group of AnonymousUser.
	UnauthenticatedGroup = "system:unauthenticated"
	// AuthenticatedGroup is added to every authenticated user by Union.
	AuthenticatedGroup = "system:authenticated"
)

// User is who made a request.
type User struct {
	Name   string
	UID    string
	Groups []string
}

// clone returns a copy of u that shares no memory with it, so that a user
// kept by an authenticator (a token file's) is never changed by a request.
func (u *User) clone() *User {
	c := *u
	c.Groups = slices.Clone(u.Groups)
	return &c
}

// Authenticator finds the user of a request. It returns ok=false and a nil
// error when the request carries no credentials of its kind, and an error
// when it carries credentials that are not valid.
type Authenticator interface {
	Authenticate(r *http.Request) (user *User, ok bool, err error)
}

// AuthenticatorFunc adapts a function to an Authenticator.
type AuthenticatorFunc func(r *http.Request) (*User, bool, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*User, bool, error) { return f(r) }

type userKey struct{}

// WithUser returns a copy of ctx that carries u.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user WithUser put into ctx; in a request that went
// through Middleware it is always there (AnonymousUser on public paths).
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok && u != nil
}
