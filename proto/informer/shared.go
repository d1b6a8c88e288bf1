package informer

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"skiff.dev/proto/client"
	metav1 "skiff.dev/proto/meta/v1"
)

// ResourceEventHandler is told about changes to an informer's objects. The
// objects are the cache's own: read them, never modify them (clone with
// proto.Clone before changing anything). A handler should be quick and
// usually only queues the object's key (MetaNamespaceKeyFunc).
type ResourceEventHandler interface {
	OnAdd(obj Object)
	// OnUpdate is also called on every resync with oldObj == newObj.
	OnUpdate(oldObj, newObj Object)
	// OnDelete gets the last state the informer knew: the server's final
	// state from a watch, or the cached state of an object found gone by a
	// relist.
	OnDelete(obj Object)
}

// ResourceEventHandlerFuncs adapts functions to a ResourceEventHandler;
// nil functions are skipped.
type ResourceEventHandlerFuncs struct {
	AddFunc    func(obj Object)
	UpdateFunc func(oldObj, newObj Object)
	DeleteFunc func(obj Object)
}

// OnAdd calls AddFunc if set.
func (f ResourceEventHandlerFuncs) OnAdd(obj Object) {
	if f.AddFunc != nil {
		f.AddFunc(obj)
	}
}

// OnUpdate calls UpdateFunc if set.
func (f ResourceEventHandlerFuncs) OnUpdate(oldObj, newObj Object) {
	if f.UpdateFunc != nil {
		f.UpdateFunc(oldObj, newObj)
	}
}

// OnDelete calls DeleteFunc if set.
func (f ResourceEventHandlerFuncs) OnDelete(obj Object) {
	if f.DeleteFunc != nil {
		f.DeleteFunc(obj)
	}
}

// TypedHandlerFuncs is ResourceEventHandlerFuncs for one kind, so handlers
// need no type assertion:
//
//	pods.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
//		AddFunc: func(p *corev1.Pod) { queue.Add(informer.MetaNamespaceKeyFunc(p)) },
//	})
//
// Objects of another type are ignored.
type TypedHandlerFuncs[T Object] struct {
	AddFunc    func(obj T)
	UpdateFunc func(oldObj, newObj T)
	DeleteFunc func(obj T)
}

// OnAdd calls AddFunc if set.
func (f TypedHandlerFuncs[T]) OnAdd(obj Object) {
	if o, ok := obj.(T); ok && f.AddFunc != nil {
		f.AddFunc(o)
	}
}

// OnUpdate calls UpdateFunc if set.
func (f TypedHandlerFuncs[T]) OnUpdate(oldObj, newObj Object) {
	o, ok1 := oldObj.(T)
	n, ok2 := newObj.(T)
	if ok1 && ok2 && f.UpdateFunc != nil {
		f.UpdateFunc(o, n)
	}
}

// OnDelete calls DeleteFunc if set.
func (f TypedHandlerFuncs[T]) OnDelete(obj Object) {
	if o, ok := obj.(T); ok && f.DeleteFunc != nil {
		f.DeleteFunc(o)
	}
}

// SharedInformer keeps a local, indexed cache of one kind in step with the
// apiservers and tells handlers about every change.
type SharedInformer interface {
	// AddEventHandler registers h. Each handler gets the events in order,
	// from its own goroutine and unbounded queue, so a slow handler delays
	// neither the cache nor other handlers. A handler added to a running
	// informer first gets an add for every cached object.
	AddEventHandler(h ResourceEventHandler)
	// Run fills the cache and keeps it current until ctx ends; it returns
	// once every goroutine of the informer has ended.
	Run(ctx context.Context)
	// HasSynced reports whether the cache holds the first full list.
	HasSynced() bool
	// GetStore is the cache.
	GetStore() Store
	// GetIndexer is the cache with its write side, for AddIndexers; only the
	// informer writes to it.
	GetIndexer() *Indexer
	// AddIndexers adds indexes to the cache.
	AddIndexers(indexers Indexers) error
	// LastSyncResourceVersion is the resourceVersion the cache is at.
	LastSyncResourceVersion() string
}

// Option configures NewSharedInformer.
type Option func(*sharedInformer)

// WithLogger logs through lg (nil logs nothing).
func WithLogger(lg *zap.Logger) Option {
	return func(s *sharedInformer) {
		if lg != nil {
			s.lg = lg
		}
	}
}

// WithClock sets the time source (for tests).
func WithClock(c Clock) Option { return func(s *sharedInformer) { s.clock = c } }

// NewSharedInformer makes an informer over lw for objects of exampleObj's
// type; resync > 0 re-sends every cached object to the handlers as an
// update that often (level-triggered controllers use it as a safety net).
func NewSharedInformer(lw ListWatcher, exampleObj Object, resync time.Duration, opts ...Option) SharedInformer {
	_, kind := client.TypeOf(exampleObj)
	s := &sharedInformer{
		lg:      zap.NewNop(),
		clock:   realClock{},
		lw:      lw,
		kind:    kind,
		resync:  resync,
		indexer: NewIndexer(MetaNamespaceKeyFunc, nil),
	}
	for _, o := range opts {
		o(s)
	}
	s.lg = s.lg.With(zap.String("kind", kind))
	return s
}

type sharedInformer struct {
	lg      *zap.Logger
	clock   Clock
	lw      ListWatcher
	kind    string
	resync  time.Duration
	indexer *Indexer
	synced  atomic.Bool
	refl    atomic.Pointer[reflector]

	// mu orders cache writes with the notifications they cause, and guards
	// the listeners and the running state.
	mu        sync.Mutex
	listeners []*listener
	ctx       context.Context // of Run, once started
	wg        sync.WaitGroup  // listener goroutines
	started   bool
}

var _ SharedInformer = (*sharedInformer)(nil)

