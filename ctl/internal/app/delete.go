package app

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"skiff.dev/proto/client"
	metav1 "skiff.dev/proto/meta/v1"
)

type deleteOptions struct {
	files       []string
	selector    string
	all         bool
	gracePeriod int64
	force       bool
	wait        bool
	ignoreNF    bool
	timeout     time.Duration
}

func (c *cli) deleteCommand() *cobra.Command {
	var o deleteOptions
	cmd := &cobra.Command{
		Use:   "delete (-f FILENAME | TYPE [NAME...] | TYPE/NAME... | TYPE -l SELECTOR)",
		Short: "Delete resources by file, by name or by label selector",
		Example: `  skiffctl delete pod web-0
  skiffctl delete -f web.yaml
  skiffctl delete pods -l app=web --grace-period=0`,
		ValidArgsFunction: completeResources,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runDelete(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.files, "filename", "f", nil, "files, folders or - with the objects to delete")
	f.StringVarP(&o.selector, "selector", "l", "", "delete the objects this label selector matches")
	f.BoolVar(&o.all, "all", false, "delete every object of the type in the namespace")
	f.Int64Var(&o.gracePeriod, "grace-period", -1, "seconds the object has to stop; -1 is its own default, 0 at once")
	f.BoolVar(&o.force, "force", false, "delete at once, without waiting for the kubelet (grace period 0)")
	f.BoolVar(&o.wait, "wait", true, "wait until the objects are gone")
	f.BoolVar(&o.ignoreNF, "ignore-not-found", false, "treat objects that do not exist as deleted")
	f.DurationVar(&o.timeout, "timeout", 0, "how long to wait for deletion (0: a week)")
	return cmd
}

type deleteItem struct {
	r        *resource
	ns, name string
}

func (c *cli) runDelete(ctx context.Context, o deleteOptions, args []string) error {
	d, err := c.dyn()
	if err != nil {
		return err
	}
	var items []deleteItem
	failed := false
	switch {
	case len(o.files) > 0:
		ms, err := readManifests(o.files, c.in)
		if err != nil {
			return err
		}
		for _, m := range ms {
			ns := meta(m.obj).GetNamespace()
			if ns == "" && m.r.Namespaced {
				ns = c.namespace()
			}
			items = append(items, deleteItem{m.r, ns, meta(m.obj).GetName()})
		}
	default:
		if len(args) == 0 {
			return fmt.Errorf("you must provide one or more resources by argument or filename")
		}
		targets, err := parseTargets(args)
		if err != nil {
			return err
		}
		for _, t := range targets {
			ns := c.namespace()
			if !t.r.Namespaced {
				ns = ""
			}
			if len(t.names) == 0 {
				if o.selector == "" && !o.all {
					return fmt.Errorf("resource(s) were provided, but no name was specified")
				}
				objs, _, err := d.List(ctx, t.r, &metav1.ListOptions{Namespace: ns, LabelSelector: o.selector})
				if err != nil {
					return err
				}
				if len(objs) == 0 {
					fmt.Fprintln(c.errOut, "No resources found")
				}
				for _, obj := range objs {
					items = append(items, deleteItem{t.r, ns, obj.GetMetadata().GetName()})
				}
				continue
			}
			for _, n := range t.names {
				items = append(items, deleteItem{t.r, ns, n})
			}
		}
	}
	grace := o.gracePeriod
	if o.force {
		grace = 0
		fmt.Fprintln(c.errOut, "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.")
	}
	var deleted []deleteItem
	for _, it := range items {
		opts := &metav1.DeleteOptions{Namespace: it.ns, Name: it.name}
		if grace >= 0 {
			opts.GracePeriodSeconds = &grace
		}
		if err := d.Delete(ctx, it.r, opts); err != nil {
			if client.IsNotFound(err) && o.ignoreNF {
				continue
			}
			fmt.Fprintln(c.errOut, c.formatError(err))
			failed = true
			if client.IsUnavailable(err) {
				return errSilent
			}
			continue
		}
		fmt.Fprintf(c.out, "%s %q deleted\n", it.r.Qualified(), it.name)
		deleted = append(deleted, it)
	}
	if o.wait {
		timeout := o.timeout
		if timeout <= 0 {
			timeout = 7 * 24 * time.Hour
		}
		wctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		for _, it := range deleted {
			if err := waitGone(wctx, d, it); err != nil {
				return err
			}
		}
	}
	if failed {
		return errSilent
	}
	return nil
}

// waitGone polls until the object is gone (NotFound).
func waitGone(ctx context.Context, d dynamic, it deleteItem) error {
	for {
		_, err := d.Get(ctx, it.r, it.ns, it.name)
		if client.IsNotFound(err) {
			return nil
		}
		if ctx.Err() != nil {
			plural := it.r.Plural
			if it.r.Group != "" {
				plural += "." + it.r.Group
			}
			return fmt.Errorf("timed out waiting for the condition on %s/%s", plural, it.name)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}
