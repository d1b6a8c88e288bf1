package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"
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
// each into its kind's message. Errors name the file and the line.
func parseManifests(name string, data []byte) ([]manifest, error) {
	var out []manifest
	for _, doc := range splitDocuments(data) {
		if len(bytes.TrimSpace(stripComments(doc.data))) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc.data)
		if err != nil {
			msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(s string) string {
				n, _ := strconv.Atoi(strings.TrimPrefix(s, "line "))
				return fmt.Sprintf("line %d", n+doc.line-1)
			})
			return nil, fmt.Errorf("error parsing %s: %s", name, msg)
		}
		where := fmt.Sprintf("%s:%d", name, doc.line)
		ms, err := decodeObject(js, where)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// decodeObject decodes one JSON object, or the items of a List.
func decodeObject(js []byte, where string) ([]manifest, error) {
	var tm struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, fmt.Errorf("error parsing %s: %v", where, err)
	}
	if tm.Kind == "List" || strings.HasSuffix(tm.Kind, "List") && tm.Items != nil {
		var out []manifest
		for _, it := range tm.Items {
			ms, err := decodeObject(it, where)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
		}
		return out, nil
	}
	switch {
	case tm.Kind == "":
		return nil, fmt.Errorf("error validating %s: kind not set", where)
	case tm.APIVersion == "":
		return nil, fmt.Errorf("error validating %s: apiVersion not set", where)
	}
	r, err := resourceForKind(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	obj := r.New()
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, obj); err != nil {
		return nil, fmt.Errorf("error decoding %s (%s): %v", where, r.Kind, err)
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
