// Package registry implements every verb of every kind once, generically:
// Resource is parameterised by the kind's Go types and a Strategy (defaults,
// validation, which fields are status, hooks that add etcd operations to a
// write), and adapts the storage layer and watch cache to the generated gRPC
// service interfaces.
package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/storage"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/validation/field"
)

// MaxObjectBytes is the largest object accepted, as Kubernetes' 1.5 MiB.
const MaxObjectBytes = 3 << 19

// Info describes a kind for storage keys, errors and discovery.
type Info struct {
	Group        string // "" for core
	Version      string
	Kind         string // Pod
	Resource     string // pods
	Singular     string // pod
	Namespaced   bool
	ShortNames   []string
	HasStatus    bool
	Subresources []string // e.g. "binding", "log", "scale"
}

// APIVersion is the kind's apiVersion string: v1, apps/v1.
func (i Info) APIVersion() string {
	if i.Group == "" {
		return i.Version
	}
	return i.Group + "/" + i.Version
}

// Strategy is what differs between kinds. Nil functions are no-ops.
type Strategy[T storage.Object] struct {
	Default        func(obj T)
	Validate       func(obj T) field.ErrorList
	ValidateUpdate func(obj, old T) field.ErrorList
	// ValidateStatusUpdate checks an UpdateStatus; nil uses ValidateUpdate.
	ValidateStatusUpdate func(obj, old T) field.ErrorList
	// PrepareForCreate runs after status is cleared, e.g. to set a pod Pending.
	PrepareForCreate func(obj T)
	// PrepareForUpdate runs on Update and UpdateStatus before validation,
	// e.g. to merge a Secret's stringData.
	PrepareForUpdate func(obj, old T)
	// Fields are the kind's field-selector fields beyond metadata.name and
	// metadata.namespace; FieldLabels names them.
	Fields      func(obj T) map[string]string
	FieldLabels []string
	// KeepStatusOnCreate keeps a status given on create (Events, Leases have none).
	KeepStatusOnCreate bool
	// GracePeriod, when set, makes Delete graceful: it returns the grace
	// period to apply, or ok=false to delete at once.
	GracePeriod func(obj T, requested *int64) (seconds int64, ok bool)
	// Pending, when set, reports whether a kind's own finalizers still hold
	// an object under deletion (a namespace's spec.finalizers), beyond
	// metadata.finalizers.
	Pending func(obj T) bool

	// Hooks add etcd comparisons and operations to a write, atomically.
	BeforeCreate func(ctx context.Context, obj T) (storage.Txn, error)
	BeforeUpdate func(ctx context.Context, obj, old T) (storage.Txn, error)
	BeforeDelete func(ctx context.Context, old T) (storage.Txn, error)
}

// request is every kind's XRequest: namespace and name from the path, the object from the body.
type request[T any] interface {
	GetNamespace() string
	GetName() string
	GetObject() T
	GetDryRun() []string
}

// DryRunAll is the one dryRun value Kubernetes knows: every stage of the
// request runs, nothing is stored.
const DryRunAll = "All"

// dryRun reads the dryRun option of a write, whose options kind (CreateOptions,
// UpdateOptions, PatchOptions, DeleteOptions) names it in the error, as
// Kubernetes': a value other than "All" is refused before anything is done.
func dryRun(options string, values []string) (bool, error) {
	for _, v := range values {
		if v != DryRunAll {
			return false, apierrors.Invalid(options+".meta.k8s.io", "", field.ErrorList{
				field.NotSupported(field.NewPath("dryRun"), goSyntax(values), []string{DryRunAll})})
		}
	}
	return len(values) > 0, nil
}

// DryRun checks a dryRun option for the REST front's PATCH.
func DryRun(options string, values []string) (bool, error) { return dryRun(options, values) }

// goSyntax prints a value list as Kubernetes' errors do: []string{"x"}.
type goSyntax []string

func (g goSyntax) String() string { return fmt.Sprintf("%#v", []string(g)) }

// Deps are what every resource shares.
type Deps struct {
	Logger *zap.Logger
	Store  *storage.Store
	Cacher storage.CacherConfig
	// NamespaceActive admits a write into a namespace.
	NamespaceActive  func(ctx context.Context, ns string) error
	Metrics          *Metrics
	BookmarkInterval time.Duration
	Now              func() time.Time
}

// Resource serves one kind: T the object, L its list, EV its watch event
// message, R its write request.
type Resource[T storage.Object, L proto.Message, EV any, R request[T]] struct {
	Info
	lg       *zap.Logger
	deps     Deps
	strategy Strategy[T]
	prefix   string
	cacher   *storage.Cacher[T]
}

