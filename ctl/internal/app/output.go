package app

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"k8s.io/client-go/util/jsonpath"

	"skiff.dev/proto/codec"
)

// allowedFormats is kubectl's list in its "unable to match a printer" error.
const allowedFormats = "custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml"

// errNoPrinter is kubectl's error for an unknown -o.
func errNoPrinter(format string) error {
	return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: %s", format, allowedFormats)
}

// genericPrinter prints an object or a List as the JSON the REST API
// serves, decoded into maps, as kubectl's jsonpath, go-template and
// custom-columns printers see it.
type genericPrinter interface {
	print(w io.Writer, obj any) error
}

// printFlags are kubectl's output flags shared by get, run, …: -o,
// --template, --allow-missing-template-keys, --sort-by, --show-labels, -L.
type printFlags struct {
	output           string
	template         string
	allowMissingKeys bool
	sortBy           string
	showLabels       bool
	labelColumns     []string
	noHeaders        bool
}

// isTable reports whether the output is a human-readable table.
func (p printFlags) isTable() bool { return p.output == "" || p.output == "wide" }

// generic returns the printer of a template format, nil for the formats
// printed elsewhere (tables, yaml, json, name).
func (p printFlags) generic() (genericPrinter, error) {
	format, value := p.output, p.template
	if format == "" && value != "" {
		format = "go-template"
	}
	switch format {
	case "", "wide", "yaml", "json", "name":
		return nil, nil
	}
	if value == "" {
		for _, f := range []string{"jsonpath", "jsonpath-file", "jsonpath-as-json", "custom-columns", "custom-columns-file", "go-template", "go-template-file", "template", "templatefile"} {
			if v, ok := strings.CutPrefix(format, f+"="); ok {
				format, value = f, v
				break
			}
		}
	}
	switch format {
	case "jsonpath", "jsonpath-file", "jsonpath-as-json":
		if value == "" {
			return nil, errors.New("template format specified but no template given")
		}
		if format == "jsonpath-file" {
			b, err := os.ReadFile(value)
			if err != nil {
				return nil, fmt.Errorf("error reading --template %s, %v", value, err)
			}
			value = string(b)
		}
		j := jsonpath.New("out").AllowMissingKeys(p.allowMissingKeys)
		if err := j.Parse(value); err != nil {
			return nil, fmt.Errorf("error parsing jsonpath %s, %v", value, err)
		}
		if format == "jsonpath-as-json" {
			j.EnableJSONOutput(true)
		}
		return jsonPathPrinter{raw: value, jp: j}, nil
	case "go-template", "go-template-file", "template", "templatefile":
		if value == "" {
			return nil, errors.New("template format specified but no template given")
		}
		if format == "go-template-file" || format == "templatefile" {
			b, err := os.ReadFile(value)
			if err != nil {
				return nil, fmt.Errorf("error reading --template %s, %v", value, err)
			}
			value = string(b)
		}
		t, err := template.New("output").Funcs(template.FuncMap{"exists": exists, "base64decode": base64decode}).Parse(value)
		if err != nil {
			return nil, fmt.Errorf("error parsing template %s, %v", value, err)
		}
		if p.allowMissingKeys {
			t.Option("missingkey=default")
		} else {
			t.Option("missingkey=error")
		}
		return goTemplatePrinter{raw: value, t: t}, nil
	case "custom-columns":
		if value == "" {
			return nil, errors.New("custom-columns format specified but no custom columns given")
		}
		var cols []column
		for part := range strings.SplitSeq(value, ",") {
			h, spec, ok := strings.Cut(part, ":")
			if !ok {
				return nil, fmt.Errorf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", part)
			}
			c, err := newColumn(h, spec)
			if err != nil {
				return nil, err
			}
			cols = append(cols, c)
		}
		return customColumnsPrinter{cols: cols, noHeaders: p.noHeaders}, nil
	case "custom-columns-file":
		f, err := os.Open(value)
		if err != nil {
			return nil, fmt.Errorf("error reading template %s, %v", value, err)
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		if !s.Scan() {
			return nil, errors.New("invalid template, missing header line. Expected format is one line of space separated headers, one line of space separated column specs.")
		}
		headers := strings.Fields(s.Text())
		if !s.Scan() {
			return nil, errors.New("invalid template, missing spec line. Expected format is one line of space separated headers, one line of space separated column specs.")
		}
		specs := strings.Fields(s.Text())
		if len(headers) != len(specs) {
			return nil, fmt.Errorf("number of headers (%d) and field specifications (%d) don't match", len(headers), len(specs))
		}
		var cols []column
		for i := range headers {
			c, err := newColumn(headers[i], specs[i])
			if err != nil {
				return nil, err
			}
			cols = append(cols, c)
		}
		return customColumnsPrinter{cols: cols}, nil
	}
	return nil, errNoPrinter(format)
}

// toGeneric is obj as the REST API's JSON decoded into maps.
func toGeneric(obj object) (map[string]any, error) {
	b, err := codec.AppendJSON(nil, obj)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, json.Unmarshal(b, &out)
}

// listGeneric is objs as a kubectl List decoded into maps.
func listGeneric(objs []object) (map[string]any, error) {
	var buf bytes.Buffer
	if err := printListOf(&buf, "json", "List", objs); err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, json.Unmarshal(buf.Bytes(), &out)
}

type jsonPathPrinter struct {
	raw string
	jp  *jsonpath.JSONPath
}

func (p jsonPathPrinter) print(w io.Writer, obj any) error {
	if err := p.jp.Execute(w, obj); err != nil {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "Error executing template: %v. Printing more information for debugging the template:\n", err)
		fmt.Fprintf(&buf, "\ttemplate was:\n\t\t%v\n", p.raw)
		fmt.Fprintf(&buf, "\tobject given to jsonpath engine was:\n\t\t%#v\n\n", obj)
		return fmt.Errorf("error executing jsonpath %q: %v\n", p.raw, buf.String())
	}
	return nil
}

