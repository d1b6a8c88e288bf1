package app

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"skiff.dev/proto/remotecommand"
)

func (c *cli) execCommand() *cobra.Command {
	var container string
	var stdin, tty bool
	cmd := &cobra.Command{
		Use:   "exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]",
		Short: "Run a command in a container of a pod",
		Long: `Run a command in a running container of a pod, through the apiserver and
the kubelet of the pod's node, and exit with the command's exit code. The
container may be left out when the pod has only one. -i passes stdin to the
command; -t gives it a terminal (stderr then goes to stdout).`,
		Example: `  skiffctl exec web-0 -- date
  skiffctl exec web-0 -c sidecar -- cat /etc/hostname
  skiffctl exec -it web-0 -- sh`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 || len(args) < 2 {
				return errors.New("exec needs a pod and a command after --: skiffctl exec POD -- COMMAND [ARG...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimPrefix(strings.TrimPrefix(args[0], "pod/"), "pods/")
			cs, err := c.client()
			if err != nil {
				return err
			}
			streams := remotecommand.ClientStreams{Stdout: c.out, Stderr: c.errOut}
			if stdin {
				streams.Stdin = c.in
			}
			if tty {
				restore, resize, ok := c.terminal()
				if !ok {
					fmt.Fprintln(c.errOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
					tty = false
				} else {
					defer restore()
					streams.Resize = resize
				}
			}
			opts := remotecommand.Options{Container: container, Command: args[1:], Stdin: stdin, Stdout: true, Stderr: !tty, TTY: tty}
			code, err := cs.Exec(cmd.Context(), c.namespace(), name, opts, streams)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&container, "container", "c", "", "the container; required when the pod has several")
	f.BoolVarP(&stdin, "stdin", "i", false, "pass stdin to the command")
	f.BoolVarP(&tty, "tty", "t", false, "give the command a terminal (stdin must be one)")
	return cmd
}

// terminal puts stdin, when it is a terminal, in raw mode, and reports the
// terminal's size now and after every SIGWINCH; restore undoes both.
func (c *cli) terminal() (restore func(), sizes <-chan remotecommand.TerminalSize, ok bool) {
	in, isFile := c.in.(*os.File)
	if !isFile || !term.IsTerminal(int(in.Fd())) {
		return nil, nil, false
	}
	fd := int(in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, nil, false
	}
	ch := make(chan remotecommand.TerminalSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	send := func() {
		if w, h, err := term.GetSize(fd); err == nil {
			select {
			case ch <- remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}:
			default:
			}
		}
	}
	send()
	go func() {
		defer close(ch)
		for {
			select {
			case <-done:
				return
			case <-winch:
				send()
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
		_ = term.Restore(fd, state)
	}, ch, true
}
