package registry

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"skiff.dev/apiserver/internal/storage"
)

// Allocator hands out unique values from a range (ClusterIPs, NodePorts).
// Each allocated value is a key in etcd, written in the same transaction as
// the Service that holds it, guarded by "key absent": two creates, on one
// apiserver or many, can never hold the same value, and a delete releases it
// atomically with the Service.
type Allocator struct {
	cli    *clientv3.Client
	prefix string // /skiff/ranges/<name>/
	size   uint64
	at     func(i uint64) string // the i-th value of the range
	index  func(v string) (uint64, bool)
	what   string // "IP", "port": for errors
}

// NewIPAllocator allocates service IPs from cidr, skipping the network
// address (and the broadcast address for IPv4).
func NewIPAllocator(cli *clientv3.Client, cidr string) (*Allocator, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("--service-cluster-ip-range %q: %w", cidr, err)
	}
	p = p.Masked()
	bits := p.Addr().BitLen() - p.Bits()
	if bits < 2 {
		return nil, fmt.Errorf("--service-cluster-ip-range %q: too small, need at least a /%d", cidr, p.Addr().BitLen()-2)
	}
	if bits > 20 {
		bits = 20 // at most 1M addresses, as Kubernetes limits the range
	}
	size := uint64(1)<<bits - 1
	if p.Addr().Is4() {
		size--
	}
	base := new(big.Int).SetBytes(p.Addr().AsSlice())
	n := len(p.Addr().AsSlice())
	return &Allocator{cli: cli, prefix: "/skiff/ranges/serviceips/", size: size, what: "IP",
		at: func(i uint64) string {
			v := new(big.Int).Add(base, new(big.Int).SetUint64(i+1))
			b := v.FillBytes(make([]byte, n))
			a, _ := netip.AddrFromSlice(b)
			return a.String()
		},
		index: func(v string) (uint64, bool) {
			a, err := netip.ParseAddr(v)
			if err != nil || !p.Contains(a) {
				return 0, false
			}
			d := new(big.Int).Sub(new(big.Int).SetBytes(a.AsSlice()), base)
			if d.Sign() <= 0 || !d.IsUint64() || d.Uint64()-1 >= size {
				return 0, false
			}
			return d.Uint64() - 1, true
		},
	}, nil
}

// NewPortAllocator allocates node ports from "30000-32767".
func NewPortAllocator(cli *clientv3.Client, portRange string) (*Allocator, error) {
	lo, hi, ok := strings.Cut(portRange, "-")
	first, err1 := strconv.Atoi(strings.TrimSpace(lo))
	last, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || first < 1 || last > 65535 || first > last {
		return nil, fmt.Errorf("--service-node-port-range %q: want FIRST-LAST, e.g. 30000-32767", portRange)
	}
	return &Allocator{cli: cli, prefix: "/skiff/ranges/servicenodeports/", size: uint64(last - first + 1), what: "port",
		at: func(i uint64) string { return strconv.Itoa(first + int(i)) },
		index: func(v string) (uint64, bool) {
			n, err := strconv.Atoi(v)
			if err != nil || n < first || n > last {
				return 0, false
			}
			return uint64(n - first), true
		},
	}, nil
}

// Contains reports whether v is in the range.
func (a *Allocator) Contains(v string) bool { _, ok := a.index(v); return ok }

func (a *Allocator) key(v string) string { return a.prefix + v }

// Claim is the transaction part that takes v for owner: it fails if v is taken.
func (a *Allocator) Claim(v, owner string) storage.Txn {
	k := a.key(v)
	return storage.Txn{
		Cmps: []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(k), "=", 0)},
		Ops:  []clientv3.Op{clientv3.OpPut(k, owner)},
	}
}

// Release is the transaction part that frees v.
func (a *Allocator) Release(v string) storage.Txn {
	return storage.Txn{Ops: []clientv3.Op{clientv3.OpDelete(a.key(v))}}
}

// Taken reports whether v is allocated now.
func (a *Allocator) Taken(ctx context.Context, v string) (bool, error) {
	resp, err := a.cli.Get(ctx, a.key(v), clientv3.WithCountOnly())
	if err != nil {
		return false, err
	}
	return resp.Count > 0, nil
}

// Pick chooses a free value, avoiding the ones in skip; the transaction
// that claims it is what makes it safe.
func (a *Allocator) Pick(ctx context.Context, skip map[string]bool) (string, error) {
	resp, err := a.cli.Get(ctx, a.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return "", fmt.Errorf("%w: %v", storage.ErrUnavailable, err)
	}
	used := make(map[uint64]bool, len(resp.Kvs)+len(skip))
	for _, kv := range resp.Kvs {
		if i, ok := a.index(strings.TrimPrefix(string(kv.Key), a.prefix)); ok {
			used[i] = true
		}
	}
	for v := range skip {
		if i, ok := a.index(v); ok {
			used[i] = true
		}
	}
	if uint64(len(used)) >= a.size {
		return "", fmt.Errorf("range is full: all %d %ss are allocated", a.size, a.what)
	}
	// Random probes first, then a scan from a random start.
	for range 32 {
		if i := rand.Uint64N(a.size); !used[i] {
			return a.at(i), nil
		}
	}
	start := rand.Uint64N(a.size)
	for j := range a.size {
		if i := (start + j) % a.size; !used[i] {
			return a.at(i), nil
		}
	}
	return "", fmt.Errorf("range is full: all %d %ss are allocated", a.size, a.what)
}

func mergeTxn(txs ...storage.Txn) storage.Txn {
	var out storage.Txn
	for _, t := range txs {
		out.Cmps = append(out.Cmps, t.Cmps...)
		out.Ops = append(out.Ops, t.Ops...)
	}
	return out
}
