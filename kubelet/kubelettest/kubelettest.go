// Package kubelettest runs the kubelet's real HTTP API in-process on a
// loopback port, over container logs that the test writes itself in the
// layout containerd uses, for tests of the apiserver and of skiffctl.
package kubelettest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"skiff.dev/kubelet/internal/logs"
	"skiff.dev/kubelet/internal/server"
)

// Options configures a test kubelet; the zero value serves plain HTTP over
// logs in a temp dir and finds pods by their log folders.
type Options struct {
	// LogRoot holds the container logs; empty is t.TempDir().
	LogRoot string
	// PodLookup finds a pod's uid; nil finds it from the pod's log folder.
	PodLookup func(namespace, name string) (uid string, ok bool)
	// CertFile and KeyFile (PEM) make the kubelet serve TLS; empty serves
	// plain HTTP.
	CertFile, KeyFile string
	// ClientCAFile, with TLS, makes callers need a client certificate it
	// signed.
	ClientCAFile string
	// Logger receives the kubelet's logs; nil logs to the test on failure only.
	Logger *zap.Logger
	// Exec runs the commands of /exec; nil answers 501.
	Exec server.ExecFunc
	// PortForward connects the ports of /portForward; nil answers 501.
	PortForward server.PortForwardFunc
	// Summary answers /stats/summary; nil answers 501.
	Summary server.SummaryFunc
	// ContainerRunning, when set, ends a followed log once it says the
	// container stopped.
	ContainerRunning server.ContainerRunning
}

// Server is a running kubelet API.
type Server struct {
	Address string // 127.0.0.1:PORT
	Host    string // 127.0.0.1
	Port    int
	URL     string // http(s)://127.0.0.1:PORT
	LogRoot string

	srv  *server.Server
	done chan struct{}
}

// Start serves the kubelet API on 127.0.0.1 until the test's cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	lg := opts.Logger
	if lg == nil {
		lg = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	root := opts.LogRoot
	if root == "" {
		root = t.TempDir()
	}
	secure := opts.CertFile != ""
	srv, err := server.New(lg.Named("kubelet"), server.Config{
		LogRoot: root, PodLookup: opts.PodLookup, FollowPollInterval: 20 * time.Millisecond,
		CertFile: opts.CertFile, KeyFile: opts.KeyFile, ClientCAFile: opts.ClientCAFile, Insecure: !secure, Exec: opts.Exec,
		PortForward: opts.PortForward, Summary: opts.Summary,
		ContainerRunning: opts.ContainerRunning,
	})
	if err != nil {
		t.Fatalf("kubelettest: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("kubelettest: listen: %v", err)
	}
	s := &Server{Address: lis.Addr().String(), Host: "127.0.0.1", Port: lis.Addr().(*net.TCPAddr).Port,
		LogRoot: root, srv: srv, done: make(chan struct{})}
	s.URL = "http://" + s.Address
	if secure {
		s.URL = "https://" + s.Address
	}
	go func() {
		defer close(s.done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("kubelettest: serve: %v", err)
		}
	}()
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the server down, cutting followed logs; it is safe to call twice.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}

// Record is one line of a CRI log file.
type Record struct {
	Time    time.Time // zero is now
	Stream  string    // stdout (default) or stderr
	Partial bool      // a partial line, continued by the next record of its stream
	Content string    // without newline
}

// String is the record as containerd writes it, newline included.
func (r Record) String() string {
	ts := r.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	stream := r.Stream
	if stream == "" {
		stream = "stdout"
	}
	tag := "F"
	if r.Partial {
		tag = "P"
	}
	return fmt.Sprintf("%s %s %s %s\n", ts.Format(time.RFC3339Nano), stream, tag, r.Content)
}

// LogPath is where a container's run keeps its log:
// <root>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log.
func LogPath(root, namespace, pod, uid, container string, restartCount int) string {
	return logs.Path(root, namespace, pod, uid, container, restartCount)
}

// WriteLog appends lines, as full stdout records stamped now, to the log of
// a container's run, creating the file and its folders as needed; this is
// what containerd does for a real container.
func WriteLog(t testing.TB, root, namespace, pod, uid, container string, restartCount int, lines ...string) {
	t.Helper()
	recs := make([]Record, len(lines))
	for i, l := range lines {
		recs[i] = Record{Content: l}
	}
	WriteRecords(t, root, namespace, pod, uid, container, restartCount, recs...)
}

// WriteRecords appends records to the log of a container's run.
func WriteRecords(t testing.TB, root, namespace, pod, uid, container string, restartCount int, recs ...Record) {
	t.Helper()
	path := LogPath(root, namespace, pod, uid, container, restartCount)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("kubelettest: %v", err)
	}
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.String())
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatalf("kubelettest: %v", err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatalf("kubelettest: write %s: %v", path, err)
	}
}

// WriteLog appends lines to a container's log under the server's LogRoot.
func (s *Server) WriteLog(t testing.TB, namespace, pod, uid, container string, restartCount int, lines ...string) {
	t.Helper()
	WriteLog(t, s.LogRoot, namespace, pod, uid, container, restartCount, lines...)
}

// WriteRecords appends records to a container's log under the server's LogRoot.
func (s *Server) WriteRecords(t testing.TB, namespace, pod, uid, container string, restartCount int, recs ...Record) {
	t.Helper()
	WriteRecords(t, s.LogRoot, namespace, pod, uid, container, restartCount, recs...)
}
