package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// Keepalive of every connection: a ping every 30 s, also with no call in
// flight, and a connection that does not answer within 10 s is dropped.
// Apiservers must permit this (keepalive.EnforcementPolicy with MinTime at
// most 30 s and PermitWithoutStream).
var clientKeepalive = keepalive.ClientParameters{
	Time:                30 * time.Second,
	Timeout:             10 * time.Second,
	PermitWithoutStream: true,
}

// maxRecvMsgSize lets a client receive large lists.
const maxRecvMsgSize = 64 << 20

// failoverConn is one grpc.ClientConnInterface over several apiservers.
//
// Each apiserver has its own *grpc.ClientConn (connected lazily, on its first
// call). A call goes to the current apiserver; when it fails with
// codes.Unavailable the next apiserver becomes current and the call is sent
// there, until each apiserver has been tried once; then, after a short
// back-off, all of them again, a few times (retryBackoff). Apiservers whose
// connection is in TRANSIENT_FAILURE are tried last. Streams fail over the
// same way while opening; a stream that breaks later is not reopened (an
// informer resumes its watch), but its Unavailable error moves the client
// on to the next apiserver.
//
// Retrying a unary call after Unavailable is safe for every verb, Create
// included: gRPC and the apiserver answer Unavailable only when the request
// was not processed (no connection, server shutting down, etcd unreachable
// before the write).
//
// Why a wrapper and not a resolver with pick_first or round_robin: those
// balancers fail over at the connection level only. A call on a connection
// that breaks mid-call, or that the apiserver answers with Unavailable
// (e.g. it lost etcd), fails back to the caller instead of moving on, and a
// retry policy in the service config cannot express "retry elsewhere". With
// one ClientConn per apiserver each keeps its own TLS server name, and the
// failover is a few lines that tests can read.
type failoverConn struct {
	lg      *zap.Logger
	conns   []*endpointConn
	cur     atomic.Int64
	timeout time.Duration // per unary call when ctx has no deadline; <= 0 none
}

type endpointConn struct {
	ep endpoint
	cc *grpc.ClientConn
}

var _ grpc.ClientConnInterface = (*failoverConn)(nil)

// dial builds one ClientConn per endpoint; nothing connects until used.
func dial(lg *zap.Logger, r *resolved) (*failoverConn, *restClient, error) {
	common := []grpc.DialOption{
		grpc.WithKeepaliveParams(clientKeepalive),
		grpc.WithUserAgent(r.userAgent),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsgSize)),
	}
	if r.qps > 0 {
		lim := rate.NewLimiter(rate.Limit(r.qps), r.burst)
		common = append(common,
			grpc.WithChainUnaryInterceptor(rateLimitUnary(lim)),
			grpc.WithChainStreamInterceptor(rateLimitStream(lim)))
	}
	var tlsConf *tls.Config
	for _, ep := range r.endpoints {
		if ep.secure && tlsConf == nil {
			var err error
			if tlsConf, err = tlsConfig(r); err != nil {
				return nil, nil, err
			}
		}
	}

	c := &failoverConn{lg: lg, timeout: r.timeout}
	for _, ep := range r.endpoints {
		opts := append([]grpc.DialOption(nil), common...)
		if ep.secure {
			tc := tlsConf.Clone()
			tc.ServerName = ep.host
			opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		} else {
			opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
		}
		if r.token != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(bearerToken{token: r.token, secure: ep.secure}))
		}
		cc, err := grpc.NewClient(ep.target, opts...)
		if err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("server %q: %w", ep.raw, err)
		}
		c.conns = append(c.conns, &endpointConn{ep: ep, cc: cc})
	}
	return c, newRESTClient(r, tlsConf), nil
}

func tlsConfig(r *resolved) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: r.insecureSkipTLSVerify}
	ca := r.caData
	if r.caFile != "" {
		b, err := os.ReadFile(r.caFile)
		if err != nil {
			return nil, fmt.Errorf("certificate authority: %w", err)
		}
		ca = b
	}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("certificate authority %s: no PEM certificate found", orData(r.caFile))
		}
		tc.RootCAs = pool
	}
	cert, key := r.certData, r.keyData
	if r.certFile != "" {
		b, err := os.ReadFile(r.certFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cert = b
	}
	if r.keyFile != "" {
		b, err := os.ReadFile(r.keyFile)
		if err != nil {
			return nil, fmt.Errorf("client key: %w", err)
		}
		key = b
	}
	if len(cert) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s and key %s: %w", orData(r.certFile), orData(r.keyFile), err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

func orData(file string) string {
	if file == "" {
		return "(inline data)"
	}
	return file
}

// bearerToken sends "authorization: Bearer <token>" with every call; over
// plaintext only to http:// endpoints, which the user chose explicitly.
type bearerToken struct {
	token  string
	secure bool
}

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearerToken) RequireTransportSecurity() bool { return b.secure }

