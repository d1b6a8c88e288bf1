package app

import (
	"testing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

func newFlagSet(t *testing.T, args []string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	addFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func loadFrom(fs *pflag.FlagSet) (Config, error) {
	v := viper.New()
	if err := v.BindPFlags(fs); err != nil {
		return Config{}, err
	}
	return load(v, "")
}