// NewResource makes the resource; Run starts its watch cache.
func NewResource[T storage.Object, L proto.Message, EV any, R request[T]](deps Deps, info Info, s Strategy[T]) *Resource[T, L, EV, R] {
	lg := deps.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.BookmarkInterval <= 0 {
		deps.BookmarkInterval = 10 * time.Second
	}
	r := &Resource[T, L, EV, R]{Info: info, lg: lg.With(zap.String("resource", info.Resource)), deps: deps, strategy: s,
		prefix: "/skiff/" + info.Resource + "/"}
	r.cacher = storage.NewCacher[T](r.lg, deps.Store.Client(), r.prefix, r.decode, deps.Cacher)
	return r
}

// Run feeds the watch cache until ctx ends.
func (r *Resource[T, L, EV, R]) Run(ctx context.Context) { r.cacher.Run(ctx) }

// Ready is closed when the resource can serve watches.
func (r *Resource[T, L, EV, R]) Ready() <-chan struct{} { return r.cacher.Ready() }

func (r *Resource[T, L, EV, R]) key(ns, name string) string {
	if r.Namespaced {
		return r.prefix + ns + "/" + name
	}
	return r.prefix + name
}

// listPrefix is where a list or watch of ns (all when empty) reads.
func (r *Resource[T, L, EV, R]) listPrefix(ns string) string {
	if r.Namespaced && ns != "" {
		return r.prefix + ns + "/"
	}
	return r.prefix
}

func (r *Resource[T, L, EV, R]) newObject() T {
	var zero T
	return zero.ProtoReflect().New().Interface().(T)
}

// decode reads a stored object and stamps its type and resourceVersion.
func (r *Resource[T, L, EV, R]) decode(kv storage.KV) (T, error) {
	obj := r.newObject()
	if err := proto.Unmarshal(kv.Value, obj); err != nil {
		return obj, fmt.Errorf("decode %s: %w", kv.Key, err)
	}
	setTypeMeta(obj, r.APIVersion(), r.Kind)
	metaOf(obj).ResourceVersion = storage.FormatRev(kv.ModRevision)
	return obj, nil
}

func (r *Resource[T, L, EV, R]) encode(obj T) ([]byte, error) {
	// apiVersion, kind and resourceVersion are not stored: they are known
	// from the key and its revision. obj is the caller's own copy, so they
	// are blanked for the encoding and put back.
	av, kind := typeMeta(obj)
	m := metaOf(obj)
	rv := m.ResourceVersion
	setTypeMeta(obj, "", "")
	m.ResourceVersion = ""
	b, err := storage.Marshal(obj)
	setTypeMeta(obj, av, kind)
	m.ResourceVersion = rv
	if err != nil {
		return nil, apierrors.Internal("encode %s: %v", r.Resource, err)
	}
	return b, nil
}

// storageErr maps a storage sentinel to the API error a user sees.
func (r *Resource[T, L, EV, R]) storageErr(err error, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NotFound(r.qualifiedResource(), name)
	case errors.Is(err, storage.ErrExists):
		return apierrors.AlreadyExists(r.qualifiedResource(), name)
	case errors.Is(err, storage.ErrConflict):
		return apierrors.Conflict(r.qualifiedResource(), name, "the object has been modified; please apply your changes to the latest version and try again")
	case errors.Is(err, storage.ErrCompacted):
		return apierrors.Gone("too old resource version: %v", err)
	case errors.Is(err, storage.ErrBadContinue):
		return apierrors.BadRequest("invalid continue token: %v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierrors.New(apierrors.ReasonTimeout, r.qualifiedResource(), name, err.Error())
	case errors.Is(err, storage.ErrUnavailable):
		return apierrors.Unavailable("etcd is unavailable: %v", err)
	}
	if apierrors.ReasonOf(err) != apierrors.ReasonInternalError {
		return err
	}
	return apierrors.Internal("%s %q: %v", r.qualifiedResource(), name, err)
}

