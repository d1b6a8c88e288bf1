package workqueue

import (
	"sync"
	"time"
)

// Interface is the de-duplicating FIFO part of a queue.
type Interface interface {
	// Add queues key unless it is already waiting; a key being processed is
	// marked dirty and queued again when its worker calls Done.
	Add(key string)
	// Len is the number of keys waiting to be handed out.
	Len() int
	// Get blocks until a key is available and hands it to the caller, who
	// must call Done with it. shutdown is true once the queue is shut down
	// and empty.
	Get() (key string, shutdown bool)
	// Done marks key as processed.
	Done(key string)
	// ShutDown makes Get return shutdown=true once the queue is empty, drops
	// keys waiting in AddAfter, and ignores further Adds.
	ShutDown()
	// ShutDownWithDrain is ShutDown that also waits until every key handed
	// out has been marked Done.
	ShutDownWithDrain()
	// ShuttingDown reports whether ShutDown or ShutDownWithDrain was called.
	ShuttingDown() bool
}

// DelayingInterface adds delayed adds.
type DelayingInterface interface {
	Interface
	// AddAfter adds key once d has passed; d <= 0 adds at once. A key
	// already waiting keeps the earlier of its two ready times.
	AddAfter(key string, d time.Duration)
}

// RateLimitingInterface adds per-key back-off; it is what controllers take.
type RateLimitingInterface interface {
	DelayingInterface
	// AddRateLimited adds key after the delay its rate limiter asks for.
	AddRateLimited(key string)
	// Forget tells the rate limiter that key succeeded, resetting its
	// back-off. It does not remove key from the queue.
	Forget(key string)
	// NumRequeues is how many times key has been rate-limited since it was
	// last forgotten.
	NumRequeues(key string) int
}

var _ RateLimitingInterface = (*Queue)(nil)

// Config configures a queue; the zero value is valid.
type Config struct {
	// Name names the queue in metrics.
	Name string
	// RateLimiter decides AddRateLimited delays; nil is
	// DefaultControllerRateLimiter() on the queue's Clock.
	RateLimiter RateLimiter
	// Clock is the time source; nil is RealClock.
	Clock Clock
	// MetricsProvider receives the queue's metrics; nil records none.
	MetricsProvider MetricsProvider
}

// Queue is a rate-limited, delaying, de-duplicating queue of string keys.
// Its zero value is not usable: make one with New or NewWithConfig. It is
// safe for concurrent use.
type Queue struct {
	name    string
	clock   Clock
	limiter RateLimiter

	mu   sync.Mutex
	cond *sync.Cond // on mu; signalled when queue grows, on shutdown, on Done

	queue      []string            // keys ready to hand out, FIFO, each also in dirty
	dirty      map[string]struct{} // keys that need processing
	processing map[string]struct{} // keys handed out and not yet Done

	shuttingDown bool
	drain        bool // ShutDownWithDrain is waiting for processing to empty

	metrics *queueMetrics

	// delaying part, see delaying.go
	waitingForAdd chan waitFor
	stopCh        chan struct{}
	stopOnce      sync.Once
	loopDone      chan struct{}
}

// New makes a rate-limited queue named name with the default rate limiter,
// the wall clock, and no metrics.
func New(name string) *Queue {
	return NewWithConfig(Config{Name: name})
}

// NewWithConfig makes a queue from cfg. It starts one goroutine for delayed
// adds, which ends at ShutDown.
func NewWithConfig(cfg Config) *Queue {
	clk := cfg.Clock
	if clk == nil {
		clk = RealClock{}
	}
	rl := cfg.RateLimiter
	if rl == nil {
		rl = defaultControllerRateLimiter(clk)
	}
	q := &Queue{
		name:          cfg.Name,
		clock:         clk,
		limiter:       rl,
		dirty:         map[string]struct{}{},
		processing:    map[string]struct{}{},
		metrics:       newQueueMetrics(cfg.Name, cfg.MetricsProvider, clk),
		waitingForAdd: make(chan waitFor, 1000),
		stopCh:        make(chan struct{}),
		loopDone:      make(chan struct{}),
	}
	q.cond = sync.NewCond(&q.mu)
	go q.waitingLoop()
	return q
}

// Add implements Interface.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	if _, ok := q.dirty[key]; ok {
		return // already queued, or already due again after Done
	}
	q.metrics.add(key)
	q.dirty[key] = struct{}{}
	if _, ok := q.processing[key]; ok {
		return // Done queues it again
	}
	q.queue = append(q.queue, key)
	q.cond.Signal()
}

// Len implements Interface.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// Get implements Interface.
func (q *Queue) Get() (key string, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shuttingDown {
		q.cond.Wait()
	}
	if len(q.queue) == 0 {
		return "", true
	}
	key = q.queue[0]
	q.queue[0] = "" // let the string be collected
	q.queue = q.queue[1:]
	if len(q.queue) == 0 {
		q.queue = nil // release the backing array once drained
	}
	q.metrics.get(key)
	q.processing[key] = struct{}{}
	delete(q.dirty, key)
	return key, false
}

// Done implements Interface.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.metrics.done(key)
	delete(q.processing, key)
	if _, ok := q.dirty[key]; ok {
		q.queue = append(q.queue, key)
		q.cond.Signal()
	} else if len(q.processing) == 0 {
		q.cond.Signal() // may wake ShutDownWithDrain
	}
}

// ShutDown implements Interface.
func (q *Queue) ShutDown() {
	q.stopWaitingLoop()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.drain = false
	q.shuttingDown = true
	q.cond.Broadcast()
}

// ShutDownWithDrain implements Interface. Calling ShutDown while it waits
// makes it return at once.
func (q *Queue) ShutDownWithDrain() {
	q.stopWaitingLoop()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.drain = true
	q.shuttingDown = true
	q.cond.Broadcast()
	for len(q.processing) != 0 && q.drain {
		q.cond.Wait()
	}
}

// ShuttingDown implements Interface.
func (q *Queue) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shuttingDown
}

// AddRateLimited implements RateLimitingInterface.
func (q *Queue) AddRateLimited(key string) {
	q.AddAfter(key, q.limiter.When(key))
}

// Forget implements RateLimitingInterface.
func (q *Queue) Forget(key string) { q.limiter.Forget(key) }

// NumRequeues implements RateLimitingInterface.
func (q *Queue) NumRequeues(key string) int { return q.limiter.NumRequeues(key) }
