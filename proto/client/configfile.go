package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// ConfigEnv names the environment variable holding the path of the config
// file; it overrides DefaultConfigPath and is overridden by --kubeconfig.
const ConfigEnv = "SKIFF_CONFIG"

// File is the config file shared by skiffctl and every component: which
// apiservers make up each cluster, which credentials each user has, and
// contexts pairing the two. It reads like a kubeconfig:
//
//	apiVersion: v1
//	kind: Config
//	current-context: dev
//	clusters:
//	- name: dev
//	  cluster:
//	    servers: [https://10.0.0.1:6443, https://10.0.0.2:6443]
//	    certificate-authority: ca.crt
//	users:
//	- name: admin
//	  user:
//	    client-certificate: admin.crt
//	    client-key: admin.key
//	contexts:
//	- name: dev
//	  context: {cluster: dev, user: admin, namespace: default}
//
// Relative file paths inside it are relative to the file's own folder.
type File struct {
	APIVersion     string         `json:"apiVersion"`
	Kind           string         `json:"kind"`
	CurrentContext string         `json:"current-context"`
	Clusters       []NamedCluster `json:"clusters"`
	Users          []NamedUser    `json:"users"`
	Contexts       []NamedContext `json:"contexts"`
	// Preferences and Extensions are kubeconfig fields Skiff does not use,
	// accepted so that a kubectl config file ($KUBECONFIG) loads.
	Preferences map[string]any   `json:"preferences,omitempty"`
	Extensions  []map[string]any `json:"extensions,omitempty"`

	path string // where it was loaded from, for messages and relative paths
}

// NamedCluster is one entry of File.Clusters.
type NamedCluster struct {
	Name    string  `json:"name"`
	Cluster Cluster `json:"cluster"`
}

// Cluster is where a cluster's apiservers are and how to trust them.
type Cluster struct {
	// Server is one apiserver URL or a comma-separated list of them;
	// http:// is plaintext (an --insecure apiserver), https:// is TLS.
	Server string `json:"server,omitempty"`
	// Servers lists more apiserver URLs; the client fails over between
	// Server's and these, in order.
	Servers                  []string `json:"servers,omitempty"`
	CertificateAuthority     string   `json:"certificate-authority,omitempty"`
	CertificateAuthorityData []byte   `json:"certificate-authority-data,omitempty"`
	InsecureSkipTLSVerify    bool     `json:"insecure-skip-tls-verify,omitempty"`
}

// NamedUser is one entry of File.Users.
type NamedUser struct {
	Name string `json:"name"`
	User User   `json:"user"`
}

// User is a set of credentials: a bearer token, a client certificate, or both.
type User struct {
	Token                 string `json:"token,omitempty"`
	ClientCertificate     string `json:"client-certificate,omitempty"`
	ClientKey             string `json:"client-key,omitempty"`
	ClientCertificateData []byte `json:"client-certificate-data,omitempty"`
	ClientKeyData         []byte `json:"client-key-data,omitempty"`
}

// NamedContext is one entry of File.Contexts.
type NamedContext struct {
	Name    string  `json:"name"`
	Context Context `json:"context"`
}

// Context pairs a cluster with a user and a default namespace.
type Context struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace,omitempty"`
}

// NewConfigFile returns an empty config file that Save writes to path.
func NewConfigFile(path string) *File {
	return &File{APIVersion: "v1", Kind: "Config", path: path}
}

// DefaultConfigPath is the config file used when neither --kubeconfig nor
// $SKIFF_CONFIG names one: ~/.skiff/config.
func DefaultConfigPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".skiff", "config")
	}
	return filepath.Join(home, ".skiff", "config")
}

// ConfigPath picks the config file: explicit (a --kubeconfig flag) if set,
// else $SKIFF_CONFIG, else DefaultConfigPath.
func ConfigPath(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if p := os.Getenv(ConfigEnv); p != "" {
		return p
	}
	return DefaultConfigPath()
}

// LoadConfigFile reads and checks the config file at path. A missing file
// is an error that matches fs.ErrNotExist.
func LoadConfigFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", displayPath(path), err)
	}
	f := &File{path: path}
	if err := yaml.UnmarshalStrict(data, f); err != nil {
		return nil, fmt.Errorf("%s: %w", displayPath(path), err)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// LoadOrNewConfigFile is LoadConfigFile that returns an empty file when
// none exists yet at path, for commands that write the config.
func LoadOrNewConfigFile(path string) (*File, error) {
	f, err := LoadConfigFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewConfigFile(path), nil
	}
	return f, err
}

