package podruntime

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"go.uber.org/zap"

	"skiff.dev/proto/remotecommand"
)

// Stdio are an exec's streams; nil ones are not connected (the process
// gets /dev/null). With TTY the process runs on a terminal, and its
// stderr goes to Stdout with its stdout, so Stderr is not used.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize, with TTY, brings the caller's terminal sizes, which the
	// process's terminal takes on as they come (kubectl exec -it sends
	// its own at the start and on every change).
	Resize <-chan remotecommand.TerminalSize
}

// ioDrainTimeout bounds the wait for an exec's output after its process
// exited: a child it left behind may hold the output open forever.
const ioDrainTimeout = 10 * time.Second

var execSeq atomic.Uint64

// Exec runs a command in a running container, as the container's own
// process runs (user, env, working dir), with stdio, and returns its exit
// code once its output has been delivered. The process is killed when ctx
// ends and deleted afterwards. Exec probes call it with no streams.
func (r *Runtime) Exec(ctx context.Context, c *Container, args []string, stdio Stdio) (int, error) {
	ctx = r.ns(ctx)
	fail := func(err error) (int, error) { return 0, fmt.Errorf("exec %q in container %s: %w", args, c.ID, err) }
	if len(args) == 0 {
		return fail(fmt.Errorf("no command given"))
	}
	cont, err := r.client.LoadContainer(ctx, c.ID)
	if err != nil {
		return fail(err)
	}
	spec, err := cont.Spec(ctx)
	if err != nil {
		return fail(err)
	}
	task, err := cont.Task(ctx, nil)
	if err != nil {
		return fail(err)
	}
	pspec := *spec.Process
	pspec.Args = args
	pspec.Terminal = stdio.TTY

	// The shim holds the stdin fifo open until CloseIO, so the end of the
	// caller's stdin is passed on by hand: through a pipe, whose copier
	// closes the process's stdin once the caller's has ended.
	var stdinR *io.PipeReader
	var stdinW *io.PipeWriter
	creator := cio.NullIO
	if stdio.Stdin != nil || stdio.Stdout != nil || stdio.Stderr != nil {
		var opts []cio.Opt
		if r.cfg.RootDir != "" {
			opts = append(opts, cio.WithFIFODir(filepath.Join(r.cfg.RootDir, "exec-fifo")))
		}
		var in io.Reader
		if stdio.Stdin != nil {
			stdinR, stdinW = io.Pipe()
			in = stdinR
			defer stdinR.Close()
		}
		// containerd 1.6's shim fails on an output with no fifo: an
		// output not asked for is read and dropped.
		out, errOut := stdio.Stdout, stdio.Stderr
		if out == nil {
			out = io.Discard
		}
		if stdio.TTY {
			errOut = nil
			opts = append(opts, cio.WithTerminal)
		} else if errOut == nil {
			errOut = io.Discard
		}
		opts = append(opts, cio.WithStreams(in, out, errOut))
		creator = cio.NewCreator(opts...)
	}
	id := fmt.Sprintf("exec-%d-%d", time.Now().UnixNano(), execSeq.Add(1))
	proc, err := task.Exec(ctx, id, &pspec, creator)
	if err != nil {
		return fail(err)
	}
	dctx := context.WithoutCancel(ctx)
	defer r.deleteExec(dctx, c, proc)
	ch, err := proc.Wait(dctx)
	if err != nil {
		return fail(err)
	}
	if err := proc.Start(ctx); err != nil {
		return fail(err)
	}
	if stdio.TTY && stdio.Resize != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case sz, ok := <-stdio.Resize:
					if !ok {
						return
					}
					if err := proc.Resize(dctx, uint32(sz.Width), uint32(sz.Height)); err != nil {
						r.lg.Debug("resize exec terminal", zap.String("container", c.ID), zap.String("exec", id), zap.Error(err))
					}
				case <-stop:
					return
				}
			}
		}()
	}
	if stdinW != nil {
		go func() {
			_, err := io.Copy(stdinW, stdio.Stdin)
			stdinW.CloseWithError(err)
			if err := proc.CloseIO(dctx, containerd.WithStdinCloser); err != nil {
				r.lg.Debug("close exec stdin", zap.String("container", c.ID), zap.String("exec", id), zap.Error(err))
			}
		}()
	}
	select {
	case st := <-ch:
		code, _, err := st.Result()
		if err != nil {
			return fail(err)
		}
		r.drainExecIO(ctx, proc)
		return int(code), nil
	case <-ctx.Done():
		if err := proc.Kill(dctx, syscall.SIGKILL); err != nil {
			r.lg.Debug("kill exec", zap.String("container", c.ID), zap.String("exec", id), zap.Error(err))
		}
		return fail(ctx.Err())
	}
}

// drainExecIO waits until an exited exec's output has all been copied to
// the caller, within ioDrainTimeout or until ctx ends.
func (r *Runtime) drainExecIO(ctx context.Context, proc containerd.Process) {
	pio := proc.IO()
	if pio == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		pio.Wait()
		close(done)
	}()
	t := time.NewTimer(ioDrainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		r.lg.Warn("exec output still open after its process exited; closing it", zap.String("exec", proc.ID()))
	case <-ctx.Done():
	}
}

// deleteExec deletes an exec's process (killing it if it still runs) and
// closes its streams.
func (r *Runtime) deleteExec(ctx context.Context, c *Container, proc containerd.Process) {
	if _, err := proc.Delete(ctx, containerd.WithProcessKill); err != nil {
		r.lg.Debug("delete exec", zap.String("container", c.ID), zap.String("exec", proc.ID()), zap.Error(err))
		if pio := proc.IO(); pio != nil {
			pio.Cancel()
			pio.Close()
		}
	}
}