// qualifiedResource is how errors name the resource: pods, deployments.apps.
func (r *Resource[T, L, EV, R]) qualifiedResource() string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// checkTarget reconciles the object's namespace and name with the path's.
func (r *Resource[T, L, EV, R]) checkTarget(obj T, ns, name string) error {
	if any(obj) == nil || !obj.ProtoReflect().IsValid() {
		return apierrors.BadRequest("the request body must be a %s object", r.Kind)
	}
	av, kind := typeMeta(obj)
	if av != "" && av != r.APIVersion() {
		return apierrors.BadRequest("the API version in the data (%s) does not match the expected API version (%s)", av, r.APIVersion())
	}
	if kind != "" && kind != r.Kind {
		return apierrors.BadRequest("the kind in the data (%s) does not match the expected kind (%s)", kind, r.Kind)
	}
	m := metaOf(obj)
	if r.Namespaced {
		switch {
		case m.Namespace == "" && ns == "":
			return apierrors.BadRequest("%s must have a namespace: set metadata.namespace or the request's namespace", r.Kind)
		case m.Namespace == "":
			m.Namespace = ns
		case ns != "" && m.Namespace != ns:
			return apierrors.BadRequest("the namespace of the provided object (%s) does not match the namespace sent on the request (%s)", m.Namespace, ns)
		}
	}
	if name != "" {
		switch {
		case m.Name == "":
			m.Name = name
		case m.Name != name:
			return apierrors.BadRequest("the name of the object (%s) does not match the name on the URL (%s)", m.Name, name)
		}
	}
	if size := proto.Size(obj); size > MaxObjectBytes {
		return apierrors.TooLarge("%s %q is too large: %d bytes, the limit is %d bytes (1.5 MiB)", r.Kind, m.Name, size, MaxObjectBytes)
	}
	return nil
}

func (r *Resource[T, L, EV, R]) now() *timestamppb.Timestamp {
	return timestamppb.New(r.deps.Now().UTC().Truncate(time.Second))
}

func (r *Resource[T, L, EV, R]) validate(obj T, old T, isUpdate bool, mode updateMode) error {
	var errs field.ErrorList
	if isUpdate && mode == statusUpdate && r.strategy.ValidateStatusUpdate != nil {
		errs = r.strategy.ValidateStatusUpdate(obj, old)
	} else if isUpdate {
		if r.strategy.ValidateUpdate != nil {
			errs = r.strategy.ValidateUpdate(obj, old)
		}
	} else if r.strategy.Validate != nil {
		errs = r.strategy.Validate(obj)
	}
	if len(errs) > 0 {
		return apierrors.Invalid(r.Kind, metaOf(obj).Name, errs)
	}
	return nil
}

// Create stores a new object.
func (r *Resource[T, L, EV, R]) Create(ctx context.Context, req R) (obj T, err error) {
	defer r.observe("create", time.Now(), &err)
	obj = req.GetObject()
	dry, err := dryRun("CreateOptions", req.GetDryRun())
	if err != nil {
		return obj, err
	}
	if err := r.checkTarget(obj, req.GetNamespace(), ""); err != nil {
		return obj, err
	}
	m := metaOf(obj)
	generated := m.Name == "" && m.GenerateName != ""
	if generated {
		m.Name = m.GenerateName + randomSuffix()
	}
	m.Uid = newUID()
	m.ResourceVersion = ""
	m.CreationTimestamp = r.now()
	m.DeletionTimestamp = nil
	m.DeletionGracePeriodSeconds = nil
	m.Generation = 0
	if hasField(obj, "spec") {
		m.Generation = 1
	}
	if r.HasStatus && !r.strategy.KeepStatusOnCreate {
		clearField(obj, "status")
	}
	if r.strategy.PrepareForCreate != nil {
		r.strategy.PrepareForCreate(obj)
	}
	if r.strategy.Default != nil {
		r.strategy.Default(obj)
	}
	if err := r.validate(obj, obj, false, specUpdate); err != nil {
		return obj, err
	}
	if r.Namespaced && r.deps.NamespaceActive != nil {
		if err := r.deps.NamespaceActive(ctx, m.Namespace); err != nil {
			return obj, err
		}
	}
	base := obj
	for attempt := 0; ; attempt++ {
		// With allocation hooks, each attempt starts from the validated
		// object: an allocation that lost a race is made again, not taken
		// for the user's choice.
		if r.strategy.BeforeCreate != nil {
			obj = proto.Clone(base).(T)
			m = metaOf(obj)
		}
		var tx storage.Txn
		if r.strategy.BeforeCreate != nil {
			if tx, err = r.strategy.BeforeCreate(ctx, obj); err != nil {
				return obj, err
			}
		}
		data, err := r.encode(obj)
		if err != nil {
			return obj, err
		}
		var rev int64
		if dry {
			// The allocations and the name are checked, not taken: the
			// answer is the object as it would be stored, without a
			// resourceVersion, as Kubernetes' dry-run create.
			err = r.deps.Store.CheckCreate(ctx, r.key(m.Namespace, m.Name), tx)
		} else {
			rev, err = r.deps.Store.Create(ctx, r.key(m.Namespace, m.Name), data, tx)
		}
		switch {
		case err == nil:
			setTypeMeta(obj, r.APIVersion(), r.Kind)
			if !dry {
				m.ResourceVersion = storage.FormatRev(rev)
			}
			return obj, nil
		case errors.Is(err, storage.ErrExists) && generated && attempt < 5:
			metaOf(base).Name = m.GenerateName + randomSuffix()
		case errors.Is(err, storage.ErrConflict) && attempt < 20:
			// An allocation raced with another writer: allocate again.
		default:
			return obj, r.storageErr(err, m.Name)
		}
	}
}

