package client

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
)

// Defaults of Options.
const (
	DefaultQPS     float32 = 50
	DefaultBurst           = 100
	DefaultTimeout         = 30 * time.Second
)

// Options says where a Clientset connects and as whom. Every field
// overrides what the config file's context says; zero fields fall back to
// it. The zero value uses the current context of the default config file.
type Options struct {
	// Kubeconfig is the config file; empty is $SKIFF_CONFIG, then
	// ~/.skiff/config. An explicitly named file must exist; the default
	// one may be missing when Server is set.
	Kubeconfig string
	// Context is the context of the config file to use; empty is its
	// current-context.
	Context string

	// Server lists apiserver URLs (each entry may itself be a comma-separated
	// list). http://host:port is plaintext gRPC against an --insecure
	// apiserver, https://host:port (or host:port) is TLS.
	Server []string
	// Token is a bearer token sent with every call.
	Token                 string
	CertificateAuthority  string // CA bundle file to verify apiservers with
	ClientCertificate     string // client certificate file (PEM)
	ClientKey             string // its private key file (PEM)
	InsecureSkipTLSVerify bool   // do not verify the apiservers' certificates
	// Namespace overrides the context's default namespace (Clientset.Namespace).
	Namespace string

	// QPS and Burst bound this client's unary calls; 0 is DefaultQPS and
	// DefaultBurst, a negative QPS disables the limit. Opening a watch or a
	// stream costs one token; its messages are free.
	QPS   float32
	Burst int
	// Timeout bounds each unary call that has no deadline of its own; 0 is
	// DefaultTimeout and a negative value means no timeout. Watches and
	// streams are never given one.
	Timeout time.Duration
	// UserAgent names the program to the apiservers; empty is
	// "<binary>/skiff (<os>/<arch>)".
	UserAgent string

	// Logger logs endpoint failovers; nil logs nothing.
	Logger *zap.Logger
}

// BindFlags registers kubectl's connection flags on fs, writing into o:
// --kubeconfig, --context, --server/-s, --token, --certificate-authority,
// --client-certificate, --client-key, --insecure-skip-tls-verify and
// --request-timeout. Values already in o are the flags' defaults.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig,
		"path of the config file (default $"+ConfigEnv+", then ~/.skiff/config)")
	fs.StringVar(&o.Context, "context", o.Context, "config file context to use (default its current-context)")
	fs.StringSliceVarP(&o.Server, "server", "s", o.Server,
		"apiserver URLs, comma-separated, e.g. https://10.0.0.1:6443 (http:// for an --insecure apiserver)")
	fs.StringVar(&o.Token, "token", o.Token, "bearer token for authentication")
	fs.StringVar(&o.CertificateAuthority, "certificate-authority", o.CertificateAuthority,
		"CA bundle file to verify the apiservers' certificates")
	fs.StringVar(&o.ClientCertificate, "client-certificate", o.ClientCertificate, "client certificate file for TLS")
	fs.StringVar(&o.ClientKey, "client-key", o.ClientKey, "client key file for TLS")
	fs.BoolVar(&o.InsecureSkipTLSVerify, "insecure-skip-tls-verify", o.InsecureSkipTLSVerify,
		"do not verify the apiservers' certificates (insecure)")
	def := o.Timeout
	if def == 0 {
		def = DefaultTimeout
	}
	fs.DurationVar(&o.Timeout, "request-timeout", def,
		"time limit of each API call, watches excepted (0 is the default, negative means none)")
}

// endpoint is one apiserver.
type endpoint struct {
	raw    string // as configured
	target string // host:port for grpc.NewClient
	secure bool   // https
	host   string // for TLS server name
}

// resolved is Options merged over the config file.
type resolved struct {
	endpoints             []endpoint
	token                 string
	caFile                string
	caData                []byte
	certFile, keyFile     string
	certData, keyData     []byte
	insecureSkipTLSVerify bool
	namespace             string
	qps                   float32
	burst                 int
	timeout               time.Duration
	userAgent             string
}

