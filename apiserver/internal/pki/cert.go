package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// Validity periods of the certificates Generate makes, as kubeadm's.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	CertValidity = 365 * 24 * time.Hour
)

// backdate moves NotBefore into the past so that a certificate is accepted
// at once by a machine whose clock is a little behind (as Kubernetes' cert
// utilities do).
const backdate = time.Hour

// Usage says what a leaf certificate may be used for. Values combine:
// ServerAuth|ClientAuth.
type Usage int

const (
	// ServerAuth is a TLS server certificate (x509.ExtKeyUsageServerAuth).
	ServerAuth Usage = 1 << iota
	// ClientAuth is a TLS client certificate (x509.ExtKeyUsageClientAuth).
	ClientAuth
)

// ExtKeyUsages returns the extended key usages u stands for.
func (u Usage) ExtKeyUsages() []x509.ExtKeyUsage {
	var out []x509.ExtKeyUsage
	if u&ServerAuth != 0 {
		out = append(out, x509.ExtKeyUsageServerAuth)
	}
	if u&ClientAuth != 0 {
		out = append(out, x509.ExtKeyUsageClientAuth)
	}
	return out
}

// CertRequest describes a leaf certificate for NewCertificate.
type CertRequest struct {
	CommonName   string   // the user name for client certificates
	Organization []string // the groups for client certificates
	Hosts        []string // DNS names and IP addresses (SANs) for server certificates
	Usage        Usage    // ServerAuth, ClientAuth or both; required

	NotBefore time.Time     // zero is now
	Validity  time.Duration // zero is CertValidity
}

// NewCertificate makes a fresh ECDSA P-256 key and a certificate for it,
// signed by the CA (ca, caKey), and returns both PEM encoded.
func NewCertificate(ca *x509.Certificate, caKey crypto.Signer, req CertRequest) (certPEM, keyPEM []byte, err error) {
	if ca == nil || caKey == nil {
		return nil, nil, errors.New("new certificate: CA certificate and key are required")
	}
	if req.CommonName == "" {
		return nil, nil, errors.New("new certificate: common name is required")
	}
	if req.Usage&(ServerAuth|ClientAuth) == 0 {
		return nil, nil, fmt.Errorf("new certificate %q: usage must be ServerAuth, ClientAuth or both", req.CommonName)
	}
	notBefore := req.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now()
	}
	validity := req.Validity
	if validity == 0 {
		validity = CertValidity
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("new certificate %q: generate key: %w", req.CommonName, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, fmt.Errorf("new certificate %q: %w", req.CommonName, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   req.CommonName,
			Organization: slices.Clone(req.Organization),
		},
		NotBefore:             notBefore.Add(-backdate).UTC(),
		NotAfter:              notBefore.Add(validity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           req.Usage.ExtKeyUsages(),
		BasicConstraintsValid: true,
	}
	tmpl.IPAddresses, tmpl.DNSNames = splitHosts(req.Hosts)

	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("new certificate %q: sign: %w", req.CommonName, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("new certificate %q: %w", req.CommonName, err)
	}
	return encodeCert(der), keyPEM, nil
}

// newCA makes a self-signed CA certificate and its ECDSA P-256 key.
func newCA(commonName string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("new CA: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, fmt.Errorf("new CA: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-backdate).UTC(),
		NotAfter:              now.Add(CAValidity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("new CA: self-sign: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("new CA: %w", err)
	}
	return encodeCert(der), keyPEM, nil
}

// newSerial returns a random 128-bit serial number.
func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return serial, nil
}

// splitHosts sorts hosts into IP addresses and DNS names, dropping
// duplicates and empty entries and keeping the order given.
func splitHosts(hosts []string) (ips []net.IP, names []string) {
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
			continue
		}
		if !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	return ips, names
}
