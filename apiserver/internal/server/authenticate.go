package server

import (
	"context"
	"net/http"
	"net/url"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"skiff.dev/apiserver/internal/authn"
)

// callUser authenticates a gRPC call. A call served through ServeHTTP went
// through the authn middleware and has its user already; a call on the
// gRPC server's own transport is authenticated here, from the same
// credentials the middleware reads (the client certificate of the
// connection, the "authorization" metadata), and refused with the same
// Unauthenticated status.
func (s *Server) callUser(ctx context.Context, method string) (context.Context, error) {
	if _, ok := authn.UserFrom(ctx); ok {
		return ctx, nil
	}
	r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: method}, RequestURI: method,
		Proto: "HTTP/2.0", ProtoMajor: 2, Header: http.Header{"Content-Type": {"application/grpc"}}}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authorization"); len(v) > 0 {
			r.Header["Authorization"] = v
		}
	}
	if p, ok := peer.FromContext(ctx); ok {
		if p.Addr != nil {
			r.RemoteAddr = p.Addr.String()
		}
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			r.TLS = &ti.State
		}
	}
	user, ok := authn.Request(s.lg, s.cfg.Authenticator, r.WithContext(ctx))
	if !ok {
		return nil, status.Error(codes.Unauthenticated, authn.UnauthorizedMessage)
	}
	return authn.WithUser(ctx, user), nil
}

func (s *Server) authenticateUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, err := s.callUser(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) authenticateStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, err := s.callUser(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return h(srv, &userStream{ServerStream: ss, ctx: ctx})
}

// userStream is a stream whose context carries the authenticated user.
type userStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (u *userStream) Context() context.Context { return u.ctx }
