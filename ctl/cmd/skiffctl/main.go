// Command skiffctl is the command-line client of a Skiff cluster.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"skiff.dev/ctl/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