type goTemplatePrinter struct {
	raw string
	t   *template.Template
}

func (p goTemplatePrinter) print(w io.Writer, obj any) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("error executing template %q: caught panic: %+v", p.raw, x)
		}
	}()
	if err := p.t.Execute(w, obj); err != nil {
		data, _ := json.Marshal(obj)
		fmt.Fprintf(w, "Error executing template: %v. Printing more information for debugging the template:\n", err)
		fmt.Fprintf(w, "\ttemplate was:\n\t\t%v\n", p.raw)
		fmt.Fprintf(w, "\traw data was:\n\t\t%v\n", string(data))
		fmt.Fprintf(w, "\tobject given to template engine was:\n\t\t%+v\n\n", obj)
		return fmt.Errorf("error executing template %q: %v", p.raw, err)
	}
	return nil
}

// exists is kubectl's template function: whether path leads to a value.
func exists(item any, indices ...any) bool {
	v := reflect.ValueOf(item)
	for _, i := range indices {
		for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return false
			}
			v = v.Elem()
		}
		iv := reflect.ValueOf(i)
		switch v.Kind() {
		case reflect.Map:
			v = v.MapIndex(iv)
			if !v.IsValid() {
				return false
			}
		case reflect.Slice, reflect.Array, reflect.String:
			n, ok := i.(int)
			if !ok || n < 0 || n >= v.Len() {
				return false
			}
			v = v.Index(n)
		default:
			return false
		}
	}
	return true
}

func base64decode(v string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", fmt.Errorf("base64 decode failed: %v", err)
	}
	return string(b), nil
}

// column is one column of -o custom-columns.
type column struct {
	header string
	jp     *jsonpath.JSONPath
}

var relaxedJSONPath = regexp.MustCompile(`^\{\.?([^{}]+)\}$|^\.?([^{}]+)$`)

// relaxedJSONPathExpression accepts a.b, .a.b, {a.b} and {.a.b}, as
// kubectl's --sort-by and custom-columns do, and returns {.a.b}.
func relaxedJSONPathExpression(s string) (string, error) {
	if s == "" {
		return s, nil
	}
	m := relaxedJSONPath.FindStringSubmatch(s)
	if m == nil {
		return "", errors.New("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'")
	}
	if m[1] != "" {
		return "{." + m[1] + "}", nil
	}
	return "{." + m[2] + "}", nil
}

func newColumn(header, spec string) (column, error) {
	expr, err := relaxedJSONPathExpression(spec)
	if err != nil {
		return column{}, err
	}
	j := jsonpath.New("column").AllowMissingKeys(true)
	if err := j.Parse(expr); err != nil {
		return column{}, err
	}
	return column{header: header, jp: j}, nil
}

type customColumnsPrinter struct {
	cols      []column
	noHeaders bool
}

