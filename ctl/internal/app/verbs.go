package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	"skiff.dev/proto/component"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// Version is skiffctl's version, set at link time with -X.
var Version = component.Version

// completeResources completes the first argument with resource types.
func completeResources(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return resourceNames(), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// mutate reads the named object, lets change edit it and writes it back,
// retrying on conflicts. change returns false when nothing changed.
func (c *cli) mutate(ctx context.Context, r *resource, ns, name string, change func(object) (bool, error)) (bool, error) {
	d, err := c.dyn()
	if err != nil {
		return false, err
	}
	if !r.Namespaced {
		ns = ""
	}
	for attempt := 0; ; attempt++ {
		obj, err := d.Get(ctx, r, ns, name)
		if err != nil {
			return false, err
		}
		changed, err := change(obj)
		if err != nil || !changed {
			return false, err
		}
		if _, err := d.Update(ctx, r, obj); err != nil {
			if client.IsConflict(err) && attempt < 5 {
				continue
			}
			return false, err
		}
		return true, nil
	}
}

// oneTarget reads "TYPE NAME" or "TYPE/NAME".
func oneTarget(args []string) (*resource, string, error) {
	ts, err := parseTargets(args)
	if err != nil {
		return nil, "", err
	}
	if len(ts) != 1 || len(ts[0].names) != 1 {
		return nil, "", errors.New("expected one resource: TYPE NAME or TYPE/NAME")
	}
	return ts[0].r, ts[0].names[0], nil
}

func (c *cli) createCommand() *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "create -f FILENAME",
		Short: "Create resources from files or stdin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runApply(cmd.Context(), files, "", true)
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "files, folders or - (stdin) with the manifests")

	var image string
	var replicas int32
	var port int32
	dep := &cobra.Command{
		Use:   "deployment NAME --image=IMAGE [--replicas=N] [--port=P]",
		Short: "Create a deployment with the given name",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if image == "" {
				return errors.New("required flag(s) \"image\" not set")
			}
			name := args[0]
			labels := map[string]string{"app": name}
			ctr := &corev1.Container{Name: containerName(image), Image: image}
			if port > 0 {
				ctr.Ports = []*corev1.ContainerPort{{ContainerPort: port}}
			}
			d := &appsv1.Deployment{
				ApiVersion: "apps/v1", Kind: "Deployment",
				Metadata: &metav1.ObjectMeta{Name: name, Namespace: c.namespace(), Labels: labels},
				Spec: &appsv1.DeploymentSpec{
					Replicas: &replicas,
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: &corev1.PodTemplateSpec{
						Metadata: &metav1.ObjectMeta{Labels: labels},
						Spec:     &corev1.PodSpec{Containers: []*corev1.Container{ctr}},
					},
				},
			}
			return c.createObject(cmd.Context(), d)
		},
	}
	dep.Flags().StringVar(&image, "image", "", "the container image")
	dep.Flags().Int32Var(&replicas, "replicas", 1, "number of replicas")
	dep.Flags().Int32Var(&port, "port", 0, "the container port to expose")

	ns := &cobra.Command{
		Use:   "namespace NAME",
		Short: "Create a namespace",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.createObject(cmd.Context(), &corev1.Namespace{ApiVersion: "v1", Kind: "Namespace", Metadata: &metav1.ObjectMeta{Name: args[0]}})
		},
	}
	var literals []string
	cm := &cobra.Command{
		Use:   "configmap NAME [--from-literal=key=value]",
		Short: "Create a configmap",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data := map[string]string{}
			for _, l := range literals {
				k, v, ok := strings.Cut(l, "=")
				if !ok {
					return fmt.Errorf("invalid literal source %q, expected key=value", l)
				}
				data[k] = v
			}
			return c.createObject(cmd.Context(), &corev1.ConfigMap{ApiVersion: "v1", Kind: "ConfigMap",
				Metadata: &metav1.ObjectMeta{Name: args[0], Namespace: c.namespace()}, Data: data})
		},
	}
	cm.Flags().StringArrayVar(&literals, "from-literal", nil, "key=value to put in the configmap")
	cmd.AddCommand(dep, ns, cm)
	return cmd
}

// containerName is kubectl's name for a container of image: its last path
// element without tag.
func containerName(image string) string {
	n := image[strings.LastIndex(image, "/")+1:]
	if i := strings.IndexAny(n, ":@"); i >= 0 {
		n = n[:i]
	}
	return n
}

func (c *cli) createObject(ctx context.Context, obj object) error {
	d, err := c.dyn()
	if err != nil {
		return err
	}
	r, err := resourceForKind(apiVersionOf(obj), kindOf(obj))
	if err != nil {
		return err
	}
	if _, err := d.Create(ctx, r, obj); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s/%s created\n", r.Qualified(), obj.GetMetadata().GetName())
	return nil
}

