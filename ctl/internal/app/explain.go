package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
)

// explainCommand is `skiffctl explain KIND[.FIELD]...`: the documentation
// of a kind or of one of its fields, read from the apiserver's OpenAPI v3
// documents and printed as kubectl explain prints it.
func (c *cli) explainCommand() *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "explain TYPE[.FIELD]...",
		Short: "Describe the fields of a kind, from the apiserver's OpenAPI",
		Long: "Describe a kind and its fields, as the apiserver's OpenAPI v3 documents them.\n\n" +
			"Fields are named by a dot path: skiffctl explain deployment.spec.strategy.",
		Example:           "  skiffctl explain pods\n  skiffctl explain pod.spec.containers\n  skiffctl explain deployment --recursive",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeResources,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.explain(cmd.Context(), args[0], recursive)
		},
	}
	cmd.Flags().BoolVar(&recursive, "recursive", false, "print the fields of fields too (names and types only)")
	return cmd
}

func (c *cli) explain(ctx context.Context, arg string, recursive bool) error {
	name, path, _ := strings.Cut(arg, ".")
	r, err := lookupResource(name)
	if err != nil {
		return err
	}
	var fields []string
	if path != "" {
		fields = strings.Split(path, ".")
	}
	cs, err := c.client()
	if err != nil {
		return err
	}
	b, err := cs.RESTGet(ctx, "/openapi/v3")
	if err != nil {
		return fmt.Errorf("failed to fetch list of groupVersions: %w", err)
	}
	var index struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return fmt.Errorf("failed to parse the list of groupVersions: %w", err)
	}
	gvPath := "api/" + r.Version
	if r.Group != "" {
		gvPath = "apis/" + r.Group + "/" + r.Version
	}
	gv, ok := index.Paths[gvPath]
	if !ok {
		return fmt.Errorf("couldn't find resource for %q", r.Plural)
	}
	u, err := url.Parse(gv.ServerRelativeURL)
	if err != nil {
		return fmt.Errorf("bad OpenAPI URL %q for %s: %w", gv.ServerRelativeURL, gvPath, err)
	}
	if b, err = cs.RESTGet(ctx, u.RequestURI()); err != nil {
		return fmt.Errorf("failed to fetch openapi schema for %s: %w", gvPath, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("failed to parse openapi schema for %s: %w", gvPath, err)
	}
	out, err := explainDoc(doc, r.Group, r.Version, r.Kind, fields, recursive)
	if _, werr := fmt.Fprint(c.out, out); err == nil {
		err = werr
	}
	return err
}

// explainDoc renders kind (or the field at fields) of an OpenAPI v3
// document in kubectl explain's plaintext layout. On an error, what it
// returns is the header kubectl prints before it.
func explainDoc(doc map[string]any, group, version, kind string, fields []string, recursive bool) (string, error) {
	want := map[string]any{"group": group, "version": version, "kind": kind}
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s, _ := schemas[n].(map[string]any)
		gvks, _ := s["x-kubernetes-group-version-kind"].([]any)
		found := false
		for _, g := range gvks {
			if m, ok := g.(map[string]any); ok && m["group"] == want["group"] && m["version"] == want["version"] && m["kind"] == want["kind"] {
				found = true
			}
		}
		if !found {
			continue
		}
		var b strings.Builder
		if group != "" {
			b.WriteString("GROUP:      " + group + "\n")
		}
		b.WriteString("KIND:       " + kind + "\n")
		b.WriteString("VERSION:    " + version + "\n\n")
		e := &explainer{doc: doc, recursive: recursive}
		body := e.output(s, fields, nil)
		if body == "" {
			// As kubectl, the header is printed before the error.
			return b.String(), fmt.Errorf("field %q does not exist", fields[len(fields)-1])
		}
		b.WriteString(body)
		b.WriteString("\n")
		return b.String(), nil
	}
	return "", fmt.Errorf("GVK %s/%s, Kind=%s not found in OpenAPI schema", group, version, kind)
}

