package app

import "github.com/spf13/cobra"

// Version is skiffctl's version, set at link time.
var Version = "v0.1.0"

func (c *cli) createCommand() *cobra.Command        { return &cobra.Command{Use: "create"} }
func (c *cli) describeCommand() *cobra.Command      { return &cobra.Command{Use: "describe"} }
func (c *cli) exposeCommand() *cobra.Command        { return &cobra.Command{Use: "expose"} }
func (c *cli) scaleCommand() *cobra.Command         { return &cobra.Command{Use: "scale"} }
func (c *cli) labelCommand(n string) *cobra.Command { return &cobra.Command{Use: n} }
func (c *cli) cordonCommand(n string, _ bool) *cobra.Command {
	return &cobra.Command{Use: n}
}
func (c *cli) setCommand() *cobra.Command          { return &cobra.Command{Use: "set"} }
func (c *cli) logsCommand() *cobra.Command         { return &cobra.Command{Use: "logs"} }
func (c *cli) versionCommand() *cobra.Command      { return &cobra.Command{Use: "version"} }
func (c *cli) apiResourcesCommand() *cobra.Command { return &cobra.Command{Use: "api-resources"} }
func (c *cli) configCommand() *cobra.Command       { return &cobra.Command{Use: "config"} }
func (c *cli) rolloutCommand() *cobra.Command      { return &cobra.Command{Use: "rollout"} }
func completionCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{Use: "completion"}
}
func completeResources(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return resourceNames(), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
