// Package storage keeps API objects in etcd: one key per object
// (/skiff/<resource>/<namespace>/<name>), protobuf values, resourceVersion =
// the key's mod revision, every write a compare-and-swap transaction. It is
// the only package that talks to etcd; the watch cache in cacher.go fans one
// etcd watch per resource out to many watchers.
package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Sentinel errors; the registry maps them to API errors.
var (
	ErrNotFound    = errors.New("storage: key not found")
	ErrExists      = errors.New("storage: key exists")
	ErrConflict    = errors.New("storage: modified since read")
	ErrCompacted   = errors.New("storage: revision compacted")
	ErrUnavailable = errors.New("storage: etcd unavailable")
	ErrBadContinue = errors.New("storage: invalid continue token")
)

// Txn carries extra comparisons and operations that must commit atomically
// with an object's write, such as a Service's ClusterIP allocation keys.
type Txn struct {
	Cmps []clientv3.Cmp
	Ops  []clientv3.Op
}

// Store is a thin, typed-free layer over clientv3.
type Store struct {
	cli *clientv3.Client
}

// New wraps an etcd client.
func New(cli *clientv3.Client) *Store { return &Store{cli: cli} }

// Client is the underlying etcd client (for the watch cache and allocators).
func (s *Store) Client() *clientv3.Client { return s.cli }

// KV is one stored object: its raw value and revisions.
type KV struct {
	Key         string
	Value       []byte
	ModRevision int64
}

// Create writes value at key if the key does not exist and every extra
// comparison holds. It returns the revision of the write.
func (s *Store) Create(ctx context.Context, key string, value []byte, tx Txn) (int64, error) {
	return s.create(ctx, key, []clientv3.Op{clientv3.OpPut(key, string(value))}, tx)
}

// CheckCreate is Create's dry run: the same comparisons, in a transaction
// that writes nothing (no revision, no watch event, no allocation taken),
// so it fails as Create would: ErrExists, or ErrConflict when one of tx's
// comparisons (an allocation's "key absent") fails.
func (s *Store) CheckCreate(ctx context.Context, key string, tx Txn) error {
	_, err := s.create(ctx, key, nil, Txn{Cmps: tx.Cmps})
	return err
}

func (s *Store) create(ctx context.Context, key string, put []clientv3.Op, tx Txn) (int64, error) {
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)}, tx.Cmps...)
	ops := append(put, tx.Ops...)
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return 0, mapErr(err)
	}
	if !resp.Succeeded {
		if len(tx.Cmps) == 0 {
			return 0, ErrExists
		}
		// Tell an existing object apart from a failed extra comparison.
		get, err := s.cli.Get(ctx, key, clientv3.WithCountOnly())
		if err != nil {
			return 0, mapErr(err)
		}
		if get.Count > 0 {
			return 0, ErrExists
		}
		return 0, ErrConflict
	}
	return resp.Header.Revision, nil
}

// Get reads one key; rev 0 reads the latest.
func (s *Store) Get(ctx context.Context, key string) (*KV, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return nil, mapErr(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	kv := resp.Kvs[0]
	return &KV{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision}, nil
}

// Update writes value at key if the key's mod revision is still modRev.
func (s *Store) Update(ctx context.Context, key string, value []byte, modRev int64, tx Txn) (int64, error) {
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", modRev)}, tx.Cmps...)
	ops := append([]clientv3.Op{clientv3.OpPut(key, string(value))}, tx.Ops...)
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return 0, mapErr(err)
	}
	if !resp.Succeeded {
		return 0, ErrConflict
	}
	return resp.Header.Revision, nil
}

// CheckUpdate is Update's dry run: it fails with ErrConflict when Update
// would, and writes nothing.
func (s *Store) CheckUpdate(ctx context.Context, key string, modRev int64, tx Txn) error {
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", modRev)}, tx.Cmps...)
	resp, err := s.cli.Txn(ctx).If(cmps...).Commit()
	if err != nil {
		return mapErr(err)
	}
	if !resp.Succeeded {
		return ErrConflict
	}
	return nil
}

