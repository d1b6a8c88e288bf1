package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/printers"
)

type eventsOptions struct {
	allNamespaces bool
	watch         bool
	noHeaders     bool
	forObject     string
	types         []string
	output        string
}

func (c *cli) eventsCommand() *cobra.Command {
	var o eventsOptions
	cmd := &cobra.Command{
		Use:   "events [(-o|--output=)json|yaml] [--for TYPE/NAME] [--watch] [--types=Normal,Warning]",
		Short: "List events",
		Long: `Display events.

Prints a table of the most important information about events, oldest first.
You can request events for a namespace, for all namespaces, or filtered to
only those pertaining to a specified resource.`,
		Example: `  # List recent events in the default namespace
  skiffctl events

  # List recent events in all namespaces
  skiffctl events --all-namespaces

  # List recent events for the specified pod, then wait for more events and list them as they arrive
  skiffctl events --for pod/web-pod-13je7 --watch

  # List recent events in YAML format
  skiffctl events -oyaml

  # List recent only events of type 'Warning' or 'Normal'
  skiffctl events --types=Warning,Normal`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runEvents(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.watch, "watch", "w", false, "After listing the requested events, watch for more events.")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	f.StringVar(&o.forObject, "for", "", "Filter events to only those pertaining to the specified resource.")
	f.StringSliceVar(&o.types, "types", nil, "Output only events of given types.")
	f.BoolVar(&o.noHeaders, "no-headers", false, "When using the default output format, don't print headers.")
	f.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml).")
	return cmd
}

func (c *cli) runEvents(ctx context.Context, o eventsOptions) error {
	switch o.output {
	case "", "json", "yaml":
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,yaml", o.output)
	}
	for _, t := range o.types {
		if !strings.EqualFold(t, "Normal") && !strings.EqualFold(t, "Warning") {
			return errors.New("valid --types are Normal or Warning")
		}
	}
	opts := &metav1.ListOptions{}
	if o.forObject != "" {
		typ, name, ok := strings.Cut(o.forObject, "/")
		switch {
		case !ok:
			return errors.New("--for must be in resource/name form")
		case strings.Contains(name, "/"):
			return errors.New("arguments in resource/name form may not have more than one slash")
		}
		r, err := lookupResource(typ)
		if err != nil {
			return err
		}
		opts.FieldSelector = "involvedObject.kind=" + r.Kind + ",involvedObject.name=" + name
	}
	d, err := c.dyn()
	if err != nil {
		return err
	}
	ns := c.namespace()
	if !o.allNamespaces {
		opts.Namespace = ns
	}
	evR := resourceMust("events")
	objs, rv, err := d.List(ctx, evR, opts)
	if err != nil {
		return err
	}
	var events []*corev1.Event
	for _, obj := range objs {
		if e := obj.(*corev1.Event); o.wantType(e.GetType()) {
			events = append(events, e)
		}
	}
	sortEvents(events)
	p := &eventPrinter{w: c.out, noHeaders: o.noHeaders, allNamespaces: o.allNamespaces, output: o.output, now: c.now}
	if !o.watch {
		if len(events) == 0 {
			if o.allNamespaces {
				fmt.Fprintln(c.errOut, "No events found.")
			} else {
				fmt.Fprintf(c.errOut, "No events found in %s namespace.\n", ns)
			}
			return nil
		}
		return p.printList(events)
	}
	if err := p.print(events); err != nil {
		return err
	}
	opts.ResourceVersion = rv
	return d.WatchEach(ctx, evR, opts, func(ev watchEvent) error {
		// Events are deleted after an hour: that is no news.
		if ev.Type == metav1.EventType_DELETED {
			return nil
		}
		if e := ev.Object.(*corev1.Event); o.wantType(e.GetType()) {
			return p.print([]*corev1.Event{e})
		}
		return nil
	})
}

func (o eventsOptions) wantType(t string) bool {
	if len(o.types) == 0 {
		return true
	}
	for _, want := range o.types {
		if strings.EqualFold(want, t) {
			return true
		}
	}
	return false
}

// eventPrinter prints events as kubectl events does: a table whose header
// comes with the first row, or yaml/json.
type eventPrinter struct {
	w             io.Writer
	noHeaders     bool
	allNamespaces bool
	output        string
	now           func() time.Time
	printed       bool
}

// printList prints the events of a list: one EventList in yaml or json.
func (p *eventPrinter) printList(events []*corev1.Event) error {
	if p.output == "" {
		return p.print(events)
	}
	objs := make([]object, len(events))
	for i, e := range events {
		objs[i] = e
	}
	return printListOf(p.w, p.output, "EventList", objs)
}

// print prints events as they come: table rows, or one document each.
func (p *eventPrinter) print(events []*corev1.Event) error {
	if p.output != "" {
		for _, e := range events {
			if p.output == "yaml" && p.printed {
				fmt.Fprintln(p.w, "---")
			}
			if err := printObjects(p.w, p.output, resourceMust("events"), []object{e}); err != nil {
				return err
			}
			p.printed = true
		}
		return nil
	}
	if len(events) == 0 {
		return nil
	}
	t := newTable(p.w)
	if !p.noHeaders && !p.printed {
		h := []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}
		if p.allNamespaces {
			h = append([]string{"NAMESPACE"}, h...)
		}
		t.row(h...)
	}
	now := p.now()
	for _, e := range events {
		ref := e.GetInvolvedObject()
		row := []string{eventInterval(e, now), e.GetType(), e.GetReason(), ref.GetKind() + "/" + ref.GetName(), strings.TrimSpace(e.GetMessage())}
		if p.allNamespaces {
			row = append([]string{e.GetMetadata().GetNamespace()}, row...)
		}
		t.row(row...)
	}
	t.flush()
	p.printed = true
	return nil
}

// eventInterval is kubectl's "when" of an event in `events` and
// `describe`: its age, or "2m (x3 over 10m)" for a repeated one.
func eventInterval(e *corev1.Event, now time.Time) string {
	first := printers.TranslateTimestamp(e.GetEventTime(), now)
	if e.GetEventTime() == nil {
		first = printers.TranslateTimestamp(e.GetFirstTimestamp(), now)
	}
	if e.GetCount() > 1 {
		return fmt.Sprintf("%s (x%d over %s)", printers.TranslateTimestamp(e.GetLastTimestamp(), now), e.GetCount(), first)
	}
	return first
}

// eventTime is the time events sort by: the last time seen, else the
// event time.
func eventTime(e *corev1.Event) time.Time {
	if t := e.GetLastTimestamp(); t != nil {
		return t.AsTime()
	}
	return e.GetEventTime().AsTime()
}

// sortEvents orders events oldest first, as kubectl's SortableEvents.
func sortEvents(events []*corev1.Event) {
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
}