// Get reads one object.
func (r *Resource[T, L, EV, R]) Get(ctx context.Context, opts *metav1.GetOptions) (obj T, err error) {
	defer r.observe("get", time.Now(), &err)
	obj, _, err = r.get(ctx, opts.GetNamespace(), opts.GetName())
	return obj, err
}

func (r *Resource[T, L, EV, R]) get(ctx context.Context, ns, name string) (T, int64, error) {
	var zero T
	if r.Namespaced && ns == "" {
		return zero, 0, apierrors.BadRequest("a namespace is required to get %s %q", r.Resource, name)
	}
	if name == "" {
		return zero, 0, apierrors.BadRequest("a name is required to get %s", r.Resource)
	}
	kv, err := r.deps.Store.Get(ctx, r.key(ns, name))
	if err != nil {
		return zero, 0, r.storageErr(err, name)
	}
	obj, err := r.decode(*kv)
	if err != nil {
		return zero, 0, apierrors.Internal("%v", err)
	}
	return obj, kv.ModRevision, nil
}

// List reads a collection, filtered and paged on one etcd snapshot.
func (r *Resource[T, L, EV, R]) List(ctx context.Context, opts *metav1.ListOptions) (list L, err error) {
	defer r.observe("list", time.Now(), &err)
	sel, err := r.selection(opts)
	if err != nil {
		return list, err
	}
	if opts.GetLimit() < 0 {
		return list, apierrors.BadRequest("limit must be >= 0, got %d", opts.GetLimit())
	}
	var items []T
	var decodeErr error
	page, err := r.deps.Store.List(ctx, r.listPrefix(opts.GetNamespace()), opts.GetContinue(), opts.GetLimit(), func(kv storage.KV) bool {
		obj, err := r.decode(kv)
		if err != nil {
			decodeErr = err
			return false
		}
		if !sel.matches(obj) {
			return false
		}
		items = append(items, obj)
		return true
	})
	if err != nil {
		return list, r.storageErr(err, "")
	}
	if decodeErr != nil {
		r.lg.Error("skipped an object that does not decode", zap.Error(decodeErr))
	}
	lm := &metav1.ListMeta{ResourceVersion: storage.FormatRev(page.Revision), Continue: page.Continue}
	if page.Continue != "" {
		lm.RemainingItemCount = proto.Int64(page.Remaining)
	}
	return newListOf[L](r.APIVersion(), r.Kind+"List", items, lm), nil
}

// Update replaces an object's spec and metadata; status stays.
func (r *Resource[T, L, EV, R]) Update(ctx context.Context, req R) (obj T, err error) {
	defer r.observe("update", time.Now(), &err)
	return r.update(ctx, req, false)
}

// UpdateStatus replaces an object's status; everything else stays.
func (r *Resource[T, L, EV, R]) UpdateStatus(ctx context.Context, req R) (obj T, err error) {
	defer r.observe("update_status", time.Now(), &err)
	if !r.HasStatus {
		return obj, apierrors.New(apierrors.ReasonMethodNotAllowed, r.Resource, req.GetName(), r.Resource+" have no status subresource")
	}
	return r.update(ctx, req, true)
}

func (r *Resource[T, L, EV, R]) update(ctx context.Context, req R, status bool) (T, error) {
	in := req.GetObject()
	dry, err := dryRun("UpdateOptions", req.GetDryRun())
	if err != nil {
		return in, err
	}
	if err := r.checkTarget(in, req.GetNamespace(), req.GetName()); err != nil {
		return in, err
	}
	m := metaOf(in)
	given := m.ResourceVersion
	return r.guaranteedUpdate(ctx, m.Namespace, m.Name, given, func(old T) (T, error) {
		return r.keepOtherHalf(proto.Clone(in).(T), old, status), nil
	}, map[bool]updateMode{true: statusUpdate, false: specUpdate}[status], dry)
}