func apiVersionOf(o object) string {
	return o.ProtoReflect().Get(o.ProtoReflect().Descriptor().Fields().ByName("api_version")).String()
}

func kindOf(o object) string {
	return o.ProtoReflect().Get(o.ProtoReflect().Descriptor().Fields().ByName("kind")).String()
}

func (c *cli) exposeCommand() *cobra.Command {
	var port int32
	var targetPort, typ, name, protocol string
	var nodePort int32
	cmd := &cobra.Command{
		Use:   "expose deployment NAME --port=PORT [--target-port=P] [--type=NodePort]",
		Short: "Expose a deployment as a new service",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, objName, err := oneTarget(args)
			if err != nil {
				return err
			}
			d, err := c.dyn()
			if err != nil {
				return err
			}
			obj, err := d.Get(cmd.Context(), r, c.namespace(), objName)
			if err != nil {
				return err
			}
			var selector map[string]string
			switch x := obj.(type) {
			case *appsv1.Deployment:
				selector = x.GetSpec().GetSelector().GetMatchLabels()
			case *appsv1.ReplicaSet:
				selector = x.GetSpec().GetSelector().GetMatchLabels()
			case *corev1.Pod:
				selector = x.GetMetadata().GetLabels()
			case *corev1.Service:
				selector = x.GetSpec().GetSelector()
			default:
				return fmt.Errorf("cannot expose a %s", r.Kind)
			}
			if len(selector) == 0 {
				return fmt.Errorf("couldn't retrieve selectors via --selector flag or introspection: %s %q has no selector", r.Qualified(), objName)
			}
			if port == 0 {
				return errors.New("couldn't find port via --port flag or introspection")
			}
			if name == "" {
				name = objName
			}
			if targetPort == "" {
				targetPort = strconv.Itoa(int(port))
			}
			svc := &corev1.Service{ApiVersion: "v1", Kind: "Service",
				Metadata: &metav1.ObjectMeta{Name: name, Namespace: c.namespace(), Labels: obj.GetMetadata().GetLabels()},
				Spec: &corev1.ServiceSpec{Type: typ, Selector: selector,
					Ports: []*corev1.ServicePort{{Protocol: protocol, Port: port, TargetPort: targetPort, NodePort: nodePort}}}}
			if _, err := d.Create(cmd.Context(), resourceMust("services"), svc); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "service/%s exposed\n", name)
			return nil
		},
	}
	f := cmd.Flags()
	f.Int32Var(&port, "port", 0, "the port the service serves on")
	f.StringVar(&targetPort, "target-port", "", "the container port (number or name) to send traffic to; default --port")
	f.StringVar(&typ, "type", "", "ClusterIP (default) or NodePort")
	f.StringVar(&name, "name", "", "the service's name; default the exposed object's")
	f.StringVar(&protocol, "protocol", "TCP", "TCP or UDP")
	f.Int32Var(&nodePort, "node-port", 0, "the node port of a NodePort service; 0 lets the server pick")
	return cmd
}

func resourceMust(name string) *resource {
	r, err := lookupResource(name)
	if err != nil {
		panic(err)
	}
	return r
}

func (c *cli) scaleCommand() *cobra.Command {
	var replicas int32
	var current int32
	cmd := &cobra.Command{
		Use:   "scale (deployment|replicaset) NAME --replicas=N",
		Short: "Set a new size for a deployment or replica set",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("replicas") {
				return errors.New("required flag(s) \"replicas\" not set")
			}
			r, name, err := oneTarget(args)
			if err != nil {
				return err
			}
			cs, err := c.client()
			if err != nil {
				return err
			}
			var s client.Scaler
			switch r.Kind {
			case "Deployment":
				s = cs.AppsV1().Deployments(c.namespace()).Scaler
			case "ReplicaSet":
				s = cs.AppsV1().ReplicaSets(c.namespace()).Scaler
			default:
				return fmt.Errorf("cannot scale a %s: only deployments and replicasets have /scale", r.Kind)
			}
			sc, err := s.GetScale(cmd.Context(), name)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("current-replicas") && sc.GetSpec().GetReplicas() != current {
				return fmt.Errorf("expected replicas to be %d, was %d", current, sc.GetSpec().GetReplicas())
			}
			if sc.Spec == nil {
				sc.Spec = &appsv1.ScaleSpec{}
			}
			sc.Spec.Replicas = replicas
			if _, err := s.UpdateScale(cmd.Context(), name, sc); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%s/%s scaled\n", r.Qualified(), name)
			return nil
		},
	}
	cmd.Flags().Int32Var(&replicas, "replicas", 0, "the new number of replicas")
	cmd.Flags().Int32Var(&current, "current-replicas", -1, "precondition: the current number of replicas")
	return cmd
}

