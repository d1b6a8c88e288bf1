package component

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
)

type daemonConfig struct {
	Port      int    `mapstructure:"port"`
	Name      string `mapstructure:"node-name"`
	Zone      string `mapstructure:"zone"`
	LogFormat string `mapstructure:"log-format"`
	LogLevel  string `mapstructure:"log-level"`
}

func (c *daemonConfig) Validate() error {
	if c.Port < 0 {
		return fmt.Errorf("--port: must be >= 0, got %d", c.Port)
	}
	c.Name = strings.TrimSpace(c.Name) // Validate may normalise
	return nil
}

func (c *daemonConfig) Logging() (format, level string) { return c.LogFormat, c.LogLevel }

// testDaemon records the configuration and logger its Run got.
func testDaemon(got *daemonConfig, ran *bool) Daemon[daemonConfig, *daemonConfig] {
	return Daemon[daemonConfig, *daemonConfig]{
		Name:  "test",
		Short: "a test daemon",
		AddFlags: func(fs *pflag.FlagSet) {
			fs.Int("port", 1, "port")
			fs.String("node-name", "default", "node name")
			fs.String("zone", "default", "zone")
			fs.String("log-format", "console", "json or console")
			fs.String("log-level", "info", "level")
		},
		Defaults: func() map[string]any {
			return map[string]any{"port": 1, "node-name": "default", "zone": "default", "log-format": "console", "log-level": "info"}
		},
		Run: func(ctx context.Context, lg *zap.Logger, cfg daemonConfig) error {
			*ran = true
			*got = cfg
			if lg == nil || ctx.Err() != nil {
				return errors.New("no logger or an ended context")
			}
			return nil
		},
	}
}

// TestDaemonCommand: the command's configuration has the precedence
// flag > SKIFF_ env > config file > default, and is validated before Run.
func TestDaemonCommand(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("port: 2\nnode-name: from-file\nzone: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		want    daemonConfig
		wantErr string
	}{
		{name: "defaults", want: daemonConfig{1, "default", "default", "console", "info"}},
		{name: "file over default", args: []string{"--config", file},
			want: daemonConfig{2, "from-file", "from-file", "console", "info"}},
		{name: "env over file", args: []string{"--config", file}, env: map[string]string{"SKIFF_NODE_NAME": "from-env", "SKIFF_LOG_LEVEL": "debug"},
			want: daemonConfig{2, "from-env", "from-file", "console", "debug"}},
		{name: "flag over env", args: []string{"--config", file, "--node-name", " from-flag "}, env: map[string]string{"SKIFF_NODE_NAME": "from-env"},
			want: daemonConfig{2, "from-flag", "from-file", "console", "info"}},
		{name: "invalid", args: []string{"--port=-1"}, wantErr: "--port: must be >= 0, got -1"},
		{name: "bad log format", args: []string{"--log-format=xml"}, wantErr: "--log-format"},
		{name: "missing config file", args: []string{"--config", file + ".missing"}, wantErr: "--config " + file + ".missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var got daemonConfig
			var ran bool
			cmd := testDaemon(&got, &ran).Command()
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if ran {
					t.Fatal("Run ran with an invalid configuration")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !ran || got != tc.want {
				t.Fatalf("Run got %+v (ran %v), want %+v", got, ran, tc.want)
			}
		})
	}
}

func TestDaemonLoadArgs(t *testing.T) {
	var got daemonConfig
	var ran bool
	d := testDaemon(&got, &ran)
	t.Setenv("SKIFF_ZONE", "from-env")
	cfg, err := d.LoadArgs([]string{"--port", "7"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (daemonConfig{7, "default", "from-env", "console", "info"}); cfg != want {
		t.Fatalf("LoadArgs = %+v, want %+v", cfg, want)
	}
	if _, err := d.LoadArgs([]string{"--port", "-3"}); err == nil || !strings.Contains(err.Error(), "--port") {
		t.Fatalf("LoadArgs(--port -3) = %v, want a --port error", err)
	}
	if _, err := d.LoadArgs([]string{"--nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("LoadArgs(--nope) = %v, want an unknown flag error", err)
	}
	if ran {
		t.Fatal("LoadArgs ran the daemon")
	}
}

func TestDaemonVersionAndHelp(t *testing.T) {
	var got daemonConfig
	var ran bool
	cmd := testDaemon(&got, &ran).Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--version"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if want := "skiff-test " + Version + "\n"; out.String() != want || ran {
		t.Fatalf("--version printed %q (ran %v), want %q", out.String(), ran, want)
	}
	cmd = testDaemon(&got, &ran).Command()
	out.Reset()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"skiff-test", "--config string", "YAML config file; keys are flag names", "--node-name string", "--version"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
	if ran {
		t.Fatal("--help ran the daemon")
	}
}

func TestDaemonMain(t *testing.T) {
	var got daemonConfig
	var ran bool
	d := testDaemon(&got, &ran)
	if code := d.Main([]string{"--port=3"}); code != 0 || !ran || got.Port != 3 {
		t.Fatalf("Main = %d, ran %v, port %d", code, ran, got.Port)
	}
	if code := d.Main([]string{"--port=-1"}); code != 1 {
		t.Fatalf("Main(invalid) = %d, want 1", code)
	}
	d.Run = func(context.Context, *zap.Logger, daemonConfig) error { return errors.New("boom") }
	if code := d.Main(nil); code != 1 {
		t.Fatalf("Main(failing Run) = %d, want 1", code)
	}
}
