package workqueue

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimiter decides how long a key waits before it is retried.
type RateLimiter interface {
	// When is how long key should wait now; each call counts as a failure.
	When(key string) time.Duration
	// Forget stops tracking key: its next When starts from scratch.
	Forget(key string)
	// NumRequeues is how many failures of key are being tracked.
	NumRequeues(key string) int
}

// Defaults of DefaultControllerRateLimiter, as client-go's.
const (
	DefaultBaseDelay = 5 * time.Millisecond
	DefaultMaxDelay  = 1000 * time.Second
	DefaultQPS       = 10
	DefaultBurst     = 100
)

// DefaultControllerRateLimiter is what controllers use: the larger of a
// per-key exponential back-off (5ms, 10ms, 20ms, ... up to 1000s) and an
// overall token bucket (10 qps, burst 100) that bounds retries of all keys
// together.
func DefaultControllerRateLimiter() RateLimiter {
	return defaultControllerRateLimiter(RealClock{})
}

func defaultControllerRateLimiter(clk Clock) RateLimiter {
	return NewMaxOfRateLimiter(
		NewItemExponentialFailureRateLimiter(DefaultBaseDelay, DefaultMaxDelay),
		&BucketRateLimiter{Limiter: rate.NewLimiter(rate.Limit(DefaultQPS), DefaultBurst), Clock: clk},
	)
}

// ItemExponentialFailureRateLimiter waits baseDelay*2^failures for a key,
// capped at maxDelay.
type ItemExponentialFailureRateLimiter struct {
	baseDelay, maxDelay time.Duration

	mu       sync.Mutex
	failures map[string]int
}

var _ RateLimiter = (*ItemExponentialFailureRateLimiter)(nil)

// NewItemExponentialFailureRateLimiter returns a per-key exponential back-off
// from baseDelay to maxDelay.
func NewItemExponentialFailureRateLimiter(baseDelay, maxDelay time.Duration) *ItemExponentialFailureRateLimiter {
	return &ItemExponentialFailureRateLimiter{baseDelay: baseDelay, maxDelay: maxDelay, failures: map[string]int{}}
}

// When implements RateLimiter.
func (r *ItemExponentialFailureRateLimiter) When(key string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	exp := r.failures[key]
	r.failures[key] = exp + 1

	// Compute in float so a large exponent saturates instead of overflowing.
	backoff := float64(r.baseDelay.Nanoseconds()) * math.Pow(2, float64(exp))
	if backoff > float64(r.maxDelay.Nanoseconds()) {
		return r.maxDelay
	}
	return time.Duration(backoff)
}

// Forget implements RateLimiter.
func (r *ItemExponentialFailureRateLimiter) Forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, key)
}

// NumRequeues implements RateLimiter.
func (r *ItemExponentialFailureRateLimiter) NumRequeues(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[key]
}

// BucketRateLimiter is a token bucket shared by all keys: it bounds the
// overall retry rate, not any one key's.
type BucketRateLimiter struct {
	Limiter *rate.Limiter
	// Clock is the time source; nil is RealClock.
	Clock Clock
}

var _ RateLimiter = (*BucketRateLimiter)(nil)

// NewBucketRateLimiter returns a token bucket of qps tokens a second holding
// at most burst, on the wall clock.
func NewBucketRateLimiter(qps float64, burst int) *BucketRateLimiter {
	return &BucketRateLimiter{Limiter: rate.NewLimiter(rate.Limit(qps), burst)}
}

// When implements RateLimiter: it takes one token and returns how long until
// that token exists.
func (r *BucketRateLimiter) When(string) time.Duration {
	clk := r.Clock
	if clk == nil {
		clk = RealClock{}
	}
	now := clk.Now()
	return r.Limiter.ReserveN(now, 1).DelayFrom(now)
}

// Forget implements RateLimiter; the bucket tracks no key.
func (r *BucketRateLimiter) Forget(string) {}

// NumRequeues implements RateLimiter; the bucket tracks no key.
func (r *BucketRateLimiter) NumRequeues(string) int { return 0 }

// MaxOfRateLimiter waits as long as the longest of its limiters.
type MaxOfRateLimiter struct {
	limiters []RateLimiter
}

var _ RateLimiter = (*MaxOfRateLimiter)(nil)

// NewMaxOfRateLimiter combines limiters; every limiter sees every call.
func NewMaxOfRateLimiter(limiters ...RateLimiter) *MaxOfRateLimiter {
	return &MaxOfRateLimiter{limiters: limiters}
}

// When implements RateLimiter.
func (r *MaxOfRateLimiter) When(key string) time.Duration {
	var longest time.Duration
	for _, l := range r.limiters {
		longest = max(longest, l.When(key))
	}
	return longest
}

// Forget implements RateLimiter.
func (r *MaxOfRateLimiter) Forget(key string) {
	for _, l := range r.limiters {
		l.Forget(key)
	}
}

// NumRequeues implements RateLimiter: the largest count of its limiters.
func (r *MaxOfRateLimiter) NumRequeues(key string) int {
	n := 0
	for _, l := range r.limiters {
		n = max(n, l.NumRequeues(key))
	}
	return n
}
