// Package queue is the scheduling queue, kube-scheduler's in small: an
// active queue ordered by priority then arrival, a backoff queue where pods
// that failed wait 1 s, 2 s, 4 s ... up to 10 s, and a set of unschedulable
// pods that wait for a cluster event (a node added or changed, a pod gone)
// that might let them fit.
package queue

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/proto/core/v1"
)

// Defaults.
const (
	DefaultInitialBackoff = 1 * time.Second
	DefaultMaxBackoff     = 10 * time.Second
	// DefaultUnschedulableTimeout: pods that no event woke up are retried
	// after this long anyway, as kube-scheduler's
	// podMaxInUnschedulablePodsDuration.
	DefaultUnschedulableTimeout = 5 * time.Minute
)

// PodInfo is a pod in the queue.
type PodInfo struct {
	Pod *corev1.Pod
	// Timestamp is when the pod last entered the active queue.
	Timestamp time.Time
	// InitialAttempt is when the pod was first added, for end-to-end
	// latency.
	InitialAttempt time.Time
	// Attempts counts scheduling attempts.
	Attempts int
	// UnschedulableSince is when the pod last became unschedulable.
	UnschedulableSince time.Time
	seq                uint64 // FIFO tie-break within a priority
	index              int    // in the active heap, -1 when not there
}

// Key is the pod's namespace/name.
func (p *PodInfo) Key() string { return Key(p.Pod) }

// Key is namespace/name.
func Key(p *corev1.Pod) string {
	return p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
}

func priority(p *corev1.Pod) int32 { return p.GetSpec().GetPriority() }

// activeHeap orders by priority (higher first), then arrival.
type activeHeap []*PodInfo

func (h activeHeap) Len() int { return len(h) }
func (h activeHeap) Less(i, j int) bool {
	pi, pj := priority(h[i].Pod), priority(h[j].Pod)
	if pi != pj {
		return pi > pj
	}
	return h[i].seq < h[j].seq
}
func (h activeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *activeHeap) Push(x any) {
	p := x.(*PodInfo)
	p.index = len(*h)
	*h = append(*h, p)
}
func (h *activeHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	p.index = -1
	*h = old[:len(old)-1]
	return p
}

// Queue is the scheduling queue; it is safe for concurrent use.
type Queue struct {
	now                  func() time.Time
	initialBackoff       time.Duration
	maxBackoff           time.Duration
	unschedulableTimeout time.Duration

	mu     sync.Mutex
	cond   *sync.Cond
	closed bool
	seq    uint64
	active activeHeap
	// byKey finds a pod wherever it is: active, backoff or unschedulable.
	byKey map[string]*PodInfo
	where map[string]place
	// cycle counts Pops; moveCycle is the cycle of the last move request,
	// so a pod that failed while an event arrived goes to backoff, not to
	// the unschedulable set where it would miss that event.
	cycle, moveCycle uint64
	// inFlight is pods popped and not yet Done; false once deleted.
	inFlight map[string]bool
}

type place int

const (
	inActive place = iota + 1
	inBackoff
	inUnschedulable
)

// Option configures a Queue.
type Option func(*Queue)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(q *Queue) { q.now = now } }

// WithBackoff sets the initial and maximum backoff.
func WithBackoff(initial, maxBackoff time.Duration) Option {
	return func(q *Queue) { q.initialBackoff, q.maxBackoff = initial, maxBackoff }
}

// New returns an empty queue.
func New(opts ...Option) *Queue {
	q := &Queue{
		now:                  time.Now,
		initialBackoff:       DefaultInitialBackoff,
		maxBackoff:           DefaultMaxBackoff,
		unschedulableTimeout: DefaultUnschedulableTimeout,
		byKey:                map[string]*PodInfo{},
		where:                map[string]place{},
		inFlight:             map[string]bool{},
	}
	q.cond = sync.NewCond(&q.mu)
	for _, o := range opts {
		o(q)
	}
	return q
}

func (q *Queue) pushActiveLocked(pi *PodInfo) {
	q.seq++
	pi.seq = q.seq
	pi.Timestamp = q.now()
	heap.Push(&q.active, pi)
	q.where[pi.Key()] = inActive
	q.cond.Broadcast()
}

// Add queues a new pending pod, or refreshes the object of a queued one.
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := Key(pod)
	if pi, ok := q.byKey[k]; ok {
		pi.Pod = pod
		if q.where[k] == inActive {
			heap.Fix(&q.active, pi.index)
		}
		return
	}
	now := q.now()
	pi := &PodInfo{Pod: pod, InitialAttempt: now, index: -1}
	q.byKey[k] = pi
	if q.inFlight[k] {
		return // being scheduled: Done or a requeue decides where it goes
	}
	q.pushActiveLocked(pi)
}

// Update replaces a queued pod's object; an unschedulable pod whose spec
// changed is retried at once, since the change may let it fit.
func (q *Queue) Update(pod *corev1.Pod) {
	q.mu.Lock()
	k := Key(pod)
	pi, ok := q.byKey[k]
	if !ok {
		q.mu.Unlock()
		q.Add(pod)
		return
	}
	defer q.mu.Unlock()
	specChanged := !proto.Equal(pi.Pod.GetSpec(), pod.GetSpec()) || !sameLabels(pi.Pod, pod)
	pi.Pod = pod
	switch q.where[k] {
	case inActive:
		heap.Fix(&q.active, pi.index)
	case inUnschedulable:
		if specChanged {
			q.pushActiveLocked(pi)
		}
	}
}