// rateLimitUnary makes each unary call wait for a token.
func rateLimitUnary(lim *rate.Limiter) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if err := lim.Wait(ctx); err != nil {
			return limitErr(ctx, err)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// rateLimitStream makes opening a stream wait for a token; its messages
// (a watch's events) are not limited.
func rateLimitStream(lim *rate.Limiter) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if err := lim.Wait(ctx); err != nil {
			return nil, limitErr(ctx, err)
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
}

// limitErr is the error of a call whose rate-limit wait ended early: the
// context's own (Canceled, DeadlineExceeded), or DeadlineExceeded when the
// wait would outlast the deadline.
func limitErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return status.Errorf(codes.DeadlineExceeded, "client rate limit: %v", err)
}

// order lists the endpoints to try: the current one first, then the rest in
// order, with those in TRANSIENT_FAILURE moved to the end. It also returns
// the current one.
func (c *failoverConn) order() (cur int, order []int) {
	n := len(c.conns)
	cur = int(c.cur.Load()) % n
	good := make([]int, 0, n)
	var bad []int
	for i := range n {
		idx := (cur + i) % n
		if n > 1 && c.conns[idx].cc.GetState() == connectivity.TransientFailure {
			bad = append(bad, idx)
			continue
		}
		good = append(good, idx)
	}
	return cur, append(good, bad...)
}

// answered makes idx, which just answered a call, the current endpoint if
// the call skipped the current one (cur) for being in TRANSIENT_FAILURE.
func (c *failoverConn) answered(cur, idx int) {
	if idx != cur && c.cur.CompareAndSwap(int64(cur), int64(idx)) {
		c.lg.Warn("apiserver in transient failure, failing over",
			zap.String("from", c.conns[cur].ep.raw), zap.String("to", c.conns[idx].ep.raw))
	}
}

// failed moves off endpoint idx if it is still the current one.
func (c *failoverConn) failed(idx int, err error) {
	n := len(c.conns)
	if n < 2 {
		return
	}
	if c.cur.CompareAndSwap(int64(idx), int64((idx+1)%n)) {
		c.lg.Warn("apiserver unavailable, failing over",
			zap.String("from", c.conns[idx].ep.raw),
			zap.String("to", c.conns[(idx+1)%n].ep.raw),
			zap.Error(err))
	}
}

// retryBackoff is the wait before each new round over the endpoints once
// every one said Unavailable: an apiserver restarting, or a connection
// still in its reconnect back-off, gets about 1.5 s to come back before the
// caller sees the error.
var retryBackoff = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// retryRound waits before round attempt+1 and makes every connection
// reconnect now rather than at the end of its back-off. It reports false
// when the rounds are used up or ctx ends first.
func (c *failoverConn) retryRound(ctx context.Context, attempt int) bool {
	if attempt >= len(retryBackoff) {
		return false
	}
	t := time.NewTimer(retryBackoff[attempt])
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	for _, ec := range c.conns {
		ec.cc.ResetConnectBackoff()
	}
	return true
}

// Invoke sends a unary call, failing over on codes.Unavailable.
func (c *failoverConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok && c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var err error
	for attempt := 0; ; attempt++ {
		cur, order := c.order()
		for _, idx := range order {
			err = c.conns[idx].cc.Invoke(ctx, method, args, reply, opts...)
			if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
				c.answered(cur, idx)
				return err
			}
			c.failed(idx, err)
		}
		if !c.retryRound(ctx, attempt) {
			return c.unavailable(err)
		}
	}
}

// NewStream opens a stream, failing over on codes.Unavailable while opening.
func (c *failoverConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	var err error
	for attempt := 0; ; attempt++ {
		cur, order := c.order()
		for _, idx := range order {
			var s grpc.ClientStream
			s, err = c.conns[idx].cc.NewStream(ctx, desc, method, opts...)
			if err == nil {
				c.answered(cur, idx)
				return &failoverStream{ClientStream: s, c: c, idx: idx}, nil
			}
			if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
				return nil, err
			}
			c.failed(idx, err)
		}
		if !c.retryRound(ctx, attempt) {
			return nil, c.unavailable(err)
		}
	}
}

// unavailable is the error once every endpoint said Unavailable.
func (c *failoverConn) unavailable(last error) error {
	if len(c.conns) == 1 {
		return last
	}
	return status.Errorf(codes.Unavailable, "all %d apiservers unavailable, last: %s", len(c.conns), status.Convert(last).Message())
}

// Close closes every connection.
func (c *failoverConn) Close() error {
	var errs []error
	for _, ec := range c.conns {
		if err := ec.cc.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// failoverStream notices a stream that broke with Unavailable, so the next
// call (the informer re-opening its watch) starts on another apiserver.
type failoverStream struct {
	grpc.ClientStream
	c   *failoverConn
	idx int
}

func (s *failoverStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil && status.Code(err) == codes.Unavailable && s.Context().Err() == nil {
		s.c.failed(s.idx, err)
	}
	return err
}
