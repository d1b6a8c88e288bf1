package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"skiff.dev/proto/client"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// restGet GETs path from the first apiserver that answers, over the REST
// API (discovery and /version have no gRPC form), with the same
// credentials as every other call.
func (c *cli) restGet(ctx context.Context, path string) ([]byte, error) {
	cs, err := c.client()
	if err != nil {
		return nil, err
	}
	return cs.RESTGet(ctx, path)
}

func (c *cli) apiResourcesCommand() *cobra.Command {
	var noHeaders, namespaced bool
	var apiGroup, output string
	cmd := &cobra.Command{
		Use:   "api-resources",
		Short: "Print the supported API resources on the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type apiResource struct {
				Name       string   `json:"name"`
				ShortNames []string `json:"shortNames"`
				Namespaced bool     `json:"namespaced"`
				Kind       string   `json:"kind"`
			}
			type resourceList struct {
				GroupVersion string        `json:"groupVersion"`
				Resources    []apiResource `json:"resources"`
			}
			gvs := []string{"/api/v1"}
			b, err := c.restGet(cmd.Context(), "/apis")
			if err != nil {
				return err
			}
			var groups struct {
				Groups []struct {
					PreferredVersion struct {
						GroupVersion string `json:"groupVersion"`
					} `json:"preferredVersion"`
				} `json:"groups"`
			}
			if err := json.Unmarshal(b, &groups); err != nil {
				return fmt.Errorf("decode /apis: %w", err)
			}
			for _, g := range groups.Groups {
				gvs = append(gvs, "/apis/"+g.PreferredVersion.GroupVersion)
			}
			if output != "" && output != "name" {
				return fmt.Errorf("--output %q is not available in api-resources, allowed formats are: name", output)
			}
			t := newTable(c.out)
			if !noHeaders && output == "" {
				t.row("NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND")
			}
			for _, p := range gvs {
				b, err := c.restGet(cmd.Context(), p)
				if err != nil {
					return err
				}
				var rl resourceList
				if err := json.Unmarshal(b, &rl); err != nil {
					return fmt.Errorf("decode %s: %w", p, err)
				}
				gv := rl.GroupVersion
				if gv == "" {
					gv = strings.TrimPrefix(strings.TrimPrefix(p, "/apis/"), "/api/")
				}
				sort.Slice(rl.Resources, func(i, j int) bool { return rl.Resources[i].Name < rl.Resources[j].Name })
				group, _, _ := strings.Cut(gv, "/")
				if !strings.Contains(gv, "/") {
					group = ""
				}
				if cmd.Flags().Changed("api-group") && group != apiGroup {
					continue
				}
				for _, r := range rl.Resources {
					if strings.Contains(r.Name, "/") || (cmd.Flags().Changed("namespaced") && r.Namespaced != namespaced) {
						continue
					}
					if output == "name" {
						name := r.Name
						if group != "" {
							name += "." + group
						}
						fmt.Fprintln(c.out, name)
						continue
					}
					t.row(r.Name, strings.Join(r.ShortNames, ","), gv, fmt.Sprint(r.Namespaced), r.Kind)
				}
			}
			t.flush()
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&noHeaders, "no-headers", false, "print no header line")
	f.StringVar(&apiGroup, "api-group", "", "only the resources of this API group (\"\" for core)")
	f.BoolVar(&namespaced, "namespaced", true, "with --namespaced=false only cluster-scoped resources, with true only namespaced ones")
	f.StringVarP(&output, "output", "o", "", "name: print resource.group names only")
	return cmd
}

func completionCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:       "completion bash|zsh",
		Short:     "Output shell completion code for bash or zsh",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh"},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(cmd.OutOrStdout(), true)
			case "zsh":
				return root.GenZshCompletion(cmd.OutOrStdout())
			}
			return fmt.Errorf("unsupported shell type %q", args[0])
		},
	}
}