// resolve merges o over its config file: flags > $SKIFF_CONFIG's or
// --kubeconfig's file > ~/.skiff/config.
func (o *Options) resolve() (*resolved, error) {
	r := &resolved{namespace: "default"}
	path := ConfigPath(o.Kubeconfig)
	explicit := o.Kubeconfig != "" || os.Getenv(ConfigEnv) != ""
	f, err := LoadConfigFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		f = nil // no default config file: flags must say everything
	case err != nil:
		return nil, err
	}

	var servers []string
	if f != nil {
		name := o.Context
		if name == "" {
			name = f.CurrentContext
		}
		if name == "" && len(o.Server) == 0 {
			return nil, f.errorf("no current-context: pick one with --context or `skiffctl config use-context`")
		}
		if name != "" {
			c, err := f.Context(name)
			if err != nil {
				return nil, err
			}
			if c.Namespace != "" {
				r.namespace = c.Namespace
			}
			if c.Cluster != "" {
				cl, err := f.Cluster(c.Cluster)
				if err != nil {
					return nil, fmt.Errorf("%w (named by context %q)", err, name)
				}
				servers = append(splitList([]string{cl.Server}), splitList(cl.Servers)...)
				r.caFile = f.resolvePath(cl.CertificateAuthority)
				r.caData = cl.CertificateAuthorityData
				r.insecureSkipTLSVerify = cl.InsecureSkipTLSVerify
			}
			if c.User != "" {
				u, err := f.User(c.User)
				if err != nil {
					return nil, fmt.Errorf("%w (named by context %q)", err, name)
				}
				r.token = u.Token
				r.certFile, r.keyFile = f.resolvePath(u.ClientCertificate), f.resolvePath(u.ClientKey)
				r.certData, r.keyData = u.ClientCertificateData, u.ClientKeyData
			}
		}
	} else if o.Context != "" {
		return nil, fmt.Errorf("%s: context %q not found: the file does not exist", displayPath(path), o.Context)
	}

	if len(o.Server) > 0 {
		servers = splitList(o.Server)
	}
	if o.Token != "" {
		r.token = o.Token
	}
	if o.CertificateAuthority != "" {
		r.caFile, r.caData = o.CertificateAuthority, nil
	}
	if o.ClientCertificate != "" {
		r.certFile, r.certData = o.ClientCertificate, nil
	}
	if o.ClientKey != "" {
		r.keyFile, r.keyData = o.ClientKey, nil
	}
	if o.InsecureSkipTLSVerify {
		r.insecureSkipTLSVerify = true
	}
	if o.Namespace != "" {
		r.namespace = o.Namespace
	}

	if len(servers) == 0 {
		return nil, fmt.Errorf("no apiserver: set --server or a context with a cluster in %s", displayPath(path))
	}
	seen := map[string]bool{}
	for _, s := range servers {
		ep, err := parseServer(s)
		if err != nil {
			return nil, err
		}
		if !seen[ep.target+fmt.Sprint(ep.secure)] {
			seen[ep.target+fmt.Sprint(ep.secure)] = true
			r.endpoints = append(r.endpoints, ep)
		}
	}
	if (r.certFile != "" || len(r.certData) > 0) != (r.keyFile != "" || len(r.keyData) > 0) {
		return nil, errors.New("client certificate and client key must be given together")
	}

	r.qps, r.burst = o.QPS, o.Burst
	if r.qps == 0 {
		r.qps = DefaultQPS
	}
	if r.burst <= 0 {
		r.burst = DefaultBurst
	}
	r.timeout = o.Timeout
	if r.timeout == 0 {
		r.timeout = DefaultTimeout
	}
	r.userAgent = o.UserAgent
	if r.userAgent == "" {
		r.userAgent = fmt.Sprintf("%s/skiff (%s/%s)", filepath.Base(os.Args[0]), runtime.GOOS, runtime.GOARCH)
	}
	return r, nil
}

// splitList flattens comma-separated entries and drops blanks.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// parseServer reads one apiserver URL: http://host:port, https://host:port
// or host:port (TLS). A missing port is 80 or 443.
func parseServer(s string) (endpoint, error) {
	raw := s
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return endpoint{}, fmt.Errorf("server %q: %w", raw, err)
	}
	ep := endpoint{raw: raw, host: u.Hostname()}
	switch u.Scheme {
	case "http":
	case "https":
		ep.secure = true
	default:
		return endpoint{}, fmt.Errorf("server %q: scheme must be http or https, got %q", raw, u.Scheme)
	}
	if ep.host == "" {
		return endpoint{}, fmt.Errorf("server %q: missing host", raw)
	}
	if u.Path != "" && u.Path != "/" {
		return endpoint{}, fmt.Errorf("server %q: must not have a path, got %q", raw, u.Path)
	}
	port := u.Port()
	if port == "" {
		port = "443"
		if !ep.secure {
			port = "80"
		}
	}
	ep.target = net.JoinHostPort(ep.host, port)
	return ep, nil
}
