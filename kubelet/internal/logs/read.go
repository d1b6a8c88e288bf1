package logs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// TimestampFormat is how Timestamps prefixes lines: RFC 3339 with nine
// fraction digits, as Kubernetes' kubelet writes them.
const TimestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// DefaultPollInterval is how often a followed log is checked for growth.
const DefaultPollInterval = 100 * time.Millisecond

// Options select what of a log is read; the zero value reads all of it.
type Options struct {
	// TailLines, when set, starts that many lines before the end.
	TailLines *int64
	// Since skips the lines written before it.
	Since time.Time
	// LimitBytes, when > 0, ends the output after that many bytes, even
	// within a line.
	LimitBytes int64
	// Timestamps prefixes every line with its time and a space.
	Timestamps bool
	// Follow keeps reading as the log grows until the context is done, the
	// container restarts (a newer run's log appears), or StopFollowing says so.
	Follow bool
	// PollInterval is how often a followed log is checked; 0 is
	// DefaultPollInterval.
	PollInterval time.Duration
	// StopFollowing, when set, is asked each time a followed log has no new
	// data; true ends the read once the file is drained.
	StopFollowing func() bool
}

// Read writes the log to w as the options select. A followed log of the
// container's latest run also ends when the container restarts.
func (l *Log) Read(ctx context.Context, opts Options, w io.Writer) error {
	stop := opts.StopFollowing
	opts.StopFollowing = func() bool { return l.newerRun() || (stop != nil && stop()) }
	err := ReadFile(ctx, l.Path, opts, w)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(fmt.Sprintf("log of container %q in pod %q is gone", l.Name, l.Pod))
	}
	return err
}

// errLimit ends a read at Options.LimitBytes.
var errLimit = errors.New("byte limit reached")