func (s *sharedInformer) AddEventHandler(h ResourceEventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := newListener(s.lg, h)
	s.listeners = append(s.listeners, l)
	for _, obj := range s.indexer.List() {
		l.push(notification{kind: addNote, newObj: obj})
	}
	if s.ctx != nil {
		s.startListener(l)
	}
}

// startListener runs l until Run's context ends; s.mu is held.
func (s *sharedInformer) startListener(l *listener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		l.run(s.ctx)
	}()
}

func (s *sharedInformer) Run(ctx context.Context) {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		s.lg.Warn("informer already started")
		return
	}
	s.started = true
	s.ctx = ctx
	for _, l := range s.listeners {
		s.startListener(l)
	}
	s.mu.Unlock()

	if s.resync > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.resyncLoop(ctx)
		}()
	}
	r := newReflector(s.lg, s.lw, s, s.clock)
	s.refl.Store(r)
	r.run(ctx)
	s.wg.Wait()
}

func (s *sharedInformer) HasSynced() bool { return s.synced.Load() }

func (s *sharedInformer) GetStore() Store { return s.indexer }

func (s *sharedInformer) GetIndexer() *Indexer { return s.indexer }

func (s *sharedInformer) AddIndexers(indexers Indexers) error { return s.indexer.AddIndexers(indexers) }

func (s *sharedInformer) LastSyncResourceVersion() string {
	if r := s.refl.Load(); r != nil {
		return r.LastSyncResourceVersion()
	}
	return ""
}

// replace implements sink: after a list, objects gone from the server are
// deleted (with their cached state), new ones added, and changed ones
// (a different resourceVersion) updated.
func (s *sharedInformer) replace(objs []Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var notes []notification
	seen := make(map[string]bool, len(objs))
	for _, obj := range objs {
		key := MetaNamespaceKeyFunc(obj)
		seen[key] = true
		old, ok := s.indexer.GetByKey(key)
		switch {
		case !ok:
			notes = append(notes, notification{kind: addNote, newObj: obj})
		case rv(old) != rv(obj):
			notes = append(notes, notification{kind: updateNote, oldObj: old, newObj: obj})
		}
	}
	for _, key := range s.indexer.ListKeys() {
		if !seen[key] {
			old, _ := s.indexer.GetByKey(key)
			notes = append(notes, notification{kind: deleteNote, oldObj: old})
		}
	}
	s.indexer.Replace(objs)
	s.synced.Store(true)
	s.notify(notes...)
}

// apply implements sink for one watch event.
func (s *sharedInformer) apply(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.indexer.Get(ev.Object)
	switch ev.Type {
	case metav1.EventType_ADDED, metav1.EventType_MODIFIED:
		s.indexer.Update(ev.Object)
		switch {
		case !exists:
			s.notify(notification{kind: addNote, newObj: ev.Object})
		case rv(old) == "" || rv(old) != rv(ev.Object):
			s.notify(notification{kind: updateNote, oldObj: old, newObj: ev.Object})
		}
		// The same resourceVersion again is a repeat: handlers saw it.
	case metav1.EventType_DELETED:
		if exists {
			s.indexer.Delete(ev.Object)
			s.notify(notification{kind: deleteNote, oldObj: ev.Object})
		}
	}
}

// notify queues notes to every listener; s.mu is held.
func (s *sharedInformer) notify(notes ...notification) {
	for _, l := range s.listeners {
		for _, n := range notes {
			l.push(n)
		}
	}
}

func (s *sharedInformer) resyncLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(s.resync):
		}
		s.mu.Lock()
		for _, obj := range s.indexer.List() {
			s.notify(notification{kind: updateNote, oldObj: obj, newObj: obj})
		}
		s.mu.Unlock()
	}
}

func rv(obj Object) string { return obj.GetMetadata().GetResourceVersion() }

type noteKind int

const (
	addNote noteKind = iota
	updateNote
	deleteNote
)

type notification struct {
	kind           noteKind
	oldObj, newObj Object
}

// listener feeds one handler from an unbounded queue on its own goroutine.
type listener struct {
	lg      *zap.Logger
	handler ResourceEventHandler

	mu    sync.Mutex
	queue []notification
	wake  chan struct{} // one pending wake-up at most
}

func newListener(lg *zap.Logger, h ResourceEventHandler) *listener {
	return &listener{lg: lg, handler: h, wake: make(chan struct{}, 1)}
}

func (l *listener) push(n notification) {
	l.mu.Lock()
	l.queue = append(l.queue, n)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *listener) run(ctx context.Context) {
	for {
		l.mu.Lock()
		batch := l.queue
		l.queue = nil
		l.mu.Unlock()
		for _, n := range batch {
			if ctx.Err() != nil {
				return
			}
			l.call(n)
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
	}
}

// call runs the handler, turning a panic into a log line so one bad
// event does not take the process down.
func (l *listener) call(n notification) {
	defer func() {
		if p := recover(); p != nil {
			l.lg.Error("event handler panicked", zap.String("panic", fmt.Sprint(p)), zap.ByteString("stack", debug.Stack()))
		}
	}()
	switch n.kind {
	case addNote:
		l.handler.OnAdd(n.newObj)
	case updateNote:
		l.handler.OnUpdate(n.oldObj, n.newObj)
	case deleteNote:
		l.handler.OnDelete(n.oldObj)
	}
}

// WaitForCacheSync waits until every HasSynced function reports true, and
// reports false if ctx ended first.
func WaitForCacheSync(ctx context.Context, hasSynced ...func() bool) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		done := true
		for _, f := range hasSynced {
			done = done && f()
		}
		if done {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// Clone returns a deep copy of an object from a cache, to modify.
func Clone[T Object](obj T) T { return proto.Clone(obj).(T) }
