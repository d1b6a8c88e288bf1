package remotecommand_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"skiff.dev/proto/remotecommand"
)

// fakeExec stands in for a container runtime: "cat" copies stdin to
// stdout, "exit N" writes to both outputs and exits N, "size" prints the
// first terminal size, "fail" cannot run.
func fakeExec(opts remotecommand.Options) remotecommand.Executor {
	return func(ctx context.Context, s remotecommand.Streams) (int, error) {
		switch opts.Command[0] {
		case "cat":
			_, err := io.Copy(s.Stdout, s.Stdin)
			return 0, err
		case "exit":
			fmt.Fprint(s.Stdout, "out")
			if s.Stderr != nil {
				fmt.Fprint(s.Stderr, "err")
			}
			return strconv.Atoi(opts.Command[1])
		case "size":
			select {
			case sz := <-s.Resize:
				fmt.Fprintf(s.Stdout, "%dx%d", sz.Width, sz.Height)
			case <-time.After(30 * time.Second):
			}
			return 0, nil
		default:
			return 0, errors.New(`container "app" is not running`)
		}
	}
}

func server(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opts, err := remotecommand.ParseOptions(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := remotecommand.Serve(w, r, opts, fakeExec(opts)); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestExec(t *testing.T) {
	base := server(t)
	for _, c := range []struct {
		name      string
		opts      remotecommand.Options
		protocols []string
		stdin     string
		resize    *remotecommand.TerminalSize
		code      int
		stdout    string
		stderr    string
		err       string
	}{
		{name: "success", opts: remotecommand.Options{Command: []string{"exit", "0"}, Stdout: true, Stderr: true}, stdout: "out", stderr: "err"},
		{name: "exit code", opts: remotecommand.Options{Command: []string{"exit", "3"}, Stdout: true, Stderr: true}, code: 3, stdout: "out", stderr: "err"},
		{name: "stdin to EOF", opts: remotecommand.Options{Command: []string{"cat"}, Stdin: true, Stdout: true}, stdin: "hello\nworld\n", stdout: "hello\nworld\n"},
		{name: "tty merges stderr", opts: remotecommand.Options{Command: []string{"exit", "1"}, Stdout: true, Stderr: true, TTY: true}, code: 1, stdout: "out"},
		{name: "resize", opts: remotecommand.Options{Command: []string{"size"}, Stdout: true, TTY: true}, resize: &remotecommand.TerminalSize{Width: 120, Height: 40}, stdout: "120x40"},
		{name: "cannot run", opts: remotecommand.Options{Command: []string{"nope"}, Stdout: true}, err: `container "app" is not running`},
		{name: "v4", opts: remotecommand.Options{Command: []string{"exit", "7"}, Stdout: true}, protocols: []string{remotecommand.ProtocolV4}, code: 7, stdout: "out"},
	} {
		t.Run(c.name, func(t *testing.T) {
			protocols := c.protocols
			if protocols == nil {
				protocols = remotecommand.Protocols
			}
			d := websocket.Dialer{Subprotocols: protocols}
			conn, _, err := d.Dial(base+"/exec?"+c.opts.Query().Encode(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			s := remotecommand.ClientStreams{Stdout: &stdout, Stderr: &stderr}
			if c.opts.Stdin {
				s.Stdin = strings.NewReader(c.stdin)
			}
			if c.resize != nil {
				ch := make(chan remotecommand.TerminalSize, 1)
				ch <- *c.resize
				close(ch)
				s.Resize = ch
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			code, err := remotecommand.Stream(ctx, conn, s)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || code != c.code || stdout.String() != c.stdout || stderr.String() != c.stderr {
				t.Errorf("code %d err %v stdout %q stderr %q; want %d, %q, %q", code, err, stdout.String(), stderr.String(), c.code, c.stdout, c.stderr)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	base := server(t)
	for _, c := range []struct {
		name, query string
		protocols   []string
		want        string
	}{
		{"no command", "stdout=true", remotecommand.Protocols, "at least one command"},
		{"no stream", "command=ls", remotecommand.Protocols, "at least one of stdin, stdout, stderr"},
		{"no subprotocol", "command=ls&stdout=true", nil, "subprotocol"},
		{"spdy only", "command=ls&stdout=true", []string{"channel.k8s.io"}, "SPDY is not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := websocket.Dialer{Subprotocols: c.protocols}
			_, resp, err := d.Dial(base+"/exec?"+c.query, nil)
			if err == nil {
				t.Fatal("dial succeeded")
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), c.want) {
				t.Errorf("%d %q, want 400 with %q", resp.StatusCode, b, c.want)
			}
		})
	}
}