func (p customColumnsPrinter) print(w io.Writer, obj any) error {
	t := newTable(w)
	defer t.flush()
	if !p.noHeaders {
		h := make([]string, len(p.cols))
		for i, c := range p.cols {
			h[i] = c.header
		}
		t.row(h...)
	}
	items := []any{obj}
	if m, ok := obj.(map[string]any); ok && m["kind"] == "List" {
		items, _ = m["items"].([]any)
	}
	for _, item := range items {
		row := make([]string, len(p.cols))
		for i, c := range p.cols {
			values, err := c.jp.FindResults(item)
			if err != nil {
				return err
			}
			var vs []string
			if len(values) == 0 || len(values[0]) == 0 {
				vs = append(vs, "<none>")
			}
			for _, arr := range values {
				for _, v := range arr {
					vs = append(vs, fmt.Sprint(v.Interface()))
				}
			}
			row[i] = strings.Join(vs, ",")
		}
		t.row(row...)
	}
	return nil
}

// sortObjects sorts objs by the value at a jsonpath, as kubectl's
// --sort-by: numbers as numbers, strings as strings, objects missing the
// field first; an error when no object has it.
func sortObjects(objs []object, field string) error {
	if len(objs) == 0 {
		return nil
	}
	expr, err := relaxedJSONPathExpression(field)
	if err != nil {
		return err
	}
	j := jsonpath.New("sorting").AllowMissingKeys(true)
	if err := j.Parse(expr); err != nil {
		return err
	}
	keys := make([]reflect.Value, len(objs))
	found := false
	for i, o := range objs {
		g, err := toGeneric(o)
		if err != nil {
			return err
		}
		values, err := j.FindResults(g)
		if err != nil {
			return err
		}
		if len(values) > 0 && len(values[0]) > 0 {
			keys[i] = values[0][0]
			found = true
		}
	}
	if !found {
		return fmt.Errorf("couldn't find any field with path %q in the list of objects", expr)
	}
	idx := make([]int, len(objs))
	for i := range idx {
		idx[i] = i
	}
	var sortErr error
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := keys[idx[a]], keys[idx[b]]
		switch {
		case !ka.IsValid():
			return kb.IsValid()
		case !kb.IsValid():
			return false
		}
		less, err := isLess(ka, kb)
		if err != nil && sortErr == nil {
			sortErr = fmt.Errorf("field %s is an unsortable type: %v", expr, err)
		}
		return less
	})
	if sortErr != nil {
		return sortErr
	}
	sorted := make([]object, len(objs))
	for i, k := range idx {
		sorted[i] = objs[k]
	}
	copy(objs, sorted)
	return nil
}

// isLess compares two values decoded from JSON.
func isLess(a, b reflect.Value) (bool, error) {
	for a.Kind() == reflect.Interface {
		a = a.Elem()
	}
	for b.Kind() == reflect.Interface {
		b = b.Elem()
	}
	if !a.IsValid() || !b.IsValid() {
		return !a.IsValid() && b.IsValid(), nil
	}
	if a.Kind() != b.Kind() {
		return false, fmt.Errorf("cannot compare %s with %s", a.Kind(), b.Kind())
	}
	switch a.Kind() {
	case reflect.Float64:
		return a.Float() < b.Float(), nil
	case reflect.String:
		return a.String() < b.String(), nil
	case reflect.Bool:
		return !a.Bool() && b.Bool(), nil
	case reflect.Slice:
		for i := 0; i < min(a.Len(), b.Len()); i++ {
			less, err := isLess(a.Index(i), b.Index(i))
			if err != nil || less {
				return less, err
			}
			if l2, _ := isLess(b.Index(i), a.Index(i)); l2 {
				return false, nil
			}
		}
		return a.Len() < b.Len(), nil
	}
	return false, fmt.Errorf("unsortable type: %v", a.Kind())
}

// labelHeaders are the headers of -L columns: the key's last path
// element in capitals.
func labelHeaders(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		parts := strings.Split(k, "/")
		out[i] = strings.ToUpper(parts[len(parts)-1])
	}
	return out
}

// splitLabelColumns flattens -L a,b -L c.
func splitLabelColumns(in []string) []string {
	var out []string
	for _, s := range in {
		for k := range strings.SplitSeq(s, ",") {
			if k = strings.TrimSpace(k); k != "" {
				out = append(out, k)
			}
		}
	}
	return out
}
