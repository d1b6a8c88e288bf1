package remotecommand_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"skiff.dev/proto/remotecommand"
)

// echoUpper is a pod's port: it answers each line in capitals and, once
// the client's side ends, says "bye" and closes.
func echoUpper(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintln(c, strings.ToUpper(sc.Text()))
				}
				fmt.Fprint(c, "bye")
			}()
		}
	}()
	return l.Addr().String()
}

// pfServer serves port-forward for pod "web": port 80 reaches echoUpper,
// every other port is refused.
func pfServer(t *testing.T) string {
	target := echoUpper(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ports, err := remotecommand.ParsePorts(r.URL.Query()["port"], "port")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		err = remotecommand.ServePortForward(w, r, "web", ports, func(ctx context.Context, port uint16) (net.Conn, error) {
			if port != 80 {
				return nil, fmt.Errorf("connection refused on %d", port)
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", target)
		})
		if err != nil {
			t.Errorf("ServePortForward: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// pipeEnd is a local connection the test drives: what it writes, then
// EOF (a half-close), and what comes back.
type pipeEnd struct {
	in  io.Reader
	out strings.Builder
}

func (p *pipeEnd) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p *pipeEnd) Write(b []byte) (int, error) { return p.out.Write(b) }

func TestPortForward(t *testing.T) {
	base := pfServer(t)
	// With v5 the end of the local input is passed on, so the pod's
	// answer to everything ("bye") comes back before the stream ends.
	t.Run("v5 half-close", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: remotecommand.PortForwardProtocols}
		conn, _, err := d.Dial(base+"/pf?port=80", nil)
		if err != nil {
			t.Fatal(err)
		}
		if conn.Subprotocol() != remotecommand.ProtocolV5 {
			t.Fatalf("subprotocol %q", conn.Subprotocol())
		}
		local := &pipeEnd{in: strings.NewReader("one\ntwo\n")}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := remotecommand.ForwardPort(ctx, conn, local); err != nil {
			t.Fatal(err)
		}
		if got := local.out.String(); got != "ONE\nTWO\nbye" {
			t.Errorf("got %q, want %q", got, "ONE\nTWO\nbye")
		}
	})
	t.Run("v4", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: []string{remotecommand.ProtocolV4}}
		conn, _, err := d.Dial(base+"/pf?port=80", nil)
		if err != nil {
			t.Fatal(err)
		}
		a, b := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- remotecommand.ForwardPort(context.Background(), conn, b) }()
		fmt.Fprintln(a, "hello")
		line, err := bufio.NewReader(a).ReadString('\n')
		if err != nil || line != "HELLO\n" {
			t.Errorf("got %q %v", line, err)
		}
		a.Close()
		if err := <-done; err != nil {
			t.Errorf("ForwardPort: %v", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: remotecommand.PortForwardProtocols}
		conn, _, err := d.Dial(base+"/pf?port=81", nil)
		if err != nil {
			t.Fatal(err)
		}
		err = remotecommand.ForwardPort(context.Background(), conn, &pipeEnd{in: strings.NewReader("")})
		if want := "error forwarding port 81 to pod web: connection refused on 81"; err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	})
	// The frames themselves, as Kubernetes' kubelet sends them: each
	// channel starts with its port, little-endian; data channel 0, error 1.
	t.Run("frames", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: []string{remotecommand.ProtocolV4}}
		conn, _, err := d.Dial(base+"/pf?port=80,81", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		want := map[byte]uint16{0: 80, 1: 80, 2: 81, 3: 81}
		for range 4 {
			_, b, err := conn.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != 3 || binary.LittleEndian.Uint16(b[1:]) != want[b[0]] {
				t.Fatalf("frame %v, want channel then its port", b)
			}
			delete(want, b[0])
		}
		_, b, err := conn.ReadMessage()
		if err != nil || b[0] != 3 || !strings.Contains(string(b[1:]), "error forwarding port 81") {
			t.Fatalf("frame %q %v, want port 81's error on channel 3", b, err)
		}
		if err := conn.WriteMessage(websocket.BinaryMessage, []byte("\x00ping\n")); err != nil {
			t.Fatal(err)
		}
		_, b, err = conn.ReadMessage()
		if err != nil || string(b) != "\x00PING\n" {
			t.Fatalf("frame %q %v, want PING on channel 0", b, err)
		}
	})
}

func TestParsePorts(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
		err  string
	}{
		{in: []string{"80"}, want: "[80]"},
		{in: []string{"80,443", "8080"}, want: "[80 443 8080]"},
		{in: nil, err: `query parameter "port" is required`},
		{in: []string{""}, err: `query parameter "port" cannot be empty`},
		{in: []string{"http"}, err: `unable to parse "http" as a port`},
		{in: []string{"0"}, err: `port "0" must be > 0`},
		{in: []string{"70000"}, err: `unable to parse "70000" as a port`},
	} {
		got, err := remotecommand.ParsePorts(c.in, "port")
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: err %v, want %q", c.in, err, c.err)
		case c.err == "" && (err != nil || fmt.Sprint(got) != c.want):
			t.Errorf("%q: %v %v, want %s", c.in, got, err, c.want)
		}
	}
}
