package registry

import (
	"context"
	"fmt"

	"skiff.dev/apiserver/internal/apierrors"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// SystemNamespaces exist from the first start, as in Kubernetes.
var SystemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// namespaceActive admits writes only into a namespace that exists and is not terminating.
func (reg *Registry) namespaceActive(ctx context.Context, ns string) error {
	n, _, err := reg.Namespaces.get(ctx, "", ns)
	if apierrors.IsNotFound(err) {
		return apierrors.NotFound("namespaces", ns)
	}
	if err != nil {
		return err
	}
	if n.GetMetadata().GetDeletionTimestamp() != nil || n.GetStatus().GetPhase() == "Terminating" {
		return apierrors.Forbidden("namespaces", ns,
			fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}

// EnsureSystemNamespaces creates the namespaces every cluster has.
func (reg *Registry) EnsureSystemNamespaces(ctx context.Context) error {
	for _, name := range SystemNamespaces {
		_, err := reg.Namespaces.Create(ctx, &corev1.NamespaceRequest{Object: &corev1.Namespace{
			Metadata: &metav1.ObjectMeta{Name: name}}})
		if err != nil && !apierrors.Is(err, apierrors.ReasonAlreadyExists) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	return nil
}