// ReadFile writes the log in the file at path to w, one Write per line. It
// returns ctx.Err() when the context ends a followed read.
func ReadFile(ctx context.Context, path string, opts Options, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer func() { f.Close() }()
	if opts.TailLines != nil {
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
		start, err := tailOffset(f, fi.Size(), *opts.TailLines)
		if err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
	}
	out := &lineWriter{w: w, opts: opts, remain: opts.LimitBytes, partial: map[string]*line{}}
	if opts.TailLines != nil && !opts.Follow {
		out.lines = *opts.TailLines
		out.countLines = true
	}
	poll := opts.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	rd := bufio.NewReaderSize(f, 64<<10)
	var pending []byte // the start of a record not yet ended by a newline

	// drain handles every complete record up to the end of the file.
	drain := func() error {
		for {
			b, err := rd.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				pending = append(pending, b...)
				continue
			}
			if err != nil && err != io.EOF {
				return fmt.Errorf("read log %s: %w", path, err)
			}
			if err == io.EOF {
				pending = append(pending, b...)
				return nil
			}
			rec := b
			if len(pending) > 0 {
				rec = append(pending, b...)
				pending = pending[:0]
			}
			if err := out.record(rec); err != nil {
				return err
			}
		}
	}
	// finish writes what an ended log leaves: a last record without a
	// newline and partial lines never completed.
	finish := func() error {
		if len(pending) > 0 {
			if err := out.record(pending); err != nil {
				return err
			}
			pending = nil
		}
		return out.flushPartial()
	}
	done := func(err error) error {
		if errors.Is(err, errLimit) || errors.Is(err, errLines) {
			return nil
		}
		return err
	}

	finishing := false
	for {
		if err := drain(); err != nil {
			return done(err)
		}
		if !opts.Follow || finishing {
			return done(finish())
		}
		if opts.StopFollowing != nil && opts.StopFollowing() {
			finishing = true // read what was written meanwhile, then end
			continue
		}
		if nf := reopened(f, path); nf != nil {
			// Rotated: what is left of the old file first, then the new one.
			// A record the old file left unended stays so.
			err := drain()
			if err == nil && len(pending) > 0 {
				err = out.record(pending)
				pending = pending[:0]
			}
			if err != nil {
				nf.Close()
				return done(err)
			}
			f.Close()
			f = nf
			rd.Reset(f)
			continue
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// reopened opens the file now at path when it is no longer f (the log was
// rotated), and returns nil when it is still f or path does not exist.
func reopened(f *os.File, path string) *os.File {
	cur, err := f.Stat()
	if err != nil {
		return nil
	}
	now, err := os.Stat(path)
	if err != nil || os.SameFile(cur, now) {
		return nil
	}
	nf, err := os.Open(path)
	if err != nil {
		return nil
	}
	return nf
}

// line is one logical line: the records of a partial line joined.
type line struct {
	ts      time.Time
	content []byte
}

// errLines ends a non-following tail read after its lines.
var errLines = errors.New("tail lines written")

// lineWriter joins records into lines and writes those the options select.
type lineWriter struct {
	w          io.Writer
	opts       Options
	remain     int64 // bytes left when opts.LimitBytes > 0
	countLines bool
	lines      int64            // lines left when countLines
	partial    map[string]*line // per stream
	buf        []byte
}

// record takes one record, with or without its newline.
func (lw *lineWriter) record(rec []byte) error {
	r, ok := parseRecord(rec)
	if !ok {
		return nil // not a CRI record: skipped, as Kubernetes does
	}
	l := lw.partial[r.stream]
	if l == nil {
		l = &line{ts: r.ts}
	}
	l.content = append(l.content, r.content...)
	if !r.full {
		lw.partial[r.stream] = l
		return nil
	}
	delete(lw.partial, r.stream)
	l.content = append(l.content, '\n')
	return lw.write(l)
}

// flushPartial writes partial lines that no record completed.
func (lw *lineWriter) flushPartial() error {
	for _, s := range []string{"stdout", "stderr"} {
		if l := lw.partial[s]; l != nil {
			delete(lw.partial, s)
			if err := lw.write(l); err != nil {
				return err
			}
		}
	}
	return nil
}

func (lw *lineWriter) write(l *line) error {
	if l.ts.Before(lw.opts.Since) {
		return nil
	}
	if lw.countLines {
		if lw.lines <= 0 {
			return errLines
		}
		lw.lines--
	}
	b := l.content
	if lw.opts.Timestamps {
		lw.buf = l.ts.AppendFormat(lw.buf[:0], TimestampFormat)
		lw.buf = append(lw.buf, ' ')
		lw.buf = append(lw.buf, l.content...)
		b = lw.buf
	}
	limited := lw.opts.LimitBytes > 0
	if limited && int64(len(b)) > lw.remain {
		b = b[:lw.remain]
	}
	if _, err := lw.w.Write(b); err != nil {
		return err
	}
	if limited {
		lw.remain -= int64(len(b))
		if lw.remain <= 0 {
			return errLimit
		}
	}
	return nil
}

// record is one parsed line of a CRI log file.
type record struct {
	ts      time.Time
	stream  string
	full    bool
	content []byte
}

// parseRecord reads "<timestamp> <stream> <tags> <content>[\n]".
func parseRecord(b []byte) (record, bool) {
	var r record
	b = bytes.TrimSuffix(b, []byte{'\n'})
	ts, rest, ok := bytes.Cut(b, []byte{' '})
	if !ok {
		return r, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return r, false
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return r, false
	}
	switch string(stream) {
	case "stdout", "stderr":
	default:
		return r, false
	}
	tags, content, _ := bytes.Cut(rest, []byte{' '})
	tag, _, _ := bytes.Cut(tags, []byte{':'})
	switch string(tag) {
	case "F":
		r.full = true
	case "P":
	default:
		return r, false
	}
	r.ts, r.stream, r.content = t, string(stream), content
	return r, true
}

// tailBlock is how much of a file tailOffset reads at a time.
const tailBlock = 32 << 10

// tailOffset is where the last n lines of the log in r (size bytes long)
// start: after the (n+1)-th full record from the end. Partial records count
// with the full record that ends their line.
func tailOffset(r io.ReaderAt, size, n int64) (int64, error) {
	if n <= 0 {
		return size, nil
	}
	var buf []byte // r's bytes [off, off+len(buf))
	off := size
	end := size // end of the record looked at, after its newline
	full := int64(0)
	for end > 0 {
		// The record ends at end; the one before it ends at the last
		// newline before end-1.
		i := -1
		for {
			if k := end - 1 - off; k > 0 {
				i = bytes.LastIndexByte(buf[:k], '\n')
			}
			if i >= 0 || off == 0 {
				break
			}
			k := min(int64(tailBlock), off)
			nb := make([]byte, k+int64(len(buf)))
			if _, err := r.ReadAt(nb[:k], off-k); err != nil && err != io.EOF {
				return 0, err
			}
			copy(nb[k:], buf)
			buf, off = nb, off-k
		}
		start := off + int64(i) + 1
		if rec, ok := parseRecord(buf[start-off : end-off]); ok && rec.full {
			if full++; full > n {
				return end, nil
			}
		}
		buf = buf[:start-off]
		end = start
	}
	return 0, nil
}
