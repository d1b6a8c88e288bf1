// Package labcmd is skiff-lab's command line over the lab package.
package labcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"skiff.dev/e2e/lab"
	"skiff.dev/proto/client"
	"skiff.dev/proto/component"
)

// Run runs skiff-lab with args and returns its exit code.
func Run(args []string) int {
	cmd := NewCommand()
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "skiff-lab:", err)
		return 1
	}
	return 0
}

type globals struct {
	prefix, state, logLevel string
}

func (g *globals) stateDir() string {
	if g.state != "" {
		if abs, err := filepath.Abs(g.state); err == nil {
			return abs
		}
		return g.state
	}
	return filepath.Join("/var/lib/skiff-lab", g.prefix)
}

func (g *globals) logger() (*zap.Logger, error) { return component.NewLogger("console", g.logLevel) }

// NewCommand is skiff-lab's root command.
func NewCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "skiff-lab",
		Short: "A Skiff data centre made of network namespaces on this machine",
		Long: `skiff-lab builds a small data centre on this machine: one network namespace per
host (masters m1..mN, nodes n1..nN, the load balancer lb, the registry reg) joined
by a bridge inside a lab namespace, on the subnet ` + lab.DefaultSubnet + `, which exists only
inside those namespaces (no route leads out of them). Every Skiff daemon whose binary
is in --bin runs on its hosts. Needs root.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.prefix, "prefix", lab.DefaultPrefix, "prefix of the lab's network namespaces and links; labs with different prefixes coexist")
	pf.StringVar(&g.state, "state", "", "state directory: certificates, configs, logs, data (default /var/lib/skiff-lab/<prefix>)")
	pf.StringVar(&g.logLevel, "log-level", "info", "debug, info, warn or error")
	root.AddCommand(upCommand(g), downCommand(g), execCommand(g), statusCommand(g), logsCommand(g))
	return root
}

func upCommand(g *globals) *cobra.Command {
	var (
		cfg                   lab.Config
		foreground            bool
		forward, kubeconfig   string
		lease, renew, retryLE time.Duration
	)
	c := &cobra.Command{
		Use:   "up",
		Short: "Build the lab and start its daemons",
		Long: `up builds the lab and returns when every daemon is healthy; the daemons keep
running until 'skiff-lab down'. With --foreground it stays, prints every daemon's
log prefixed with host/daemon, and takes the lab down on Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lg, err := g.logger()
			if err != nil {
				return err
			}
			cfg.Prefix, cfg.StateDir, cfg.Logger = g.prefix, g.stateDir(), lg
			cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod = lease, renew, retryLE
			if cfg.BinDir == "" {
				cfg.BinDir = defaultBinDir()
			}
			for _, p := range []*string{&cfg.BinDir, &cfg.PKIDir, &cfg.ImageDir} {
				if *p == "" {
					continue
				}
				if *p, err = filepath.Abs(*p); err != nil {
					return err
				}
			}
			if foreground {
				cfg.LogStream = os.Stdout
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			l, err := lab.Up(ctx, cfg)
			if err != nil {
				return err
			}
			server := l.APIServerURL()
			if forward != "" {
				if err := l.Forward(ctx, forward); err != nil {
					return errors.Join(err, l.Down())
				}
				server = schemeOf(server) + forward
			}
			if kubeconfig != "" {
				if err := l.WriteKubeconfig(kubeconfig, server, "admin", true); err != nil {
					return errors.Join(err, l.Down())
				}
				if err := chownToSudoUser(kubeconfig); err != nil {
					return errors.Join(err, l.Down())
				}
			}
			printUsage(g, l, server, kubeconfig, foreground)
			if !foreground {
				return nil
			}
			<-ctx.Done()
			stop()
			fmt.Println("stopping the lab (a second Ctrl-C is ignored until it is down)")
			signal.Ignore(os.Interrupt, syscall.SIGTERM)
			return l.Down()
		},
	}
	f := c.Flags()
	f.IntVar(&cfg.Masters, "masters", 1, "master hosts (apiserver, scheduler, controller-manager; etcd members and haproxy when more than one)")
	f.IntVar(&cfg.Nodes, "nodes", 2, "node hosts (containerd, kubelet, kube-proxy)")
	f.BoolVar(&cfg.MastersSchedulable, "masters-schedulable", false, "masters run the node daemons too (a one-host cluster with --nodes 0)")
	f.StringVar(&cfg.BinDir, "bin", "", "folder of the Skiff binaries (default: the folder of skiff-lab)")
	f.StringVar(&cfg.ImageDir, "images", "", "folder of OCI image-layout archives (*.tar) the registry serves and the kubelets import")
	f.StringVar(&cfg.PKIDir, "pki", "", "folder of the lab's CA and certificates, kept (and reused) across runs when outside --state (default <state>/pki)")
	f.BoolVar(&cfg.Insecure, "insecure", false, "plaintext apiservers with no authentication instead of TLS with the lab's CA")
	f.DurationVar(&cfg.ReadyTimeout, "ready-timeout", 90*time.Second, "how long each daemon may take to become healthy")
	f.DurationVar(&lease, "leader-elect-lease-duration", 0, "leader-election lease of schedulers and controller-managers (0: their default)")
	f.DurationVar(&renew, "leader-elect-renew-deadline", 0, "leader-election renew deadline (0: the daemons' default)")
	f.DurationVar(&retryLE, "leader-elect-retry-period", 0, "leader-election retry period (0: the daemons' default)")
	f.BoolVar(&foreground, "foreground", false, "stay in the foreground streaming the daemons' logs; Ctrl-C takes the lab down")
	f.StringVar(&forward, "forward", "", "loopback address (127.0.0.1:6443) relaying to the lab's apiservers, for as long as skiff-lab runs (needs --foreground)")
	f.StringVar(&kubeconfig, "write-kubeconfig", "", "write the admin's skiffctl config (certificates inside) to this file, merged with what it holds")
	return c
}

