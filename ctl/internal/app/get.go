package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"skiff.dev/proto/codec"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/printers"
)

// target is one kind and the names of it on a command line.
type target struct {
	r     *resource
	names []string
}

// parseTargets reads "TYPE[,TYPE...] [NAME...]" or "TYPE/NAME...".
func parseTargets(args []string) ([]target, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("you must specify the type of resource to get. Valid resource types include: %s", strings.Join(resourceNames(), ", "))
	}
	if strings.Contains(args[0], "/") {
		var out []target
		for _, a := range args {
			typ, name, ok := strings.Cut(a, "/")
			if !ok || name == "" {
				return nil, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'skiffctl get resource/<resource_name>' instead of 'skiffctl get resource resource/<resource_name>'): %q", a)
			}
			r, err := lookupResource(typ)
			if err != nil {
				return nil, err
			}
			out = append(out, target{r: r, names: []string{name}})
		}
		return out, nil
	}
	var out []target
	for typ := range strings.SplitSeq(args[0], ",") {
		r, err := lookupResource(typ)
		if err != nil {
			return nil, err
		}
		out = append(out, target{r: r, names: args[1:]})
	}
	if len(out) > 1 && len(args) > 1 {
		return nil, errors.New("arguments in resource/name form must have a single resource and name")
	}
	return out, nil
}

type getOptions struct {
	output        string
	selector      string
	fieldSelector string
	allNamespaces bool
	watch         bool
	watchOnly     bool
	noHeaders     bool
	showLabels    bool
	watchEvents   bool
	eventColumn   string // the watch event of the rows printed, for --output-watch-events
}

func (c *cli) getCommand() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get TYPE[,TYPE...] [NAME...] | TYPE/NAME...",
		Short: "Display one or many resources",
		Example: `  skiffctl get pods
  skiffctl get deploy web -o yaml
  skiffctl get pods -A -l app=web -o wide
  skiffctl get pods -w`,
		ValidArgsFunction: completeResources,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runGet(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output format: wide, yaml, json or name")
	f.StringVarP(&o.selector, "selector", "l", "", "label selector, e.g. -l app=web,tier!=db")
	f.StringVar(&o.fieldSelector, "field-selector", "", "field selector, e.g. --field-selector spec.nodeName=node-1")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list across all namespaces")
	f.BoolVarP(&o.watch, "watch", "w", false, "after listing, watch for changes")
	f.BoolVar(&o.watchOnly, "watch-only", false, "watch for changes without listing first")
	f.BoolVar(&o.noHeaders, "no-headers", false, "do not print table headers")
	f.BoolVar(&o.showLabels, "show-labels", false, "add a LABELS column")
	f.BoolVar(&o.watchEvents, "output-watch-events", false, "with --watch, add an EVENT column: ADDED, MODIFIED or DELETED")
	return cmd
}

