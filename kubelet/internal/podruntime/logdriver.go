package podruntime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// LogDriverArg is the first argument with which containerd's shim starts
// the kubelet binary as a container's log driver; the second is the log
// file. A main that sees it calls RunLogDriver.
const LogDriverArg = "log-driver"

// maxLogLine is the longest record written; longer lines are split into
// partial (P) records, as containerd's CRI does.
const maxLogLine = 16 * 1024

// RunLogDriver is the log driver process of one container, which
// containerd's shim starts with the container's stdout on fd 3, its
// stderr on fd 4 and a pipe on fd 5 to close once ready. It appends both
// streams to path in the CRI log format that internal/logs reads, and
// lives as long as the container's output, across kubelet restarts.
func RunLogDriver(path string) error {
	stdout, stderr, ready := os.NewFile(3, "stdout"), os.NewFile(4, "stderr"), os.NewFile(5, "ready")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		ready.Close()
		return fmt.Errorf("log driver: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		ready.Close()
		return fmt.Errorf("log driver: %w", err)
	}
	defer f.Close()
	ready.Close()
	w := &criWriter{w: f}
	var wg sync.WaitGroup
	for _, s := range []struct {
		name string
		r    io.Reader
	}{{"stdout", stdout}, {"stderr", stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.copy(s.name, s.r)
		}()
	}
	wg.Wait()
	return nil
}

// criWriter writes records of several streams to one file, a record at a time.
type criWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *criWriter) copy(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			tag := "P"
			if line[len(line)-1] == '\n' {
				tag, line = "F", line[:len(line)-1]
			}
			c.record(stream, tag, line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func (c *criWriter) record(stream, tag string, content []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	buf := make([]byte, 0, len(content)+64)
	buf = time.Now().UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, ' ')
	buf = append(buf, stream...)
	buf = append(buf, ' ')
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	buf = append(buf, content...)
	buf = append(buf, '\n')
	_, _ = c.w.Write(buf)
}
