package app

import (
	"context"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/authn"
	"skiff.dev/apiserver/internal/registry"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/serviceaccount"
)

// serviceAccountLookup reads token Secrets and ServiceAccounts from the
// apiserver's own storage, for the service account token authenticator.
type serviceAccountLookup struct{ reg *registry.Registry }

var _ authn.ServiceAccountLookup = serviceAccountLookup{}

func (l serviceAccountLookup) SecretToken(ctx context.Context, ns, name string) ([]byte, bool, error) {
	s, err := l.reg.Secrets.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: name})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if s.GetMetadata().GetDeletionTimestamp() != nil {
		return nil, false, nil
	}
	return s.GetData()[serviceaccount.TokenKey], true, nil
}

func (l serviceAccountLookup) ServiceAccountUID(ctx context.Context, ns, name string) (string, bool, error) {
	sa, err := l.reg.ServiceAccounts.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: name})
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if sa.GetMetadata().GetDeletionTimestamp() != nil {
		return "", false, nil
	}
	return sa.GetMetadata().GetUid(), true, nil
}
