package client

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func endpointURLs(r *resolved) []string {
	var out []string
	for _, ep := range r.endpoints {
		scheme := "http://"
		if ep.secure {
			scheme = "https://"
		}
		out = append(out, scheme+ep.target)
	}
	return out
}

func TestResolvePrecedence(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(ConfigEnv, "")
	writeFile(t, filepath.Join(home, ".skiff", "config"), sampleConfig)
	envFile := writeFile(t, filepath.Join(t.TempDir(), "env-config"), `current-context: env
clusters: [{name: env, cluster: {server: "http://127.0.0.1:7000"}}]
users: [{name: env, user: {token: env-token}}]
contexts: [{name: env, context: {cluster: env, user: env, namespace: env-ns}}]
`)
	flagFile := writeFile(t, filepath.Join(t.TempDir(), "flag-config"), `current-context: flag
clusters: [{name: flag, cluster: {server: "http://127.0.0.1:9000"}}]
contexts: [{name: flag, context: {cluster: flag}}]
`)

	tests := []struct {
		name      string
		env       string
		opts      Options
		servers   []string
		token     string
		namespace string
	}{
		{
			name:      "default file, current context",
			servers:   []string{"https://10.0.0.1:6443", "https://10.0.0.2:6443", "https://10.0.0.3:6443"},
			token:     "s3cret",
			namespace: "team-a",
		},
		{
			name:      "--context",
			opts:      Options{Context: "local"},
			servers:   []string{"http://127.0.0.1:8080"},
			token:     "s3cret",
			namespace: "default",
		},
		{
			name:      "env names the file",
			env:       envFile,
			servers:   []string{"http://127.0.0.1:7000"},
			token:     "env-token",
			namespace: "env-ns",
		},
		{
			name:      "--kubeconfig beats env",
			env:       envFile,
			opts:      Options{Kubeconfig: flagFile},
			servers:   []string{"http://127.0.0.1:9000"},
			namespace: "default",
		},
		{
			name:      "flags beat the file's values",
			env:       envFile,
			opts:      Options{Server: []string{"http://127.0.0.1:1,http://127.0.0.1:2", "127.0.0.1:3"}, Token: "flag-token", Namespace: "mine"},
			servers:   []string{"http://127.0.0.1:1", "http://127.0.0.1:2", "https://127.0.0.1:3"},
			token:     "flag-token",
			namespace: "mine",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(ConfigEnv, tt.env)
			r, err := tt.opts.resolve()
			if err != nil {
				t.Fatal(err)
			}
			if got := endpointURLs(r); !reflect.DeepEqual(got, tt.servers) {
				t.Errorf("servers = %v, want %v", got, tt.servers)
			}
			if r.token != tt.token {
				t.Errorf("token = %q, want %q", r.token, tt.token)
			}
			if r.namespace != tt.namespace {
				t.Errorf("namespace = %q, want %q", r.namespace, tt.namespace)
			}
			if r.qps != DefaultQPS || r.burst != DefaultBurst || r.timeout != DefaultTimeout {
				t.Errorf("defaults: qps %v burst %v timeout %v", r.qps, r.burst, r.timeout)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(ConfigEnv, "")
	empty := t.TempDir()

	tests := []struct {
		name   string
		config string // written to ~/.skiff/config when set
		opts   Options
		want   string
	}{
		{"no config, no server", "", Options{}, "no apiserver: set --server"},
		{"explicit file missing", "", Options{Kubeconfig: filepath.Join(empty, "nope")}, "nope: open"},
		{"unknown context", sampleConfig, Options{Context: "x"}, `~/.skiff/config: context "x" not found`},
		{"context names unknown cluster", sampleConfig, Options{Context: "broken"}, `~/.skiff/config: cluster "nowhere" not found (named by context "broken")`},
		{"no current context", "clusters: []\n", Options{}, "~/.skiff/config: no current-context"},
		{"bad scheme", "", Options{Server: []string{"ftp://a:1"}}, `server "ftp://a:1": scheme must be http or https, got "ftp"`},
		{"path in url", "", Options{Server: []string{"http://a:1/api"}}, `server "http://a:1/api": must not have a path`},
		{"cert without key", "", Options{Server: []string{"https://a:1"}, ClientCertificate: "c.pem"}, "client certificate and client key must be given together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(home, ".skiff", "config")
			if tt.config != "" {
				writeFile(t, path, tt.config)
				t.Cleanup(func() { os.Remove(path) })
			}
			_, err := tt.opts.resolve()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestBindFlags(t *testing.T) {
	var o Options
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.BindFlags(fs)
	err := fs.Parse([]string{
		"--kubeconfig=/k", "--context=c", "-s", "http://a:1,http://b:2", "--server=https://c:3",
		"--token=t", "--certificate-authority=ca", "--client-certificate=crt", "--client-key=key",
		"--insecure-skip-tls-verify", "--request-timeout=5s",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		Kubeconfig: "/k", Context: "c", Server: []string{"http://a:1", "http://b:2", "https://c:3"},
		Token: "t", CertificateAuthority: "ca", ClientCertificate: "crt", ClientKey: "key",
		InsecureSkipTLSVerify: true, Timeout: 5 * time.Second,
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("after parse:\n got %+v\nwant %+v", o, want)
	}

	var d Options
	fs = pflag.NewFlagSet("test", pflag.ContinueOnError)
	d.BindFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if d.Timeout != DefaultTimeout {
		t.Errorf("default --request-timeout = %v, want %v", d.Timeout, DefaultTimeout)
	}
}
