// Package controller is the base every skiff-controller-manager loop is
// built on: a rate-limited, de-duplicating work queue of object keys and N
// workers that reconcile one key at a time, started only once the informer
// caches they read have synced. Handlers only enqueue keys; a reconcile
// reads the caches, converges, and returns an error to be retried with
// back-off or a Result asking to be run again later. Panics in a reconcile
// are recovered into errors so one bad object never stops a controller.
//
// Each controller lives in its own package under internal/controller/<name>.
package controller

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"go.uber.org/zap"

	"skiff.dev/proto/client"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/workqueue"
)

// Result tells the base what to do with a key reconciled without error.
type Result struct {
	// RequeueAfter, when positive, reconciles the key again after this long
	// (e.g. when minReadySeconds or a progress deadline will pass).
	RequeueAfter time.Duration
}

// ReconcileFunc converges the object named by key ("namespace/name", or
// "name" for cluster-scoped kinds). An error requeues the key with back-off.
type ReconcileFunc func(ctx context.Context, key string) (Result, error)

// Options configures a Controller.
type Options struct {
	// Name names the controller in logs and queue metrics ("replicaset").
	Name string
	// Workers is how many keys are reconciled at once; 0 is 1.
	Workers int
	// Reconcile is called for every key handed out by the queue.
	Reconcile ReconcileFunc
	// HasSynced lists the caches the controller reads; workers start only
	// once every one has synced.
	HasSynced []func() bool
	// MaxRetries is how many back-offs a failing key gets before it is
	// dropped (and reconciled again only on its next event); 0 is 15, as
	// Kubernetes' controllers.
	MaxRetries int
	// RateLimiter and MetricsProvider configure the queue; nil is the
	// default rate limiter and no metrics.
	RateLimiter     workqueue.RateLimiter
	MetricsProvider workqueue.MetricsProvider
}

// DefaultMaxRetries is Options.MaxRetries' default.
const DefaultMaxRetries = 15

// Controller is a queue and its workers.
type Controller struct {
	lg         *zap.Logger
	name       string
	workers    int
	reconcile  ReconcileFunc
	hasSynced  []func() bool
	maxRetries int

	// Queue is the controller's work queue; handlers add keys to it, usually
	// through Enqueue.
	Queue *workqueue.Queue
}

// New makes a controller; Run starts it. A nil logger logs nothing.
func New(lg *zap.Logger, opts Options) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	return &Controller{
		lg:         lg,
		name:       opts.Name,
		workers:    opts.Workers,
		reconcile:  opts.Reconcile,
		hasSynced:  opts.HasSynced,
		maxRetries: opts.MaxRetries,
		Queue: workqueue.NewWithConfig(workqueue.Config{
			Name:            opts.Name,
			RateLimiter:     opts.RateLimiter,
			MetricsProvider: opts.MetricsProvider,
		}),
	}
}

// Name is the controller's name.
func (c *Controller) Name() string { return c.name }

// Enqueue queues obj's key.
func (c *Controller) Enqueue(obj informer.Object) { c.Queue.Add(KeyFunc(obj)) }

// EnqueueKey queues key.
func (c *Controller) EnqueueKey(key string) { c.Queue.Add(key) }

// EnqueueAfter queues obj's key after d.
func (c *Controller) EnqueueAfter(obj informer.Object, d time.Duration) {
	c.Queue.AddAfter(KeyFunc(obj), d)
}

// Handler is an event handler that queues the key of every added, updated
// or deleted object.
func (c *Controller) Handler() informer.ResourceEventHandler {
	return informer.ResourceEventHandlerFuncs{
		AddFunc:    c.Enqueue,
		UpdateFunc: func(_, obj informer.Object) { c.Enqueue(obj) },
		DeleteFunc: c.Enqueue,
	}
}

// Run waits for the caches, runs the workers until ctx ends, then shuts the
// queue down and waits for the workers to finish the keys in hand. It
// returns false if ctx ended before the caches synced.
func (c *Controller) Run(ctx context.Context) bool {
	defer c.Queue.ShutDown()
	if !informer.WaitForCacheSync(ctx, c.hasSynced...) {
		return false
	}
	c.lg.Info("starting workers", zap.String("controller", c.name), zap.Int("workers", c.workers))
	var wg sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	c.Queue.ShutDown()
	wg.Wait()
	c.lg.Info("workers stopped", zap.String("controller", c.name))
	return true
}

// processNext reconciles one key; false once the queue is shut down.
func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.Queue.Get()
	if shutdown {
		return false
	}
	defer c.Queue.Done(key)
	res, err := c.safeReconcile(ctx, key)
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: the error is the cancelled context's.
	case err != nil && c.Queue.NumRequeues(key) < c.maxRetries:
		c.lg.Info("reconcile failed, retrying", zap.String("controller", c.name), zap.String("key", key),
			zap.Int("retries", c.Queue.NumRequeues(key)), zap.Error(err))
		c.Queue.AddRateLimited(key)
	case err != nil:
		c.lg.Warn("reconcile failed, dropping key until its next change", zap.String("controller", c.name),
			zap.String("key", key), zap.Error(err))
		c.Queue.Forget(key)
	default:
		c.Queue.Forget(key)
		if res.RequeueAfter > 0 {
			c.Queue.AddAfter(key, res.RequeueAfter)
		}
	}
	return true
}

// safeReconcile calls the reconcile, turning a panic into an error.
func (c *Controller) safeReconcile(ctx context.Context, key string) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic reconciling %s: %v\n%s", key, r, debug.Stack())
		}
	}()
	return c.reconcile(ctx, key)
}

// KeyFunc is the key of obj: "namespace/name", or "name" if cluster-scoped.
func KeyFunc(obj informer.Object) string { return informer.MetaNamespaceKeyFunc(obj) }

// SplitKey splits a KeyFunc key into namespace and name.
func SplitKey(key string) (namespace, name string) { return informer.SplitKey(key) }

// Clone is a deep copy of an object from a cache, to modify.
func Clone[T client.Object](obj T) T { return informer.Clone(obj) }

// Common is the configuration every controller takes besides its own.
type Common struct {
	// Workers is how many keys are reconciled at once.
	Workers int
	// Recorder receives the controller's Events; nil drops them.
	Recorder client.Recorder
	// MetricsProvider exports the work queue's metrics (may be nil).
	MetricsProvider workqueue.MetricsProvider
}

// Defaulted is c with a recorder that drops events if it has none.
func (c Common) Defaulted() Common {
	if c.Recorder == nil {
		c.Recorder = client.NewFakeRecorder(0)
	}
	return c
}

// Options are the base controller's options for this configuration.
func (c Common) Options(name string, reconcile ReconcileFunc, hasSynced ...func() bool) Options {
	return Options{Name: name, Workers: c.Workers, Reconcile: reconcile, HasSynced: hasSynced, MetricsProvider: c.MetricsProvider}
}
