package component

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

type testConfig struct {
	Port  int    `mapstructure:"secure-port"`
	Level string `mapstructure:"log-level"`
	Name  string `mapstructure:"node-name"`
}

// TestLoadConfigPrecedence: flag > SKIFF_ env > config file > default.
func TestLoadConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("secure-port: 1\nlog-level: debug\nnode-name: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SKIFF_LOG_LEVEL", "warn")
	t.Setenv("SKIFF_NODE_NAME", "from-env")
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.Int("secure-port", 0, "")
	fs.String("log-level", "", "")
	fs.String("node-name", "", "")
	if err := fs.Parse([]string{"--node-name", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	v := viper.New()
	if err := v.BindPFlags(fs); err != nil {
		t.Fatal(err)
	}
	var cfg testConfig
	defaults := map[string]any{"secure-port": 6443, "log-level": "info", "node-name": "default"}
	if err := LoadConfig(v, file, defaults, &cfg); err != nil {
		t.Fatal(err)
	}
	want := testConfig{Port: 1, Level: "warn", Name: "from-flag"}
	if cfg != want {
		t.Fatalf("config = %+v, want %+v (file < env < flag)", cfg, want)
	}

	var d testConfig
	if err := LoadConfig(viper.New(), "", defaults, &d); err != nil || d.Port != 6443 {
		t.Fatalf("defaults: %+v %v", d, err)
	}
	if err := LoadConfig(viper.New(), filepath.Join(t.TempDir(), "missing.yaml"), defaults, &d); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("missing config file: got %v, want an error naming --config", err)
	}
}

func TestNewLogger(t *testing.T) {
	for _, f := range []string{"json", "console"} {
		if _, err := NewLogger(f, "info"); err != nil {
			t.Errorf("NewLogger(%q): %v", f, err)
		}
	}
	if _, err := NewLogger("xml", "info"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("bad format: %v", err)
	}
	if _, err := NewLogger("json", "loud"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("bad level: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	var b strings.Builder
	if got := ExitCode(&b, nil); got != 0 || b.Len() != 0 {
		t.Errorf("ExitCode(nil) = %d, printed %q", got, b.String())
	}
	if got := ExitCode(&b, errors.New("--sync-period: must be greater than zero, got 0s")); got != 1 ||
		b.String() != "Error: --sync-period: must be greater than zero, got 0s\n" {
		t.Errorf("ExitCode(err) = %d, printed %q", got, b.String())
	}
}
