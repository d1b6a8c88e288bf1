// Package component is what every Skiff daemon shares at start, as
// Kubernetes' component-base: configuration with the precedence
// flag > SKIFF_ environment > config file > default, and the process logger.
package component

import (
	"fmt"
	"strings"

	"github.com/spf13/viper"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LoadConfig fills out (a struct with mapstructure tags named as the flags)
// from v, whose flags are already bound: defaults, then the config file,
// then SKIFF_<FLAG> environment variables, then flags.
func LoadConfig(v *viper.Viper, configFile string, defaults map[string]any, out any) error {
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	v.SetEnvPrefix("SKIFF")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if configFile != "" {
		v.SetConfigFile(configFile)
		if err := v.ReadInConfig(); err != nil {
			return fmt.Errorf("--config %s: %w", configFile, err)
		}
	}
	if err := v.Unmarshal(out); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}

// NewLogger builds the process logger: JSON ("json") in production,
// human-readable ("console") for development, at level debug|info|warn|error.
func NewLogger(format, level string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	var cfg zap.Config
	switch format {
	case "json":
		cfg = zap.NewProductionConfig()
	case "console":
		cfg = zap.NewDevelopmentConfig()
	default:
		return nil, fmt.Errorf("--log-format: want json or console, got %q", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	return cfg.Build()
}
