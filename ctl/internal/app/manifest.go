package app

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"skiff.dev/proto/codec"
)

// manifest is one object read from a file.
type manifest struct {
	r      *resource
	obj    object
	source string // "web.yaml:12" for messages
}

// readManifests reads every -f argument: a file, a folder (its .yaml,
// .yml and .json files) or "-" for stdin.
func readManifests(paths []string, stdin io.Reader) ([]manifest, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("must specify one of -f and -k")
	}
	var out []manifest
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("read stdin: %w", err)
			}
			ms, err := parseManifests("STDIN", data)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
			continue
		}
		files := []string{p}
		if st, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("the path %q does not exist", p)
		} else if st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			files = files[:0]
			for _, e := range entries {
				switch filepath.Ext(e.Name()) {
				case ".yaml", ".yml", ".json":
					if !e.IsDir() {
						files = append(files, filepath.Join(p, e.Name()))
					}
				}
			}
			sort.Strings(files)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			ms, err := parseManifests(f, data)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
		}
	}
	return out, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseManifests splits data into YAML documents (JSON is YAML) and decodes
// each into its kind's message with the one codec, skiff.dev/proto/codec.
// Errors name the file, the line and the field.
func parseManifests(name string, data []byte) ([]manifest, error) {
	var out []manifest
	for _, doc := range splitDocuments(data) {
		if len(bytes.TrimSpace(stripComments(doc.data))) == 0 {
			continue
		}
		d, err := codec.ParseYAML(doc.data)
		if err != nil {
			msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(s string) string {
				n, _ := strconv.Atoi(strings.TrimPrefix(s, "line "))
				return fmt.Sprintf("line %d", n+doc.line-1)
			})
			return nil, fmt.Errorf("error parsing %s: %s", name, msg)
		}
		ms, err := decodeDocument(d, name, doc.line)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// decodeDocument decodes one object, or the items of a List; first is the
// document's first line in the file.
func decodeDocument(d *codec.Document, name string, first int) ([]manifest, error) {
	where := fmt.Sprintf("%s:%d", name, first)
	apiVersion, kind := d.TypeMeta()
	if items, ok := d.Items(); kind == "List" || strings.HasSuffix(kind, "List") && ok {
		var out []manifest
		for _, it := range items {
			ms, err := decodeDocument(it, name, first)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
		}
		return out, nil
	}
	switch {
	case kind == "":
		return nil, fmt.Errorf("error validating %s: kind not set", where)
	case apiVersion == "":
		return nil, fmt.Errorf("error validating %s: apiVersion not set", where)
	}
	r, err := resourceForKind(apiVersion, kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	obj := r.New()
	if err := d.Decode(obj); err != nil {
		var ce *codec.Error
		if errors.As(err, &ce) && ce.Line > 0 {
			// The field's own line, in the file rather than the document.
			at := *ce
			at.Line = 0
			return nil, fmt.Errorf("error decoding %s:%d (%s): %w", name, first+ce.Line-1, r.Kind, &at)
		}
		return nil, fmt.Errorf("error decoding %s (%s): %w", where, r.Kind, err)
	}
	if meta(obj).GetName() == "" {
		return nil, fmt.Errorf("error validating %s: metadata.name: required", where)
	}
	return []manifest{{r: r, obj: obj, source: where}}, nil
}

type document struct {
	data []byte
	line int // first line, 1-based
}

// splitDocuments splits on lines that start with "---".
func splitDocuments(data []byte) []document {
	var docs []document
	var cur bytes.Buffer
	start, n := 1, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "---") && strings.TrimSpace(strings.TrimPrefix(line, "---")) == "" {
			docs = append(docs, document{data: bytes.Clone(cur.Bytes()), line: start})
			cur.Reset()
			start = n + 1
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return append(docs, document{data: cur.Bytes(), line: start})
}

func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for line := range strings.SplitSeq(string(b), "\n") {
		if t := strings.TrimSpace(line); !strings.HasPrefix(t, "#") {
			out.WriteString(t)
		}
	}
	return out.Bytes()
}
