package nodeipam

import (
	"errors"
	"net/netip"
	"testing"
)

func TestCIDRSet(t *testing.T) {
	tests := []struct {
		cluster string
		mask    int
		want    []string // the first allocations
	}{
		{"10.244.0.0/16", 24, []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"}},
		{"10.244.0.0/22", 26, []string{"10.244.0.0/26", "10.244.0.64/26", "10.244.0.128/26", "10.244.0.192/26", "10.244.1.0/26"}},
		{"10.0.0.0/8", 8, []string{"10.0.0.0/8"}},
		{"fd00:10:244::/56", 64, []string{"fd00:10:244::/64", "fd00:10:244:1::/64", "fd00:10:244:2::/64"}},
		{"fd00::/64", 80, []string{"fd00::/80", "fd00::1:0:0:0/80"}},
	}
	for _, tt := range tests {
		t.Run(tt.cluster, func(t *testing.T) {
			s, err := NewCIDRSet(netip.MustParsePrefix(tt.cluster), tt.mask)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				got, err := s.Allocate()
				if err != nil || got.String() != want {
					t.Fatalf("allocation %d = %v, %v; want %s", i, got, err, want)
				}
				if idx, err := s.index(want); err != nil || idx != i {
					t.Errorf("index(%s) = %d, %v; want %d", want, idx, err, i)
				}
			}
		})
	}
}

func TestCIDRSetNeverTwiceAndFull(t *testing.T) {
	s, err := NewCIDRSet(netip.MustParsePrefix("10.244.0.0/22"), 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Occupy("10.244.1.0/24"); err != nil { // a node that already has it
		t.Fatal(err)
	}
	seen := map[string]bool{"10.244.1.0/24": true}
	for range 3 {
		p, err := s.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p.String()] {
			t.Fatalf("%s handed out twice", p)
		}
		seen[p.String()] = true
	}
	if _, err := s.Allocate(); !errors.Is(err, ErrFull) {
		t.Fatalf("allocation from a full set: %v, want ErrFull", err)
	}
	s.Release("10.244.2.0/24")
	if p, err := s.Allocate(); err != nil || p.String() != "10.244.2.0/24" {
		t.Errorf("after release: %v %v, want 10.244.2.0/24", p, err)
	}
	for _, bad := range []string{"10.245.0.0/24", "10.244.0.0/25", "10.244.0.1/24", "nonsense"} {
		if err := s.Occupy(bad); err == nil {
			t.Errorf("Occupy(%q) = nil, want an error", bad)
		}
	}
}
