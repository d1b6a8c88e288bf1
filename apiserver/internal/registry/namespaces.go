package registry

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/apierrors"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// SystemNamespaces exist from the first start, as in Kubernetes.
var SystemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

type namespaceResource = Resource[*corev1.Namespace, *corev1.NamespaceList, corev1.NamespaceWatchEvent, *corev1.NamespaceRequest]

// NamespaceServer deletes namespaces as Kubernetes does: the namespace turns
// Terminating at once, its contents are deleted (pods gracefully), and it is
// removed when empty.
type NamespaceServer struct {
	*namespaceResource
	reg   *Registry
	cache namespaceCache
	// cleanupInterval is how often a terminating namespace is checked.
	cleanupInterval time.Duration
}

var _ corev1.NamespaceServiceServer = (*NamespaceServer)(nil)

// Delete marks the namespace Terminating and starts emptying it.
func (s *NamespaceServer) Delete(ctx context.Context, opts *metav1.DeleteOptions) (ns *corev1.Namespace, err error) {
	defer s.observe("delete", s.deps.Now(), &err)
	name := opts.GetName()
	for _, sys := range []string{"default", "kube-system", "kube-public"} {
		if name == sys {
			return nil, apierrors.Forbidden("namespaces", name, "this namespace may not be deleted")
		}
	}
	ns, err = s.guaranteedUpdate(ctx, "", name, "", func(old *corev1.Namespace) (*corev1.Namespace, error) {
		n := proto.Clone(old).(*corev1.Namespace)
		if n.Metadata.DeletionTimestamp == nil {
			n.Metadata.DeletionTimestamp = s.now()
			zero := int32(0)
			n.Metadata.DeletionGracePeriodSeconds = &zero
		}
		n.Status = &corev1.NamespaceStatus{Phase: "Terminating"}
		return n, nil
	}, trustedUpdate)
	if err != nil {
		return nil, err
	}
	// Refuse new content from now on, not from when the watch brings the change.
	s.cache.set(ns, false)
	go s.finalize(context.WithoutCancel(ctx), name)
	return ns, nil
}

// finalize empties a terminating namespace, then removes it.
func (s *NamespaceServer) finalize(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(ctx, 24*time.Hour)
	defer cancel()
	for {
		left := 0
		var firstErr error
		for _, del := range s.reg.deleters {
			n, err := del(ctx, name)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			left += n
		}
		if firstErr == nil && left == 0 {
			old, modRev, err := s.get(ctx, "", name)
			if apierrors.IsNotFound(err) {
				return
			}
			if err == nil && len(old.GetMetadata().GetFinalizers()) == 0 {
				if _, err := s.remove(ctx, old, modRev); err == nil || apierrors.IsNotFound(err) {
					s.lg.Info("namespace deleted", zap.String("namespace", name))
					return
				}
			}
		} else if firstErr != nil {
			s.lg.Warn("emptying terminating namespace", zap.String("namespace", name), zap.Error(firstErr))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cleanupInterval):
		}
	}
}

// resumeTerminating finishes deletions an earlier apiserver left half done.
func (s *NamespaceServer) resumeTerminating(ctx context.Context) {
	list, err := s.List(ctx, &metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, n := range list.Items {
		if n.GetMetadata().GetDeletionTimestamp() != nil {
			go s.finalize(ctx, n.GetMetadata().GetName())
		}
	}
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

// EnsureSystemNamespaces creates the namespaces every cluster has and
// resumes the deletion of terminating ones.
func (reg *Registry) EnsureSystemNamespaces(ctx context.Context) error {
	for _, name := range SystemNamespaces {
		_, err := reg.Namespaces.Create(ctx, &corev1.NamespaceRequest{Object: &corev1.Namespace{
			Metadata: &metav1.ObjectMeta{Name: name}}})
		if err != nil && !apierrors.Is(err, apierrors.ReasonAlreadyExists) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	reg.Namespaces.resumeTerminating(context.WithoutCancel(ctx))
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
