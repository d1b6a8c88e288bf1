package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/credentials"
)

// Splitter shares one port between grpc-go's own HTTP/2 transport and the
// net/http server, as etcd does with cmux: it terminates TLS itself, then
// sends each HTTP/2 connection whose first request is gRPC (content-type
// application/grpc...) to GRPC() and every other connection (HTTP/1.x, and
// HTTP/2 whose first request is REST) to HTTP(). Serving gRPC natively
// rather than through grpc.Server.ServeHTTP is several times cheaper per
// call. A client never mixes gRPC and REST on one connection, so the first
// request decides for the connection's life.
//
// The HTTP server then sees plaintext connections: it must accept HTTP/2
// with prior knowledge (http.Protocols.SetUnencryptedHTTP2) and take the
// TLS state back with ConnContext and TLSFromContext. The gRPC server must
// use Credentials(), which hands grpc-go the TLS state of each connection.
type Splitter struct {
	lg      *zap.Logger
	lis     net.Listener
	tls     *tls.Config
	timeout time.Duration
	grpc    *chanListener
	http    *chanListener
}

// NewSplitter splits lis. tlsConfig nil serves plaintext (--insecure);
// otherwise it must offer ALPN "h2". timeout bounds the TLS handshake and
// the wait for the first request's headers.
func NewSplitter(lg *zap.Logger, lis net.Listener, tlsConfig *tls.Config, timeout time.Duration) *Splitter {
	if lg == nil {
		lg = zap.NewNop()
	}
	return &Splitter{lg: lg, lis: lis, tls: tlsConfig, timeout: timeout,
		grpc: newChanListener(lis.Addr()), http: newChanListener(lis.Addr())}
}

// GRPC is the listener of the gRPC connections, for grpc.Server.Serve.
func (s *Splitter) GRPC() net.Listener { return s.grpc }

// HTTP is the listener of the other connections, for http.Server.Serve.
func (s *Splitter) HTTP() net.Listener { return s.http }

// Close stops accepting; connections already handed out stay open.
func (s *Splitter) Close() error {
	err := s.lis.Close()
	s.grpc.Close()
	s.http.Close()
	return err
}

// Serve accepts connections until the listener is closed.
func (s *Splitter) Serve() error {
	var delay time.Duration
	for {
		c, err := s.lis.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.grpc.Close()
			s.http.Close()
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		delay = 0
		go s.route(c)
	}
}

// route classifies c and hands it to one of the two listeners.
func (s *Splitter) route(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(s.timeout))
	sc := &splitConn{Conn: c}
	if s.tls != nil {
		tc := tls.Server(c, s.tls)
		if err := tc.Handshake(); err != nil {
			s.lg.Debug("tls handshake failed", zap.String("remote", c.RemoteAddr().String()), zap.Error(err))
			_ = c.Close()
			return
		}
		st := tc.ConnectionState()
		sc.Conn, sc.state = tc, &st
	}
	_ = c.SetWriteDeadline(time.Time{})
	isGRPC, r, err := classify(sc.Conn)
	if err != nil {
		s.lg.Debug("cannot read the first request", zap.String("remote", c.RemoteAddr().String()), zap.Error(err))
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	sc.r = r
	if isGRPC {
		s.grpc.put(sc)
		return
	}
	s.http.put(sc)
}

// classify reads the start of c: the HTTP/2 client preface, within c's
// read deadline, then frames up to the first HEADERS frame, whose
// content-type decides. It answers the
// client's preface with an empty SETTINGS frame, since gRPC clients wait for
// the server's before they send a request. The returned reader replays what
// was read, without the client's acknowledgement of that SETTINGS frame,
// which neither server expects.
func classify(c net.Conn) (isGRPC bool, r io.Reader, err error) {
	br := bufio.NewReader(c)
	for i := 1; i <= len(http2.ClientPreface); i++ {
		b, err := br.Peek(i)
		if err != nil {
			if i > 1 && errors.Is(err, io.EOF) {
				return false, br, nil // a short HTTP/1 request: net/http answers it
			}
			return false, nil, err
		}
		if b[i-1] != http2.ClientPreface[i-1] {
			return false, br, nil
		}
	}
	// An HTTP/2 connection may stay idle before its first request (a gRPC
	// client connects ahead of its first call), as long as it likes, as on
	// the HTTP server: only the handshake and the preface have a deadline.
	_ = c.SetReadDeadline(time.Time{})
	var seen, kept bytes.Buffer
	tee := io.TeeReader(br, &seen)
	if _, err := io.CopyN(io.Discard, tee, int64(len(http2.ClientPreface))); err != nil {
		return false, nil, err
	}
	kept.Write(seen.Bytes())
	seen.Reset()
	fr := http2.NewFramer(c, tee)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		return false, nil, err
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return false, nil, err
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			kept.Write(seen.Bytes())
			return isGRPCContentType(contentType(f)), &ackFilter{replay: kept.Bytes(), r: br}, nil
		case *http2.PingFrame:
			// Keepalive pings of an idle connection are answered here,
			// and not replayed.
			if !f.IsAck() {
				if err := fr.WritePing(true, f.Data); err != nil {
					return false, nil, err
				}
			}
		default:
			kept.Write(seen.Bytes())
		}
		seen.Reset()
	}
}

