package remotecommand

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/gorilla/websocket"
)

// ClientStreams are the local ends of an exec.
type ClientStreams struct {
	Stdin          io.Reader // nil: no stdin
	Stdout, Stderr io.Writer
	// Resize, with a TTY, sends the terminal's sizes; nil sends none.
	Resize <-chan TerminalSize
}

// Stream speaks the protocol over conn (dialled with Protocols) until the
// command ends, and returns its exit code. An error means the command did
// not run or its status was lost.
func Stream(ctx context.Context, conn *websocket.Conn, s ClientStreams) (int, error) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	send := (&sender{conn: conn}).send
	if s.Stdin != nil {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := s.Stdin.Read(buf)
				if n > 0 && send(StdinChannel, buf[:n]) != nil {
					return
				}
				if err != nil {
					if conn.Subprotocol() == ProtocolV5 {
						_ = send(CloseChannel, []byte{StdinChannel})
					}
					return
				}
			}
		}()
	}
	if s.Resize != nil {
		go func() {
			for sz := range s.Resize {
				b, _ := json.Marshal(sz)
				if send(ResizeChannel, b) != nil {
					return
				}
			}
		}()
	}
	var code int
	var statusErr error
	gotStatus := false
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if gotStatus {
				return code, statusErr
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return 0, fmt.Errorf("exec: the connection closed without an exit status (%d %s)", ce.Code, ce.Text)
			}
			return 0, fmt.Errorf("exec: the connection broke: %w", err)
		}
		if len(b) == 0 {
			continue
		}
		switch b[0] {
		case StdoutChannel:
			if s.Stdout != nil {
				if _, err := s.Stdout.Write(b[1:]); err != nil {
					return 0, err
				}
			}
		case StderrChannel:
			if s.Stderr != nil {
				if _, err := s.Stderr.Write(b[1:]); err != nil {
					return 0, err
				}
			}
		case ErrorChannel:
			gotStatus = true
			code, statusErr = exitCode(b[1:])
		}
	}
}
