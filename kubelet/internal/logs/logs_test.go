package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// rec is one CRI record at t0+sec seconds.
func rec(sec int, stream, tag, content string) string {
	return fmt.Sprintf("%s %s %s %s\n", t0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339Nano), stream, tag, content)
}

func writeFile(t *testing.T, path string, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path string, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func i64(n int64) *int64 { return &n }

func TestReadFile(t *testing.T) {
	three := rec(1, "stdout", "F", "one") + rec(2, "stderr", "F", "two") + rec(3, "stdout", "F", "three")
	partials := rec(1, "stdout", "P", "hel") + rec(2, "stdout", "P", "lo ") + rec(3, "stdout", "F", "world") +
		rec(4, "stdout", "F", "next")
	tests := []struct {
		name    string
		content string
		opts    Options
		want    string
	}{
		{"all lines", three, Options{}, "one\ntwo\nthree\n"},
		{"empty file", "", Options{}, ""},
		{"partial records join", partials, Options{}, "hello world\nnext\n"},
		{"partials of two streams interleave", rec(1, "stdout", "P", "out-") + rec(2, "stderr", "F", "err") + rec(3, "stdout", "F", "done"),
			Options{}, "err\nout-done\n"},
		{"more tags after F", rec(1, "stdout", "F:x", "tagged"), Options{}, "tagged\n"},
		{"empty line", rec(1, "stdout", "F", ""), Options{}, "\n"},
		{"record without trailing space", t0.Format(time.RFC3339Nano) + " stdout F\n", Options{}, "\n"},
		{"content keeps spaces", rec(1, "stdout", "F", "  a  b "), Options{}, "  a  b \n"},
		{"malformed lines skipped", "garbage\n" + "notatime stdout F x\n" + rec(1, "stdin", "F", "x") + rec(1, "stdout", "Q", "x") + three,
			Options{}, "one\ntwo\nthree\n"},
		{"last record without newline", three + strings.TrimSuffix(rec(4, "stdout", "F", "four"), "\n"), Options{}, "one\ntwo\nthree\nfour\n"},
		{"unfinished partial line", three + rec(4, "stdout", "P", "half"), Options{}, "one\ntwo\nthree\nhalf"},
		{"tail 2", three, Options{TailLines: i64(2)}, "two\nthree\n"},
		{"tail 1", three, Options{TailLines: i64(1)}, "three\n"},
		{"tail 0", three, Options{TailLines: i64(0)}, ""},
		{"tail more than there is", three, Options{TailLines: i64(10)}, "one\ntwo\nthree\n"},
		{"tail counts joined lines", partials, Options{TailLines: i64(2)}, "hello world\nnext\n"},
		{"tail 1 of joined lines", partials, Options{TailLines: i64(1)}, "next\n"},
		{"tail skips malformed lines", three + "garbage\n", Options{TailLines: i64(1)}, "three\n"},
		{"since", three, Options{Since: t0.Add(2 * time.Second)}, "two\nthree\n"},
		{"since after every line", three, Options{Since: t0.Add(time.Hour)}, ""},
		{"since and tail", three, Options{Since: t0.Add(3 * time.Second), TailLines: i64(2)}, "three\n"},
		{"limit bytes within a line", three, Options{LimitBytes: 6}, "one\ntw"},
		{"limit bytes at a line end", three, Options{LimitBytes: 4}, "one\n"},
		{"limit bytes over the log", three, Options{LimitBytes: 1000}, "one\ntwo\nthree\n"},
		{"timestamps", three, Options{Timestamps: true, TailLines: i64(1)}, "2024-05-01T10:00:03.000000000Z three\n"},
		{"timestamps of a joined line are its first record's", partials, Options{Timestamps: true, TailLines: i64(2)},
			"2024-05-01T10:00:01.000000000Z hello world\n2024-05-01T10:00:04.000000000Z next\n"},
		{"timestamps keep the zone", "2024-05-01T12:00:00.5+02:00 stdout F x\n", Options{Timestamps: true},
			"2024-05-01T12:00:00.500000000+02:00 x\n"},
		{"timestamps count in the byte limit", three, Options{Timestamps: true, LimitBytes: 10}, "2024-05-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "0.log")
			writeFile(t, path, tc.content)
			var out bytes.Buffer
			if err := ReadFile(context.Background(), path, tc.opts, &out); err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTailLargeFile tails a file larger than the blocks tailOffset reads,
// with a line longer than a block.
func TestTailLargeFile(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		b.WriteString(rec(i, "stdout", "F", fmt.Sprintf("line %d", i)))
	}
	long := strings.Repeat("x", 3*tailBlock)
	b.WriteString(rec(5000, "stdout", "P", long[:tailBlock]))
	b.WriteString(rec(5000, "stdout", "F", long[tailBlock:]))
	b.WriteString(rec(5001, "stdout", "F", "last"))
	path := filepath.Join(t.TempDir(), "0.log")
	writeFile(t, path, b.String())
	tests := []struct {
		tail int64
		want string
	}{
		{1, "last\n"},
		{2, long + "\nlast\n"},
		{4, "line 4998\nline 4999\n" + long + "\nlast\n"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.tail), func(t *testing.T) {
			var out bytes.Buffer
			if err := ReadFile(context.Background(), path, Options{TailLines: &tc.tail}, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				got := out.String()
				if len(got) > 200 {
					got = got[:100] + "..." + got[len(got)-100:]
				}
				t.Errorf("tail %d: got %q", tc.tail, got)
			}
		})
	}
	var out bytes.Buffer
	all := int64(6000)
	if err := ReadFile(context.Background(), path, Options{TailLines: &all}, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 5002 {
		t.Errorf("tail 6000 of 5002 lines: got %d lines", n)
	}
}

func TestContainerLogs(t *testing.T) {
	root := t.TempDir()
	c := Container{Root: root, Namespace: "ns", Pod: "web", UID: "u1", Name: "app"}
	writeFile(t, Path(root, "ns", "web", "u1", "app", 0), rec(1, "stdout", "F", "run 0"))
	writeFile(t, Path(root, "ns", "web", "u1", "app", 1), rec(2, "stdout", "F", "run 1"))
	writeFile(t, Path(root, "ns", "web", "u1", "app", 10), rec(3, "stdout", "F", "run 10"))
	writeFile(t, filepath.Join(c.Dir(), "11.log.20240501-100000"), rec(4, "stdout", "F", "rotated"))
	writeFile(t, filepath.Join(c.Dir(), "x.log"), "not a run")
	writeFile(t, filepath.Join(c.Dir(), "012.log"), "not a run")
	writeFile(t, Path(root, "ns", "web", "u1", "one", 0), rec(1, "stdout", "F", "only run"))
	if err := os.MkdirAll(filepath.Join(PodDir(root, "ns", "web", "u1"), "waiting"), 0o755); err != nil {
		t.Fatal(err)
	}
	with := func(name string) Container { c := c; c.Name = name; return c }
	tests := []struct {
		name      string
		c         Container
		previous  bool
		want      string
		wantErr   string
		wantCount int
	}{
		{"current is the highest restart count", c, false, "run 10\n", "", 10},
		{"previous is the one before", c, true, "run 1\n", "", 1},
		{"one run: current", with("one"), false, "only run\n", "", 0},
		{"one run: no previous", with("one"), true, "", `previous terminated container "one" in pod "web" not found`, 0},
		{"unknown container", with("nope"), false, "", `container "nope" in pod "web" not found`, 0},
		{"unknown container: no previous", with("nope"), true, "", `previous terminated container "nope" in pod "web" not found`, 0},
		{"container without log yet", with("waiting"), false, "", `container "waiting" in pod "web" is waiting to start: no log yet`, 0},
		{"unknown pod uid", Container{Root: root, Namespace: "ns", Pod: "web", UID: "u2", Name: "app"}, false, "",
			`pod "web" in namespace "ns" not found on this node`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			find := tc.c.Current
			if tc.previous {
				find = tc.c.Previous
			}
			l, err := find()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errors.Is(err, ErrNotFound) {
					t.Fatalf("got error %v, want %q matching ErrNotFound", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.RestartCount != tc.wantCount {
				t.Errorf("restart count %d, want %d", l.RestartCount, tc.wantCount)
			}
			var out bytes.Buffer
			if err := l.Read(context.Background(), Options{}, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestFindPodUID(t *testing.T) {
	root := t.TempDir()
	old, cur := PodDir(root, "ns", "web", "old-uid"), PodDir(root, "ns", "web", "new-uid")
	for _, d := range []string{old, cur, PodDir(root, "ns", "web-2", "other"), PodDir(root, "ns2", "web", "elsewhere")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ns, pod, want, wantErr string
	}{
		{"ns", "web", "new-uid", ""},
		{"ns", "web-2", "other", ""},
		{"ns2", "web", "elsewhere", ""},
		{"ns", "nope", "", `pod "nope" in namespace "ns" not found on this node`},
		{"ns3", "web", "", `pod "web" in namespace "ns3" not found on this node`},
	}
	for _, tc := range tests {
		t.Run(tc.ns+"/"+tc.pod, func(t *testing.T) {
			uid, err := FindPodUID(root, tc.ns, tc.pod)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %q, %v; want error %q", uid, err, tc.wantErr)
				}
				return
			}
			if err != nil || uid != tc.want {
				t.Fatalf("got %q, %v; want %q", uid, err, tc.want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a reader and a writer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until out holds want, generously.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for out.String() != want {
		if time.Now().After(deadline) {
			t.Fatalf("followed output is %q, want %q", out.String(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// background is a read running in its own goroutine.
type background struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// follow runs read in the background until stop.
func follow(read func(ctx context.Context) error) *background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{cancel: cancel, done: make(chan struct{})}
	go func() { b.err = read(ctx); close(b.done) }()
	return b
}

// stop cancels the read and returns its error.
func (b *background) stop() error {
	b.cancel()
	<-b.done
	return b.err
}

// ended waits, generously, for the read to end on its own.
func (b *background) ended(t *testing.T) error {
	t.Helper()
	select {
	case <-b.done:
		return b.err
	case <-time.After(30 * time.Second):
		t.Fatal("the followed read did not end")
		return nil
	}
}

func TestFollow(t *testing.T) {
	root := t.TempDir()
	path := Path(root, "ns", "web", "u1", "app", 0)
	writeFile(t, path, rec(1, "stdout", "F", "one")+rec(2, "stdout", "F", "two"))
	out := &syncBuffer{}
	opts := Options{Follow: true, TailLines: i64(1), Timestamps: true, PollInterval: 10 * time.Millisecond}
	bg := follow(func(ctx context.Context) error { return ReadFile(ctx, path, opts, out) })

	want := "2024-05-01T10:00:02.000000000Z two\n"
	waitFor(t, out, want)
	appendFile(t, path, rec(3, "stdout", "F", "three"))
	want += "2024-05-01T10:00:03.000000000Z three\n"
	waitFor(t, out, want)

	// A record written in two pieces, and a partial line, wait for their end.
	r := rec(4, "stderr", "P", "fo")
	appendFile(t, path, r[:10])
	time.Sleep(50 * time.Millisecond)
	appendFile(t, path, r[10:])
	time.Sleep(50 * time.Millisecond)
	if out.String() != want {
		t.Fatalf("an unfinished line was written: %q", out.String())
	}
	appendFile(t, path, rec(5, "stderr", "F", "ur"))
	want += "2024-05-01T10:00:04.000000000Z four\n"
	waitFor(t, out, want)

	// Rotation: the file is renamed and a new one takes its path.
	appendFile(t, path, rec(6, "stdout", "F", "before rotation"))
	if err := os.Rename(path, path+".20240501-100006"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, rec(7, "stdout", "F", "after rotation"))
	want += "2024-05-01T10:00:06.000000000Z before rotation\n2024-05-01T10:00:07.000000000Z after rotation\n"
	waitFor(t, out, want)
	appendFile(t, path, rec(8, "stdout", "F", "eight"))
	want += "2024-05-01T10:00:08.000000000Z eight\n"
	waitFor(t, out, want)

	if err := bg.stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("follow ended with %v, want context.Canceled", err)
	}
}

// TestFollowEndsOnRestart: a followed container that restarts has ended,
// as kubectl logs -f of a container that exits.
func TestFollowEndsOnRestart(t *testing.T) {
	root := t.TempDir()
	c := Container{Root: root, Namespace: "ns", Pod: "web", UID: "u1", Name: "app"}
	writeFile(t, Path(root, "ns", "web", "u1", "app", 0), rec(1, "stdout", "F", "first run"))
	l, err := c.Current()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	bg := follow(func(ctx context.Context) error {
		return l.Read(ctx, Options{Follow: true, PollInterval: 10 * time.Millisecond}, out)
	})
	defer bg.stop()
	waitFor(t, out, "first run\n")
	appendFile(t, l.Path, rec(2, "stdout", "F", "last words"))
	writeFile(t, Path(root, "ns", "web", "u1", "app", 1), rec(3, "stdout", "F", "second run"))
	if err := bg.ended(t); err != nil {
		t.Fatalf("follow ended with %v", err)
	}
	if got := out.String(); got != "first run\nlast words\n" {
		t.Errorf("got %q", got)
	}
}

func TestFollowLimitBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeFile(t, path, rec(1, "stdout", "F", "abc"))
	out := &syncBuffer{}
	bg := follow(func(ctx context.Context) error {
		return ReadFile(ctx, path, Options{Follow: true, LimitBytes: 6, PollInterval: 10 * time.Millisecond}, out)
	})
	defer bg.stop()
	waitFor(t, out, "abc\n")
	appendFile(t, path, rec(2, "stdout", "F", "defgh"))
	if err := bg.ended(t); err != nil {
		t.Fatalf("follow ended with %v", err)
	}
	if got := out.String(); got != "abc\nde" {
		t.Errorf("got %q", got)
	}
}
