// Package chart tests charts/skiff with the pinned Helm (make helm): lint,
// render with the default and the HA values, reject wrong values, and have
// a real skiff-apiserver accept every rendered object through skiffctl.
package chart

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/e2e/internal/repo"
)

func helm(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("make", "-s", "-C", repo.Root(t), "helm").CombinedOutput(); err != nil {
		t.Fatalf("make helm: %v\n%s", err, out)
	}
	return repo.Var(t, "HELM")
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// valueSets: the chart's defaults and the HA example of ci/.
var valueSets = []struct {
	name string
	args []string
	want map[string]int // objects per kind
}{
	{"default", nil, map[string]int{"ConfigMap": 1, "DaemonSet": 2, "Service": 1, "Deployment": 2}},
	// The HA values file is relative to the chart folder, where helm runs.
	{"ha", []string{"-f", "ci/ha-values.yaml"}, map[string]int{"ConfigMap": 1, "DaemonSet": 2, "Service": 1, "Deployment": 2}},
	{"apiserver only", []string{"--set", "scheduler.enabled=false,controllerManager.enabled=false,kubeProxy.enabled=false"},
		map[string]int{"ConfigMap": 1, "DaemonSet": 1, "Service": 1}},
}

// TestChartApplies lints and renders the chart for every value set and
// applies the objects with skiffctl to a real apiserver, which must accept
// each (Skiff's API rejects kinds and fields it does not serve); reading
// them back shows the apiserver kept what the chart says.
func TestChartApplies(t *testing.T) {
	h := helm(t)
	chart := filepath.Join(repo.Root(t), "charts", "skiff")
	_, bins := repo.Binaries(t)
	srv := apiservertest.Start(t, apiservertest.Options{})
	ctl := func(t *testing.T, args ...string) string {
		return run(t, bins["skiffctl"], append([]string{"--server", srv.URL}, args...)...)
	}
	for i, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			lint := exec.Command(h, append([]string{"lint", "--strict", chart}, vs.args...)...)
			lint.Dir = chart
			if out, err := lint.CombinedOutput(); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			ns := "skiff-" + string(rune('a'+i))
			ctl(t, "create", "namespace", ns)
			args := append([]string{"template", "skiff", chart, "--namespace", ns}, vs.args...)
			cmd := exec.Command(h, args...)
			cmd.Dir = chart
			rendered, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, rendered)
			}
			file := filepath.Join(t.TempDir(), "rendered.yaml")
			if err := os.WriteFile(file, rendered, 0o600); err != nil {
				t.Fatal(err)
			}
			ctl(t, "apply", "-n", ns, "-f", file)
			kinds := map[string]int{}
			for _, doc := range documents.Split(string(rendered), -1) {
				var obj struct {
					Kind     string `json:"kind"`
					Metadata struct {
						Name string `json:"name"`
					} `json:"metadata"`
				}
				if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
					t.Fatalf("rendered YAML: %v\n%s", err, doc)
				}
				if obj.Kind == "" {
					continue
				}
				kinds[obj.Kind]++
				// Read it back: stored, and with the chart's fields kept.
				got := ctl(t, "get", strings.ToLower(obj.Kind), obj.Metadata.Name, "-n", ns, "-o", "json")
				checkRoundTrip(t, obj.Kind, doc, got)
			}
			for k, n := range vs.want {
				if kinds[k] != n {
					t.Errorf("rendered %d %s, want %d (all: %v)", kinds[k], k, n, kinds)
				}
			}
		})
	}
}

var documents = regexp.MustCompile(`(?m)^---\n`)

// checkRoundTrip compares the spec (or data) of what was applied with what
// the apiserver returns: every field the chart set must come back.
func checkRoundTrip(t *testing.T, kind, applied, stored string) {
	t.Helper()
	var a, s map[string]any
	if err := yaml.Unmarshal([]byte(applied), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(stored), &s); err != nil {
		t.Fatalf("%s: %v\n%s", kind, err, stored)
	}
	for _, field := range []string{"spec", "data"} {
		if a[field] == nil {
			continue
		}
		if missing := subset(a[field], s[field], field); missing != "" {
			t.Errorf("%s %v: the apiserver dropped or changed %s", kind, a["metadata"], missing)
		}
	}
}

// subset returns the path of the first value of want not in got ("" if none).
func subset(want, got any, path string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path
		}
		for k, v := range w {
			if p := subset(v, g[k], path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path
		}
		for i := range w {
			if p := subset(w[i], g[i], path+"[]"); p != "" {
				return p
			}
		}
	default:
		// Numbers may come back as strings (int-or-string fields) or the
		// other way round.
		if toString(want) != toString(got) {
			return path + "=" + toString(want) + " (got " + toString(got) + ")"
		}
	}
	return ""
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// TestChartRejectsWrongValues: values.schema.json stops wrong values with a
// message naming the value and what is wrong.
func TestChartRejectsWrongValues(t *testing.T) {
	h := helm(t)
	chart := filepath.Join(repo.Root(t), "charts", "skiff")
	for _, tc := range []struct{ set, want string }{
		{"scheduler.replicas=0", "at '/scheduler/replicas': minimum: got 0, want 1"},
		{"apiserver.securePort=70000", "at '/apiserver/securePort': maximum"},
		{"image.pullPolicy=Sometimes", "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"},
		{"controllerManager.clusterCIDR=banana", "at '/controllerManager/clusterCIDR': 'banana' does not match pattern"},
		{"apiserver.etcdServers[0]=etcd:2379", "at '/apiserver/etcdServers/0': 'etcd:2379' does not match pattern"},
		{"schedulr.replicas=2", "additional properties 'schedulr' not allowed"},
		{"logLevel=loud", "at '/logLevel': value must be one of"},
		{"apiserver.dataDir=relative", "at '/apiserver/dataDir': 'relative' does not match pattern '^/'"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			out, err := exec.Command(h, "template", "skiff", chart, "--set", tc.set).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("helm template --set %s: %v, want an error with %q:\n%s", tc.set, err, tc.want, out)
			}
		})
	}
}
