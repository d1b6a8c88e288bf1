package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
	sa "skiff.dev/proto/serviceaccount"
)

// Signer signs legacy service account tokens.
type Signer struct {
	key    crypto.Signer
	method jwt.SigningMethod
}

// LoadSigner reads an RSA or ECDSA private key (PEM: PKCS#1, SEC 1 or
// PKCS#8), as --service-account-private-key-file.
func LoadSigner(path string) (*Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%s: no RSA or ECDSA private key found (PEM RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)", path)
		}
		var key any
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, block.Type, err)
		}
		return NewSigner(key)
	}
}

// NewSigner signs with an *rsa.PrivateKey (RS256) or *ecdsa.PrivateKey
// (ES256, ES384 or ES512 by curve), as Kubernetes' JWTTokenGenerator.
func NewSigner(key any) (*Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return &Signer{key: k, method: jwt.SigningMethodRS256}, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return &Signer{key: k, method: jwt.SigningMethodES256}, nil
		case elliptic.P384():
			return &Signer{key: k, method: jwt.SigningMethodES384}, nil
		case elliptic.P521():
			return &Signer{key: k, method: jwt.SigningMethodES512}, nil
		}
		return nil, fmt.Errorf("unsupported ECDSA curve %s: want P-256, P-384 or P-521", k.Curve.Params().Name)
	}
	return nil, fmt.Errorf("unsupported private key type %T: want RSA or ECDSA", key)
}

// Token is the legacy token of service account acct stored in secret.
func (s *Signer) Token(acct *corev1.ServiceAccount, secret string) (string, error) {
	m := acct.GetMetadata()
	return jwt.NewWithClaims(s.method, jwt.MapClaims{
		"iss":                      sa.Issuer,
		"sub":                      sa.UserName(m.GetNamespace(), m.GetName()),
		sa.ClaimNamespace:          m.GetNamespace(),
		sa.ClaimSecretName:         secret,
		sa.ClaimServiceAccountName: m.GetName(),
		sa.ClaimServiceAccountUID:  m.GetUid(),
	}).SignedString(s.key)
}

// TokensConfig configures the token controller.
type TokensConfig struct {
	controller.Common
	// Signer signs the tokens.
	Signer *Signer
	// RootCA is put into every token Secret as ca.crt (may be empty).
	RootCA []byte
}

// TokensController is the token controller; its keys are service accounts.
type TokensController struct {
	lg      *zap.Logger
	cs      *client.Clientset
	cfg     TokensConfig
	sas     informer.Lister[*corev1.ServiceAccount]
	secrets informer.Lister[*corev1.Secret]

	*controller.Controller
}

// NewTokens makes the token controller; Run starts it.
func NewTokens(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg TokensConfig) (*TokensController, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.Signer == nil {
		return nil, errors.New("the token controller needs a signing key (--service-account-private-key-file)")
	}
	saInf, secInf := f.Core().V1().ServiceAccounts(), f.Core().V1().Secrets()
	c := &TokensController{lg: lg, cs: cs, cfg: cfg, sas: saInf.Lister(), secrets: secInf.Lister()}
	c.Controller = controller.New(lg, controller.Options{
		Name: "serviceaccount-token", Workers: cfg.Workers, Reconcile: c.sync, MetricsProvider: cfg.MetricsProvider,
		HasSynced: []func() bool{saInf.Informer().HasSynced, secInf.Informer().HasSynced},
	})
	saInf.Informer().AddEventHandler(c.Handler())
	secInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Secret]{
		UpdateFunc: func(_, s *corev1.Secret) { c.secretChanged(s) },
		DeleteFunc: c.secretChanged,
	})
	return c, nil
}

func (c *TokensController) secretChanged(s *corev1.Secret) {
	if s.GetType() == sa.SecretTypeToken {
		if name := s.GetMetadata().GetAnnotations()[sa.AnnotationName]; name != "" {
			c.EnqueueKey(s.GetMetadata().GetNamespace() + "/" + name)
		}
	}
}

// tokenSecrets are the namespace's token Secrets made for the service account name.
func (c *TokensController) tokenSecrets(ns, name string) []*corev1.Secret {
	var out []*corev1.Secret
	for _, s := range c.secrets.ListNamespace(ns, nil) {
		if s.GetType() == sa.SecretTypeToken && s.GetMetadata().GetAnnotations()[sa.AnnotationName] == name {
			out = append(out, s)
		}
	}
	return out
}

