package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
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
	cfg := &cobra.Command{Use: "config SUBCOMMAND", Short: "Modify the config file (~/.skiff/config)"}
	load := func() (*client.File, error) { return client.LoadOrNewConfigFile(client.ConfigPath(c.opts.Kubeconfig)) }
	view := &cobra.Command{
		Use: "view", Short: "Display the config file", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			f, err := load()
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
			f, err := load()
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

func (c *cli) describeCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "describe TYPE NAME | TYPE/NAME",
		Short:             "Show details of a resource and its recent events",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeResources,
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := parseTargets(args)
			if err != nil {
				return err
			}
			d, err := c.dyn()
			if err != nil {
				return err
			}
			first := true
			for _, t := range ts {
				ns := c.namespace()
				if !t.r.Namespaced {
					ns = ""
				}
				var objs []object
				if len(t.names) == 0 {
					if objs, _, err = d.List(cmd.Context(), t.r, &metav1.ListOptions{Namespace: ns}); err != nil {
						return err
					}
				}
				for _, n := range t.names {
					o, err := d.Get(cmd.Context(), t.r, ns, n)
					if err != nil {
						return err
					}
					objs = append(objs, o)
				}
				for _, o := range objs {
					if !first {
						fmt.Fprintln(c.out)
					}
					first = false
					if err := c.describe(cmd.Context(), d, t.r, o); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}

func (c *cli) describe(ctx context.Context, d dynamic, r *resource, o object) error {
	m := o.GetMetadata()
	t := newTable(c.out)
	kv := func(k, v string) { t.row(k+":", v) }
	kv("Name", m.GetName())
	if r.Namespaced {
		kv("Namespace", m.GetNamespace())
	}
	kv("Labels", mapLines(m.GetLabels()))
	kv("Annotations", mapLines(m.GetAnnotations()))
	if ts := m.GetCreationTimestamp(); ts != nil {
		kv("CreationTimestamp", ts.AsTime().Format(time.RFC1123Z))
	}
	switch x := o.(type) {
	case *corev1.Pod:
		kv("Node", orNone(x.GetSpec().GetNodeName()))
		kv("Status", podStatus(x))
		kv("IP", x.GetStatus().GetPodIp())
		for _, ct := range x.GetSpec().GetContainers() {
			kv("Container "+ct.GetName(), "image "+ct.GetImage())
		}
	case *appsv1.Deployment:
		kv("Selector", selectorString(x.GetSpec().GetSelector().GetMatchLabels()))
		s := x.GetStatus()
		kv("Replicas", fmt.Sprintf("%d desired | %d updated | %d total | %d available | %d unavailable",
			specReplicas(x.GetSpec().Replicas), s.GetUpdatedReplicas(), s.GetReplicas(), s.GetAvailableReplicas(), s.GetUnavailableReplicas()))
		names, images := containerColumns(x.GetSpec().GetTemplate().GetSpec())
		kv("Containers", names)
		kv("Images", images)
	case *corev1.Service:
		s := x.GetSpec()
		kv("Selector", selectorString(s.GetSelector()))
		kv("Type", s.GetType())
		kv("IP", orNone(s.GetClusterIp()))
		for _, p := range s.GetPorts() {
			kv("Port", fmt.Sprintf("%s %d/%s", orNone(p.GetName()), p.GetPort(), p.GetProtocol()))
			kv("TargetPort", p.GetTargetPort())
			if p.GetNodePort() != 0 {
				kv("NodePort", fmt.Sprintf("%s %d/%s", orNone(p.GetName()), p.GetNodePort(), p.GetProtocol()))
			}
		}
	case *corev1.Node:
		kv("Roles", nodeRoles(x))
		kv("Unschedulable", fmt.Sprint(x.GetSpec().GetUnschedulable()))
		kv("Status", nodeStatus(x))
	default:
		t.flush()
		js, err := toYAML(o)
		if err != nil {
			return err
		}
		var all map[string]any
		if err := yaml.Unmarshal(js, &all); err != nil {
			return err
		}
		for _, k := range []string{"apiVersion", "kind", "metadata"} {
			delete(all, k)
		}
		if len(all) > 0 {
			b, _ := yaml.Marshal(all)
			c.out.Write(b)
		}
		t = newTable(c.out)
	}
	t.flush()
	evs, _, err := d.List(ctx, resourceMust("events"), &metav1.ListOptions{Namespace: m.GetNamespace(),
		FieldSelector: fmt.Sprintf("involvedObject.name=%s,involvedObject.namespace=%s,involvedObject.uid=%s", m.GetName(), m.GetNamespace(), m.GetUid())})
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		fmt.Fprintln(c.out, "Events:            <none>")
		return nil
	}
	fmt.Fprintln(c.out, "Events:")
	et := newTable(c.out)
	et.row("  Type", "Reason", "Age", "From", "Message")
	et.row("  ----", "------", "----", "----", "-------")
	now := c.now()
	for _, e := range evs {
		ev := e.(*corev1.Event)
		last := ev.GetLastTimestamp()
		if last == nil {
			last = ev.GetMetadata().GetCreationTimestamp()
		}
		et.row("  "+ev.GetType(), ev.GetReason(), translateAge(last, now), ev.GetSource().GetComponent(), ev.GetMessage())
	}
	et.flush()
	return nil
}

func mapLines(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	return strings.ReplaceAll(selectorString(m), ",", "\n\t")
}

func (c *cli) rolloutCommand() *cobra.Command {
	ro := &cobra.Command{Use: "rollout SUBCOMMAND", Short: "Manage the rollout of a deployment"}
	var timeout time.Duration
	status := &cobra.Command{
		Use: "status deployment/NAME", Short: "Watch the rollout status of a deployment", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, name, err := oneTarget(args)
			if err != nil {
				return err
			}
			if r.Kind != "Deployment" {
				return fmt.Errorf("rollout status of a %s is not supported", r.Kind)
			}
			d, err := c.dyn()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			last := ""
			for {
				o, err := d.Get(ctx, r, c.namespace(), name)
				if err != nil {
					if ctx.Err() != nil {
						return errors.New("timed out waiting for the condition")
					}
					return err
				}
				dep := o.(*appsv1.Deployment)
				msg, done := rolloutMessage(dep)
				if msg != last {
					fmt.Fprintln(c.out, msg)
					last = msg
				}
				if done {
					return nil
				}
				select {
				case <-ctx.Done():
					return errors.New("timed out waiting for the condition")
				case <-time.After(500 * time.Millisecond):
				}
			}
		},
	}
	status.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait (0: forever)")
	restart := &cobra.Command{
		Use: "restart deployment/NAME", Short: "Restart the pods of a deployment", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, name, err := oneTarget(args)
			if err != nil {
				return err
			}
			_, err = c.mutate(cmd.Context(), r, c.namespace(), name, func(o object) (bool, error) {
				dep, ok := o.(*appsv1.Deployment)
				if !ok {
					return false, fmt.Errorf("restart of a %s is not supported", r.Kind)
				}
				tm := meta(tmplOf(dep))
				if tm.Annotations == nil {
					tm.Annotations = map[string]string{}
				}
				tm.Annotations["kubectl.kubernetes.io/restartedAt"] = c.now().Format(time.RFC3339)
				return true, nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%s/%s restarted\n", r.Qualified(), name)
			return nil
		},
	}
	ro.AddCommand(status, restart)
	return ro
}

func tmplOf(d *appsv1.Deployment) *corev1.PodTemplateSpec {
	if d.Spec == nil {
		d.Spec = &appsv1.DeploymentSpec{}
	}
	if d.Spec.Template == nil {
		d.Spec.Template = &corev1.PodTemplateSpec{}
	}
	return d.Spec.Template
}

// rolloutMessage is kubectl's rollout status line and whether it is done.
func rolloutMessage(d *appsv1.Deployment) (string, bool) {
	s := d.GetStatus()
	name := d.GetMetadata().GetName()
	want := specReplicas(d.GetSpec().Replicas)
	switch {
	case int64(s.GetObservedGeneration()) < int64(d.GetMetadata().GetGeneration()):
		return "Waiting for deployment spec update to be observed...", false
	case s.GetUpdatedReplicas() < want:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...", name, s.GetUpdatedReplicas(), want), false
	case s.GetReplicas() > s.GetUpdatedReplicas():
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...", name, s.GetReplicas()-s.GetUpdatedReplicas()), false
	case s.GetAvailableReplicas() < s.GetUpdatedReplicas():
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...", name, s.GetAvailableReplicas(), s.GetUpdatedReplicas()), false
	}
	return fmt.Sprintf("deployment %q successfully rolled out", name), true
}
