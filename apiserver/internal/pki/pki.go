// Package pki makes the development PKI of a Skiff cluster (`make certs`,
// `skiff-apiserver certs`): a cluster CA, the apiserver's serving
// certificate and a client certificate for the admin and for every
// component, as kubeadm's "certs" phase does for Kubernetes.
//
// Generate is idempotent: the CA is never overwritten, certificates that are
// still valid are kept, and missing or stale ones are signed anew by the
// existing CA. All keys are ECDSA P-256.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"go.uber.org/zap"
)

// CACommonName is the common name of the CA Generate makes.
const CACommonName = "skiff-ca"

// renewBefore: Generate replaces a leaf certificate that expires sooner.
const renewBefore = 30 * 24 * time.Hour

// caName is the base name of the CA files, ca.crt and ca.key.
const caName = "ca"

// Names of the users and groups of the component certificates; the
// apiserver's authorizer gives them their rights, as Kubernetes' default
// RBAC policy does.
const (
	AdminUser             = "admin"
	MastersGroup          = "system:masters"
	SchedulerUser         = "system:kube-scheduler"
	ControllerManagerUser = "system:kube-controller-manager"
	KubeProxyUser         = "system:kube-proxy"
	NodeUserPrefix        = "system:node:"
	NodesGroup            = "system:nodes"
	APIServerCommonName   = "skiff-apiserver"
	// KubeletClientCommonName is the apiserver's user when it calls
	// kubelets (logs), as kubeadm's apiserver-kubelet-client.
	KubeletClientCommonName = "skiff-apiserver-kubelet-client"
)

// DefaultHosts are always in the apiserver's serving certificate.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// Options configures Generate.
type Options struct {
	// Hosts are extra DNS names and IP addresses the apiserver is reached
	// at; DefaultHosts are always included.
	Hosts []string
	// Nodes are the names of the nodes that get a kubelet client
	// certificate, kubelet-<name>.crt with user system:node:<name>.
	Nodes []string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Logger reports every file written; nil logs nothing.
	Logger *zap.Logger
}

// Cert is one leaf certificate Generate keeps in a directory as
// Name.crt and Name.key.
type Cert struct {
	Name    string
	Request CertRequest
}

// Certs returns the leaf certificates Generate makes for opts, after
// checking the hosts and node names.
func Certs(opts Options) ([]Cert, error) {
	for i, h := range opts.Hosts {
		if err := validateHost(h); err != nil {
			return nil, fmt.Errorf("hosts[%d]: %w", i, err)
		}
	}
	for i, n := range opts.Nodes {
		if !subdomain.MatchString(n) || len(n) > 253 {
			return nil, fmt.Errorf("nodes[%d]: %q is not a valid node name: must be a lower-case RFC 1123 subdomain such as node-1", i, n)
		}
	}
	certs := []Cert{
		{"apiserver", CertRequest{CommonName: APIServerCommonName, Hosts: append(slices.Clone(DefaultHosts), opts.Hosts...), Usage: ServerAuth}},
		{"admin", CertRequest{CommonName: AdminUser, Organization: []string{MastersGroup}, Usage: ClientAuth}},
		{"scheduler", CertRequest{CommonName: SchedulerUser, Usage: ClientAuth}},
		{"controller-manager", CertRequest{CommonName: ControllerManagerUser, Usage: ClientAuth}},
		{"kube-proxy", CertRequest{CommonName: KubeProxyUser, Usage: ClientAuth}},
		{"apiserver-kubelet-client", CertRequest{CommonName: KubeletClientCommonName, Organization: []string{MastersGroup}, Usage: ClientAuth}},
	}
	for _, n := range opts.Nodes {
		name := "kubelet-" + n
		if slices.ContainsFunc(certs, func(c Cert) bool { return c.Name == name }) {
			continue
		}
		certs = append(certs, Cert{name, CertRequest{CommonName: NodeUserPrefix + n, Organization: []string{NodesGroup}, Usage: ClientAuth}})
	}
	return certs, nil
}

// Generate writes the cluster PKI into dir (created if missing): ca.crt and
// ca.key, and a .crt/.key pair for every certificate Certs lists. Existing
// valid files are kept; the CA is never overwritten.
func Generate(dir string, opts Options) error {
	lg := opts.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	certs, err := Certs(opts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("create PKI directory: %w", err)
	}
	t := now()
	ca, caKey, err := ensureCA(lg, dir, t)
	if err != nil {
		return err
	}
	if err := ensureServiceAccountKey(lg, dir); err != nil {
		return err
	}
	for _, c := range certs {
		reason := checkCert(dir, c, ca, t)
		if reason == nil {
			lg.Debug("kept certificate", zap.String("file", filepath.Join(dir, c.Name+".crt")))
			continue
		}
		req := c.Request
		req.NotBefore = t
		certPEM, keyPEM, err := NewCertificate(ca, caKey, req)
		if err != nil {
			return err
		}
		if err := writeKeyPair(dir, c.Name, certPEM, keyPEM); err != nil {
			return err
		}
		lg.Info("wrote certificate", zap.String("file", filepath.Join(dir, c.Name+".crt")),
			zap.String("user", req.CommonName), zap.Strings("groups", req.Organization),
			zap.NamedError("reason", reason))
	}
	return nil
}