// labelCommand is label or annotate: TYPE NAME k=v k- [--overwrite].
func (c *cli) labelCommand(verb string) *cobra.Command {
	var overwrite bool
	what := "labels"
	if verb == "annotate" {
		what = "annotations"
	}
	cmd := &cobra.Command{
		Use:   verb + " TYPE NAME KEY=VALUE... [KEY-...] [--overwrite]",
		Short: "Update the " + what + " of a resource",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var objArgs, changes []string
			for _, a := range args {
				if strings.Contains(a, "=") || (strings.HasSuffix(a, "-") && len(objArgs) > 0 && !strings.Contains(a, "/")) {
					changes = append(changes, a)
				} else {
					objArgs = append(objArgs, a)
				}
			}
			if len(changes) == 0 {
				return fmt.Errorf("at least one %s update is required", strings.TrimSuffix(what, "s"))
			}
			r, name, err := oneTarget(objArgs)
			if err != nil {
				return err
			}
			changed, err := c.mutate(cmd.Context(), r, c.namespace(), name, func(o object) (bool, error) {
				m := meta(o)
				target := &m.Labels
				if verb == "annotate" {
					target = &m.Annotations
				}
				return applyKV(target, changes, overwrite, strings.TrimSuffix(what, "s"))
			})
			if err != nil {
				return err
			}
			past := map[string]string{"label": "labeled", "annotate": "annotated"}[verb]
			if !changed {
				past = "not " + past
			}
			fmt.Fprintf(c.out, "%s/%s %s\n", r.Qualified(), name, past)
			return nil
		},
	}
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "allow replacing existing values")
	return cmd
}

// applyKV applies k=v and k- changes to m.
func applyKV(m *map[string]string, changes []string, overwrite bool, what string) (bool, error) {
	if *m == nil {
		*m = map[string]string{}
	}
	changed := false
	for _, ch := range changes {
		if k, ok := strings.CutSuffix(ch, "-"); ok && !strings.Contains(ch, "=") {
			if _, ok := (*m)[k]; ok {
				delete(*m, k)
				changed = true
			}
			continue
		}
		k, v, _ := strings.Cut(ch, "=")
		if k == "" {
			return false, fmt.Errorf("invalid %s %q: empty key", what, ch)
		}
		old, exists := (*m)[k]
		if exists && old != v && !overwrite {
			return false, fmt.Errorf("'%s' already has a value (%s), and --overwrite is false", k, old)
		}
		if !exists || old != v {
			(*m)[k] = v
			changed = true
		}
	}
	return changed, nil
}