// keepOtherHalf makes obj, the object a client sent, into what an update
// stores: with status, only its status over old; otherwise everything but
// its status, which stays old's.
func (r *Resource[T, L, EV, R]) keepOtherHalf(obj, old T, status bool) T {
	if status {
		next := proto.Clone(old).(T)
		copyField(next, obj, "status")
		return next
	}
	if r.HasStatus {
		copyField(obj, old, "status")
	}
	return obj
}

// updateMode says which rules an update follows.
type updateMode int

const (
	specUpdate     updateMode = iota // Update: the user-facing rules
	statusUpdate                     // UpdateStatus: the status rules
	trustedUpdate                    // a subresource (binding) that checks its own rules
	finalizeUpdate                   // namespaces/finalize: the update rules, without PrepareForUpdate
)

// guaranteedUpdate reads, mutates and compare-and-swaps until it wins, unless
// the caller named a resourceVersion, which then must be current. A dry run
// does all of it but the write: the compare is made in a transaction that
// writes nothing, and the answer is the object as it would be stored, with
// the resourceVersion it has now.
func (r *Resource[T, L, EV, R]) guaranteedUpdate(ctx context.Context, ns, name, givenRV string, mutate func(old T) (T, error), mode updateMode, dry bool) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		old, modRev, err := r.get(ctx, ns, name)
		if err != nil {
			return zero, err
		}
		if givenRV != "" && givenRV != storage.FormatRev(modRev) {
			return zero, apierrors.StaleUpdate(r.qualifiedResource(), name, givenRV, storage.FormatRev(modRev))
		}
		obj, err := mutate(old)
		if err != nil {
			return zero, err
		}
		r.keepServerFields(obj, old, mode)
		if mode != trustedUpdate {
			if r.strategy.PrepareForUpdate != nil && mode != finalizeUpdate {
				r.strategy.PrepareForUpdate(obj, old)
			}
			if r.strategy.Default != nil {
				r.strategy.Default(obj)
			}
			if err := r.validate(obj, old, true, mode); err != nil {
				return zero, err
			}
		}
		om := metaOf(obj)
		if !fieldEqual(obj, old, "spec") {
			om.Generation = metaOf(old).Generation + 1
		}
		if proto.Equal(obj, old) {
			return old, nil // nothing changed: no write, no event
		}
		// The last finalizer removed from an object being deleted removes it.
		if mode != trustedUpdate && r.finalized(obj) {
			if dry {
				return obj, nil
			}
			obj, err := r.remove(ctx, old, modRev)
			if errors.Is(err, errRetry) && retryConflict(ctx, attempt) {
				continue
			}
			return obj, err
		}
		var tx storage.Txn
		if r.strategy.BeforeUpdate != nil {
			if tx, err = r.strategy.BeforeUpdate(ctx, obj, old); err != nil {
				return zero, err
			}
		}
		data, err := r.encode(obj)
		if err != nil {
			return zero, err
		}
		var rev int64
		if dry {
			err = r.deps.Store.CheckUpdate(ctx, r.key(ns, name), modRev, tx)
			rev = modRev
		} else {
			rev, err = r.deps.Store.Update(ctx, r.key(ns, name), data, modRev, tx)
		}
		if errors.Is(err, storage.ErrConflict) && (givenRV != "" || retryConflict(ctx, attempt)) {
			if givenRV != "" {
				// Lost the race to another writer after our read.
				cur, _, gerr := r.get(ctx, ns, name)
				if gerr == nil {
					return zero, apierrors.StaleUpdate(r.qualifiedResource(), name, givenRV, metaOf(cur).ResourceVersion)
				}
			}
			continue
		}
		if err != nil {
			return zero, r.storageErr(err, name)
		}
		setTypeMeta(obj, r.APIVersion(), r.Kind)
		om.ResourceVersion = storage.FormatRev(rev)
		return obj, nil
	}
}