// The service account key pair, as kubeadm's: the controller-manager signs
// tokens with sa.key (--service-account-private-key-file), the apiserver
// verifies them with sa.pub (--service-account-key-file).
const (
	ServiceAccountKey    = "sa.key"
	ServiceAccountPublic = "sa.pub"
)

// ensureServiceAccountKey makes sa.key (ECDSA P-256) if missing, and
// sa.pub from it if missing; an existing key is never replaced.
func ensureServiceAccountKey(lg *zap.Logger, dir string) error {
	keyPath, pubPath := filepath.Join(dir, ServiceAccountKey), filepath.Join(dir, ServiceAccountPublic)
	var key crypto.Signer
	if data, err := os.ReadFile(keyPath); err == nil {
		if key, err = parseKey(data); err != nil {
			return fmt.Errorf("%s: %w", keyPath, err)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("make service account key: %w", err)
		}
		keyPEM, err := encodeKey(k)
		if err != nil {
			return err
		}
		if err := writeFile(keyPath, keyPEM, keyMode); err != nil {
			return err
		}
		_ = os.Remove(pubPath) // a public key of another key is of no use
		lg.Info("wrote service account key", zap.String("file", keyPath))
		key = k
	} else {
		return err
	}
	if ok, err := exists(pubPath); err != nil || ok {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("marshal service account public key: %w", err)
	}
	return writeFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), certMode)
}

// ensureCA loads the CA of dir, or makes one if dir has neither ca.crt nor
// ca.key. It never replaces an existing CA file.
func ensureCA(lg *zap.Logger, dir string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	certPath := filepath.Join(dir, caName+".crt")
	keyPath := filepath.Join(dir, caName+".key")
	certExists, err := exists(certPath)
	if err != nil {
		return nil, nil, err
	}
	keyExists, err := exists(keyPath)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case !certExists && !keyExists:
		certPEM, keyPEM, err := newCA(CACommonName, now)
		if err != nil {
			return nil, nil, err
		}
		if err := writeKeyPair(dir, caName, certPEM, keyPEM); err != nil {
			return nil, nil, err
		}
		lg.Info("wrote CA", zap.String("file", certPath), zap.String("commonName", CACommonName))
	case !keyExists:
		return nil, nil, fmt.Errorf("%s exists but %s is missing: restore the key, or remove %s to make a new CA", certPath, keyPath, certPath)
	case !certExists:
		return nil, nil, fmt.Errorf("%s exists but %s is missing: restore the certificate, or remove %s to make a new CA", keyPath, certPath, keyPath)
	}
	ca, key, err := LoadCA(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load CA: %w", err)
	}
	if now.After(ca.NotAfter) {
		return nil, nil, fmt.Errorf("%s expired at %s: remove %s and %s to make a new CA (and every certificate with it)",
			certPath, ca.NotAfter.Format(time.RFC3339), certPath, keyPath)
	}
	if now.Before(ca.NotBefore) {
		return nil, nil, fmt.Errorf("%s is not valid before %s: check the clock", certPath, ca.NotBefore.Format(time.RFC3339))
	}
	return ca, key, nil
}

// checkCert says why dir/c.Name.crt must be made anew, or nil if it can be
// kept: it must exist with its key, chain to ca at now for its usages, not
// expire within renewBefore, and have the subject and hosts c asks for.
func checkCert(dir string, c Cert, ca *x509.Certificate, now time.Time) error {
	cert, _, err := loadKeyPair(dir, c.Name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errors.New("missing")
		}
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, u := range c.Request.Usage.ExtKeyUsages() {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
			return fmt.Errorf("does not verify against the CA: %w", err)
		}
	}
	if cert.NotAfter.Sub(now) < renewBefore {
		return fmt.Errorf("expires at %s", cert.NotAfter.Format(time.RFC3339))
	}
	if cert.Subject.CommonName != c.Request.CommonName {
		return fmt.Errorf("common name is %q, want %q", cert.Subject.CommonName, c.Request.CommonName)
	}
	if !sameSet(cert.Subject.Organization, c.Request.Organization) {
		return fmt.Errorf("organization is %q, want %q", cert.Subject.Organization, c.Request.Organization)
	}
	ips, names := splitHosts(c.Request.Hosts)
	for _, ip := range ips {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return fmt.Errorf("IP address %s missing", ip)
		}
	}
	for _, n := range names {
		if !slices.Contains(cert.DNSNames, n) {
			return fmt.Errorf("DNS name %s missing", n)
		}
	}
	return nil
}

// subdomain is an RFC 1123 subdomain, as Kubernetes' IsDNS1123Subdomain.
var subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// validateHost accepts an IP address, a DNS name or a wildcard DNS name.
func validateHost(h string) error {
	if net.ParseIP(h) != nil {
		return nil
	}
	name := h
	if len(name) > 2 && name[:2] == "*." {
		name = name[2:]
	}
	if !subdomain.MatchString(name) || len(name) > 253 {
		return fmt.Errorf("%q is neither an IP address nor a lower-case DNS name", h)
	}
	return nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
