package nodeipam

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"sync"
)

// ErrFull is returned when every range of the cluster CIDR is taken.
var ErrFull = errors.New("no pod CIDR left in the cluster CIDR")

// CIDRSet hands out the /maskSize ranges of a cluster CIDR, each at most
// once, round robin (so a range just released is the last to be reused).
// It is safe for concurrent use.
type CIDRSet struct {
	cluster  netip.Prefix
	maskSize int

	mu   sync.Mutex
	used []bool
	n    int // ranges in use
	next int // where the search for a free range starts
}

// NewCIDRSet splits cluster into ranges of prefix length maskSize.
func NewCIDRSet(cluster netip.Prefix, maskSize int) (*CIDRSet, error) {
	if cluster.Masked() != cluster {
		return nil, fmt.Errorf("cluster CIDR %s has host bits set", cluster)
	}
	if maskSize < cluster.Bits() || maskSize > cluster.Addr().BitLen() || maskSize-cluster.Bits() > 24 {
		return nil, fmt.Errorf("node CIDR mask size %d does not fit cluster CIDR %s", maskSize, cluster)
	}
	return &CIDRSet{cluster: cluster, maskSize: maskSize, used: make([]bool, 1<<(maskSize-cluster.Bits()))}, nil
}

// Size is how many ranges the set has; Used how many are taken.
func (s *CIDRSet) Size() int { return len(s.used) }

// Used is how many ranges are taken.
func (s *CIDRSet) Used() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Allocate takes the next free range.
func (s *CIDRSet) Allocate() (netip.Prefix, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range len(s.used) {
		idx := (s.next + i) % len(s.used)
		if !s.used[idx] {
			s.used[idx] = true
			s.n++
			s.next = (idx + 1) % len(s.used)
			return s.prefix(idx), nil
		}
	}
	return netip.Prefix{}, ErrFull
}

// Occupy marks cidr as taken (a node that has it); a CIDR that is not one
// of the set's ranges is an error.
func (s *CIDRSet) Occupy(cidr string) error {
	idx, err := s.index(cidr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.used[idx] {
		s.used[idx] = true
		s.n++
	}
	return nil
}

// Release frees cidr; freeing a free or foreign range does nothing.
func (s *CIDRSet) Release(cidr string) {
	idx, err := s.index(cidr)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used[idx] {
		s.used[idx] = false
		s.n--
	}
}

// prefix is range number idx.
func (s *CIDRSet) prefix(idx int) netip.Prefix {
	a := s.cluster.Addr().As16()
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	shift := uint(128 - s.maskSize)
	if s.cluster.Addr().Is4() {
		shift = uint(32 - s.maskSize)
	}
	addLo, addHi := uint64(idx)<<shift, uint64(0)
	if shift >= 64 {
		addLo, addHi = 0, uint64(idx)<<(shift-64)
	} else if shift > 0 {
		addHi = uint64(idx) >> (64 - shift)
	}
	lo, carry := bits.Add64(lo, addLo, 0)
	hi += addHi + carry
	binary.BigEndian.PutUint64(a[:8], hi)
	binary.BigEndian.PutUint64(a[8:], lo)
	addr := netip.AddrFrom16(a)
	if s.cluster.Addr().Is4() {
		addr = addr.Unmap()
	}
	return netip.PrefixFrom(addr, s.maskSize)
}

// index is the range number of cidr.
func (s *CIDRSet) index(cidr string) (int, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return 0, fmt.Errorf("pod CIDR %q: %w", cidr, err)
	}
	if p.Bits() != s.maskSize || p.Masked() != p || !s.cluster.Contains(p.Addr()) {
		return 0, fmt.Errorf("pod CIDR %s is not a /%d range of the cluster CIDR %s", cidr, s.maskSize, s.cluster)
	}
	a, b := s.cluster.Addr().As16(), p.Addr().As16()
	shift := uint(128 - s.maskSize)
	if s.cluster.Addr().Is4() {
		shift = uint(32 - s.maskSize)
	}
	ahi, alo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	bhi, blo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	dlo, borrow := bits.Sub64(blo, alo, 0)
	dhi, _ := bits.Sub64(bhi, ahi, borrow)
	var idx uint64
	if shift >= 64 {
		idx = dhi >> (shift - 64)
	} else {
		idx = dlo>>shift | dhi<<(64-shift)
	}
	if shift == 0 {
		idx = dlo
	}
	return int(idx), nil
}
