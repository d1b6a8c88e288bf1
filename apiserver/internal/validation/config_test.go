package validation

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func validConfigMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		Metadata: &metav1.ObjectMeta{Name: "web-config", Namespace: "default",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"example.com/owner": "team-a"}},
		Data:       map[string]string{"nginx.conf": "server {}", "MODE": "prod", ".hidden": "x"},
		BinaryData: map[string][]byte{"logo.png": {0x89, 'P', 'N', 'G'}},
	}
}

func TestValidateConfigMap(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *corev1.ConfigMap)
		want   []string
	}{
		{"valid", func(c *corev1.ConfigMap) {}, nil},
		{"empty", func(c *corev1.ConfigMap) { c.Data, c.BinaryData = nil, nil }, nil},
		{"key with slash", func(c *corev1.ConfigMap) { c.Data["conf/nginx"] = "" }, []string{"data[conf/nginx]" + invalid}},
		{"key with space", func(c *corev1.ConfigMap) { c.Data["a b"] = "" }, []string{"data[a b]" + invalid}},
		{"key dot-dot", func(c *corev1.ConfigMap) { c.Data[".."] = "" }, []string{"data[..]" + invalid}},
		{"key starting with dot-dot", func(c *corev1.ConfigMap) { c.Data["..data"] = "" }, []string{"data[..data]" + invalid}},
		{"bad binary key", func(c *corev1.ConfigMap) { c.BinaryData["a:b"] = nil }, []string{"binaryData[a:b]" + invalid}},
		{"key in data and binaryData", func(c *corev1.ConfigMap) { c.BinaryData["MODE"] = []byte("x") }, []string{"binaryData[MODE]" + invalid}},
		{"over 1 MiB", func(c *corev1.ConfigMap) { c.Data["big"] = strings.Repeat("x", 1<<20) }, []string{"data" + tooLong}},
		{"over 1 MiB in binary", func(c *corev1.ConfigMap) { c.BinaryData["big"] = make([]byte, 1<<20) }, []string{"data" + tooLong}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfigMap()
			DefaultConfigMap(c)
			tt.mutate(c)
			expectErrors(t, ValidateConfigMap(c), tt.want...)
		})
	}
	expectIdempotent(t, validConfigMap(), DefaultConfigMap)
}

func TestValidateConfigMapUpdate(t *testing.T) {
	tests := []struct {
		name      string
		immutable *bool
		mutate    func(c *corev1.ConfigMap)
		want      []string
	}{
		{"mutable data changes", nil, func(c *corev1.ConfigMap) { c.Data["MODE"] = "dev" }, nil},
		{"made immutable", nil, func(c *corev1.ConfigMap) { c.Immutable = new(true) }, nil},
		{"immutable unchanged", new(true), func(c *corev1.ConfigMap) { c.Metadata.Labels["v"] = "2" }, nil},
		{"immutable data changes", new(true), func(c *corev1.ConfigMap) { c.Data["MODE"] = "dev" }, []string{"data" + forbidden}},
		{"immutable binaryData changes", new(true), func(c *corev1.ConfigMap) { c.BinaryData["logo.png"] = nil }, []string{"binaryData" + forbidden}},
		{"immutable made mutable", new(true), func(c *corev1.ConfigMap) { c.Immutable = new(false) }, []string{"immutable" + forbidden}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validConfigMap()
			old.Immutable = tt.immutable
			newObj := proto.Clone(old).(*corev1.ConfigMap)
			tt.mutate(newObj)
			expectErrors(t, ValidateConfigMapUpdate(newObj, old), tt.want...)
		})
	}
}

func validSecret() *corev1.Secret {
	return &corev1.Secret{
		Metadata:   &metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Data:       map[string][]byte{"password": []byte("s3cret")},
		StringData: map[string]string{"username": "admin"},
	}
}

func TestDefaultSecret(t *testing.T) {
	s := validSecret()
	s.Data["username"] = []byte("old")
	DefaultSecret(s)
	if s.Type != "Opaque" {
		t.Errorf("type = %q, want Opaque", s.Type)
	}
	if got := string(s.Data["username"]); got != "admin" {
		t.Errorf("data[username] = %q, want stringData's %q", got, "admin")
	}
	if string(s.Data["password"]) != "s3cret" || s.StringData != nil {
		t.Errorf("after defaulting data=%q stringData=%v", s.Data, s.StringData)
	}
	expectIdempotent(t, validSecret(), DefaultSecret)
	expectIdempotent(t, &corev1.Secret{}, DefaultSecret)
}

