package component

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
)

// SignalContext ends on the first SIGINT or SIGTERM, for a graceful
// shutdown; a second signal kills the process at once (the default
// action, restored after the first).
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// ExitCode is a daemon's exit code for the error its command returned,
// which it prints to stderr as "Error: …".
func ExitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	_, _ = fmt.Fprintln(stderr, "Error:", err)
	return 1
}
