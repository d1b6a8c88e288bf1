package authn

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"
)

// X509 authenticates a request by its TLS client certificate, verified
// against a pool of CAs (--client-ca-file): the user is the certificate's
// common name (CN) and the groups its organizations (O), as in Kubernetes.
type X509 struct {
	roots *x509.CertPool
	now   func() time.Time
}

var _ Authenticator = (*X509)(nil)

// NewX509 returns an authenticator that accepts client certificates signed,
// directly or through intermediates the client sends, by a CA in roots.
func NewX509(roots *x509.CertPool) *X509 {
	return &X509{roots: roots, now: time.Now}
}

// NewX509FromFile reads the PEM CA bundle at path (--client-ca-file) and
// returns NewX509 of it.
func NewX509FromFile(path string) (*X509, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("client CA file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("client CA file %s: no PEM CERTIFICATE found", path)
	}
	return NewX509(roots), nil
}

// Authenticate implements Authenticator. A request without a client
// certificate has no credentials of this kind; an expired certificate, one
// of another CA or one not meant for client authentication is an error.
func (a *X509) Authenticate(r *http.Request) (*User, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	leaf := r.TLS.PeerCertificates[0]
	opts := x509.VerifyOptions{
		Roots:         a.roots,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   a.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range r.TLS.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(opts); err != nil {
		return nil, false, fmt.Errorf("verify client certificate %s: %w", describe(leaf), err)
	}
	if leaf.Subject.CommonName == "" {
		return nil, false, fmt.Errorf("client certificate %s: no common name (CN) to use as the user name", describe(leaf))
	}
	return &User{
		Name:   leaf.Subject.CommonName,
		Groups: slices.Clone(leaf.Subject.Organization),
	}, true, nil
}

// describe names a certificate in errors, as Kubernetes' x509 authenticator
// does, so that an operator can find it.
func describe(c *x509.Certificate) string {
	return fmt.Sprintf("(subject %q, serial %s, issuer %q, skid %s, akid %s)",
		c.Subject.String(), c.SerialNumber, c.Issuer.String(),
		hex.EncodeToString(c.SubjectKeyId), hex.EncodeToString(c.AuthorityKeyId))
}