func (c *cli) cordonCommand(verb string, unschedulable bool) *cobra.Command {
	var selector, dryRun string
	cmd := &cobra.Command{
		Use:   verb + " NODE",
		Short: map[bool]string{true: "Mark node as unschedulable", false: "Mark node as schedulable"}[unschedulable],
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0 && selector == "":
				return fmt.Errorf("USAGE: %s NODE [flags]: name the node to %s", verb, verb)
			case len(args) > 0 && selector != "":
				return errors.New("cannot specify both a node name and a --selector option")
			}
			if dryRun != "none" && dryRun != "client" {
				return fmt.Errorf(`Invalid dry-run value (%s). Must be "none" or "client".`, dryRun)
			}
			d, err := c.dyn()
			if err != nil {
				return err
			}
			nodes, err := c.selectNodes(cmd.Context(), d, args, selector)
			if err != nil {
				return err
			}
			c.cordonNodes(cmd.Context(), d, nodes, unschedulable, dryRun == "client")
			return nil
		},
	}
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "Selector (label query) to filter on")
	cmd.Flags().StringVar(&dryRun, "dry-run", "none", `Must be "none" or "client". If client strategy, only print what would be done.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
	return cmd
}

func (c *cli) setCommand() *cobra.Command {
	set := &cobra.Command{Use: "set", Short: "Set specific features on objects"}
	img := &cobra.Command{
		Use:   "image (deployment|daemonset|replicaset|pod)/NAME CONTAINER=IMAGE...",
		Short: "Update the image of containers",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var objArgs []string
			images := map[string]string{}
			for _, a := range args {
				if k, v, ok := strings.Cut(a, "="); ok {
					images[k] = v
				} else {
					objArgs = append(objArgs, a)
				}
			}
			r, name, err := oneTarget(objArgs)
			if err != nil {
				return err
			}
			_, err = c.mutate(cmd.Context(), r, c.namespace(), name, func(o object) (bool, error) {
				spec := podSpecOf(o)
				if spec == nil {
					return false, fmt.Errorf("%s has no pod template", r.Kind)
				}
				changed := false
				for ctr, image := range images {
					found := false
					for _, ct := range append(spec.GetInitContainers(), spec.GetContainers()...) {
						if ct.GetName() == ctr || ctr == "*" {
							found = true
							if ct.Image != image {
								ct.Image = image
								changed = true
							}
						}
					}
					if !found {
						return false, fmt.Errorf("unable to find container named %q", ctr)
					}
				}
				return changed, nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%s/%s image updated\n", r.Qualified(), name)
			return nil
		},
	}
	set.AddCommand(img)
	return set
}

// podSpecOf returns the pod spec of a pod or the template's of a workload.
func podSpecOf(o object) *corev1.PodSpec {
	switch x := o.(type) {
	case *corev1.Pod:
		return x.GetSpec()
	case *appsv1.Deployment:
		return x.GetSpec().GetTemplate().GetSpec()
	case *appsv1.ReplicaSet:
		return x.GetSpec().GetTemplate().GetSpec()
	case *appsv1.DaemonSet:
		return x.GetSpec().GetTemplate().GetSpec()
	}
	return nil
}

func (c *cli) logsCommand() *cobra.Command {
	var container string
	var follow, previous, timestamps bool
	var tail, limitBytes int64
	cmd := &cobra.Command{
		Use:   "logs POD [-c CONTAINER] [-f] [--tail=N] [--previous] [--timestamps] [--since=DURATION] [--limit-bytes=N]",
		Short: "Print the logs of a container in a pod",
		Long: `Print the logs of a container in a pod, as the kubelet of the pod's node
keeps them. The container may be left out when the pod has only one.`,
		Example: `  skiffctl logs web-0
  skiffctl logs web-0 -c sidecar --tail=20
  skiffctl logs -f web-0 --timestamps
  skiffctl logs web-0 --previous`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimPrefix(strings.TrimPrefix(args[0], "pod/"), "pods/")
			since, err := cmd.Flags().GetDuration("since")
			if err != nil {
				return err
			}
			if tail < -1 {
				return fmt.Errorf("--tail: must be -1 (all lines) or more, got %d", tail)
			}
			if limitBytes < 0 {
				return fmt.Errorf("--limit-bytes: must be 0 (no limit) or more, got %d", limitBytes)
			}
			if since < 0 {
				return fmt.Errorf("--since: must be a positive duration such as 5m, got %s", since)
			}
			cs, err := c.client()
			if err != nil {
				return err
			}
			opts := &corev1.PodLogOptions{Container: container, Follow: follow, Previous: previous, Timestamps: timestamps}
			if tail >= 0 {
				opts.TailLines = &tail
			}
			if limitBytes > 0 {
				opts.LimitBytes = &limitBytes
			}
			if since > 0 {
				s := int64((since + 1e9 - 1) / 1e9) // whole seconds, rounded up
				opts.SinceSeconds = &s
			}
			rd, err := cs.CoreV1().Pods(c.namespace()).Log(cmd.Context(), name, opts)
			if err != nil {
				return err
			}
			defer rd.Close()
			if _, err := io.Copy(c.out, rd); err != nil && !errors.Is(err, io.EOF) {
				if cmd.Context().Err() != nil {
					return nil
				}
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&container, "container", "c", "", "the container; required when the pod has several")
	f.BoolVarP(&follow, "follow", "f", false, "stream the log as it grows")
	f.BoolVarP(&previous, "previous", "p", false, "the log of the previous, terminated container")
	f.BoolVar(&timestamps, "timestamps", false, "prefix lines with their timestamp (RFC 3339)")
	f.Int64Var(&tail, "tail", -1, "lines from the end to show; -1 all")
	f.Duration("since", 0, "only lines newer than this, e.g. 5s, 2m, 3h; 0 all")
	f.Int64Var(&limitBytes, "limit-bytes", 0, "stop after this many bytes; 0 no limit")
	return cmd
}

func (c *cli) versionCommand() *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client and server version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(c.out, "Client Version: %s\n", Version)
			if clientOnly {
				return nil
			}
			v, err := c.restGet(cmd.Context(), "/version")
			if err != nil {
				return err
			}
			var info struct {
				GitVersion string `json:"gitVersion"`
			}
			if err := jsonUnmarshal(v, &info); err != nil || info.GitVersion == "" {
				fmt.Fprintf(c.out, "Server Version: %s\n", strings.TrimSpace(string(v)))
				return nil
			}
			// A Skiff apiserver reports the Kubernetes version it serves
			// the API of, with its own release as build metadata.
			if skiff, kube, ok := component.ParseServerGitVersion(info.GitVersion); ok {
				fmt.Fprintf(c.out, "Server Version: %s\nKubernetes API Version: %s\n", skiff, kube)
				return nil
			}
			fmt.Fprintf(c.out, "Server Version: %s\n", info.GitVersion)
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print the client version only")
	return cmd
}
