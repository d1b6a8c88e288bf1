package controller

import (
	"sync"
	"time"
)

// ExpectationsTimeout is how long a controller trusts its expectations: a
// watch event lost for longer than this no longer blocks the controller.
const ExpectationsTimeout = 5 * time.Minute

// Expectations remembers, per controller key, the creations and deletions
// a controller made and has not yet seen in its informer, as Kubernetes'
// UIDTrackingControllerExpectations. A controller acts only when its
// expectations are satisfied, so a slow watch never makes it create or
// delete the same pods twice.
type Expectations struct {
	mu  sync.Mutex
	m   map[string]*expectation
	now func() time.Time
}

type expectation struct {
	adds      int
	deletes   map[string]struct{} // keys of pods expected to go
	timestamp time.Time
}

// NewExpectations makes an empty Expectations.
func NewExpectations() *Expectations {
	return &Expectations{m: map[string]*expectation{}, now: time.Now}
}

// Satisfied reports whether the controller of key may act: every creation
// and deletion it expected was observed, it never set expectations, or they
// are older than ExpectationsTimeout.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	return x.adds <= 0 && len(x.deletes) == 0 || e.now().Sub(x.timestamp) > ExpectationsTimeout
}

// ExpectCreations records that the controller of key is about to create n
// objects, replacing what it expected before.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{adds: n, deletes: map[string]struct{}{}, timestamp: e.now()}
}

// ExpectDeletions records that the controller of key is about to delete
// the objects with these keys, replacing what it expected before.
func (e *Expectations) ExpectDeletions(key string, objKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{deletes: make(map[string]struct{}, len(objKeys)), timestamp: e.now()}
	for _, k := range objKeys {
		x.deletes[k] = struct{}{}
	}
	e.m[key] = x
}

// CreationObserved lowers the creations expected for key by one: the
// informer saw one, or one failed and will never be seen.
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok && x.adds > 0 {
		x.adds--
	}
}

// DeletionObserved marks the deletion of objKey as seen (or failed).
func (e *Expectations) DeletionObserved(key, objKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deletes, objKey)
	}
}

// Delete forgets key's expectations, when its object is gone.
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