// Path is where the file was loaded from or will be saved to by default.
func (f *File) Path() string { return f.path }

func (f *File) validate() error {
	if f.APIVersion != "" && f.APIVersion != "v1" {
		return f.errorf("apiVersion: must be v1, got %q", f.APIVersion)
	}
	if f.Kind != "" && f.Kind != "Config" {
		return f.errorf("kind: must be Config, got %q", f.Kind)
	}
	seen := map[string]bool{}
	for i, c := range f.Clusters {
		if err := f.checkName("clusters", i, c.Name, seen); err != nil {
			return err
		}
	}
	clear(seen)
	for i, u := range f.Users {
		if err := f.checkName("users", i, u.Name, seen); err != nil {
			return err
		}
	}
	clear(seen)
	for i, c := range f.Contexts {
		if err := f.checkName("contexts", i, c.Name, seen); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) checkName(list string, i int, name string, seen map[string]bool) error {
	switch {
	case name == "":
		return f.errorf("%s[%d].name: required", list, i)
	case seen[name]:
		return f.errorf("%s[%d].name: duplicate %q", list, i, name)
	}
	seen[name] = true
	return nil
}

// Save writes the file to path (or, if path is empty, to where it was
// loaded from), creating the folder; the file is readable by its owner only
// since it holds credentials. The write is atomic.
func (f *File) Save(path string) error {
	if path == "" {
		path = f.path
	}
	if path == "" {
		return errors.New("save config: no path")
	}
	if f.APIVersion == "" {
		f.APIVersion = "v1"
	}
	if f.Kind == "" {
		f.Kind = "Config"
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("%s: %w", displayPath(path), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("%s: %w", displayPath(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("%s: %w", displayPath(path), err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", displayPath(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", displayPath(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", displayPath(path), err)
	}
	f.path = path
	return nil
}

// Context returns the named context.
func (f *File) Context(name string) (Context, error) {
	for _, c := range f.Contexts {
		if c.Name == name {
			return c.Context, nil
		}
	}
	return Context{}, f.errorf("context %q not found", name)
}

// Cluster returns the named cluster.
func (f *File) Cluster(name string) (Cluster, error) {
	for _, c := range f.Clusters {
		if c.Name == name {
			return c.Cluster, nil
		}
	}
	return Cluster{}, f.errorf("cluster %q not found", name)
}

// User returns the named user.
func (f *File) User(name string) (User, error) {
	for _, u := range f.Users {
		if u.Name == name {
			return u.User, nil
		}
	}
	return User{}, f.errorf("user %q not found", name)
}

// UseContext makes the named context the current one (skiffctl config
// use-context); the context must exist.
func (f *File) UseContext(name string) error {
	if _, err := f.Context(name); err != nil {
		return err
	}
	f.CurrentContext = name
	return nil
}

// SetCluster adds or replaces the named cluster.
func (f *File) SetCluster(name string, c Cluster) {
	for i := range f.Clusters {
		if f.Clusters[i].Name == name {
			f.Clusters[i].Cluster = c
			return
		}
	}
	f.Clusters = append(f.Clusters, NamedCluster{Name: name, Cluster: c})
}

// SetCredentials adds or replaces the named user's credentials
// (skiffctl config set-credentials).
func (f *File) SetCredentials(name string, u User) {
	for i := range f.Users {
		if f.Users[i].Name == name {
			f.Users[i].User = u
			return
		}
	}
	f.Users = append(f.Users, NamedUser{Name: name, User: u})
}

// SetContext adds or replaces the named context.
func (f *File) SetContext(name string, c Context) {
	for i := range f.Contexts {
		if f.Contexts[i].Name == name {
			f.Contexts[i].Context = c
			return
		}
	}
	f.Contexts = append(f.Contexts, NamedContext{Name: name, Context: c})
}

// resolvePath makes a path from the file relative to the file's folder.
func (f *File) resolvePath(p string) string {
	if p == "" || filepath.IsAbs(p) || f.path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(f.path), p)
}

func (f *File) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", displayPath(f.path), fmt.Sprintf(format, args...))
}

// displayPath shortens the home folder to ~ in messages.
func displayPath(p string) string {
	if p == "" {
		return "config"
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		if rel, ok := strings.CutPrefix(p, home+string(filepath.Separator)); ok {
			return filepath.Join("~", rel)
		}
	}
	return p
}