func (c *cli) runGet(ctx context.Context, o getOptions, args []string) error {
	switch o.output {
	case "", "wide", "yaml", "json", "name":
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,wide,yaml", o.output)
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
	if o.allNamespaces {
		ns = ""
	}
	if o.watch || o.watchOnly {
		if len(targets) != 1 {
			return errors.New("you may only specify a single resource type with --watch")
		}
		return c.watch(ctx, d, targets[0], ns, o)
	}

	var failed bool
	var all []object
	printed := 0
	for _, t := range targets {
		tns := ns
		if !t.r.Namespaced {
			tns = ""
		}
		var objs []object
		single := len(t.names) > 0
		if single {
			for _, name := range t.names {
				obj, err := d.Get(ctx, t.r, c.namespace(), name)
				if err != nil {
					fmt.Fprintln(c.errOut, c.formatError(err))
					failed = true
					continue
				}
				objs = append(objs, obj)
			}
		} else {
			objs, _, err = d.List(ctx, t.r, &metav1.ListOptions{Namespace: tns, LabelSelector: o.selector, FieldSelector: o.fieldSelector})
			if err != nil {
				return err
			}
		}
		all = append(all, objs...)
		if o.output == "yaml" || o.output == "json" || len(objs) == 0 {
			continue
		}
		if o.output == "name" {
			if err := printObjects(c.out, "name", t.r, objs); err != nil {
				return err
			}
			continue
		}
		if printed > 0 {
			fmt.Fprintln(c.out)
		}
		printed++
		c.printTable(c.out, t.r, objs, o, len(targets) > 1)
	}
	switch {
	case (o.output == "yaml" || o.output == "json") && (len(all) > 0 || !failed):
		// An empty result is an empty List, "items": [], as kubectl prints it.
		if len(targets) == 1 && len(targets[0].names) == 1 && len(all) == 1 {
			return printObjects(c.out, o.output, targets[0].r, all)
		}
		if err := printList(c.out, o.output, all); err != nil {
			return err
		}
	case len(all) == 0 && !failed:
		switch {
		case o.allNamespaces || !targets[0].r.Namespaced:
			fmt.Fprintln(c.errOut, "No resources found")
		default:
			fmt.Fprintf(c.errOut, "No resources found in %s namespace.\n", ns)
		}
	}
	if failed {
		return errSilent
	}
	return nil
}

// printTable prints objs as r's table; prefix names with the kind when
// several kinds are printed.
func (c *cli) printTable(w io.Writer, r *resource, objs []object, o getOptions, prefix bool) {
	t := newTable(w)
	wide := o.output == "wide"
	if !o.noHeaders {
		h := columns(r, wide, o.allNamespaces)
		if o.showLabels {
			h = append(h, "LABELS")
		}
		if o.eventColumn != "" {
			h = append([]string{"EVENT"}, h...)
		}
		t.row(h...)
	}
	now := c.now()
	for _, obj := range objs {
		row := cells(r, obj, wide, o.allNamespaces, now)
		if prefix {
			i := 0
			if o.allNamespaces && r.Namespaced {
				i = 1
			}
			if r.Kind != "Event" {
				row[i] = r.Qualified() + "/" + row[i]
			}
		}
		if o.showLabels {
			row = append(row, printers.FormatLabels(obj.GetMetadata().GetLabels()))
		}
		if o.eventColumn != "" {
			row = append([]string{o.eventColumn}, row...)
		}
		t.row(row...)
	}
	t.flush()
}

// printList prints objs as a kubectl List in yaml or json.
func printList(w io.Writer, format string, objs []object) error {
	return printListOf(w, format, "List", objs)
}

// printListOf prints objs as a list of the given kind in yaml or json,
// keys in kubectl's order; an empty list has "items": [].
func printListOf(w io.Writer, format, kind string, objs []object) error {
	b := []byte(`{"apiVersion":"v1","items":[`)
	for i, o := range objs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = codec.AppendJSON(b, o); err != nil {
			return err
		}
	}
	b = append(b, `],"kind":`...)
	b = strconv.AppendQuote(b, kind)
	b = append(b, `,"metadata":{"resourceVersion":""}}`...)
	if format == "yaml" {
		y, err := codec.JSONToYAML(b)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n", codec.Indent(b, "    "))
	return err
}

// watch lists (unless --watch-only) and then prints every change until ctx
// ends or the server closes the watch.
func (c *cli) watch(ctx context.Context, d dynamic, t target, ns string, o getOptions) error {
	if !t.r.Namespaced {
		ns = ""
	}
	opts := &metav1.ListOptions{Namespace: ns, LabelSelector: o.selector, FieldSelector: o.fieldSelector}
	if len(t.names) == 1 {
		sel := "metadata.name=" + t.names[0]
		if opts.FieldSelector != "" {
			sel = opts.FieldSelector + "," + sel
		}
		opts.FieldSelector = sel
	}
	header := !o.noHeaders
	if !o.watchOnly {
		objs, rv, err := d.List(ctx, t.r, opts)
		if err != nil {
			return err
		}
		opts.ResourceVersion = rv
		if len(objs) > 0 {
			if err := c.printWatched(t.r, metav1.EventType_ADDED, objs, o, header); err != nil {
				return err
			}
			header = false
		}
	}
	return d.WatchEach(ctx, t.r, opts, func(ev watchEvent) error {
		if err := c.printWatched(t.r, ev.Type, []object{ev.Object}, o, header); err != nil {
			return err
		}
		header = false
		return nil
	})
}

// printWatched prints objects a watch saw, as table rows under the header
// printed once, or as documents.
func (c *cli) printWatched(r *resource, typ metav1.EventType, objs []object, o getOptions, header bool) error {
	switch o.output {
	case "yaml", "json", "name":
		for _, obj := range objs {
			if o.output == "yaml" {
				fmt.Fprintln(c.out, "---")
			}
			if err := printObjects(c.out, o.output, r, []object{obj}); err != nil {
				return err
			}
		}
		return nil
	}
	o.noHeaders = !header
	if o.watchEvents {
		o.eventColumn = typ.String()
	}
	c.printTable(c.out, r, objs, o, false)
	return nil
}
