package app

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"skiff.dev/proto/codec"
	"skiff.dev/proto/printers"
)

// toJSON is the object's JSON as the REST API serves it (the one codec,
// skiff.dev/proto/codec), indented.
func toJSON(o object) ([]byte, error) {
	return codec.MarshalIndent(o, "    ")
}

// toYAML is toJSON as YAML, keys sorted as kubectl prints them.
func toYAML(o object) ([]byte, error) {
	return codec.MarshalYAML(o)
}

// printObjects writes objs in format: yaml, json, name (tables are
// printTable's).
func printObjects(w io.Writer, format string, r *resource, objs []object) error {
	switch format {
	case "yaml":
		for i, o := range objs {
			if i > 0 {
				fmt.Fprintln(w, "---")
			}
			b, err := toYAML(o)
			if err != nil {
				return err
			}
			w.Write(b)
		}
	case "json":
		if len(objs) != 1 {
			return printList(w, format, objs)
		}
		b, err := toJSON(objs[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\n", b)
	case "name":
		for _, o := range objs {
			fmt.Fprintf(w, "%s/%s\n", r.Qualified(), o.GetMetadata().GetName())
		}
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,wide,yaml", format)
	}
	return nil
}

// table prints rows aligned as kubectl does.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)}
}

func (t *table) row(cols ...string) { fmt.Fprintln(t.tw, strings.Join(cols, "\t")) }

func (t *table) flush() { t.tw.Flush() }

// columns returns the header of r's table: the shared printers' columns
// (the wide ones with -o wide), NAMESPACE first across namespaces.
func columns(r *resource, wide, allNamespaces bool) []string {
	var h []string
	for _, c := range printers.Columns(r.Kind) {
		if c.Priority == 0 || wide {
			h = append(h, c.Header())
		}
	}
	if allNamespaces && r.Namespaced {
		h = append([]string{"NAMESPACE"}, h...)
	}
	return h
}

// cells returns o's row in r's table.
func cells(r *resource, o object, wide, allNamespaces bool, now time.Time) []string {
	cols := printers.Columns(r.Kind)
	var c []string
	for i, v := range printers.Cells(o, now) {
		if i < len(cols) && (cols[i].Priority == 0 || wide) {
			c = append(c, fmt.Sprint(v))
		}
	}
	if allNamespaces && r.Namespaced {
		c = append([]string{o.GetMetadata().GetNamespace()}, c...)
	}
	return c
}