// Delete removes key if its mod revision is still modRev.
func (s *Store) Delete(ctx context.Context, key string, modRev int64, tx Txn) (int64, error) {
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", modRev)}, tx.Cmps...)
	ops := append([]clientv3.Op{clientv3.OpDelete(key)}, tx.Ops...)
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return 0, mapErr(err)
	}
	if !resp.Succeeded {
		return 0, ErrConflict
	}
	return resp.Header.Revision, nil
}

// ListPage is one page of a list.
type ListPage struct {
	Items    []KV
	Revision int64  // the snapshot every page of this list reads
	Continue string // empty on the last page
	// Remaining counts the keys after this page (an upper bound of the
	// matching objects when a filter is applied).
	Remaining int64
}

type continueToken struct {
	Rev   int64  `json:"rv"`
	Start string `json:"start"`
}

// EncodeContinue makes the opaque token that resumes a list at key start of snapshot rev.
func EncodeContinue(rev int64, start string) string {
	b, _ := json.Marshal(continueToken{Rev: rev, Start: start})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeContinue reads a token made by EncodeContinue, checking it stays under prefix.
func DecodeContinue(token, prefix string) (rev int64, start string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrBadContinue, err)
	}
	var t continueToken
	if err := json.Unmarshal(b, &t); err != nil || t.Rev <= 0 || len(t.Start) < len(prefix) || t.Start[:len(prefix)] != prefix {
		return 0, "", ErrBadContinue
	}
	return t.Rev, t.Start, nil
}

// List reads keys under prefix from a consistent snapshot. A continue token
// resumes a previous list on that list's snapshot. keep filters raw values;
// limit (0 = all) counts kept items, so a selective filter still fills a page.
func (s *Store) List(ctx context.Context, prefix, cont string, limit int64, keep func(KV) bool) (*ListPage, error) {
	start, rev := prefix, int64(0)
	if cont != "" {
		var err error
		if rev, start, err = DecodeContinue(cont, prefix); err != nil {
			return nil, err
		}
	}
	end := clientv3.GetPrefixRangeEnd(prefix)
	page := &ListPage{}
	chunk := int64(0)
	if limit > 0 {
		chunk = limit
		if chunk < 100 {
			chunk = 100
		}
	}
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end)}
		if chunk > 0 {
			opts = append(opts, clientv3.WithLimit(chunk))
		}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, start, opts...)
		if err != nil {
			return nil, mapErr(err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for i, kv := range resp.Kvs {
			item := KV{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision}
			if keep != nil && !keep(item) {
				continue
			}
			page.Items = append(page.Items, item)
			if limit > 0 && int64(len(page.Items)) == limit {
				rest := resp.Count - int64(i) - 1
				if rest > 0 {
					page.Revision = rev
					page.Continue = EncodeContinue(rev, string(kv.Key)+"\x00")
					page.Remaining = rest
					return page, nil
				}
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			page.Revision = rev
			return page, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// CurrentRevision is etcd's latest revision.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, "/skiff/~revision", clientv3.WithCountOnly())
	if err != nil {
		return 0, mapErr(err)
	}
	return resp.Header.Revision, nil
}

// Compact discards the history before rev.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	_, err := s.cli.Compact(ctx, rev)
	if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return mapErr(err)
	}
	return nil
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrCompacted), errors.Is(err, rpctypes.ErrGRPCCompacted):
		return fmt.Errorf("%w: %v", ErrCompacted, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	if st, ok := status.FromError(err); ok && (st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// FormatRev renders a revision as a resourceVersion.
func FormatRev(rev int64) string { return strconv.FormatInt(rev, 10) }

// ParseRev reads a resourceVersion; "" and "0" are 0.
func ParseRev(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid resourceVersion %q: must be a non-negative integer", rv)
	}
	return n, nil
}

// Marshal encodes an object for storage.
func Marshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}
