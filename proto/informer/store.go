package informer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// KeyFunc names an object in a store.
type KeyFunc func(obj Object) string

// MetaNamespaceKeyFunc is the key every store uses: "namespace/name", or
// "name" for cluster-scoped objects. Controllers queue these keys.
func MetaNamespaceKeyFunc(obj Object) string {
	m := obj.GetMetadata()
	if ns := m.GetNamespace(); ns != "" {
		return ns + "/" + m.GetName()
	}
	return m.GetName()
}

// SplitKey splits a MetaNamespaceKeyFunc key into namespace and name.
func SplitKey(key string) (namespace, name string) {
	if ns, n, ok := strings.Cut(key, "/"); ok {
		return ns, n
	}
	return "", key
}

// IndexFunc returns the values under which an index files obj, e.g. a pod's
// spec.nodeName; none leaves it out of the index.
type IndexFunc func(obj Object) []string

// Indexers names index functions.
type Indexers map[string]IndexFunc

// NamespaceIndex is the index every Indexer has: objects by namespace.
const NamespaceIndex = "namespace"

// MetaNamespaceIndexFunc files objects by namespace.
func MetaNamespaceIndexFunc(obj Object) []string {
	return []string{obj.GetMetadata().GetNamespace()}
}

// Store is the read side of an informer's cache. Objects in it are shared
// with every reader: never modify one; clone it (proto.Clone) first.
type Store interface {
	// Get returns the stored object with obj's key.
	Get(obj Object) (Object, bool)
	// GetByKey returns the object stored under key ("namespace/name").
	GetByKey(key string) (Object, bool)
	// List returns every object, in no particular order.
	List() []Object
	// ListKeys returns every key, in no particular order.
	ListKeys() []string
	// ByIndex returns the objects the named index files under value.
	ByIndex(indexName, value string) ([]Object, error)
	// IndexKeys returns the keys the named index files under value.
	IndexKeys(indexName, value string) ([]string, error)
}

// Indexer is a thread-safe store of objects by key with secondary indexes.
// An informer owns the writes; everyone else only reads.
type Indexer struct {
	keyFunc KeyFunc

	mu       sync.RWMutex
	items    map[string]Object
	indexers Indexers
	// indices[indexName][value] is the set of keys filed under value.
	indices map[string]map[string]map[string]struct{}
}

var _ Store = (*Indexer)(nil)

// NewIndexer returns an empty store keyed by keyFunc (nil is
// MetaNamespaceKeyFunc) with the namespace index and indexers.
func NewIndexer(keyFunc KeyFunc, indexers Indexers) *Indexer {
	if keyFunc == nil {
		keyFunc = MetaNamespaceKeyFunc
	}
	s := &Indexer{
		keyFunc:  keyFunc,
		items:    map[string]Object{},
		indexers: Indexers{NamespaceIndex: MetaNamespaceIndexFunc},
		indices:  map[string]map[string]map[string]struct{}{NamespaceIndex: {}},
	}
	if err := s.AddIndexers(indexers); err != nil {
		panic(err) // only a name clash with NamespaceIndex; a programming error
	}
	return s
}

// AddIndexers adds indexes, also to a store that already holds objects;
// re-using a name is an error.
func (s *Indexer) AddIndexers(indexers Indexers) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range indexers {
		if _, ok := s.indexers[name]; ok {
			return fmt.Errorf("indexer %q already exists", name)
		}
	}
	for name, f := range indexers {
		s.indexers[name] = f
		idx := map[string]map[string]struct{}{}
		s.indices[name] = idx
		for key, obj := range s.items {
			fileUnder(idx, f(obj), key)
		}
	}
	return nil
}

// Add stores obj, replacing any object with its key.
func (s *Indexer) Add(obj Object) { s.Update(obj) }

// Update stores obj, replacing any object with its key.
func (s *Indexer) Update(obj Object) {
	key := s.keyFunc(obj)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.items[key]; ok {
		s.unindex(old, key)
	}
	s.items[key] = obj
	s.index(obj, key)
}

// Delete removes the object with obj's key.
func (s *Indexer) Delete(obj Object) { s.DeleteByKey(s.keyFunc(obj)) }

// DeleteByKey removes the object stored under key.
func (s *Indexer) DeleteByKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.items[key]; ok {
		s.unindex(old, key)
		delete(s.items, key)
	}
}

// Replace makes objs the store's whole content.
func (s *Indexer) Replace(objs []Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = make(map[string]Object, len(objs))
	for name := range s.indices {
		s.indices[name] = map[string]map[string]struct{}{}
	}
	for _, obj := range objs {
		key := s.keyFunc(obj)
		if old, ok := s.items[key]; ok { // a duplicate in objs: last wins
			s.unindex(old, key)
		}
		s.items[key] = obj
		s.index(obj, key)
	}
}

// Get returns the stored object with obj's key.
func (s *Indexer) Get(obj Object) (Object, bool) { return s.GetByKey(s.keyFunc(obj)) }

// GetByKey returns the object stored under key.
func (s *Indexer) GetByKey(key string) (Object, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	obj, ok := s.items[key]
	return obj, ok
}

// List returns every object.
func (s *Indexer) List() []Object {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Object, 0, len(s.items))
	for _, obj := range s.items {
		out = append(out, obj)
	}
	return out
}

// ListKeys returns every key.
func (s *Indexer) ListKeys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.items))
	for key := range s.items {
		out = append(out, key)
	}
	return out
}

// Len is the number of objects.
func (s *Indexer) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}

// ByIndex returns the objects the named index files under value.
func (s *Indexer) ByIndex(indexName, value string) ([]Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx, ok := s.indices[indexName]
	if !ok {
		return nil, fmt.Errorf("index %q does not exist", indexName)
	}
	set := idx[value]
	out := make([]Object, 0, len(set))
	for key := range set {
		out = append(out, s.items[key])
	}
	return out, nil
}

// IndexKeys returns the keys the named index files under value, sorted.
func (s *Indexer) IndexKeys(indexName, value string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx, ok := s.indices[indexName]
	if !ok {
		return nil, fmt.Errorf("index %q does not exist", indexName)
	}
	out := make([]string, 0, len(idx[value]))
	for key := range idx[value] {
		out = append(out, key)
	}
	slices.Sort(out)
	return out, nil
}

// index files obj under every index; s.mu is held.
func (s *Indexer) index(obj Object, key string) {
	for name, f := range s.indexers {
		fileUnder(s.indices[name], f(obj), key)
	}
}

// unindex removes key from every index old was filed under; s.mu is held.
func (s *Indexer) unindex(old Object, key string) {
	for name, f := range s.indexers {
		idx := s.indices[name]
		for _, v := range f(old) {
			if set := idx[v]; set != nil {
				delete(set, key)
				if len(set) == 0 {
					delete(idx, v)
				}
			}
		}
	}
}

func fileUnder(idx map[string]map[string]struct{}, values []string, key string) {
	for _, v := range values {
		set := idx[v]
		if set == nil {
			set = map[string]struct{}{}
			idx[v] = set
		}
		set[key] = struct{}{}
	}
}