func sameLabels(a, b *corev1.Pod) bool {
	la, lb := a.GetMetadata().GetLabels(), b.GetMetadata().GetLabels()
	if len(la) != len(lb) {
		return false
	}
	for k, v := range la {
		if lb[k] != v {
			return false
		}
	}
	return true
}

// Delete drops a pod that was deleted or got bound.
func (q *Queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := Key(pod)
	if _, ok := q.inFlight[k]; ok {
		q.inFlight[k] = false
	}
	pi, ok := q.byKey[k]
	if !ok {
		return
	}
	if q.where[k] == inActive && pi.index >= 0 {
		heap.Remove(&q.active, pi.index)
	}
	delete(q.byKey, k)
	delete(q.where, k)
}

// Pop blocks until a pod is active, and returns it; it fails when ctx ends
// or the queue is closed. The caller must call Done with the pod's key.
func (q *Queue) Pop(ctx context.Context) (*PodInfo, error) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.cond.Broadcast()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.active) == 0 {
		if q.closed {
			return nil, context.Canceled
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q.cond.Wait()
	}
	pi := heap.Pop(&q.active).(*PodInfo)
	k := pi.Key()
	delete(q.where, k)
	delete(q.byKey, k)
	q.inFlight[k] = true
	pi.Attempts++
	q.cycle++
	return pi, nil
}

// SchedulingCycle is the number of pods popped so far; pass the value read
// right after Pop to AddUnschedulable.
func (q *Queue) SchedulingCycle() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cycle
}

// Done ends the scheduling of a popped pod. If the pod was added again
// while in flight (an update arrived), it is queued again.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, key)
	if pi, ok := q.byKey[key]; ok && q.where[key] == 0 {
		q.pushActiveLocked(pi)
	}
}

// backoff is how long pi waits after its latest failed attempt.
func (q *Queue) backoff(pi *PodInfo) time.Duration {
	d := q.initialBackoff
	for i := 1; i < pi.Attempts && d < q.maxBackoff; i++ {
		d *= 2
	}
	return min(d, q.maxBackoff)
}

// backoffDone reports whether pi's backoff has passed.
func (q *Queue) backoffDone(pi *PodInfo) bool {
	return !q.now().Before(pi.Timestamp.Add(q.backoff(pi)))
}

// AddUnschedulable puts back a pod that fit no node: into the unschedulable
// set, or into backoff when a move request came during its cycle. Call it
// before Done.
func (q *Queue) AddUnschedulable(pi *PodInfo, cycle uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.requeueLocked(pi, q.moveCycle < cycle)
}

// AddBackoff puts back a pod whose attempt failed with an error (a failed
// binding, an API error): it is retried after its backoff. Call it before
// Done.
func (q *Queue) AddBackoff(pi *PodInfo) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.requeueLocked(pi, false)
}

func (q *Queue) requeueLocked(pi *PodInfo, unschedulable bool) {
	k := pi.Key()
	if cur, ok := q.byKey[k]; ok {
		pi.Pod = cur.Pod // a newer object arrived while in flight
		if q.where[k] == inActive {
			heap.Remove(&q.active, cur.index)
		}
	}
	if alive, ok := q.inFlight[k]; q.closed || ok && !alive {
		return // deleted while being scheduled
	}
	pi.Timestamp = q.now()
	q.byKey[k] = pi
	if unschedulable {
		pi.UnschedulableSince = pi.Timestamp
		q.where[k] = inUnschedulable
	} else {
		q.where[k] = inBackoff
	}
}

// MoveAllToActiveOrBackoff retries every unschedulable pod after a cluster
// event that may let them fit: pods past their backoff become active, the
// others wait out their backoff.
func (q *Queue) MoveAllToActiveOrBackoff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, w := range q.where {
		if w != inUnschedulable {
			continue
		}
		pi := q.byKey[k]
		if q.backoffDone(pi) {
			q.pushActiveLocked(pi)
		} else {
			q.where[k] = inBackoff
		}
	}
	q.moveCycle = q.cycle
}

// Flush moves pods whose backoff has passed to the active queue, and pods
// unschedulable for longer than the unschedulable timeout to backoff.
func (q *Queue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for k, w := range q.where {
		pi := q.byKey[k]
		switch {
		case w == inBackoff && q.backoffDone(pi):
			q.pushActiveLocked(pi)
		case w == inUnschedulable && now.Sub(pi.UnschedulableSince) > q.unschedulableTimeout:
			q.where[k] = inBackoff
		}
	}
}

// Run flushes every second until ctx ends, then closes the queue.
func (q *Queue) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-t.C:
			q.Flush()
		}
	}
}

// Close wakes Pop callers with an error.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Pending counts queued pods by where they wait: "active", "backoff" and
// "unschedulable".
func (q *Queue) Pending() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string]int{"active": 0, "backoff": 0, "unschedulable": 0}
	for _, w := range q.where {
		switch w {
		case inActive:
			out["active"]++
		case inBackoff:
			out["backoff"]++
		case inUnschedulable:
			out["unschedulable"]++
		}
	}
	return out
}