func schemeOf(url string) string {
	if len(url) >= 8 && url[:8] == "https://" {
		return "https://"
	}
	return "http://"
}

func defaultBinDir() string {
	exe, err := os.Executable()
	if err != nil {
		return "bin"
	}
	return filepath.Dir(exe)
}

func printUsage(g *globals, l *lab.Lab, server, kubeconfig string, foreground bool) {
	cfg := l.Config()
	fmt.Printf("\nSkiff lab %q is up: apiserver %s\n", cfg.Prefix, server)
	switch kubeconfig {
	case "":
	case client.ConfigPath(""):
		fmt.Println("  skiffctl get nodes")
	default:
		fmt.Printf("  skiffctl --kubeconfig %s get nodes\n", kubeconfig)
	}
	self := "skiff-lab"
	if exe, err := os.Executable(); err == nil {
		if p, err := exec.LookPath("skiff-lab"); err != nil || p != exe {
			self = exe
		}
	}
	self += " --prefix " + g.prefix
	if g.state != "" {
		self += " --state " + g.state
	}
	fmt.Printf("  %s exec %s -- skiffctl get nodes\n", self, l.Hosts()[len(l.Hosts())-1].Name)
	fmt.Printf("  %s status\n", self)
	if foreground {
		fmt.Println("Ctrl-C stops it and removes everything it made.")
	} else {
		fmt.Printf("  %s down\n", self)
	}
}

// loadLab loads the lab recorded in the state directory.
func loadLab(g *globals) (*lab.Lab, error) {
	lg, err := g.logger()
	if err != nil {
		return nil, err
	}
	return lab.Load(g.stateDir(), lg)
}

func downCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop the lab's daemons and remove its namespaces, links, mounts and state",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			l, err := loadLab(g)
			if err != nil {
				lg, lerr := g.logger()
				if lerr != nil {
					return lerr
				}
				// No record (a crashed up): remove what carries the prefix.
				return lab.Cleanup(g.prefix, g.stateDir(), lg)
			}
			return l.Down()
		},
	}
}

func execCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "exec HOST -- COMMAND [ARGS...]",
		Short: "Run a command on a lab host (inside its namespaces, with skiffctl configured)",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loadLab(g)
			if err != nil {
				return err
			}
			c, err := l.Command(cmd.Context(), args[0], args[1:]...)
			if err != nil {
				return err
			}
			c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
			return c.Run()
		},
	}
}

func statusCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Print the lab's hosts, addresses, daemons and their health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadLab(g)
			if err != nil {
				return err
			}
			fmt.Print(l.Status(cmd.Context()))
			return nil
		},
	}
}

func logsCommand(g *globals) *cobra.Command {
	var follow bool
	c := &cobra.Command{
		Use:   "logs",
		Short: "Print every daemon's log, each headed (or, with -f, each line prefixed) by host/daemon",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			l, err := loadLab(g)
			if err != nil {
				return err
			}
			if !follow {
				fmt.Print(l.Logs())
				return nil
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			l.Follow(ctx, os.Stdout)
			return nil
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing as the logs grow, each line prefixed with host/daemon, until Ctrl-C")
	return c
}

// chownToSudoUser gives the config file written under `sudo make up`
// (and its folder, when skiff-lab made it) to the user who ran sudo, when
// it lies in that user's home, so that their skiffctl reads it.
func chownToSudoUser(path string) error {
	uid, gid := os.Getenv("SUDO_UID"), os.Getenv("SUDO_GID")
	home := os.Getenv("SKIFF_SUDO_HOME")
	if uid == "" || gid == "" || home == "" || os.Geteuid() != 0 {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(home, abs)
	if err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) > 2 && rel[:3] == "../" {
		return nil
	}
	var u, g int
	if _, err := fmt.Sscan(uid, &u); err != nil {
		return fmt.Errorf("SUDO_UID %q: %w", uid, err)
	}
	if _, err := fmt.Sscan(gid, &g); err != nil {
		return fmt.Errorf("SUDO_GID %q: %w", gid, err)
	}
	for p := abs; p != home && len(p) > len(home); p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid == 0 {
				if err := os.Chown(p, u, g); err != nil {
					return fmt.Errorf("give %s to the sudo user: %w", p, err)
				}
			}
		}
	}
	return nil
}