func contentType(h *http2.MetaHeadersFrame) string {
	for _, f := range h.RegularFields() {
		if f.Name == "content-type" {
			return f.Value
		}
	}
	return ""
}

// isGRPCContentType tells application/grpc, application/grpc+proto, ...
// from everything else (gRPC-Web included, which net/http serves).
func isGRPCContentType(ct string) bool {
	rest, ok := strings.CutPrefix(ct, "application/grpc")
	return ok && (rest == "" || rest[0] == '+' || rest[0] == ';')
}

// ackFilter yields the bytes classify read and then the rest of the
// connection, dropping the first SETTINGS frame with the ACK flag: the
// client's answer to classify's SETTINGS.
type ackFilter struct {
	replay  []byte    // frames classify read (the preface first), not yet scanned
	out     []byte    // scanned bytes ready to return
	r       io.Reader // the connection
	pending int       // bytes of the current frame still to pass before the next header
	dropped bool
	started bool // the preface is in out
}

const frameHeaderLen = 9

func (a *ackFilter) Read(p []byte) (int, error) {
	for len(a.out) == 0 {
		if a.dropped && len(a.replay) == 0 {
			return a.r.Read(p) // done filtering: pass through
		}
		if err := a.scan(); err != nil {
			return 0, err
		}
	}
	n := copy(p, a.out)
	a.out = a.out[n:]
	return n, nil
}

// scan moves the next piece of the stream to out, leaving out the ACK.
func (a *ackFilter) scan() error {
	if !a.started {
		a.started = true
		n := len(http2.ClientPreface)
		a.out, a.replay = a.replay[:n], a.replay[n:]
		return nil
	}
	if a.pending > 0 { // the body of a frame that continues past the replay
		buf := make([]byte, min(a.pending, 32<<10))
		n, err := a.r.Read(buf)
		a.pending -= n
		a.out = buf[:n]
		return err
	}
	hdr, err := a.take(frameHeaderLen)
	if err != nil {
		return err
	}
	length := int(binary.BigEndian.Uint32(append([]byte{0}, hdr[:3]...)))
	typ, flags := http2.FrameType(hdr[3]), http2.Flags(hdr[4])
	if !a.dropped && typ == http2.FrameSettings && flags.Has(http2.FlagSettingsAck) && length == 0 {
		a.dropped = true
		return nil
	}
	body := min(length, len(a.replay))
	a.out = append(hdr, a.replay[:body]...)
	a.replay = a.replay[body:]
	a.pending = length - body
	return nil
}

// take returns the next n bytes, from the replay first, then the connection.
func (a *ackFilter) take(n int) ([]byte, error) {
	b := make([]byte, n)
	k := copy(b, a.replay)
	a.replay = a.replay[k:]
	if _, err := io.ReadFull(a.r, b[k:]); err != nil {
		return nil, err
	}
	return b, nil
}

// splitConn is a routed connection: reads come from the classifier's
// replay, and state is the TLS state when the splitter terminated TLS.
type splitConn struct {
	net.Conn
	r     io.Reader
	state *tls.ConnectionState
}

func (c *splitConn) Read(p []byte) (int, error) { return c.r.Read(p) }

type tlsStateKey struct{}

// ConnContext is http.Server.ConnContext for connections from a Splitter:
// it keeps the connection's TLS state for TLSFromContext.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if sc, ok := c.(*splitConn); ok && sc.state != nil {
		return context.WithValue(ctx, tlsStateKey{}, sc.state)
	}
	return ctx
}

// TLSFromContext is the TLS state ConnContext kept, or nil.
func TLSFromContext(ctx context.Context) *tls.ConnectionState {
	st, _ := ctx.Value(tlsStateKey{}).(*tls.ConnectionState)
	return st
}

// Credentials are the gRPC server's transport credentials for connections
// from a Splitter: TLS is already done, so the handshake only reports the
// connection's TLS state (credentials.TLSInfo), as grpc-go's own TLS
// credentials would. Plaintext connections carry no AuthInfo.
func Credentials() credentials.TransportCredentials { return splitCredentials{} }

type splitCredentials struct{}

func (splitCredentials) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("server: split credentials are for servers only")
}

func (splitCredentials) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if sc, ok := c.(*splitConn); ok && sc.state != nil {
		return c, credentials.TLSInfo{State: *sc.state,
			CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return c, nil, nil
}

func (splitCredentials) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}
func (s splitCredentials) Clone() credentials.TransportCredentials { return s }
func (splitCredentials) OverrideServerName(string) error           { return nil }

// chanListener is a net.Listener fed by the Splitter.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) put(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
