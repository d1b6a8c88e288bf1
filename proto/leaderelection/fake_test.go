package leaderelection

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	coordinationv1 "skiff.dev/proto/coordination/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// fakeLeases is an in-memory Lease store with the apiserver's
// resourceVersion compare-and-swap: an Update whose resourceVersion is not
// the stored one fails with Aborted, a Create of an existing Lease with
// AlreadyExists.
type fakeLeases struct {
	t *testing.T

	mu     sync.Mutex
	leases map[string]*coordinationv1.Lease
	rv     int64
	writes []leaseWrite

	// beforeUpdate, if set, runs before each Update is applied, without
	// the lock held; a test uses it to sneak in a competing write.
	beforeUpdate func()
}

// leaseWrite is one successful write, in the order the store applied them.
type leaseWrite struct {
	at     time.Time
	holder string
	spec   *coordinationv1.LeaseSpec
}

func newFakeLeases(t *testing.T) *fakeLeases {
	return &fakeLeases{t: t, leases: map[string]*coordinationv1.Lease{}}
}

func leaseKey(ns, name string) string { return ns + "/" + name }

func (f *fakeLeases) Get(ctx context.Context, in *metav1.GetOptions, _ ...grpc.CallOption) (*coordinationv1.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.leases[leaseKey(in.GetNamespace(), in.GetName())]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "leases %q not found", in.GetName())
	}
	return proto.CloneOf(l), nil
}

func (f *fakeLeases) Create(ctx context.Context, in *coordinationv1.LeaseRequest, _ ...grpc.CallOption) (*coordinationv1.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := leaseKey(in.GetNamespace(), in.GetName())
	if _, ok := f.leases[key]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "leases %q already exists", in.GetName())
	}
	l := proto.CloneOf(in.GetObject())
	if l.Metadata == nil {
		l.Metadata = &metav1.ObjectMeta{}
	}
	l.Metadata.Namespace, l.Metadata.Name = in.GetNamespace(), in.GetName()
	return f.storeLocked(key, l), nil
}

func (f *fakeLeases) Update(ctx context.Context, in *coordinationv1.LeaseRequest, _ ...grpc.CallOption) (*coordinationv1.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	if hook := f.beforeUpdate; hook != nil {
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := leaseKey(in.GetNamespace(), in.GetName())
	cur, ok := f.leases[key]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "leases %q not found", in.GetName())
	}
	rv := in.GetObject().GetMetadata().GetResourceVersion()
	if rv == "" {
		f.t.Errorf("Update of lease %s without resourceVersion: every write must be compare-and-swap", key)
	}
	if rv != cur.GetMetadata().GetResourceVersion() {
		return nil, status.Errorf(codes.Aborted, "leases %q: the object has been modified (resourceVersion %s, want %s)",
			in.GetName(), rv, cur.GetMetadata().GetResourceVersion())
	}
	return f.storeLocked(key, proto.CloneOf(in.GetObject())), nil
}

func (f *fakeLeases) storeLocked(key string, l *coordinationv1.Lease) *coordinationv1.Lease {
	f.rv++
	l.Metadata.ResourceVersion = strconv.FormatInt(f.rv, 10)
	f.leases[key] = l
	f.writes = append(f.writes, leaseWrite{at: time.Now(), holder: l.GetSpec().GetHolderIdentity(), spec: proto.CloneOf(l.GetSpec())})
	return proto.CloneOf(l)
}

// put writes spec to the lease unconditionally, as another client would.
func (f *fakeLeases) put(ns, name string, spec *coordinationv1.LeaseSpec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := leaseKey(ns, name)
	l := &coordinationv1.Lease{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	f.storeLocked(key, l)
}

// current returns the stored spec of the lease, nil if none.
func (f *fakeLeases) current(ns, name string) *coordinationv1.LeaseSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.leases[leaseKey(ns, name)]; ok {
		return proto.CloneOf(l.GetSpec())
	}
	return nil
}

// lastWriteBy returns the time of holder's last successful write.
func (f *fakeLeases) lastWriteBy(holder string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.writes) - 1; i >= 0; i-- {
		if f.writes[i].holder == holder {
			return f.writes[i].at
		}
	}
	return time.Time{}
}

// history returns every write so far.
func (f *fakeLeases) history() []leaseWrite {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]leaseWrite(nil), f.writes...)
}

// flakyClient is one candidate's connection to the store; down makes every
// call fail as a partitioned network would.
type flakyClient struct {
	store *fakeLeases
	down  atomic.Bool
}

func (c *flakyClient) Get(ctx context.Context, in *metav1.GetOptions, opts ...grpc.CallOption) (*coordinationv1.Lease, error) {
	if c.down.Load() {
		return nil, status.Error(codes.Unavailable, "connection refused")
	}
	return c.store.Get(ctx, in, opts...)
}

func (c *flakyClient) Create(ctx context.Context, in *coordinationv1.LeaseRequest, opts ...grpc.CallOption) (*coordinationv1.Lease, error) {
	if c.down.Load() {
		return nil, status.Error(codes.Unavailable, "connection refused")
	}
	return c.store.Create(ctx, in, opts...)
}

func (c *flakyClient) Update(ctx context.Context, in *coordinationv1.LeaseRequest, opts ...grpc.CallOption) (*coordinationv1.Lease, error) {
	if c.down.Load() {
		return nil, status.Error(codes.Unavailable, "connection refused")
	}
	return c.store.Update(ctx, in, opts...)
}

// heldSpec is a lease spec held by holder, renewed at renew.
func heldSpec(holder string, renew time.Time) *coordinationv1.LeaseSpec {
	return &coordinationv1.LeaseSpec{
		HolderIdentity:       proto.String(holder),
		LeaseDurationSeconds: proto.Int32(int32(DefaultLeaseDuration / time.Second)),
		AcquireTime:          timestamppb.New(renew),
		RenewTime:            timestamppb.New(renew),
		LeaseTransitions:     proto.Int32(0),
	}
}