// keepServerFields restores what only the server sets; a trusted update
// (the server's own) may set the deletion fields.
func (r *Resource[T, L, EV, R]) keepServerFields(obj, old T, mode updateMode) {
	m, om := metaOf(obj), metaOf(old)
	m.Uid = om.Uid
	m.CreationTimestamp = om.CreationTimestamp
	m.Generation = om.Generation
	m.GenerateName = om.GenerateName
	m.ResourceVersion = om.ResourceVersion // so an unchanged object compares equal
	switch {
	case mode == trustedUpdate && om.DeletionTimestamp == nil:
	case om.DeletionTimestamp != nil:
		m.DeletionTimestamp = om.DeletionTimestamp
		m.DeletionGracePeriodSeconds = om.DeletionGracePeriodSeconds
	default:
		m.DeletionTimestamp, m.DeletionGracePeriodSeconds = nil, nil
	}
	setTypeMeta(obj, r.APIVersion(), r.Kind)
}

// finalized reports whether an object under deletion has nothing left to
// wait for: no finalizers of either kind and no grace period.
func (r *Resource[T, L, EV, R]) finalized(obj T) bool {
	m := metaOf(obj)
	return m.DeletionTimestamp != nil && len(m.Finalizers) == 0 && r.gracefulDone(obj) &&
		(r.strategy.Pending == nil || !r.strategy.Pending(obj))
}

// gracefulDone reports whether an object under deletion has no grace period left to wait for.
func (r *Resource[T, L, EV, R]) gracefulDone(obj T) bool {
	g := metaOf(obj).DeletionGracePeriodSeconds
	return r.strategy.GracePeriod == nil || g == nil || *g == 0
}

