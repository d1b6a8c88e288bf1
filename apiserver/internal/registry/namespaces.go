package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/validation"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// SystemNamespaces exist from the first start, as in Kubernetes.
var SystemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

type namespaceResource = Resource[*corev1.Namespace, *corev1.NamespaceList, corev1.NamespaceWatchEvent, *corev1.NamespaceRequest]

// NamespaceServer deletes namespaces as Kubernetes does: Delete turns the
// namespace Terminating (new content is refused from then on); the
// namespace controller empties it and then clears its "kubernetes" finalizer
// through Finalize; the namespace is removed once spec.finalizers and
// metadata.finalizers are both empty.
type NamespaceServer struct {
	*namespaceResource
	cache namespaceCache
}

var _ corev1.NamespaceServiceServer = (*NamespaceServer)(nil)

// namespaceStrategy is Kubernetes' namespace strategy: a new namespace is
// Active with the "kubernetes" finalizer; Update keeps spec.finalizers,
// which only Finalize changes; spec.finalizers hold a deleted namespace.
func namespaceStrategy() Strategy[*corev1.Namespace] {
	s := withFields(rules(validation.DefaultNamespace, validation.ValidateNamespace, validation.ValidateNamespaceUpdate, validation.ValidateNamespaceStatusUpdate),
		func(n *corev1.Namespace) map[string]string {
			return map[string]string{"status.phase": n.GetStatus().GetPhase()}
		},
		"status.phase")
	s.PrepareForCreate = func(n *corev1.Namespace) {
		if n.Spec == nil {
			n.Spec = &corev1.NamespaceSpec{}
		}
		if !slices.Contains(n.Spec.Finalizers, validation.FinalizerKubernetes) {
			n.Spec.Finalizers = append(n.Spec.Finalizers, validation.FinalizerKubernetes)
		}
	}
	s.PrepareForUpdate = func(n, old *corev1.Namespace) {
		if n.Spec == nil {
			n.Spec = &corev1.NamespaceSpec{}
		}
		n.Spec.Finalizers = old.GetSpec().GetFinalizers()
	}
	s.Pending = func(n *corev1.Namespace) bool { return len(n.GetSpec().GetFinalizers()) > 0 }
	return s
}