func (c *cli) configCommand() *cobra.Command {
	cfg := &cobra.Command{Use: "config SUBCOMMAND", Short: "Modify the config file (~/.skiff/config)",
		Long: "Modify the config file: --kubeconfig, else $SKIFF_CONFIG, else ~/.skiff/config. view and current-context " +
			"show the file the other commands read, which is $KUBECONFIG's or ~/.kube/config when there is no ~/.skiff/config; " +
			"the set-* and use-context commands write skiffctl's own file, never kubectl's."}
	load := func() (*client.File, error) { return client.LoadOrNewConfigFile(client.ConfigPath(c.opts.Kubeconfig)) }
	// Reads show the file the other commands use ($KUBECONFIG or
	// ~/.kube/config when there is no ~/.skiff/config); writes go to
	// skiffctl's own file, never to kubectl's.
	read := func() (*client.File, error) {
		if c.findConfig() != nil {
			return load()
		}
		return client.LoadConfigFile(client.ConfigPath(c.opts.Kubeconfig))
	}
	view := &cobra.Command{
		Use: "view", Short: "Display the config file", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			f, err := read()
			if err != nil {
				return err
			}
			for i := range f.Users { // as kubectl: secrets redacted
				u := &f.Users[i].User
				if u.Token != "" {
					u.Token = "REDACTED"
				}
				if len(u.ClientKeyData) > 0 {
					u.ClientKeyData = []byte("REDACTED")
				}
			}
			b, err := yaml.Marshal(f)
			if err != nil {
				return err
			}
			_, err = c.out.Write(b)
			return err
		},
	}
	save := func(f *client.File, msg string) error {
		if err := f.Save(""); err != nil {
			return err
		}
		fmt.Fprintln(c.out, msg)
		return nil
	}
	use := &cobra.Command{
		Use: "use-context NAME", Short: "Set the current-context", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			f, err := load()
			if err != nil {
				return err
			}
			if err := f.UseContext(args[0]); err != nil {
				return fmt.Errorf("no context exists with the name: %q", args[0])
			}
			return save(f, fmt.Sprintf("Switched to context %q.", args[0]))
		},
	}
	current := &cobra.Command{
		Use: "current-context", Short: "Display the current-context", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			f, err := read()
			if err != nil {
				return err
			}
			if f.CurrentContext == "" {
				return errors.New("current-context is not set")
			}
			fmt.Fprintln(c.out, f.CurrentContext)
			return nil
		},
	}
	var u client.User
	creds := &cobra.Command{
		Use: "set-credentials NAME [--token=T] [--client-certificate=F --client-key=F]", Short: "Set a user entry", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := load()
			if err != nil {
				return err
			}
			old, _ := f.User(args[0])
			merge(cmd, "token", &old.Token, u.Token)
			merge(cmd, "client-certificate", &old.ClientCertificate, u.ClientCertificate)
			merge(cmd, "client-key", &old.ClientKey, u.ClientKey)
			f.SetCredentials(args[0], old)
			return save(f, fmt.Sprintf("User %q set.", args[0]))
		},
	}
	// The root's persistent --token, --client-certificate... would shadow
	// these; local flags of the same names win in cobra.
	creds.Flags().StringVar(&u.Token, "token", "", "bearer token")
	creds.Flags().StringVar(&u.ClientCertificate, "client-certificate", "", "client certificate file")
	creds.Flags().StringVar(&u.ClientKey, "client-key", "", "client key file")

	var cl client.Cluster
	cluster := &cobra.Command{
		Use: "set-cluster NAME --server=URL[,URL...] [--certificate-authority=F]", Short: "Set a cluster entry", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := load()
			if err != nil {
				return err
			}
			old, _ := f.Cluster(args[0])
			merge(cmd, "server", &old.Server, cl.Server)
			merge(cmd, "certificate-authority", &old.CertificateAuthority, cl.CertificateAuthority)
			if cmd.Flags().Changed("insecure-skip-tls-verify") {
				old.InsecureSkipTLSVerify = cl.InsecureSkipTLSVerify
			}
			f.SetCluster(args[0], old)
			return save(f, fmt.Sprintf("Cluster %q set.", args[0]))
		},
	}
	cluster.Flags().StringVar(&cl.Server, "server", "", "apiserver URL(s), comma-separated")
	cluster.Flags().StringVar(&cl.CertificateAuthority, "certificate-authority", "", "CA file")
	cluster.Flags().BoolVar(&cl.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "do not verify the server's certificate")

	var cx client.Context
	var setCurrent bool
	context := &cobra.Command{
		Use: "set-context [NAME | --current] [--cluster=C] [--user=U] [--namespace=N]", Short: "Set a context entry", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := load()
			if err != nil {
				return err
			}
			name := f.CurrentContext
			if len(args) == 1 {
				name = args[0]
			} else if !setCurrent || name == "" {
				return errors.New("you must specify a context name or --current")
			}
			old, _ := f.Context(name)
			merge(cmd, "cluster", &old.Cluster, cx.Cluster)
			merge(cmd, "user", &old.User, cx.User)
			merge(cmd, "namespace", &old.Namespace, cx.Namespace)
			f.SetContext(name, old)
			return save(f, fmt.Sprintf("Context %q modified.", name))
		},
	}
	context.Flags().StringVar(&cx.Cluster, "cluster", "", "cluster entry")
	context.Flags().StringVar(&cx.User, "user", "", "user entry")
	context.Flags().StringVar(&cx.Namespace, "namespace", "", "default namespace")
	context.Flags().BoolVar(&setCurrent, "current", false, "modify the current context")
	cfg.AddCommand(view, use, current, creds, cluster, context)
	return cfg
}

// merge sets *dst to v when the flag was given.
func merge(cmd *cobra.Command, flag string, dst *string, v string) {
	if cmd.Flags().Changed(flag) {
		*dst = v
	}
}
