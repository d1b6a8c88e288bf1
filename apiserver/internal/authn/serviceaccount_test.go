package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"skiff.dev/proto/serviceaccount"
)

// fakeLookup is the storage a token is checked against.
type fakeLookup struct {
	secrets map[string]string // ns/name → token
	sas     map[string]string // ns/name → uid
}

func (f fakeLookup) SecretToken(_ context.Context, ns, name string) ([]byte, bool, error) {
	t, ok := f.secrets[ns+"/"+name]
	return []byte(t), ok, nil
}

func (f fakeLookup) ServiceAccountUID(_ context.Context, ns, name string) (string, bool, error) {
	u, ok := f.sas[ns+"/"+name]
	return u, ok, nil
}

func legacyClaims(ns, name, uid, secret string) jwt.MapClaims {
	return jwt.MapClaims{"iss": serviceaccount.Issuer, "sub": serviceaccount.UserName(ns, name),
		serviceaccount.ClaimNamespace: ns, serviceaccount.ClaimSecretName: secret,
		serviceaccount.ClaimServiceAccountName: name, serviceaccount.ClaimServiceAccountUID: uid}
}

func sign(t *testing.T, method jwt.SigningMethod, key crypto.Signer, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServiceAccountTokens(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := legacyClaims("dev", "default", "uid-1", "default-token-abc")
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name   string
		token  string
		stored string // the Secret's token; "" is the token itself
		saUID  string // "" is uid-1
		ok     bool
		err    string
	}{
		{name: "RS256", token: sign(t, jwt.SigningMethodRS256, rsaKey, good), ok: true},
		{name: "ES256", token: sign(t, jwt.SigningMethodES256, ecKey, good), ok: true},
		{name: "unknown key", token: sign(t, jwt.SigningMethodES256, otherKey, good), err: "verification error"},
		{name: "other issuer is not ours", token: sign(t, jwt.SigningMethodRS256, rsaKey, with("iss", "https://issuer.example"))},
		{name: "not a JWT is not ours", token: "static-token"},
		{name: "secret replaced", token: sign(t, jwt.SigningMethodRS256, rsaKey, good), stored: "another-token", err: "no longer holds it"},
		{name: "service account recreated", token: sign(t, jwt.SigningMethodRS256, rsaKey, good), saUID: "uid-2", err: "no longer exists"},
		{name: "sub mismatch", token: sign(t, jwt.SigningMethodRS256, rsaKey, with("sub", "system:serviceaccount:dev:admin")), err: "does not name"},
		{name: "uid claim missing", token: sign(t, jwt.SigningMethodRS256, rsaKey, with(serviceaccount.ClaimServiceAccountUID, nil)), err: "claim missing"},
		{name: "alg none", token: func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}(), err: "signing method none is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := tt.stored
			if stored == "" {
				stored = tt.token
			}
			uid := tt.saUID
			if uid == "" {
				uid = "uid-1"
			}
			a := NewServiceAccountTokens([]crypto.PublicKey{rsaKey.Public(), ecKey.Public()}, fakeLookup{
				secrets: map[string]string{"dev/default-token-abc": stored}, sas: map[string]string{"dev/default": uid}})
			u, ok, err := a.AuthenticateToken(context.Background(), tt.token)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || ok != tt.ok {
				t.Fatalf("ok, err = %v, %v; want %v, nil", ok, err, tt.ok)
			}
			if ok && (u.Name != "system:serviceaccount:dev:default" || u.UID != "uid-1" ||
				!slices.Equal(u.Groups, []string{"system:serviceaccounts", "system:serviceaccounts:dev"})) {
				t.Errorf("user = %+v", u)
			}
		})
	}
}

func TestLoadPublicKeys(t *testing.T) {
	dir := t.TempDir()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := x509.MarshalPKIXPublicKey(ecKey.Public())
	ecPriv, _ := x509.MarshalECPrivateKey(ecKey)
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		path  string
		count int
		err   string
	}{
		{"rsa private key", write("sa.key", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), 1, ""},
		{"public keys", write("sa.pub", &pem.Block{Type: "PUBLIC KEY", Bytes: pub},
			&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)}), 2, ""},
		{"ec private key with parameters", write("ec.key", &pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}},
			&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecPriv}), 1, ""},
		{"no key", write("empty.pem"), 0, "empty.pem: no RSA or ECDSA key found"},
		{"garbage", write("bad.pem", &pem.Block{Type: "PUBLIC KEY", Bytes: []byte("nope")}), 0, "bad.pem: PEM block 1 (PUBLIC KEY)"},
		{"missing", filepath.Join(dir, "missing.pem"), 0, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := LoadPublicKeys([]string{tt.path})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || len(keys) != tt.count {
				t.Fatalf("got %d keys, %v; want %d", len(keys), err, tt.count)
			}
		})
	}
}
