package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"

	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	"skiff.dev/proto/client"
	"skiff.dev/proto/codec"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/printers"
)

// ---- patch ----

func (c *cli) patchCommand() *cobra.Command {
	var patch, patchFile, typ string
	var p printFlags
	cmd := &cobra.Command{
		Use:   "patch (-f FILENAME | TYPE NAME | TYPE/NAME) [-p PATCH | --patch-file FILE] [--type strategic|merge|json]",
		Short: "Update fields of a resource",
		Long: `Update fields of a resource with a strategic merge patch (the default), a JSON merge
patch (RFC 7386) or a JSON patch (RFC 6902), given as JSON or YAML. The apiserver applies it,
as it does kubectl's: a strategic merge patch merges the lists Kubernetes merges by key
(containers, env, volumes by name; ports by containerPort; …) and "$patch: delete" removes
a list item.`,
		Example: `  skiffctl patch deployment web -p '{"spec":{"replicas":3}}'
  skiffctl patch deploy/web --type merge -p '{"metadata":{"labels":{"tier":"front"}}}'
  skiffctl patch deploy web --type json -p '[{"op":"replace","path":"/spec/replicas","value":1}]'
  skiffctl patch deploy web -p '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}'`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch typ {
			case "json", "merge", "strategic":
			default:
				return fmt.Errorf("--type must be one of [json merge strategic], not %q", typ)
			}
			if patch == "" && patchFile == "" {
				return errors.New("must specify --patch or --patch-file containing the contents of the patch")
			}
			if patch != "" && patchFile != "" {
				return errors.New("cannot specify --patch and --patch-file together")
			}
			body := []byte(patch)
			if patchFile != "" {
				var err error
				if body, err = os.ReadFile(patchFile); err != nil {
					return fmt.Errorf("unable to read patch file: %v", err)
				}
			}
			gp, err := p.generic()
			if err != nil {
				return err
			}
			r, name, err := oneTarget(args)
			if err != nil {
				return err
			}
			body, err = yaml.YAMLToJSON(body)
			if err != nil {
				return fmt.Errorf("unable to parse %q: %v", patch+patchFile, err)
			}
			result, changed, err := c.patch(cmd.Context(), r, c.namespace(), name, typ, body)
			if err != nil {
				return err
			}
			if p.output != "" || gp != nil {
				return c.printOne(r, result, p, gp)
			}
			if changed {
				fmt.Fprintf(c.out, "%s/%s patched\n", r.Qualified(), name)
			} else {
				fmt.Fprintf(c.out, "%s/%s patched (no change)\n", r.Qualified(), name)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&patch, "patch", "p", "", "the patch to apply, JSON or YAML")
	f.StringVar(&patchFile, "patch-file", "", "a file holding the patch")
	f.StringVar(&typ, "type", "strategic", "the type of patch: json, merge or strategic")
	f.StringVarP(&p.output, "output", "o", "", "print the patched object: json, yaml, name, jsonpath=..., go-template=...")
	f.StringVar(&p.template, "template", "", "template string for -o go-template or -o jsonpath")
	p.allowMissingKeys = true
	return cmd
}

// patchTypes are the content types of the patch types.
var patchTypes = map[string]string{
	"json":      "application/json-patch+json",
	"merge":     "application/merge-patch+json",
	"strategic": "application/strategic-merge-patch+json",
}

// patch sends a patch of typ to the apiserver, which applies it, and
// returns the object stored and whether it changed (its resourceVersion
// moved).
func (c *cli) patch(ctx context.Context, r *resource, ns, name, typ string, body []byte) (object, bool, error) {
	cs, err := c.client()
	if err != nil {
		return nil, false, err
	}
	d, err := c.dyn()
	if err != nil {
		return nil, false, err
	}
	if !r.Namespaced {
		ns = ""
	}
	before, err := d.Get(ctx, r, ns, name)
	if err != nil {
		return nil, false, err
	}
	b, err := cs.RESTDo(ctx, http.MethodPatch, r.path(ns, name), patchTypes[typ], body)
	if err != nil {
		return nil, false, err
	}
	out := r.New()
	if err := codec.Unmarshal(b, out); err != nil {
		return nil, false, fmt.Errorf("reading the patched %s: %v", r.Singular(), err)
	}
	setTypeMeta(out, r)
	return out, meta(out).GetResourceVersion() != meta(before).GetResourceVersion(), nil
}

// printOne prints one object in an -o format.
func (c *cli) printOne(r *resource, obj object, p printFlags, gp genericPrinter) error {
	if gp != nil {
		v, err := toGeneric(obj)
		if err != nil {
			return err
		}
		return gp.print(c.out, v)
	}
	return printObjects(c.out, p.output, r, []object{obj})
}

// ---- run ----

func (c *cli) runCommand() *cobra.Command {
	var image, restart, labelSpec, dryRun, pullPolicy string
	var env []string
	var port int32
	var command, rm, stdin, tty bool
	var runningTimeout time.Duration
	var p printFlags
	cmd := &cobra.Command{
		Use:   "run NAME --image=IMAGE [--restart=Always|OnFailure|Never] [--env=K=V] [--port=P] [--labels=K=V,...] [--command] [-- COMMAND|ARGS...] [--rm -i]",
		Short: "Run a particular image in a pod",
		Long: `Create a pod running one container of an image, as kubectl run does: the pod and
its container are named NAME and labelled run=NAME (unless --labels says otherwise).
Arguments after -- are the container's args, or with --command its command.
With --rm -i (--restart=Never), skiffctl waits for the pod to start, streams its logs until
the container ends, then deletes the pod; stdin is not forwarded (Skiff has no attach).`,
		Example: `  skiffctl run web --image=nginx:1.27 --port=80
  skiffctl run once --image=busybox --restart=Never -- echo hello
  skiffctl run shell --image=busybox --command -- sh -c 'sleep 3600'
  skiffctl run tmp --image=busybox --restart=Never --rm -i -- date`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, rest := args[0], args[1:]
			if image == "" {
				return errors.New(`required flag(s) "image" not set`)
			}
			switch restart {
			case "Always", "OnFailure", "Never":
			default:
				return fmt.Errorf("invalid restart policy: %s", restart)
			}
			if dryRun != "none" && dryRun != "client" {
				return fmt.Errorf(`Invalid dry-run value (%s). Must be "none" or "client".`, dryRun)
			}
			if rm && !stdin {
				return errors.New("--rm should only be used for attached containers")
			}
			if stdin && restart == "Always" && rm {
				return errors.New("--rm -i needs --restart=Never or OnFailure: skiffctl waits for the container to end")
			}
			gp, err := p.generic()
			if err != nil {
				return err
			}
			lbls := map[string]string{"run": name}
			if labelSpec != "" {
				lbls = map[string]string{}
				for kv := range strings.SplitSeq(labelSpec, ",") {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return fmt.Errorf("invalid label spec: %s", labelSpec)
					}
					lbls[k] = v
				}
			}
			// resources: {} as kubectl run sends it.
			ctr := &corev1.Container{Name: name, Image: image, ImagePullPolicy: pullPolicy, Stdin: stdin, Tty: tty,
				Resources: &corev1.ResourceRequirements{}}
			for _, e := range env {
				k, v, ok := strings.Cut(e, "=")
				if !ok || k == "" {
					return fmt.Errorf("invalid env: %s", e)
				}
				ctr.Env = append(ctr.Env, &corev1.EnvVar{Name: k, Value: v})
			}
			if port > 0 {
				ctr.Ports = []*corev1.ContainerPort{{ContainerPort: port}}
			}
			if len(rest) > 0 {
				if command {
					ctr.Command = rest
				} else {
					ctr.Args = rest
				}
			}
			pod := &corev1.Pod{ApiVersion: "v1", Kind: "Pod",
				Metadata: &metav1.ObjectMeta{Name: name, Namespace: c.namespace(), Labels: lbls},
				Spec:     &corev1.PodSpec{Containers: []*corev1.Container{ctr}, RestartPolicy: restart, DnsPolicy: "ClusterFirst"}}
			r := resourceMust("pods")
			if dryRun == "client" {
				pod.Metadata.Namespace = "" // as kubectl prints it
				if p.output == "" && gp == nil {
					fmt.Fprintf(c.out, "pod/%s created (dry run)\n", name)
					return nil
				}
				return c.printOne(r, pod, p, gp)
			}
			d, err := c.dyn()
			if err != nil {
				return err
			}
			created, err := d.Create(cmd.Context(), r, pod)
			if err != nil {
				return err
			}
			if !stdin {
				if p.output != "" || gp != nil {
					return c.printOne(r, created, p, gp)
				}
				fmt.Fprintf(c.out, "pod/%s created\n", name)
				return nil
			}
			return c.runAttached(cmd.Context(), d, r, name, rm, runningTimeout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&image, "image", "", "the image of the container")
	f.StringVar(&restart, "restart", "Always", "the pod's restart policy: Always, OnFailure or Never")
	f.StringArrayVar(&env, "env", nil, "environment variable K=V of the container (repeatable)")
	f.Int32Var(&port, "port", 0, "the port the container exposes")
	f.StringVarP(&labelSpec, "labels", "l", "", "comma-separated labels of the pod, instead of run=NAME")
	f.BoolVar(&command, "command", false, "the arguments after -- are the command, not args")
	f.BoolVar(&rm, "rm", false, "delete the pod once its container ends (needs -i)")
	f.BoolVarP(&stdin, "stdin", "i", false, "wait for the pod, stream its output until it ends (stdin is not forwarded)")
	f.BoolVarP(&tty, "tty", "t", false, "allocate a TTY for the container")
	f.DurationVar(&runningTimeout, "pod-running-timeout", time.Minute, "with -i, how long to wait for the pod to start")
	f.StringVar(&pullPolicy, "image-pull-policy", "", "the container's image pull policy: Always, IfNotPresent or Never")
	f.StringVar(&dryRun, "dry-run", "none", `"none" or "client": only print the pod that would be created`)
	f.Lookup("dry-run").NoOptDefVal = "client"
	f.StringVarP(&p.output, "output", "o", "", "print the created pod: json, yaml, name, jsonpath=..., go-template=...")
	f.StringVar(&p.template, "template", "", "template string for -o go-template or -o jsonpath")
	p.allowMissingKeys = true
	return cmd
}

// runAttached waits for a pod to start, streams its logs until its
// container ends, and deletes it with rm. The followed stream is cut
// when the pod ends and what it had not yet printed is read again from
// the finished log, so no line is lost or repeated.
func (c *cli) runAttached(ctx context.Context, d dynamic, r *resource, name string, rm bool, runningTimeout time.Duration) error {
	ns := c.namespace()
	started := func(p *corev1.Pod) bool {
		switch p.GetStatus().GetPhase() {
		case "Running", "Succeeded", "Failed":
			return true
		}
		return false
	}
	startCtx, cancel := context.WithTimeout(ctx, runningTimeout)
	_, err := c.waitPod(startCtx, d, ns, name, started)
	cancel()
	if err != nil {
		if startCtx.Err() != nil && ctx.Err() == nil {
			if rm {
				if err := d.Delete(ctx, r, &metav1.DeleteOptions{Namespace: ns, Name: name}); err == nil {
					fmt.Fprintf(c.out, "pod %q deleted\n", name)
				}
			}
			return fmt.Errorf("timed out waiting for the condition: pod %s/%s did not start within --pod-running-timeout=%s", ns, name, runningTimeout)
		}
		return err
	}
	cs, err := c.client()
	if err != nil {
		return err
	}
	pods := cs.CoreV1().Pods(ns)
	logCtx, stopLogs := context.WithCancel(ctx)
	defer stopLogs()
	out := &countingWriter{w: c.out}
	streamed := make(chan error, 1)
	go func() {
		rd, err := pods.Log(logCtx, name, &corev1.PodLogOptions{Follow: true})
		if err != nil {
			streamed <- err
			return
		}
		defer rd.Close()
		_, err = io.Copy(out, rd)
		streamed <- err
	}()
	final, err := c.waitPod(ctx, d, ns, name, func(p *corev1.Pod) bool {
		ph := p.GetStatus().GetPhase()
		return ph == "Succeeded" || ph == "Failed"
	})
	if err != nil {
		return err
	}
	stopLogs()
	<-streamed
	rd, err := pods.Log(ctx, name, &corev1.PodLogOptions{})
	if err != nil {
		return err
	}
	if _, err := io.CopyN(io.Discard, rd, out.n); err == nil {
		_, err = io.Copy(c.out, rd)
	}
	rd.Close()
	if rm {
		if err := d.Delete(ctx, r, &metav1.DeleteOptions{Namespace: ns, Name: name}); err != nil && !client.IsNotFound(err) {
			return err
		}
		fmt.Fprintf(c.out, "pod %q deleted\n", name)
	}
	if final.GetStatus().GetPhase() == "Failed" {
		code := 1
		for _, cs := range final.GetStatus().GetContainerStatuses() {
			if t := cs.GetState().GetTerminated(); t != nil && t.GetExitCode() != 0 {
				code = int(t.GetExitCode())
			}
		}
		return fmt.Errorf("pod %s/%s terminated (Error)%s", ns, name, exitSuffix(code))
	}
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func exitSuffix(code int) string {
	return fmt.Sprintf(": exit code %d", code)
}

// waitPod polls a pod until ok holds of it or ctx ends.
func (c *cli) waitPod(ctx context.Context, d dynamic, ns, name string, ok func(*corev1.Pod) bool) (*corev1.Pod, error) {
	r := resourceMust("pods")
	for {
		obj, err := d.Get(ctx, r, ns, name)
		if err != nil {
			return nil, err
		}
		if p := obj.(*corev1.Pod); ok(p) {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ---- wait ----

func (c *cli) waitCommand() *cobra.Command {
	var forSpec, selector string
	var all, allNamespaces bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait (TYPE NAME... | TYPE/NAME... | TYPE --all | TYPE -l SELECTOR) --for=delete|create|condition=C[=VALUE]|jsonpath='{PATH}'[=VALUE] [--timeout=30s]",
		Short: "Wait for a specific condition on one or many resources",
		Example: `  skiffctl wait --for=condition=Available deployment/web
  skiffctl wait --for=condition=Ready pod -l app=web --timeout=60s
  skiffctl wait --for=jsonpath='{.status.phase}'=Succeeded pod/once
  skiffctl wait --for=delete pod/web-0 --timeout=2m`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cond, err := parseWaitFor(forSpec)
			if err != nil {
				return err
			}
			targets, err := parseTargets(args)
			if err != nil {
				return err
			}
			d, err := c.dyn()
			if err != nil {
				return err
			}
			ns := c.namespace()
			if allNamespaces {
				ns = ""
			}
			if timeout < 0 {
				timeout = 7 * 24 * time.Hour
			}
			type item struct {
				r    *resource
				ns   string
				name string
			}
			var items []item
			for _, t := range targets {
				tns := ns
				if !t.r.Namespaced {
					tns = ""
				}
				if len(t.names) > 0 {
					for _, n := range t.names {
						items = append(items, item{t.r, c.namespace(), n})
					}
					continue
				}
				if !all && selector == "" {
					return errors.New("resource(s) were provided, but no name was specified")
				}
				objs, _, err := d.List(cmd.Context(), t.r, &metav1.ListOptions{Namespace: tns, LabelSelector: selector})
				if err != nil {
					return err
				}
				for _, o := range objs {
					items = append(items, item{t.r, o.GetMetadata().GetNamespace(), o.GetMetadata().GetName()})
				}
			}
			if len(items) == 0 && cond.kind != "delete" {
				return errors.New("no matching resources found")
			}
			var errs []error
			for _, it := range items {
				// Each object has the whole --timeout, as in kubectl.
				ctx, cancel := context.WithCancel(cmd.Context())
				if timeout > 0 {
					ctx, cancel = context.WithTimeout(cmd.Context(), timeout)
				}
				met, err := c.waitOne(ctx, d, it.r, it.ns, it.name, cond, timeout)
				cancel()
				switch {
				case err != nil:
					errs = append(errs, err)
				case met:
					fmt.Fprintf(c.out, "%s/%s condition met\n", it.r.Qualified(), it.name)
				}
			}
			switch len(errs) {
			case 0:
				return nil
			case 1:
				return errs[0]
			}
			for _, e := range errs {
				fmt.Fprintln(c.errOut, strings.TrimPrefix(c.formatError(e), "error: "))
			}
			return errSilent
		},
	}
	f := cmd.Flags()
	f.StringVar(&forSpec, "for", "", "the condition to wait on: delete, create, condition=C[=VALUE] (VALUE defaults to true) or jsonpath='{PATH}'[=VALUE]")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait before giving up, 0 checks once, negative waits a week")
	f.StringVarP(&selector, "selector", "l", "", "label selector of the objects to wait on")
	f.BoolVar(&all, "all", false, "wait on every object of the type in the namespace")
	f.BoolVarP(&allNamespaces, "all-namespaces", "A", false, "with --all or -l, across all namespaces")
	return cmd
}

// waitCondition is a parsed --for.
type waitCondition struct {
	kind  string // delete, create, condition, jsonpath
	name  string // condition type
	value string // expected value
	expr  string // jsonpath expression
	jp    *jsonpath.JSONPath
	any   bool // jsonpath without a value: the field exists
}

func parseWaitFor(s string) (waitCondition, error) {
	switch {
	case strings.ToLower(s) == "delete":
		return waitCondition{kind: "delete"}, nil
	case strings.ToLower(s) == "create":
		return waitCondition{kind: "create"}, nil
	case strings.HasPrefix(s, "condition="):
		name, value, ok := strings.Cut(strings.TrimPrefix(s, "condition="), "=")
		if !ok {
			value = "true"
		}
		if name == "" {
			return waitCondition{}, fmt.Errorf("unrecognized condition: %q", s)
		}
		return waitCondition{kind: "condition", name: name, value: value}, nil
	case strings.HasPrefix(s, "jsonpath="):
		rest := strings.TrimPrefix(s, "jsonpath=")
		var expr, value string
		hasValue := false
		if i := strings.LastIndex(rest, "}="); strings.HasPrefix(rest, "{") && i > 0 {
			expr, value, hasValue = rest[:i+1], rest[i+2:], true
		} else if strings.HasPrefix(rest, "{") {
			expr = rest
		} else {
			expr, value, hasValue = strings.Cut(rest, "=")
		}
		rel, err := relaxedJSONPathExpression(expr)
		if err != nil || rel == "" {
			return waitCondition{}, fmt.Errorf("unrecognized condition: %q", s)
		}
		j := jsonpath.New("wait").AllowMissingKeys(true)
		if err := j.Parse(rel); err != nil {
			return waitCondition{}, fmt.Errorf("unrecognized condition: %q: %v", s, err)
		}
		return waitCondition{kind: "jsonpath", expr: rel, value: value, jp: j, any: !hasValue}, nil
	}
	return waitCondition{}, fmt.Errorf("unrecognized condition: %q", s)
}

// waitOne polls one object until cond holds of it; met is false when
// there was nothing to wait for (a delete of an object already gone).
func (c *cli) waitOne(ctx context.Context, d dynamic, r *resource, ns, name string, cond waitCondition, timeout time.Duration) (met bool, err error) {
	if !r.Namespaced {
		ns = ""
	}
	timedOut := fmt.Errorf("timed out waiting for the condition on %s/%s", r.Plural, name)
	first := true
	for {
		obj, err := d.Get(ctx, r, ns, name)
		switch {
		case client.IsNotFound(err) && cond.kind == "delete":
			return !first, nil
		case client.IsNotFound(err) && cond.kind == "create":
		case ctx.Err() != nil:
			return false, timedOut
		case err != nil:
			if first || cond.kind != "delete" {
				return false, err
			}
		case cond.kind == "create":
			return true, nil
		case cond.kind != "delete":
			ok, err := cond.holds(obj)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
		first = false
		if timeout == 0 {
			return false, timedOut
		}
		select {
		case <-ctx.Done():
			return false, timedOut
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// holds reports whether a condition or jsonpath condition holds of obj.
func (w waitCondition) holds(obj object) (bool, error) {
	g, err := toGeneric(obj)
	if err != nil {
		return false, err
	}
	if w.kind == "condition" {
		st, _ := g["status"].(map[string]any)
		conds, _ := st["conditions"].([]any)
		gen, _ := g["metadata"].(map[string]any)["generation"].(float64)
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			if t, _ := cm["type"].(string); !strings.EqualFold(t, w.name) {
				continue
			}
			if og, ok := cm["observedGeneration"].(float64); ok && gen > 0 && og < gen {
				return false, nil
			}
			s, _ := cm["status"].(string)
			return strings.EqualFold(s, w.value), nil
		}
		return false, nil
	}
	results, err := w.jp.FindResults(g)
	if err != nil {
		return false, err
	}
	if len(results) == 0 || len(results[0]) == 0 {
		return false, nil
	}
	if w.any {
		return true, nil
	}
	if len(results) > 1 || len(results[0]) > 1 {
		return false, fmt.Errorf("given jsonpath expression matches more than one value")
	}
	v := results[0][0]
	for v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Map, reflect.Slice:
		return false, fmt.Errorf("jsonpath leads to a nested object or list which is not supported")
	}
	return fmt.Sprint(v.Interface()) == w.value, nil
}

// ---- logs of a workload ----

// logsPod resolves the argument of logs: a pod name, pod/NAME, or
// TYPE/NAME of a workload whose first pod (in kubectl's order) is used.
func (c *cli) logsPod(ctx context.Context, arg string) (string, error) {
	typ, name, ok := strings.Cut(arg, "/")
	if !ok {
		return arg, nil
	}
	r, err := lookupResource(typ)
	if err != nil {
		return "", err
	}
	if r.Kind == "Pod" {
		return name, nil
	}
	d, err := c.dyn()
	if err != nil {
		return "", err
	}
	obj, err := d.Get(ctx, r, c.namespace(), name)
	if err != nil {
		return "", err
	}
	var sel string
	switch x := obj.(type) {
	case *appsv1.Deployment:
		sel = labels.FormatLabelSelector(x.GetSpec().GetSelector())
	case *appsv1.ReplicaSet:
		sel = labels.FormatLabelSelector(x.GetSpec().GetSelector())
	case *appsv1.DaemonSet:
		sel = labels.FormatLabelSelector(x.GetSpec().GetSelector())
	case *batchv1.Job:
		sel = labels.FormatLabelSelector(x.GetSpec().GetSelector())
	case *corev1.Service:
		if len(x.GetSpec().GetSelector()) > 0 {
			sel = printers.FormatLabels(x.GetSpec().GetSelector())
		}
	default:
		return "", fmt.Errorf("cannot get the logs of a %s: name a pod or a deployment, replicaset, daemonset, job or service", r.Kind)
	}
	if sel == "" || sel == "<none>" {
		return "", fmt.Errorf("%s/%s has no selector: cannot find its pods", r.Qualified(), name)
	}
	objs, _, err := d.List(ctx, resourceMust("pods"), &metav1.ListOptions{Namespace: c.namespace(), LabelSelector: sel})
	if err != nil {
		return "", err
	}
	if len(objs) == 0 {
		return "", fmt.Errorf("no pods found for %s/%s (selector %s)", r.Qualified(), name, sel)
	}
	pods := make([]*corev1.Pod, len(objs))
	for i, o := range objs {
		pods[i] = o.(*corev1.Pod)
	}
	sort.SliceStable(pods, func(i, j int) bool { return podLogLess(pods[i], pods[j]) })
	if len(pods) > 1 {
		fmt.Fprintf(c.errOut, "Found %d pods, using pod/%s\n", len(pods), pods[0].GetMetadata().GetName())
	}
	return pods[0].GetMetadata().GetName(), nil
}

// podLogLess is kubectl's ByLogging order: scheduled before unscheduled,
// Running before Unknown before Pending, ready first, more restarts
// first, older first.
func podLogLess(a, b *corev1.Pod) bool {
	an, bn := a.GetSpec().GetNodeName(), b.GetSpec().GetNodeName()
	if an != bn && (an == "" || bn == "") {
		return an != ""
	}
	rank := map[string]int{"Pending": 0, "Unknown": 1, "Running": 2}
	if ra, rb := rank[a.GetStatus().GetPhase()], rank[b.GetStatus().GetPhase()]; ra != rb {
		return ra > rb
	}
	ready := func(p *corev1.Pod) bool {
		for _, c := range p.GetStatus().GetConditions() {
			if c.GetType() == "Ready" {
				return c.GetStatus() == "True"
			}
		}
		return false
	}
	if ready(a) != ready(b) {
		return ready(a)
	}
	restarts := func(p *corev1.Pod) int32 {
		var n int32
		for _, cs := range p.GetStatus().GetContainerStatuses() {
			n = max(n, cs.GetRestartCount())
		}
		return n
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return ra > rb
	}
	ta, tb := a.GetMetadata().GetCreationTimestamp().AsTime(), b.GetMetadata().GetCreationTimestamp().AsTime()
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return false
}
