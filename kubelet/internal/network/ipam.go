package network

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoFreeIP is returned by SetUpPod when every address of the podCIDR is
// taken.
var ErrNoFreeIP = errors.New("no free pod IP")

// podRecord is what the state dir keeps per pod: enough to find and remove
// everything SetUpPod made, and the IP the pod holds, across restarts.
type podRecord struct {
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	NetNS     string `json:"netns"`
	IP        string `json:"ip"`
	HostVeth  string `json:"hostVeth"`
}

// store keeps one JSON file per pod in <StateDir>/pods and the last
// allocated address in <StateDir>/last-reserved-ip, as host-local IPAM does.
type store struct{ dir string }

func (s store) podsDir() string           { return filepath.Join(s.dir, "pods") }
func (s store) podFile(uid string) string { return filepath.Join(s.podsDir(), uid+".json") }

func (s store) init() error {
	if err := os.MkdirAll(s.podsDir(), 0o700); err != nil {
		return fmt.Errorf("network: make state dir: %w", err)
	}
	return nil
}

// load reads every pod record.
func (s store) load() (map[string]podRecord, error) {
	ents, err := os.ReadDir(s.podsDir())
	if err != nil {
		return nil, fmt.Errorf("network: read state dir: %w", err)
	}
	recs := map[string]podRecord{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue // a temp file of an interrupted write
		}
		p := filepath.Join(s.podsDir(), e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("network: read pod record: %w", err)
		}
		var r podRecord
		if err := json.Unmarshal(b, &r); err != nil || r.UID == "" || net.ParseIP(r.IP).To4() == nil {
			return nil, fmt.Errorf("network: pod record %s is corrupt (remove it if the pod is gone): %v", p, err)
		}
		recs[r.UID] = r
	}
	return recs, nil
}

// save writes a record atomically (temp file, fsync, rename).
func (s store) save(r podRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeAtomic(s.podFile(r.UID), b)
}

func (s store) remove(uid string) error {
	if err := os.Remove(s.podFile(uid)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("network: remove pod record: %w", err)
	}
	return nil
}

func (s store) lastReserved() net.IP {
	b, err := os.ReadFile(filepath.Join(s.dir, "last-reserved-ip"))
	if err != nil {
		return nil
	}
	return net.ParseIP(strings.TrimSpace(string(b))).To4()
}

func (s store) setLastReserved(ip net.IP) error {
	return writeAtomic(filepath.Join(s.dir, "last-reserved-ip"), []byte(ip.String()+"\n"))
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("network: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("network: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("network: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("network: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("network: write %s: %w", path, err)
	}
	return nil
}

func ipToUint(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

func uintToIP(u uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, u)
	return ip
}

// gateway is the first address of cidr, the bridge's.
func gateway(cidr *net.IPNet) net.IP { return uintToIP(ipToUint(cidr.IP) + 1) }

// allocate picks the next free address of cidr after last (round robin, so
// a just-released address is not handed out again at once), skipping the
// network address, the gateway and the broadcast address.
func allocate(cidr *net.IPNet, used map[string]bool, last net.IP) (net.IP, error) {
	ones, bits := cidr.Mask.Size()
	size := uint64(1) << uint(bits-ones)
	if size < 4 {
		return nil, fmt.Errorf("podCIDR %s is too small: it needs room for the network, gateway and broadcast addresses and a pod", cidr)
	}
	base := ipToUint(cidr.IP)
	first, lastHost := base+2, base+uint32(size)-2 // .0 network, .1 gateway, broadcast
	start := first
	if last != nil && cidr.Contains(last) {
		if u := ipToUint(last); u >= first && u < lastHost {
			start = u + 1
		}
	}
	n := uint64(lastHost-first) + 1
	for i := uint64(0); i < n; i++ {
		u := first + uint32((uint64(start-first)+i)%n)
		ip := uintToIP(u)
		if !used[ip.String()] {
			return ip, nil
		}
	}
	return nil, fmt.Errorf("%w: podCIDR %s has all %d pod addresses in use", ErrNoFreeIP, cidr, n)
}
