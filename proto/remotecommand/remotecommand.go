// Package remotecommand is the streaming protocols of `exec` and
// `port-forward`: Kubernetes' websocket channel protocol
// (v5.channel.k8s.io, and v4.channel.k8s.io), which kubectl speaks, and
// the port-forward protocol over the same framing (portforward.go). Both ends live here, once: the kubelet serves it
// (Serve), skiffctl and tests speak it (Stream); the apiserver only proxies
// the connection.
//
// Every websocket message is binary and starts with its channel: 0 stdin,
// 1 stdout, 2 stderr, 3 the exit status (a Kubernetes Status in JSON), 4 a
// terminal resize ({"Width":80,"Height":24}); in v5, a message [255, c]
// closes channel c (the client's stdin reached EOF).
package remotecommand

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Subprotocols, newest first.
const (
	ProtocolV5 = "v5.channel.k8s.io"
	ProtocolV4 = "v4.channel.k8s.io"
)

// Protocols are the subprotocols both ends offer, in preference order.
var Protocols = []string{ProtocolV5, ProtocolV4}

// Channels.
const (
	StdinChannel  = 0
	StdoutChannel = 1
	StderrChannel = 2
	ErrorChannel  = 3
	ResizeChannel = 4
	CloseChannel  = 255
)

// Options are an exec request's query parameters, as Kubernetes'
// PodExecOptions: ?command=sh&command=-c&command=date&container=app&stdin=true&stdout=true&stderr=true&tty=true.
type Options struct {
	Container                  string
	Command                    []string
	Stdin, Stdout, Stderr, TTY bool
}

// Query is o as query parameters.
func (o Options) Query() url.Values {
	q := url.Values{}
	if o.Container != "" {
		q.Set("container", o.Container)
	}
	for _, c := range o.Command {
		q.Add("command", c)
	}
	for k, on := range map[string]bool{"stdin": o.Stdin, "stdout": o.Stdout, "stderr": o.Stderr && !o.TTY, "tty": o.TTY} {
		if on {
			q.Set(k, "true")
		}
	}
	return q
}

// ParseOptions reads Options from query parameters and says what is
// missing: a command, and at least one of stdin, stdout and stderr.
func ParseOptions(q url.Values) (Options, error) {
	o := Options{Container: q.Get("container"), Command: q["command"]}
	for _, f := range []struct {
		name string
		v    *bool
	}{{"stdin", &o.Stdin}, {"stdout", &o.Stdout}, {"stderr", &o.Stderr}, {"tty", &o.TTY}} {
		if s := q.Get(f.name); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return o, fmt.Errorf("%s=%q: want true or false", f.name, s)
			}
			*f.v = b
		}
	}
	if len(o.Command) == 0 {
		return o, errors.New("you must specify at least one command for the container (command=...)")
	}
	if !o.Stdin && !o.Stdout && !o.Stderr {
		return o, errors.New("you must specify at least one of stdin, stdout, stderr")
	}
	if o.TTY {
		o.Stderr = false // a terminal has one output
	}
	return o, nil
}

// TerminalSize is a resize message.
type TerminalSize struct {
	Width, Height uint16
}

// status is the Kubernetes Status sent on the error channel.
type status struct {
	Metadata struct{} `json:"metadata"`
	Status   string   `json:"status"`
	Message  string   `json:"message,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Details  *details `json:"details,omitempty"`
	Code     int      `json:"code,omitempty"`
}

type details struct {
	Causes []cause `json:"causes,omitempty"`
}

type cause struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// statusOf is what the kubelet reports when a command ended with code, or
// could not run (err), in the words of Kubernetes' kubelet.
func statusOf(command []string, code int, err error) status {
	var s status
	switch {
	case err != nil:
		s.Status, s.Reason, s.Code = "Failure", "InternalError", 500
		s.Message = "Internal error occurred: error executing command in container: " + err.Error()
	case code != 0:
		s.Status, s.Reason, s.Code = "Failure", "NonZeroExitCode", 500
		s.Message = fmt.Sprintf("command terminated with non-zero exit code: error executing command %v, exit code %d", command, code)
		s.Details = &details{Causes: []cause{{Reason: "ExitCode", Message: strconv.Itoa(code)}}}
	default:
		s.Status = "Success"
	}
	return s
}

// StatusError is a Failure Status other than a non-zero exit code: the
// command could not run (Kubernetes' kubelet: InternalError, 500).
type StatusError struct {
	Code    int    // the Status' HTTP code
	Reason  string // InternalError, ...
	Message string
	Status  []byte // the Status as the server sent it (JSON)
}

func (e *StatusError) Error() string { return e.Message }

// exitCode reads a Status: 0 for Success, the code of NonZeroExitCode,
// else a *StatusError.
func exitCode(b []byte) (int, error) {
	var s status
	if err := json.Unmarshal(b, &s); err != nil {
		return 0, fmt.Errorf("exec: unreadable status %q: %w", b, err)
	}
	switch {
	case s.Status == "Success":
		return 0, nil
	case s.Reason == "NonZeroExitCode" && s.Details != nil:
		for _, c := range s.Details.Causes {
			if c.Reason == "ExitCode" {
				n, err := strconv.Atoi(c.Message)
				if err != nil {
					return 0, fmt.Errorf("exec: bad exit code %q", c.Message)
				}
				return n, nil
			}
		}
	}
	if s.Message == "" {
		s.Message = string(b)
	}
	return 0, &StatusError{Code: s.Code, Reason: s.Reason, Message: s.Message, Status: b}
}

// sender writes channel messages on a connection, one writer at a time
// (as gorilla/websocket requires).
type sender struct {
	mu   sync.Mutex
	conn *websocket.Conn
}

func (s *sender) send(ch byte, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn.WriteMessage(websocket.BinaryMessage, append([]byte{ch}, b...))
}

// closeNormally says goodbye with a normal close frame.
func (s *sender) closeNormally() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}