type explainer struct {
	doc       map[string]any
	recursive bool
}

// resolve follows a local reference (#/components/schemas/X); nil when
// ref is not one.
func (e *explainer) resolve(ref any) map[string]any {
	s, ok := ref.(string)
	if !ok || !strings.HasPrefix(s, "#") {
		return nil
	}
	cur := e.doc
	for _, k := range strings.Split(strings.TrimPrefix(s, "#"), "/") {
		if k == "" {
			continue
		}
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

func (e *explainer) resolved(s map[string]any) map[string]any {
	if r := e.resolve(s["$ref"]); r != nil {
		return r
	}
	return s
}

func withRef(history map[string]bool, ref string) map[string]bool {
	out := make(map[string]bool, len(history)+1)
	for k := range history {
		out[k] = true
	}
	out[ref] = true
	return out
}

// output follows fields down from s and prints the field it ends at; it
// prints nothing when the path does not exist.
func (e *explainer) output(s map[string]any, fields []string, history map[string]bool) string {
	ref, _ := s["$ref"].(string)
	next := withRef(history, ref)
	res := e.resolved(s)
	if len(fields) == 0 {
		desc := e.description(res)
		if desc == "" {
			desc = "<empty>"
		}
		out := indent(4, wordWrap(desc, 76)) + "\n"
		if fl := e.fieldList(res, 1, nil); fl != "" {
			out += "FIELDS:\n" + fl
		}
		return "DESCRIPTION:\n" + out
	}
	if ref != "" && history[ref] {
		return ""
	}
	props, _ := res["properties"].(map[string]any)
	if sub, ok := props[fields[0]].(map[string]any); ok {
		var out string
		if len(fields) == 1 {
			out = "FIELD: " + fields[0] + " <" + e.typeGuess(sub) + ">\n" + enumText(sub, true, -1, 0) + "\n\n"
		}
		return out + e.output(sub, fields[1:], map[string]bool{})
	}
	if items, ok := res["items"].(map[string]any); ok {
		return e.output(items, fields, next)
	}
	if ap, ok := res["additionalProperties"].(map[string]any); ok {
		return e.output(ap, fields, next)
	}
	all, _ := res["allOf"].([]any)
	for _, a := range all {
		if sub, ok := a.(map[string]any); ok {
			if out := e.output(sub, fields, next); out != "" {
				return out
			}
		}
	}
	return ""
}

// description joins the descriptions of s and of what it is made of
// (allOf, items, map values), one per line.
func (e *explainer) description(s map[string]any) string {
	s = e.resolved(s)
	var out string
	if d, _ := s["description"].(string); d != "" {
		out = d + "\n"
	}
	all, _ := s["allOf"].([]any)
	for _, a := range all {
		if sub, ok := a.(map[string]any); ok {
			out += e.description(sub)
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		out += e.description(items)
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		out += e.description(ap)
	}
	return out
}

// fieldList prints the fields of s, sorted by name, each with its type and
// description (or, with --recursive, its type and its own fields).
func (e *explainer) fieldList(s map[string]any, level int, history map[string]bool) string {
	ref, _ := s["$ref"].(string)
	if ref != "" && history[ref] {
		return ""
	}
	next := withRef(history, ref)
	res := e.resolved(s)
	var b strings.Builder
	props, _ := res["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(e.fieldDetail(n, res, level))
		if e.recursive {
			if sub, ok := props[n].(map[string]any); ok {
				b.WriteString(e.fieldList(sub, level+1, next))
			}
		}
	}
	all, _ := res["allOf"].([]any)
	for _, a := range all {
		if sub, ok := a.(map[string]any); ok {
			b.WriteString(e.fieldList(sub, level, next))
		}
	}
	if items, ok := res["items"].(map[string]any); ok {
		b.WriteString(e.fieldList(items, level, next))
	}
	if ap, ok := res["additionalProperties"].(map[string]any); ok {
		b.WriteString(e.fieldList(ap, level, next))
	}
	return b.String()
}

func (e *explainer) fieldDetail(name string, parent map[string]any, level int) string {
	pad := level * 2
	props, _ := parent["properties"].(map[string]any)
	fs, _ := props[name].(map[string]any)
	out := indent(pad, name) + "\t<" + e.typeGuess(fs) + ">"
	req, _ := parent["required"].([]any)
	for _, r := range req {
		if r == name {
			out += " -required-"
			break
		}
	}
	out += enumText(fs, false, 4, pad) + "\n"
	if !e.recursive {
		d, _ := fs["description"].(string)
		if d == "" {
			d = "<no description>"
		}
		out += indent(pad+2, wordWrap(d, 78-pad)) + "\n\n"
	}
	return out
}

// typeGuess names the type of a field as kubectl does: string, integer,
// []Container, map[string]string, ObjectMeta.
func (e *explainer) typeGuess(s map[string]any) string {
	if items, ok := s["items"].(map[string]any); ok {
		return "[]" + e.typeGuess(items)
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		return "map[string]" + e.typeGuess(ap)
	}
	all, _ := s["allOf"].([]any)
	if _, props := s["properties"]; len(all) == 1 && !props {
		if sub, ok := all[0].(map[string]any); ok {
			return e.typeGuess(sub)
		}
	}
	if ref, ok := s["$ref"].(string); ok && ref != "" {
		rs := e.resolve(ref)
		t, _ := rs["type"].(string)
		if rs == nil || t == "" || t == "object" {
			parts := strings.Split(ref, "/")
			dots := strings.Split(parts[len(parts)-1], ".")
			if n := dots[len(dots)-1]; n != "" {
				return n
			}
			return "Object"
		}
		return t
	}
	t, _ := s["type"].(string)
	if t == "" || t == "object" {
		return "Object"
	}
	return t
}

// enumText lists a field's allowed values: in a field list after its type
// ("enum: a, b, ...."), or for one field under ENUM:, one a line.
func enumText(s map[string]any, long bool, limit, pad int) string {
	values, _ := s["enum"].([]any)
	if len(values) == 0 {
		return ""
	}
	var b strings.Builder
	if long {
		b.WriteString("ENUM:")
	} else {
		b.WriteString("\n" + strings.Repeat(" ", pad) + "enum: ")
	}
	for i, v := range values {
		if limit > -1 && i >= limit {
			b.WriteString(", ....")
			break
		}
		switch {
		case !long && i > 0:
			b.WriteString(", ")
		case long:
			b.WriteString("\n    ")
		}
		if v == "" {
			b.WriteString(`""`)
		} else {
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// indent pads every line of s by n spaces, as kubectl explain does
// (including the empty line after a final newline).
func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// wordWrap breaks s at white space so that lines stay within limit
// characters where words allow (a longer word keeps its own line), and
// keeps s's own line breaks: the wrapping kubectl explain does.
func wordWrap(s string, limit int) string {
	var out, word, space strings.Builder
	col, wordLen, spaceLen := 0, 0, 0
	flush := func() {
		col += spaceLen + wordLen
		out.WriteString(space.String())
		out.WriteString(word.String())
		space.Reset()
		word.Reset()
		spaceLen, wordLen = 0, 0
	}
	for _, r := range s {
		switch {
		case r == '\n':
			if word.Len() == 0 && col+spaceLen > limit {
				space.Reset()
				spaceLen = 0
			}
			flush()
			out.WriteRune('\n')
			col = 0
		case unicode.IsSpace(r) && r != '\u00a0':
			if space.Len() == 0 || word.Len() > 0 {
				flush()
			}
			space.WriteRune(r)
			spaceLen++
		default:
			word.WriteRune(r)
			wordLen++
			if col+wordLen+spaceLen > limit && wordLen < limit {
				out.WriteRune('\n')
				col = 0
				space.Reset()
				spaceLen = 0
			}
		}
	}
	if word.Len() > 0 || col+spaceLen <= limit {
		out.WriteString(space.String())
	}
	out.WriteString(word.String())
	return out.String()
}
