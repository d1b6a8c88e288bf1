// Package workqueue is the queue between informer event handlers and the
// workers of a level-triggered reconcile loop, modelled on client-go's
// util/workqueue.
//
// Handlers Add `namespace/name` keys; workers Get a key, reconcile it, then
// call Done, and either Forget (success) or AddRateLimited (retry with
// back-off). The queue guarantees:
//
//   - A key is never handed to two workers at once.
//   - A key added while it is being processed is marked dirty and handed out
//     again after Done, so no change is missed.
//   - A key added several times while it waits is handed out once.
//   - After ShutDown, Add is ignored and Get still returns what is queued;
//     once the queue is empty, Get returns shutdown=true.
//
// A typical worker:
//
//	for {
//		key, shutdown := q.Get()
//		if shutdown {
//			return
//		}
//		err := reconcile(ctx, key)
//		if err == nil {
//			q.Forget(key)
//		} else {
//			q.AddRateLimited(key)
//		}
//		q.Done(key)
//	}
//
// Time is read through an injectable Clock, and metrics go through an
// optional MetricsProvider, so this package imports neither a fake clock nor
// Prometheus.
package workqueue
