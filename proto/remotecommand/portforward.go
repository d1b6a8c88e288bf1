package remotecommand

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

// Port-forward is Kubernetes' websocket port-forward protocol (the
// kubelet's pkg/kubelet/cri/streaming/portforward/websocket.go) over the
// same channel framing as exec. A request names its ports
// (?port=80&port=443 at the kubelet, ?ports=80 at the apiserver); every
// port i gets two channels, data 2i and error 2i+1, and each channel's
// first two bytes are the port, little-endian. One connection forwards one
// TCP connection per port: a client opens one for every local connection
// it accepts. With v5.channel.k8s.io, a client message [255, 2i] says its
// side of port i reached EOF, and the server half-closes the pod's socket.

// PortForwardProtocols are the port-forward subprotocols, newest first.
var PortForwardProtocols = []string{ProtocolV5, ProtocolV4}

// ParsePorts reads the ports of a port-forward request: every value of
// the parameter, each a port or a comma-separated list of ports, in the
// words of Kubernetes' kubelet.
func ParsePorts(values []string, param string) ([]uint16, error) {
	if len(values) == 0 {
		return nil, fmt.Errorf("query parameter %q is required", param)
	}
	var ports []uint16
	for _, v := range values {
		if v == "" {
			return nil, fmt.Errorf("query parameter %q cannot be empty", param)
		}
		for _, p := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
			if err != nil {
				return nil, fmt.Errorf("unable to parse %q as a port: %v", p, err)
			}
			if n < 1 {
				return nil, fmt.Errorf("port %q must be > 0", p)
			}
			ports = append(ports, uint16(n))
		}
	}
	return ports, nil
}

// PortDialer connects to port inside the pod.
type PortDialer func(ctx context.Context, port uint16) (net.Conn, error)

// ServePortForward upgrades a port-forward request, connects to every port
// with dial and passes bytes both ways until the pod's ends or the client
// closes. A port that cannot be reached gets, on its error channel,
// "error forwarding port P to pod POD: ...". A request without one of our
// subprotocols gets 400 before anything is dialled.
func ServePortForward(w http.ResponseWriter, r *http.Request, pod string, ports []uint16, dial PortDialer) error {
	conn, err := upgrade(w, r, "port-forward", PortForwardProtocols)
	if conn == nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out := &sender{conn: conn}
	for i, p := range ports {
		prefix := binary.LittleEndian.AppendUint16(nil, p)
		if err := out.send(byte(2*i), prefix); err != nil {
			return err
		}
		if err := out.send(byte(2*i+1), prefix); err != nil {
			return err
		}
	}
	conns := make([]net.Conn, len(ports))
	var wg sync.WaitGroup
	for i, p := range ports {
		c, err := dial(ctx, p)
		if err != nil {
			_ = out.send(byte(2*i+1), []byte(fmt.Sprintf("error forwarding port %d to pod %s: %v", p, pod, err)))
			continue
		}
		conns[i] = c
		defer c.Close()
		wg.Add(1)
		go func() { // the pod's bytes to the client
			defer wg.Done()
			_, _ = io.Copy(channelWriter{out.send, byte(2 * i)}, c)
		}()
	}
	go func() { // the client's messages, until it goes away
		defer cancel()
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if len(b) == 0 {
				continue
			}
			ch := int(b[0])
			if ch == CloseChannel {
				if len(b) > 1 && int(b[1])%2 == 0 && int(b[1])/2 < len(conns) {
					if c, ok := conns[int(b[1])/2].(interface{ CloseWrite() error }); ok {
						_ = c.CloseWrite()
					}
				}
				continue
			}
			if ch%2 != 0 || ch/2 >= len(conns) || conns[ch/2] == nil {
				continue // nothing to write to: errors are the server's
			}
			if _, err := conns[ch/2].Write(b[1:]); err != nil {
				_ = conns[ch/2].Close()
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done: // every pod socket ended
		out.closeNormally()
	case <-ctx.Done(): // the client went away
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
		<-done
	}
	return nil
}

// ForwardPort speaks the protocol for one port over conn (dialled with
// PortForwardProtocols and one port): local's bytes go to the pod and the
// pod's to local, until the server closes the connection. It returns the
// server's error for the port, if it sent one.
func ForwardPort(ctx context.Context, conn *websocket.Conn, local io.ReadWriter) error {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	out := &sender{conn: conn}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := local.Read(buf)
			if n > 0 && out.send(0, buf[:n]) != nil {
				return
			}
			if err != nil {
				if err == io.EOF && conn.Subprotocol() == ProtocolV5 {
					_ = out.send(CloseChannel, []byte{0})
				} else {
					conn.Close() // v4 cannot say EOF: the connection ends
				}
				return
			}
		}
	}()
	var prefix [2]int // port bytes still to skip on the data and error channels
	prefix[0], prefix[1] = 2, 2
	var errText strings.Builder
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			switch {
			case errText.Len() > 0:
				return errors.New(errText.String())
			case ctx.Err() != nil:
				return ctx.Err()
			case websocket.IsCloseError(err, websocket.CloseNormalClosure) || errors.Is(err, net.ErrClosed):
				return nil
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return fmt.Errorf("port-forward: the connection closed (%d %s)", ce.Code, ce.Text)
			}
			return fmt.Errorf("port-forward: the connection broke: %w", err)
		}
		if len(b) == 0 || b[0] > 1 {
			continue
		}
		ch, data := b[0], b[1:]
		skip := min(prefix[ch], len(data))
		prefix[ch] -= skip
		data = data[skip:]
		if len(data) == 0 {
			continue
		}
		if ch == 1 {
			errText.Write(data)
			continue
		}
		if _, err := local.Write(data); err != nil {
			return nil // the local side went away
		}
	}
}