// sync gives a service account a token Secret, or deletes the token
// Secrets of a service account that is gone.
func (c *TokensController) sync(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	acct, err := c.sas.Get(ns, name)
	if err != nil && !client.IsNotFound(err) {
		return controller.Result{}, err
	}
	uid := acct.GetMetadata().GetUid() // "" when gone
	var valid []*corev1.Secret
	for _, s := range c.tokenSecrets(ns, name) {
		// A Secret of another (older) account of this name goes; one a user
		// made without the uid annotation stays while the account does.
		owner := s.GetMetadata().GetAnnotations()[sa.AnnotationUID]
		if owner != uid && (owner != "" || acct == nil) {
			if err := c.deleteSecret(ctx, s); err != nil {
				return controller.Result{}, err
			}
			continue
		}
		if owner == uid && len(s.GetData()[sa.TokenKey]) > 0 && s.GetMetadata().GetDeletionTimestamp() == nil {
			valid = append(valid, s)
		}
	}
	if acct == nil {
		return controller.Result{}, nil
	}
	// Keep the references to secrets that exist; reference a valid token.
	refs := slices.DeleteFunc(slices.Clone(acct.GetSecrets()), func(r *corev1.ObjectReference) bool {
		_, err := c.secrets.Get(ns, r.GetName())
		return client.IsNotFound(err)
	})
	hasToken := slices.ContainsFunc(refs, func(r *corev1.ObjectReference) bool {
		return slices.ContainsFunc(valid, func(s *corev1.Secret) bool { return s.GetMetadata().GetName() == r.GetName() })
	})
	if !hasToken {
		if len(valid) > 0 {
			refs = append(refs, &corev1.ObjectReference{Name: valid[0].GetMetadata().GetName()})
		} else {
			s, err := c.createToken(ctx, acct)
			if err != nil {
				return controller.Result{}, err
			}
			refs = append(refs, &corev1.ObjectReference{Name: s.GetMetadata().GetName()})
		}
	}
	if slices.EqualFunc(refs, acct.GetSecrets(), func(a, b *corev1.ObjectReference) bool { return a.GetName() == b.GetName() }) {
		return controller.Result{}, nil
	}
	next := controller.Clone(acct)
	next.Secrets = refs
	if _, err := c.cs.CoreV1().ServiceAccounts(ns).Update(ctx, next); err != nil && !client.IsNotFound(err) {
		return controller.Result{}, fmt.Errorf("reference token secret from service account %s: %w", key, err)
	}
	return controller.Result{}, nil
}

// createToken writes a new token Secret for acct.
func (c *TokensController) createToken(ctx context.Context, acct *corev1.ServiceAccount) (*corev1.Secret, error) {
	m := acct.GetMetadata()
	name := m.GetName() + "-token-" + randomSuffix()
	token, err := c.cfg.Signer.Token(acct, name)
	if err != nil {
		return nil, fmt.Errorf("sign token of service account %s/%s: %w", m.GetNamespace(), m.GetName(), err)
	}
	data := map[string][]byte{sa.TokenKey: []byte(token), sa.NamespaceKey: []byte(m.GetNamespace())}
	if len(c.cfg.RootCA) > 0 {
		data[sa.CACertKey] = c.cfg.RootCA
	}
	s, err := c.cs.CoreV1().Secrets(m.GetNamespace()).Create(ctx, &corev1.Secret{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: m.GetNamespace(),
			Annotations: map[string]string{sa.AnnotationName: m.GetName(), sa.AnnotationUID: m.GetUid()}},
		Type: sa.SecretTypeToken, Data: data,
	})
	if err != nil {
		return nil, fmt.Errorf("create token secret of service account %s/%s: %w", m.GetNamespace(), m.GetName(), err)
	}
	c.lg.Info("created token secret", zap.String("serviceaccount", m.GetNamespace()+"/"+m.GetName()), zap.String("secret", name))
	return s, nil
}

func (c *TokensController) deleteSecret(ctx context.Context, s *corev1.Secret) error {
	m := s.GetMetadata()
	err := c.cs.CoreV1().Secrets(m.GetNamespace()).Delete(ctx, m.GetName(), client.DeleteOptions{PreconditionUID: m.GetUid()})
	if err != nil && !client.IsNotFound(err) && !client.IsConflict(err) {
		return fmt.Errorf("delete token secret %s/%s: %w", m.GetNamespace(), m.GetName(), err)
	}
	return nil
}

// randomSuffix is five characters of Kubernetes' name alphabet (no vowels).
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