func TestValidateSecret(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *corev1.Secret)
		want   []string
	}{
		{"valid", func(s *corev1.Secret) {}, nil},
		{"no type", func(s *corev1.Secret) { s.Type = "" }, []string{"type" + required}},
		{"bad key", func(s *corev1.Secret) { s.Data["a/b"] = nil }, []string{"data[a/b]" + invalid}},
		{"bad stringData key", func(s *corev1.Secret) { s.StringData = map[string]string{"a b": ""} }, []string{"stringData[a b]" + invalid}},
		{"over 1 MiB", func(s *corev1.Secret) { s.Data["big"] = make([]byte, 1<<20) }, []string{"data" + tooLong}},
		{"tls", func(s *corev1.Secret) {
			s.Type, s.Data = "kubernetes.io/tls", map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")}
		}, nil},
		{"tls without key", func(s *corev1.Secret) {
			s.Type = "kubernetes.io/tls"
			s.Data = map[string][]byte{"tls.crt": []byte("c")}
		},
			[]string{"data[tls.key]" + required}},
		{"docker config", func(s *corev1.Secret) {
			s.Type, s.Data = "kubernetes.io/dockerconfigjson", map[string][]byte{".dockerconfigjson": []byte(`{"auths":{}}`)}
		}, nil},
		{"docker config not JSON", func(s *corev1.Secret) {
			s.Type, s.Data = "kubernetes.io/dockerconfigjson", map[string][]byte{".dockerconfigjson": []byte(`{`)}
		}, []string{"data[.dockerconfigjson]" + invalid}},
		{"docker config missing", func(s *corev1.Secret) { s.Type = "kubernetes.io/dockerconfigjson" }, []string{"data[.dockerconfigjson]" + required}},
		{"basic auth", func(s *corev1.Secret) { s.Type = "kubernetes.io/basic-auth" }, nil},
		{"basic auth without user or password", func(s *corev1.Secret) {
			s.Type, s.Data = "kubernetes.io/basic-auth", map[string][]byte{"token": nil}
		}, []string{"data[username]" + required, "data[password]" + required}},
		{"ssh auth without key", func(s *corev1.Secret) { s.Type = "kubernetes.io/ssh-auth" }, []string{"data[ssh-privatekey]" + required}},
		{"token without service account", func(s *corev1.Secret) { s.Type = "kubernetes.io/service-account-token" },
			[]string{"metadata.annotations[kubernetes.io/service-account.name]" + required}},
		{"token with service account", func(s *corev1.Secret) {
			s.Type = "kubernetes.io/service-account-token"
			s.Metadata.Annotations = map[string]string{"kubernetes.io/service-account.name": "default"}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSecret()
			DefaultSecret(s)
			tt.mutate(s)
			expectErrors(t, ValidateSecret(s), tt.want...)
		})
	}
}

func TestValidateSecretUpdate(t *testing.T) {
	tests := []struct {
		name      string
		immutable *bool
		mutate    func(s *corev1.Secret)
		want      []string
	}{
		{"data changes", nil, func(s *corev1.Secret) { s.Data["password"] = []byte("new") }, nil},
		{"type changes", nil, func(s *corev1.Secret) { s.Type = "example.com/custom" }, []string{"type" + invalid}},
		{"immutable data changes", new(true), func(s *corev1.Secret) { s.Data["password"] = []byte("new") }, []string{"data" + forbidden}},
		{"immutable stringData changes", new(true), func(s *corev1.Secret) { s.StringData = map[string]string{"password": "new"} }, []string{"data" + forbidden}},
		{"immutable stringData repeats data", new(true), func(s *corev1.Secret) { s.StringData = map[string]string{"password": "s3cret"} }, nil},
		{"immutable made mutable", new(true), func(s *corev1.Secret) { s.Immutable = nil }, []string{"immutable" + forbidden}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validSecret()
			DefaultSecret(old)
			old.Immutable = tt.immutable
			newObj := proto.Clone(old).(*corev1.Secret)
			tt.mutate(newObj)
			expectErrors(t, ValidateSecretUpdate(newObj, old), tt.want...)
		})
	}
}