// Delete removes an object, gracefully where the kind asks for it, and only
// once its finalizers are gone.
func (r *Resource[T, L, EV, R]) Delete(ctx context.Context, opts *metav1.DeleteOptions) (obj T, err error) {
	defer r.observe("delete", time.Now(), &err)
	ns, name := opts.GetNamespace(), opts.GetName()
	dry, err := dryRun("DeleteOptions", opts.GetDryRun())
	if err != nil {
		return obj, err
	}
	for attempt := 0; ; attempt++ {
		old, modRev, err := r.get(ctx, ns, name)
		if err != nil {
			return old, err
		}
		om := metaOf(old)
		if p := opts.GetPreconditions(); p != nil {
			if p.Uid != nil && *p.Uid != om.Uid {
				return old, apierrors.Conflict(r.qualifiedResource(), name,
					fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", *p.Uid, om.Uid))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != om.ResourceVersion {
				return old, apierrors.Conflict(r.qualifiedResource(), name,
					fmt.Sprintf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", *p.ResourceVersion, om.ResourceVersion))
			}
		}
		grace, graceful := int64(0), false
		if r.strategy.GracePeriod != nil {
			grace, graceful = r.strategy.GracePeriod(old, opts.GracePeriodSeconds)
		}
		finalizers, finalizersChanged, err := propagationFinalizers(om.Finalizers, opts.GetPropagationPolicy())
		if err != nil {
			return old, err
		}
		if graceful && grace > 0 || len(finalizers) > 0 || r.strategy.Pending != nil && r.strategy.Pending(old) {
			next, changed := r.markDeleting(old, grace, graceful)
			if finalizersChanged {
				metaOf(next).Finalizers = finalizers
				changed = true
			}
			if !changed {
				return old, nil
			}
			if dry {
				return next, nil
			}
			data, err := r.encode(next)
			if err != nil {
				return old, err
			}
			rev, err := r.deps.Store.Update(ctx, r.key(ns, name), data, modRev, storage.Txn{})
			if errors.Is(err, storage.ErrConflict) && retryConflict(ctx, attempt) {
				continue
			}
			if err != nil {
				return old, r.storageErr(err, name)
			}
			metaOf(next).ResourceVersion = storage.FormatRev(rev)
			return next, nil
		}
		if dry {
			return old, nil
		}
		obj, err := r.remove(ctx, old, modRev)
		if errors.Is(err, errRetry) && retryConflict(ctx, attempt) {
			continue
		}
		return obj, err
	}
}

var errRetry = errors.New("retry")

// The finalizers through which the garbage collector deletes an object's
// dependents first (foreground) or orphans them, as Kubernetes'.
const (
	FinalizerOrphan             = "orphan"
	FinalizerForegroundDeletion = "foregroundDeletion"
)

// propagationFinalizers applies a DeleteOptions.propagationPolicy to an
// object's finalizers as Kubernetes does: Foreground asks for
// foregroundDeletion, Orphan for orphan, Background for neither; no policy
// keeps what the object has.
func propagationFinalizers(finalizers []string, policy string) ([]string, bool, error) {
	var want string
	switch policy {
	case "":
		return finalizers, false, nil
	case "Foreground":
		want = FinalizerForegroundDeletion
	case "Orphan":
		want = FinalizerOrphan
	case "Background":
	default:
		return nil, false, apierrors.BadRequest("propagationPolicy: Unsupported value: %q: supported values: \"Foreground\", \"Background\", \"Orphan\"", policy)
	}
	out := make([]string, 0, len(finalizers)+1)
	for _, f := range finalizers {
		if f != FinalizerOrphan && f != FinalizerForegroundDeletion {
			out = append(out, f)
		}
	}
	if want != "" {
		out = append(out, want)
	}
	return out, !slices.Equal(out, finalizers), nil
}

// retryConflict decides whether a write that lost a compare-and-swap to
// another writer is tried again: always while the request lives, as
// Kubernetes' GuaranteedUpdate does, since a write the caller did not make
// conditional must not fail for others' writes. After the first few lost
// races it waits a random few milliseconds, growing with attempt, so that
// many writers of one key do not keep colliding.
func retryConflict(ctx context.Context, attempt int) bool {
	if attempt < 3 {
		return ctx.Err() == nil
	}
	d := time.Duration(rand.Int64N(int64(min(attempt, 50)) * int64(time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// markDeleting sets deletionTimestamp and the grace period; a shorter grace
// period shortens a deletion already under way.
func (r *Resource[T, L, EV, R]) markDeleting(old T, grace int64, graceful bool) (T, bool) {
	next := proto.Clone(old).(T)
	m := metaOf(next)
	if !graceful {
		grace = 0
	}
	now := r.deps.Now().UTC()
	if m.DeletionTimestamp == nil {
		m.DeletionTimestamp = timestamppb.New(now.Add(time.Duration(grace) * time.Second).Truncate(time.Second))
		g := int32(grace)
		m.DeletionGracePeriodSeconds = &g
		return next, true
	}
	if cur := m.DeletionGracePeriodSeconds; cur == nil || int64(*cur) > grace {
		m.DeletionTimestamp = timestamppb.New(now.Add(time.Duration(grace) * time.Second).Truncate(time.Second))
		g := int32(grace)
		m.DeletionGracePeriodSeconds = &g
		return next, true
	}
	return next, false
}

// remove deletes the stored object at modRev, with the kind's hooks.
func (r *Resource[T, L, EV, R]) remove(ctx context.Context, old T, modRev int64) (T, error) {
	om := metaOf(old)
	var tx storage.Txn
	var err error
	if r.strategy.BeforeDelete != nil {
		if tx, err = r.strategy.BeforeDelete(ctx, old); err != nil {
			return old, err
		}
	}
	rev, err := r.deps.Store.Delete(ctx, r.key(om.Namespace, om.Name), modRev, tx)
	if errors.Is(err, storage.ErrConflict) {
		return old, errRetry
	}
	if err != nil {
		return old, r.storageErr(err, om.Name)
	}
	setTypeMeta(old, r.APIVersion(), r.Kind)
	om.ResourceVersion = storage.FormatRev(rev)
	return old, nil
}

// Watch streams changes: the current objects as ADDED first when no
// resourceVersion is given, then every change after it, filtered by the
// selectors, with periodic bookmarks when asked for.
func (r *Resource[T, L, EV, R]) Watch(opts *metav1.ListOptions, stream grpc.ServerStreamingServer[EV]) (err error) {
	defer r.observe("watch", time.Now(), &err)
	ctx := stream.Context()
	if t := opts.GetTimeoutSeconds(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(t)*time.Second)
		defer cancel()
	}
	sel, err := r.selection(opts)
	if err != nil {
		return err
	}
	from, err := storage.ParseRev(opts.GetResourceVersion())
	if err != nil {
		return apierrors.BadRequest("%v", err)
	}
	if errs := validateWatchOptions(opts); len(errs) > 0 {
		return apierrors.Invalid("ListOptions", "", errs)
	}
	// Without a resourceVersion a watch starts with the current objects,
	// as ADDED events; sendInitialEvents says so explicitly (and ends them
	// with a bookmark), or, false, starts from now without them.
	initial := from == 0
	if opts.SendInitialEvents != nil {
		initial = opts.GetSendInitialEvents()
	}
	switch {
	case initial:
		page, err := r.deps.Store.List(ctx, r.listPrefix(opts.GetNamespace()), "", 0, nil)
		if err != nil {
			return r.storageErr(err, "")
		}
		for _, kv := range page.Items {
			obj, err := r.decode(kv)
			if err != nil || !sel.matches(obj) {
				continue
			}
			if err := stream.Send(newEventOf[EV](metav1.EventType_ADDED, obj)); err != nil {
				return err
			}
		}
		from = page.Revision
		if opts.GetSendInitialEvents() {
			bm := r.newObject()
			setTypeMeta(bm, r.APIVersion(), r.Kind)
			metaOf(bm).ResourceVersion = storage.FormatRev(from)
			metaOf(bm).Annotations = map[string]string{InitialEventsEndAnnotation: "true"}
			if err := stream.Send(newEventOf[EV](metav1.EventType_BOOKMARK, bm)); err != nil {
				return err
			}
		}
	case from == 0:
		select {
		case <-r.cacher.Ready():
		case <-ctx.Done():
			return nil
		}
		from = r.cacher.Revision()
	}
	w, err := r.cacher.Watch(ctx, from)
	if err != nil {
		return r.storageErr(err, "")
	}
	defer w.Stop()
	// Established: clients may wait for the headers before they write
	// what they watch for. An error means they are out already.
	_ = stream.SendHeader(nil)
	last := from
	for {
		nctx, cancel := context.WithTimeout(ctx, r.deps.BookmarkInterval)
		e, err := w.Next(nctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil // the client went away or the timeout ended the watch
			}
			if errors.Is(err, context.DeadlineExceeded) {
				if opts.GetAllowWatchBookmarks() {
					if rev := r.cacher.Revision(); rev > last {
						last = rev
					}
					bm := r.newObject()
					setTypeMeta(bm, r.APIVersion(), r.Kind)
					metaOf(bm).ResourceVersion = storage.FormatRev(last)
					if err := stream.Send(newEventOf[EV](metav1.EventType_BOOKMARK, bm)); err != nil {
						return err
					}
				}
				continue
			}
			if errors.Is(err, storage.ErrTooSlow) {
				return apierrors.Unavailable("watch of %s closed: %v", r.Resource, err)
			}
			return r.storageErr(err, "")
		}
		if !strings.HasPrefix(e.Key, r.listPrefix(opts.GetNamespace())) {
			continue
		}
		last = e.Rev
		typ, obj, ok := sel.transform(e)
		if !ok {
			continue
		}
		if err := stream.Send(newEventOf[EV](typ, obj)); err != nil {
			return err
		}
	}
}

// InitialEventsEndAnnotation marks the BOOKMARK that ends the initial
// events of a watch with sendInitialEvents (Kubernetes' watch-list).
const InitialEventsEndAnnotation = "k8s.io/initial-events-end"

// validateWatchOptions checks sendInitialEvents and resourceVersionMatch of
// a watch as Kubernetes does.
func validateWatchOptions(opts *metav1.ListOptions) field.ErrorList {
	var errs field.ErrorList
	match := opts.GetResourceVersionMatch()
	if opts.SendInitialEvents == nil {
		if match != "" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
		}
		return errs
	}
	if match != "NotOlderThan" {
		errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
	}
	if !opts.GetAllowWatchBookmarks() {
		errs = append(errs, field.Forbidden(field.NewPath("allowWatchBookmarks"), "sendInitialEvents requires setting allowWatchBookmarks to true"))
	}
	return errs
}

// WatchFunc is a kind's watch for the REST front: each event goes to
// send; started is called once the watch is established, before any
// event may come, so the front can answer its headers (client-go waits
// for them).
type WatchFunc func(ctx context.Context, opts *metav1.ListOptions, started func(), send func(proto.Message) error) error

// sendStream adapts a send function to the generated stream type so REST
// watches run the same Watch as gRPC ones. Only Context and Send are used.
type sendStream[EV any] struct {
	grpc.ServerStream
	ctx     context.Context
	started func()
	send    func(proto.Message) error
}

func (s *sendStream[EV]) Context() context.Context { return s.ctx }
func (s *sendStream[EV]) Send(ev *EV) error        { return s.send(any(ev).(proto.Message)) }

// SendHeader is how Watch says that it is established.
func (s *sendStream[EV]) SendHeader(metadata.MD) error {
	if s.started != nil {
		s.started()
	}
	return nil
}

// RESTWatch is the kind's watch for the REST front.
func (r *Resource[T, L, EV, R]) RESTWatch() WatchFunc {
	return func(ctx context.Context, opts *metav1.ListOptions, started func(), send func(proto.Message) error) error {
		return r.Watch(opts, &sendStream[EV]{ctx: ctx, started: started, send: send})
	}
}