// Delete marks the namespace Terminating; it is removed at once only when
// nothing holds it (no finalizers of either kind), else when the last one goes.
func (s *NamespaceServer) Delete(ctx context.Context, opts *metav1.DeleteOptions) (ns *corev1.Namespace, err error) {
	defer s.observe("delete", s.deps.Now(), &err)
	name := opts.GetName()
	dry, err := dryRun("DeleteOptions", opts.GetDryRun())
	if err != nil {
		return nil, err
	}
	for _, sys := range []string{"default", "kube-system", "kube-public"} {
		if name == sys {
			return nil, apierrors.Forbidden("namespaces", name, "this namespace may not be deleted")
		}
	}
	if p := opts.GetPreconditions(); p != nil && p.Uid != nil {
		old, _, err := s.get(ctx, "", name)
		if err != nil {
			return nil, err
		}
		if *p.Uid != old.GetMetadata().GetUid() {
			return nil, apierrors.Conflict("namespaces", name,
				fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", *p.Uid, old.GetMetadata().GetUid()))
		}
	}
	ns, err = s.guaranteedUpdate(ctx, "", name, "", func(old *corev1.Namespace) (*corev1.Namespace, error) {
		n := proto.Clone(old).(*corev1.Namespace)
		if n.Metadata.DeletionTimestamp == nil {
			n.Metadata.DeletionTimestamp = s.now()
			zero := int32(0)
			n.Metadata.DeletionGracePeriodSeconds = &zero
		}
		if n.Status == nil {
			n.Status = &corev1.NamespaceStatus{}
		}
		n.Status.Phase = validation.NamespaceTerminating
		return n, nil
	}, trustedUpdate, dry)
	if err != nil {
		return nil, err
	}
	if dry {
		return ns, nil
	}
	// Refuse new content from now on, not from when the watch brings the change.
	s.cache.set(ns, false)
	if !s.finalized(ns) {
		return ns, nil
	}
	for attempt := 0; ; attempt++ {
		cur, modRev, err := s.get(ctx, "", name)
		if err != nil {
			return nil, err
		}
		if !s.finalized(cur) {
			return cur, nil
		}
		out, err := s.remove(ctx, cur, modRev)
		if errors.Is(err, errRetry) && retryConflict(ctx, attempt) {
			continue
		}
		if err == nil {
			s.lg.Info("namespace deleted", zap.String("namespace", name))
		}
		return out, err
	}
}

// Finalize writes spec.finalizers only (namespaces/{name}/finalize), as the
// namespace controller does once a terminating namespace is empty; a
// terminating namespace left with no finalizers is removed.
func (s *NamespaceServer) Finalize(ctx context.Context, req *corev1.NamespaceRequest) (ns *corev1.Namespace, err error) {
	defer s.observe("finalize", s.deps.Now(), &err)
	in := req.GetObject()
	dry, err := dryRun("UpdateOptions", req.GetDryRun())
	if err != nil {
		return nil, err
	}
	if err := s.checkTarget(in, "", req.GetName()); err != nil {
		return nil, err
	}
	name := in.GetMetadata().GetName()
	ns, err = s.guaranteedUpdate(ctx, "", name, in.GetMetadata().GetResourceVersion(), func(old *corev1.Namespace) (*corev1.Namespace, error) {
		n := proto.Clone(old).(*corev1.Namespace)
		if n.Spec == nil {
			n.Spec = &corev1.NamespaceSpec{}
		}
		n.Spec.Finalizers = in.GetSpec().GetFinalizers()
		return n, nil
	}, finalizeUpdate, dry)
	if err == nil && !dry && s.finalized(ns) {
		s.lg.Info("namespace deleted", zap.String("namespace", name))
	}
	return ns, err
}

// namespaceActive admits writes only into a namespace that exists and is not terminating.
func (reg *Registry) namespaceActive(ctx context.Context, ns string) error {
	if reg.Namespaces.cache.isActive(ns) {
		return nil
	}
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

// namespaceCache knows which namespaces are active, from the namespace watch,
// so admitting a write costs no etcd read; a namespace it does not know (yet)
// is read from etcd, which is authoritative.
type namespaceCache struct {
	mu     sync.RWMutex
	active map[string]namespaceState
}

// namespaceState is what the cache knows of a namespace, and as of which
// resourceVersion: an older state never replaces a newer one, so that
// Delete can mark its namespace at once, before the watch brings it.
type namespaceState struct {
	active bool
	rev    int64
}

func (c *namespaceCache) isActive(ns string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.active[ns].active
}

func (c *namespaceCache) set(n *corev1.Namespace, deleted bool) {
	rev, _ := strconv.ParseInt(n.GetMetadata().GetResourceVersion(), 10, 64)
	c.mu.Lock()
	defer c.mu.Unlock()
	name := n.GetMetadata().GetName()
	if cur, ok := c.active[name]; ok && cur.rev > rev {
		return
	}
	if c.active == nil {
		c.active = map[string]namespaceState{}
	}
	active := !deleted && n.GetMetadata().GetDeletionTimestamp() == nil && n.GetStatus().GetPhase() != "Terminating"
	c.active[name] = namespaceState{active: active, rev: rev}
}

// run keeps the cache current until ctx ends.
func (c *namespaceCache) run(ctx context.Context, s *NamespaceServer) {
	for ctx.Err() == nil {
		if err := c.sync(ctx, s); err != nil && ctx.Err() == nil {
			s.lg.Warn("namespace cache resyncing", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (c *namespaceCache) sync(ctx context.Context, s *NamespaceServer) error {
	list, err := s.List(ctx, &metav1.ListOptions{})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.active = map[string]namespaceState{}
	c.mu.Unlock()
	for _, n := range list.Items {
		c.set(n, false)
	}
	rev, _ := strconv.ParseInt(list.GetMetadata().GetResourceVersion(), 10, 64)
	w, err := s.cacher.Watch(ctx, rev)
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		e, err := w.Next(ctx)
		if err != nil {
			return err
		}
		c.set(e.Obj, e.Type == metav1.EventType_DELETED)
	}
}
