// Package test holds skiffctl's tests against a real kubectl.
package test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/ctl/internal/app"
)

const objects = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector: {app: web}
  ports:
  - port: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: a
  labels: {app: x, tier: db}
spec:
  containers:
  - {name: c, image: busybox, args: [sleep, "10"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: b
  labels: {app: m}
spec:
  containers:
  - {name: c, image: busybox}
  - {name: d, image: nginx:1.27}
`

// TestOutputFormatsMatchKubectl: for the same objects on one apiserver,
// skiffctl's -o jsonpath, custom-columns and go-template print exactly
// what kubectl v1.32.3 prints, errors included.
func TestOutputFormatsMatchKubectl(t *testing.T) {
	srv := apiservertest.Start(t, apiservertest.Options{})
	k := apiservertest.NewKubectl(t, srv)
	if _, errOut, err := k.Run(objects, "apply", "--validate=false", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v %s", err, errOut)
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SKIFF_CONFIG", "")
	skiffctl := func(args ...string) (string, string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out, errOut bytes.Buffer
		code := app.Run(ctx, append([]string{"--server", srv.URL}, args...), strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	printed := 0
	for _, args := range [][]string{
		{"get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"},
		{"get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0]}"},
		{"get", "deploy", "web", "-o", "jsonpath={.metadata}"},
		{"get", "pods", "-o", "jsonpath={.items[*].metadata.name}"},
		{"get", "pods", "-o", `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.containers[*].image}{"\n"}{end}`},
		{"get", "pods", "-o", `jsonpath={.items[?(@.metadata.labels.app=="m")].spec.containers[*].name}`},
		{"get", "pods", "-o", "jsonpath={.items[0].spec}"},
		{"get", "pods", "-o", "jsonpath={.kind} {.apiVersion} {.metadata}"},
		{"get", "pod", "a", "-o", "jsonpath={.kind}"},
		{"get", "pod", "a", "b", "-o", "jsonpath={.kind}"},
		{"get", "deploy,svc", "-o", "jsonpath={.items[*].kind}"},
		{"get", "pods", "-o", "jsonpath-as-json={.items[*].metadata.labels}"},
		{"get", "pods", "-n", "empty", "-o", "jsonpath={.items}"},
		{"get", "deploy", "web", "-o", "jsonpath={.foo}"},
		{"get", "svc", "web", "-o", "jsonpath={.spec}"},
		{"get", "pods", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app,TIER:.metadata.labels.tier,IMAGES:.spec.containers[*].image"},
		{"get", "pods", "-o", "custom-columns=NAME:{.metadata.name},ARGS:spec.containers[0].args", "--no-headers"},
		{"get", "deploy,svc", "-o", "custom-columns=KIND:.kind,NAME:.metadata.name,SEL:.spec.selector"},
		{"get", "pods", "-o", `go-template={{range .items}}{{.metadata.name}} {{len .spec.containers}}{{"\n"}}{{end}}`},
		{"get", "deploy", "web", "-o", "go-template={{.spec.replicas}} {{.metadata.labels}} {{.spec.nothing}}"},
		{"get", "pods", "--template", "{{range .items}}{{if exists .metadata.labels \"tier\"}}{{.metadata.name}}{{end}}{{end}}"},
		{"get", "pods", "--sort-by=.metadata.name", "-o", "name"},
		{"get", "pods", "--sort-by=.metadata.labels.app", "-o", "jsonpath={.items[*].metadata.name}"},
		{"get", "pods", "--sort-by={.spec.containers[0].image}", "-o", "custom-columns=N:.metadata.name"},
		// Errors: stderr must match too.
		{"get", "deploy", "web", "-o", "jsonpath={.spec.replicas"},
		{"get", "deploy", "web", "-o", "jsonpath={.foo}", "--allow-missing-template-keys=false"},
		{"get", "pods", "-o", "jsonpath"},
		{"get", "pods", "-o", "go-template={{.items"},
		{"get", "pods", "-o", "custom-columns=NAME"},
		{"get", "pods", "-o", "custom-columns=A:{.x"},
		// Not `--sort-by=.foo`: kubectl sorts server-side Tables and, on a
		// field no object has, prints "No resources found" (kubectl issue
		// 1343); skiffctl keeps the error kubectl gave before Tables
		// (output_test.go).
		{"get", "pods", "-o", "xml"},
		{"get", "pods", "-o", "jsonpath-file=/nonexistent"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			want, wantErr, kerr := k.Run("", args...)
			if want != "" {
				printed++
			}
			got, gotErr, code := skiffctl(args...)
			if (kerr == nil) != (code == 0) {
				t.Errorf("kubectl error %v, skiffctl exit %d (stderr %q)", kerr, code, gotErr)
			}
			if got != want {
				t.Errorf("stdout\nskiffctl: %q\nkubectl:  %q", got, want)
			}
			if strings.TrimRight(gotErr, "\n") != strings.TrimRight(wantErr, "\n") {
				t.Errorf("stderr\nskiffctl: %q\nkubectl:  %q", gotErr, wantErr)
			}
		})
	}
	if printed < 20 {
		t.Errorf("kubectl printed something for only %d commands: the comparison is vacuous", printed)
	}
}
