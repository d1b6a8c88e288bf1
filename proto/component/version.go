package component

import "github.com/spf13/cobra"

// Version is the release of the binaries, set when building with
// -ldflags "-X skiff.dev/proto/component.Version=$(git describe)"
// (the Makefile does).
var Version = "v0.1.0-dev"

// SetVersion gives cmd a --version flag printing "<name> <Version>".
func SetVersion(cmd *cobra.Command) {
	cmd.Version = Version
	cmd.SetVersionTemplate("{{.Name}} {{.Version}}\n")
}
