package remotecommand

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Streams are what a command reads and writes; nil ones are not asked for.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Resize gets the terminal sizes the client sends (TTY only); it is
	// closed when the connection ends.
	Resize <-chan TerminalSize
}

// Executor runs the command of an exec request with streams and returns
// its exit code, or an error when it could not be run at all. ctx ends when
// the client goes away.
type Executor func(ctx context.Context, streams Streams) (exitCode int, err error)

var upgrader = websocket.Upgrader{
	Subprotocols:     Protocols,
	HandshakeTimeout: 10 * time.Second,
	// Callers are authenticated by certificate or token, never by cookie,
	// so a browser's origin gives no authority to check.
	CheckOrigin: func(*http.Request) bool { return true },
}

// upgrade switches r to the websocket protocol with one of protocols. A
// request that offers none gets 400 and neither a connection nor an error;
// a failed upgrade (already answered by the upgrader) returns the error.
func upgrade(w http.ResponseWriter, r *http.Request, what string, protocols []string) (*websocket.Conn, error) {
	if websocket.Subprotocols(r) == nil || !offers(r, protocols) {
		http.Error(w, what+" needs a websocket upgrade with subprotocol "+strings.Join(protocols, " or ")+" (SPDY is not supported)", http.StatusBadRequest)
		return nil, nil
	}
	return upgrader.Upgrade(w, r, nil)
}

// Serve upgrades an exec request to the websocket protocol, runs exec on
// its streams and sends the exit status. A request without one of our
// subprotocols gets 400 before anything runs.
func Serve(w http.ResponseWriter, r *http.Request, opts Options, exec Executor) error {
	conn, err := upgrade(w, r, "exec", Protocols)
	if conn == nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out := &sender{conn: conn}
	send := out.send
	var streams Streams
	stdinR, stdinW := io.Pipe()
	if opts.Stdin {
		streams.Stdin = stdinR
	}
	if opts.Stdout {
		streams.Stdout = channelWriter{send, StdoutChannel}
	}
	if opts.Stderr {
		streams.Stderr = channelWriter{send, StderrChannel}
	}
	resize := make(chan TerminalSize, 4)
	streams.Resize = resize
	go func() { // the client's messages, until the connection ends
		defer close(resize)
		defer cancel()
		defer stdinW.Close()
		for {
			_, b, err := conn.ReadMessage()
			if err != nil || len(b) == 0 {
				return
			}
			switch b[0] {
			case StdinChannel:
				if opts.Stdin {
					_, _ = stdinW.Write(b[1:])
				}
			case ResizeChannel:
				var sz TerminalSize
				if json.Unmarshal(b[1:], &sz) == nil && opts.TTY {
					select {
					case resize <- sz:
					default: // the command is not reading sizes: drop
					}
				}
			case CloseChannel:
				if len(b) > 1 && b[1] == StdinChannel {
					stdinW.Close()
				}
			}
		}
	}()
	code, runErr := exec(ctx, streams)
	stdinR.Close() // unblocks the reader if the command left stdin unread
	st, _ := json.Marshal(statusOf(opts.Command, code, runErr))
	if err := send(ErrorChannel, st); err != nil {
		return err
	}
	out.closeNormally()
	return nil
}

func offers(r *http.Request, protocols []string) bool {
	for _, p := range websocket.Subprotocols(r) {
		for _, q := range protocols {
			if p == q {
				return true
			}
		}
	}
	return false
}

type channelWriter struct {
	send func(byte, []byte) error
	ch   byte
}

func (c channelWriter) Write(b []byte) (int, error) {
	if err := c.send(c.ch, b); err != nil {
		return 0, err
	}
	return len(b), nil
}
