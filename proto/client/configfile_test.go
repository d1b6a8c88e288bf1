package client

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleConfig = `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster:
    server: https://10.0.0.1:6443,https://10.0.0.2:6443
    servers: [https://10.0.0.3:6443]
    certificate-authority: pki/ca.crt
- name: local
  cluster:
    server: http://127.0.0.1:8080
users:
- name: admin
  user:
    token: s3cret
- name: cert
  user:
    client-certificate: /etc/skiff/admin.crt
    client-key: /etc/skiff/admin.key
contexts:
- name: dev
  context: {cluster: dev, user: admin, namespace: team-a}
- name: local
  context: {cluster: local, user: admin}
- name: broken
  context: {cluster: nowhere, user: admin}
`

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigFile(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "config"), sampleConfig)
	f, err := LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.CurrentContext != "dev" || len(f.Clusters) != 2 || len(f.Users) != 2 || len(f.Contexts) != 3 {
		t.Fatalf("loaded %+v", f)
	}
	c, err := f.Context("dev")
	if err != nil || c != (Context{Cluster: "dev", User: "admin", Namespace: "team-a"}) {
		t.Fatalf("Context(dev) = %+v, %v", c, err)
	}
	cl, err := f.Cluster("dev")
	if err != nil || cl.CertificateAuthority != "pki/ca.crt" || len(cl.Servers) != 1 {
		t.Fatalf("Cluster(dev) = %+v, %v", cl, err)
	}
	if got, want := f.resolvePath(cl.CertificateAuthority), filepath.Join(filepath.Dir(path), "pki/ca.crt"); got != want {
		t.Errorf("relative CA path resolves to %q, want %q", got, want)
	}
	u, err := f.User("cert")
	if err != nil || u.ClientKey != "/etc/skiff/admin.key" {
		t.Fatalf("User(cert) = %+v, %v", u, err)
	}
}

func TestLoadConfigFileErrors(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct {
		name, data, want string
	}{
		{"bad yaml", "clusters: [", "~/.skiff/config: "},
		{"unknown field", "apiVersion: v1\nkind: Config\nclustrs: []\n", `unknown field "clustrs"`},
		{"wrong kind", "apiVersion: v1\nkind: Pod\n", `~/.skiff/config: kind: must be Config, got "Pod"`},
		{"unnamed cluster", "clusters:\n- cluster: {server: http://a:1}\n", "~/.skiff/config: clusters[0].name: required"},
		{"duplicate user", "users:\n- name: a\n- name: a\n", `~/.skiff/config: users[1].name: duplicate "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(home, ".skiff", "config"), tt.data)
			_, err := LoadConfigFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}

	_, err := LoadConfigFile(filepath.Join(home, "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}

func TestConfigFileLookupErrors(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	f, err := LoadConfigFile(writeFile(t, filepath.Join(home, ".skiff", "config"), sampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.UseContext("x"); err == nil || err.Error() != `~/.skiff/config: context "x" not found` {
		t.Errorf("UseContext(x) = %v", err)
	}
	if f.CurrentContext != "dev" {
		t.Errorf("failed UseContext changed current-context to %q", f.CurrentContext)
	}
	if _, err := f.Cluster("x"); err == nil || err.Error() != `~/.skiff/config: cluster "x" not found` {
		t.Errorf("Cluster(x) = %v", err)
	}
	if _, err := f.User("x"); err == nil || err.Error() != `~/.skiff/config: user "x" not found` {
		t.Errorf("User(x) = %v", err)
	}
}

func TestConfigFileEditAndSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config")
	f, err := LoadOrNewConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.SetCluster("prod", Cluster{Servers: []string{"https://a:6443", "https://b:6443"}, CertificateAuthorityData: []byte("PEM")})
	f.SetCredentials("admin", User{Token: "one"})
	f.SetCredentials("admin", User{Token: "two"}) // replaces
	f.SetContext("prod", Context{Cluster: "prod", User: "admin", Namespace: "web"})
	if err := f.UseContext("prod"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(""); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config saved with mode %v, want 0600", st.Mode().Perm())
	}

	g, err := LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.APIVersion != "v1" || g.Kind != "Config" || g.CurrentContext != "prod" {
		t.Errorf("saved header: %q %q %q", g.APIVersion, g.Kind, g.CurrentContext)
	}
	if len(g.Users) != 1 || g.Users[0].User.Token != "two" {
		t.Errorf("users after two SetCredentials: %+v", g.Users)
	}
	cl, _ := g.Cluster("prod")
	if string(cl.CertificateAuthorityData) != "PEM" || len(cl.Servers) != 2 {
		t.Errorf("cluster round trip: %+v", cl)
	}
	raw, _ := os.ReadFile(path)
	for _, want := range []string{"current-context: prod", "certificate-authority-data: UEVN", "token: two"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("saved file lacks %q:\n%s", want, raw)
		}
	}
}
