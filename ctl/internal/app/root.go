// Package app is skiffctl, the command-line client of a Skiff cluster,
// with kubectl's verbs, flags and output.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/proto/client"
	"skiff.dev/proto/component"
)

// Run runs skiffctl with args (without the program name) and returns the
// exit code: 0 on success, 1 on any error, printed as one line on errOut.
func Run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	c := &cli{in: in, out: out, errOut: errOut, now: time.Now}
	defer c.close()
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	if err := root.ExecuteContext(ctx); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			fmt.Fprintf(errOut, "command terminated with exit code %d\n", exit.code)
			return exit.code
		}
		code := 1
		var df diffFailed
		if errors.As(err, &df) {
			err, code = df.err, 2
		}
		if !errors.Is(err, errSilent) {
			fmt.Fprintln(errOut, c.formatError(err))
		}
		return code
	}
	return 0
}

// exitError ends skiffctl with the exit code of a remote command (exec),
// as kubectl does.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("command terminated with exit code %d", e.code) }

// diffFailed is a failure of skiffctl diff, which exits 2 as kubectl diff
// does, since 1 means "differences found".
type diffFailed struct{ err error }

func (e diffFailed) Error() string { return e.err.Error() }
func (e diffFailed) Unwrap() error { return e.err }

// errSilent fails a command whose errors were already printed.
var errSilent = errors.New("errors already printed")

// cli is the state shared by the commands of one run.
type cli struct {
	in          io.Reader
	out, errOut io.Writer
	now         func() time.Time

	opts client.Options
	cs   *client.Clientset
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "skiffctl",
		Short:         "skiffctl controls a Skiff cluster",
		Long:          "skiffctl controls a Skiff cluster. Find more about Skiff in its README.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	component.SetVersion(root)
	c.opts.BindFlags(root.PersistentFlags())
	root.PersistentFlags().StringVarP(&c.opts.Namespace, "namespace", "n", "", "the namespace of this request")
	root.AddCommand(
		c.getCommand(),
		c.applyCommand(),
		c.createCommand(),
		c.deleteCommand(),
		c.describeCommand(),
		c.exposeCommand(),
		c.scaleCommand(),
		c.labelCommand("label"),
		c.labelCommand("annotate"),
		c.cordonCommand("cordon", true),
		c.cordonCommand("uncordon", false),
		c.drainCommand(),
		c.eventsCommand(),
		c.setCommand(),
		c.logsCommand(),
		c.execCommand(),
		c.portForwardCommand(),
		c.cpCommand(),
		c.topCommand(),
		c.versionCommand(),
		c.apiResourcesCommand(),
		c.explainCommand(),
		c.configCommand(),
		c.rolloutCommand(),
		c.patchCommand(),
		c.runCommand(),
		c.waitCommand(),
		c.diffCommand(),
		c.editCommand(),
		completionCommand(root),
	)
	return root
}

// client connects on first use.
func (c *cli) client() (*client.Clientset, error) {
	if c.cs != nil {
		return c.cs, nil
	}
	if err := c.findConfig(); err != nil {
		return nil, err
	}
	opts := c.opts
	if opts.UserAgent == "" {
		opts.UserAgent = "skiffctl/" + Version
	}
	cs, err := client.New(opts)
	if err != nil {
		return nil, err
	}
	c.cs = cs
	return cs, nil
}

// findConfig picks the config file when no flag or $SKIFF_CONFIG names
// one and ~/.skiff/config (which `make up` writes) does not exist: the
// first file of $KUBECONFIG, else ~/.kube/config, as kubectl reads them.
// With none of them and no --server, it says how to set one up.
func (c *cli) findConfig() error {
	if len(c.opts.Server) > 0 || c.opts.Kubeconfig != "" || os.Getenv(client.ConfigEnv) != "" {
		return nil
	}
	if _, err := os.Stat(client.DefaultConfigPath()); err == nil {
		return nil
	}
	var candidates []string
	for _, p := range filepath.SplitList(os.Getenv("KUBECONFIG")) {
		if p != "" {
			candidates = append(candidates, p)
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".kube", "config"))
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			c.opts.Kubeconfig = p
			return nil
		}
	}
	return errors.New("no cluster configured: ~/.skiff/config does not exist (nor $KUBECONFIG or ~/.kube/config). " +
		"Run `make up` for a local cluster (it writes ~/.skiff/config for the user who ran it), " +
		"or set one up with `skiffctl config set-cluster NAME --server=https://HOST:6443 --certificate-authority=CA_FILE`, " +
		"`skiffctl config set-context NAME --cluster=NAME` and `skiffctl config use-context NAME`, or pass --server")
}

func (c *cli) dyn() (dynamic, error) {
	cs, err := c.client()
	if err != nil {
		return dynamic{}, err
	}
	return dynamic{conn: cs.Conn()}, nil
}

// namespace is -n, else the context's namespace, else default.
func (c *cli) namespace() string {
	if c.opts.Namespace != "" {
		return c.opts.Namespace
	}
	if cs, err := c.client(); err == nil {
		return cs.Namespace()
	}
	return "default"
}

func (c *cli) close() {
	if c.cs != nil {
		c.cs.Close()
	}
}

// reasons names the status reason of each gRPC code, as kubectl prints it.
var reasons = map[codes.Code]string{
	codes.NotFound:           "NotFound",
	codes.AlreadyExists:      "AlreadyExists",
	codes.Aborted:            "Conflict",
	codes.InvalidArgument:    "Invalid",
	codes.Unauthenticated:    "Unauthorized",
	codes.PermissionDenied:   "Forbidden",
	codes.ResourceExhausted:  "TooManyRequests",
	codes.OutOfRange:         "Gone",
	codes.FailedPrecondition: "BadRequest",
	codes.DeadlineExceeded:   "Timeout",
	codes.Internal:           "InternalError",
	codes.Unimplemented:      "MethodNotAllowed",
}

// formatError is the one line a user sees for err, in kubectl's words.
func (c *cli) formatError(err error) string {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		if msg := err.Error(); strings.HasPrefix(msg, "error: ") {
			return msg
		}
		return "error: " + err.Error()
	}
	st := se.GRPCStatus()
	reason := reasons[st.Code()]
	fromServer := false
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetReason() != "" {
			reason, fromServer = ei.GetReason(), true
		}
	}
	switch st.Code() {
	case codes.Unavailable:
		if fromServer {
			break // the apiserver answered: a backend of it (etcd, a kubelet) is unavailable
		}
		tried := ""
		if c.cs != nil {
			tried = " (tried " + strings.Join(c.cs.Endpoints(), ", ") + ")"
		}
		return fmt.Sprintf("Unable to connect to the server%s: %s", tried, st.Message())
	case codes.Unauthenticated:
		if m := st.Message(); m != "" && m != "Unauthorized" {
			return "error: You must be logged in to the server (Unauthorized): " + m
		}
		return "error: You must be logged in to the server (Unauthorized)"
	case codes.Canceled:
		return "error: " + st.Message()
	}
	if reason == "" {
		reason = st.Code().String()
	}
	return fmt.Sprintf("Error from server (%s): %s", reason, st.Message())
}
