// Package serviceaccount is the contract of service account tokens shared
// by the token controller (which signs them) and the apiserver (which
// authenticates them): Kubernetes' legacy token claims, secret type and
// data keys, and the user and groups a token stands for.
package serviceaccount

import "strings"

// Issuer is the "iss" of legacy service account tokens.
const Issuer = "kubernetes/serviceaccount"

// The private claims of a legacy token.
const (
	ClaimNamespace          = "kubernetes.io/serviceaccount/namespace"
	ClaimSecretName         = "kubernetes.io/serviceaccount/secret.name"
	ClaimServiceAccountName = "kubernetes.io/serviceaccount/service-account.name"
	ClaimServiceAccountUID  = "kubernetes.io/serviceaccount/service-account.uid"
)

// The token Secret: its type, data keys and annotations.
const (
	SecretTypeToken       = "kubernetes.io/service-account-token"
	TokenKey              = "token"
	CACertKey             = "ca.crt"
	NamespaceKey          = "namespace"
	AnnotationName        = "kubernetes.io/service-account.name"
	AnnotationUID         = "kubernetes.io/service-account.uid"
	DefaultServiceAccount = "default"
)

// Users and groups of service accounts.
const (
	userPrefix = "system:serviceaccount:"
	// AllGroup holds every service account.
	AllGroup = "system:serviceaccounts"
)

// UserName is the user a service account authenticates as:
// system:serviceaccount:<namespace>:<name>.
func UserName(namespace, name string) string { return userPrefix + namespace + ":" + name }

// SplitUserName is UserName's inverse; ok is false for other users.
func SplitUserName(user string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(user, userPrefix)
	if !ok {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	return namespace, name, ok && namespace != "" && name != ""
}

// Groups are a service account's groups: system:serviceaccounts and
// system:serviceaccounts:<namespace>.
func Groups(namespace string) []string { return []string{AllGroup, AllGroup + ":" + namespace} }
