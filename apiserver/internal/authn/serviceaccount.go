package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/golang-jwt/jwt/v5"

	"skiff.dev/proto/serviceaccount"
)

// ServiceAccountLookup reads what a service account token names from the
// apiserver's own storage: the token Secret's data and the service
// account's UID; found is false when it does not exist or is being deleted.
type ServiceAccountLookup interface {
	SecretToken(ctx context.Context, namespace, name string) (token []byte, found bool, err error)
	ServiceAccountUID(ctx context.Context, namespace, name string) (uid string, found bool, err error)
}

// ServiceAccountTokens authenticates Kubernetes' legacy service account
// tokens (--service-account-key-file): JWTs with issuer
// kubernetes/serviceaccount signed by the controller-manager's
// --service-account-private-key-file, valid while their Secret (holding
// the very token) and their ServiceAccount (with the same UID) exist.
type ServiceAccountTokens struct {
	keys   jwt.VerificationKeySet
	lookup ServiceAccountLookup
}

var _ TokenAuthenticator = (*ServiceAccountTokens)(nil)

// signingMethods are the algorithms Kubernetes accepts for these tokens.
var signingMethods = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}

// NewServiceAccountTokens verifies with keys (RSA or ECDSA public keys).
func NewServiceAccountTokens(keys []crypto.PublicKey, lookup ServiceAccountLookup) *ServiceAccountTokens {
	s := &ServiceAccountTokens{lookup: lookup}
	for _, k := range keys {
		s.keys.Keys = append(s.keys.Keys, k)
	}
	return s
}

// AuthenticateToken implements TokenAuthenticator. A token that is not a
// JWT from this issuer is not ours (ok=false, no error).
func (s *ServiceAccountTokens) AuthenticateToken(ctx context.Context, token string) (*User, bool, error) {
	parser := jwt.NewParser(jwt.WithValidMethods(signingMethods), jwt.WithIssuer(serviceaccount.Issuer))
	unverified := jwt.MapClaims{}
	if _, _, err := parser.ParseUnverified(token, unverified); err != nil {
		return nil, false, nil
	}
	if iss, _ := unverified["iss"].(string); iss != serviceaccount.Issuer {
		return nil, false, nil
	}
	claims := jwt.MapClaims{}
	if _, err := parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return s.keys, nil }); err != nil {
		return nil, false, fmt.Errorf("service account token: %w", err)
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	ns, secret, name, uid := str(serviceaccount.ClaimNamespace), str(serviceaccount.ClaimSecretName),
		str(serviceaccount.ClaimServiceAccountName), str(serviceaccount.ClaimServiceAccountUID)
	if ns == "" || secret == "" || name == "" || uid == "" {
		return nil, false, errors.New("service account token: namespace, secret name, service account name or uid claim missing")
	}
	if sub := str("sub"); sub != serviceaccount.UserName(ns, name) {
		return nil, false, fmt.Errorf("service account token: sub %q does not name service account %s/%s", sub, ns, name)
	}
	stored, found, err := s.lookup.SecretToken(ctx, ns, secret)
	if err != nil {
		return nil, false, fmt.Errorf("service account token: read secret %s/%s: %w", ns, secret, err)
	}
	if !found || subtle.ConstantTimeCompare(stored, []byte(token)) != 1 {
		return nil, false, fmt.Errorf("service account token: secret %s/%s no longer holds it", ns, secret)
	}
	saUID, found, err := s.lookup.ServiceAccountUID(ctx, ns, name)
	if err != nil {
		return nil, false, fmt.Errorf("service account token: read service account %s/%s: %w", ns, name, err)
	}
	if !found || saUID != uid {
		return nil, false, fmt.Errorf("service account token: service account %s/%s (uid %s) no longer exists", ns, name, uid)
	}
	return &User{Name: serviceaccount.UserName(ns, name), UID: uid, Groups: serviceaccount.Groups(ns)}, true, nil
}

// LoadPublicKeys reads the RSA and ECDSA public keys of PEM files: public
// keys (PKIX or PKCS#1), certificates, or private keys (whose public half
// is taken), as kube-apiserver's --service-account-key-file.
func LoadPublicKeys(paths []string) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		found, err := ParsePublicKeysPEM(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		keys = append(keys, found...)
	}
	return keys, nil
}

// ParsePublicKeysPEM reads every RSA or ECDSA key of PEM data.
func ParsePublicKeysPEM(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		key, err := publicKeyOf(block)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", n, block.Type, err)
		}
		if key != nil {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no RSA or ECDSA key found: want PEM blocks of PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE or a private key")
	}
	return keys, nil
}

func publicKeyOf(block *pem.Block) (crypto.PublicKey, error) {
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = c.PublicKey
		}
	case "RSA PRIVATE KEY":
		var k *rsa.PrivateKey
		if k, err = x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			key = k.Public()
		}
	case "EC PRIVATE KEY":
		var k *ecdsa.PrivateKey
		if k, err = x509.ParseECPrivateKey(block.Bytes); err == nil {
			key = k.Public()
		}
	case "PRIVATE KEY":
		var k any
		if k, err = x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			if s, ok := k.(crypto.Signer); ok {
				key = s.Public()
			}
		}
	default:
		return nil, nil // e.g. EC PARAMETERS: skipped
	}
	if err != nil {
		return nil, err
	}
	switch key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
		return key, nil
	}
	return nil, fmt.Errorf("unsupported key type %T: want RSA or ECDSA", key)
}
