package component

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.uber.org/zap"
)

// Config is what Daemon needs of a daemon's configuration.
type Config interface {
	// Validate reports every problem of the configuration.
	Validate() error
	// Logging is the --log-format and --log-level.
	Logging() (format, level string)
}

// Daemon is the command skeleton every Skiff daemon shares: a cobra command
// "skiff-<Name>" whose flags (plus --config and --version) are bound to
// viper with the precedence flag > SKIFF_ env > config file > default; it
// loads and validates the configuration, builds the logger, and runs the
// daemon until the first SIGINT or SIGTERM (a second one exits at once).
//
// C is the configuration struct (mapstructure keys named as the flags); PC
// is *C, which implements Config (so Validate may have a pointer receiver
// and normalise the configuration it checks).
type Daemon[C any, PC interface {
	*C
	Config
}] struct {
	// Name is the component ("scheduler"): the command is skiff-<Name>,
	// the logger is named <Name>.
	Name        string
	Short, Long string
	// AddFlags defines every configuration flag on fs, with its default.
	AddFlags func(fs *pflag.FlagSet)
	// Defaults is every configuration key's default.
	Defaults func() map[string]any
	// Run runs the daemon until ctx ends.
	Run func(ctx context.Context, lg *zap.Logger, cfg C) error
}

// Main runs the command with args and returns the process exit code,
// printing "Error: …" to stderr on failure.
func (d Daemon[C, PC]) Main(args []string) int {
	cmd := d.Command()
	cmd.SetArgs(args)
	return ExitCode(os.Stderr, cmd.Execute())
}

// Command is the daemon's cobra command.
func (d Daemon[C, PC]) Command() *cobra.Command {
	v := viper.New()
	var configFile string
	cmd := &cobra.Command{
		Use:           "skiff-" + d.Name,
		Short:         d.Short,
		Long:          d.Long,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := d.Load(v, configFile)
			if err != nil {
				return err
			}
			lg, err := NewLogger(PC(&cfg).Logging())
			if err != nil {
				return err
			}
			defer func() { _ = lg.Sync() }()
			ctx, stop := SignalContext(context.Background())
			defer stop()
			return d.Run(ctx, lg.Named(d.Name), cfg)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&configFile, "config", "", "YAML config file; keys are flag names")
	d.AddFlags(fs)
	_ = v.BindPFlags(fs)
	SetVersion(cmd)
	return cmd
}

// Load merges the defaults, configFile, the SKIFF_ environment and the
// flags bound to v, then validates the result.
func (d Daemon[C, PC]) Load(v *viper.Viper, configFile string) (C, error) {
	var cfg, zero C
	if err := LoadConfig(v, configFile, d.Defaults(), &cfg); err != nil {
		return zero, err
	}
	if err := PC(&cfg).Validate(); err != nil {
		return zero, err
	}
	return cfg, nil
}

// LoadArgs is the configuration the command would run with for args
// (flags, no --config), the SKIFF_ environment and the defaults, validated.
func (d Daemon[C, PC]) LoadArgs(args []string) (C, error) {
	var zero C
	fs := pflag.NewFlagSet("skiff-"+d.Name, pflag.ContinueOnError)
	d.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return zero, err
	}
	v := viper.New()
	if err := v.BindPFlags(fs); err != nil {
		return zero, err
	}
	return d.Load(v, "")
}
