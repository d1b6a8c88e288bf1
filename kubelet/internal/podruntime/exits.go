package podruntime

import (
	"context"
	"time"

	"github.com/containerd/containerd"
	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/typeurl/v2"
	"go.uber.org/zap"
)

// Exits are watched through one subscription to containerd's /tasks/exit
// events for the whole namespace, not a Wait stream per task: a node's
// hundreds of containers cost one gRPC stream.

// track watches c's task until it exits; call it before the task starts.
// A container already tracked stays tracked as the object first given:
// tracked returns that one.
func (r *Runtime) track(ctx context.Context, c *Container) (tracked *Container, err error) {
	r.exitMu.Lock()
	defer r.exitMu.Unlock()
	if r.tracked == nil {
		r.tracked = map[string]*Container{}
		sctx, cancel := context.WithCancel(context.Background())
		r.stopExits = cancel
		ready := make(chan struct{})
		go r.watchExits(r.ns(sctx), ready)
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if t, ok := r.tracked[c.ID]; ok {
		return t, nil
	}
	r.tracked[c.ID] = c
	return c, nil
}

func (r *Runtime) untrack(id string) {
	r.exitMu.Lock()
	defer r.exitMu.Unlock()
	delete(r.tracked, id)
}

// handleExit settles a tracked container's exit once.
func (r *Runtime) handleExit(id string, code uint32, at time.Time) {
	r.exitMu.Lock()
	c, ok := r.tracked[id]
	delete(r.tracked, id)
	r.exitMu.Unlock()
	if ok {
		go func() {
			ctx, cancel := context.WithTimeout(r.ns(context.Background()), time.Minute)
			defer cancel()
			r.exited(ctx, c, code, at)
		}()
	}
}

// watchExits follows the exit events until the runtime closes,
// subscribing again (and checking every tracked task) when the stream
// breaks, so that no exit is lost while containerd restarts.
func (r *Runtime) watchExits(ctx context.Context, ready chan struct{}) {
	filter := `topic=="/tasks/exit",namespace=="` + r.cfg.Namespace + `"`
	for first := true; ctx.Err() == nil; first = false {
		sctx, cancel := context.WithCancel(ctx)
		evs, errs := r.client.Subscribe(sctx, filter)
		if first {
			close(ready)
		} else {
			r.recheck(ctx)
		}
	loop:
		for {
			select {
			case e := <-evs:
				v, err := typeurl.UnmarshalAny(e.Event)
				if err != nil {
					continue
				}
				if ex, ok := v.(*apievents.TaskExit); ok && ex.ID == ex.ContainerID {
					r.handleExit(ex.ContainerID, ex.ExitStatus, ex.ExitedAt.AsTime())
				}
			case err := <-errs:
				if ctx.Err() == nil {
					r.lg.Warn("containerd event stream broke; subscribing again", zap.Error(err))
				}
				break loop
			}
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// recheck asks containerd for every tracked task's state and settles those
// that exited.
func (r *Runtime) recheck(ctx context.Context) {
	r.exitMu.Lock()
	ids := make([]string, 0, len(r.tracked))
	for id := range r.tracked {
		ids = append(ids, id)
	}
	r.exitMu.Unlock()
	for _, id := range ids {
		cont, err := r.client.LoadContainer(ctx, id)
		if err != nil {
			continue
		}
		task, err := cont.Task(ctx, nil)
		if err != nil {
			r.handleExit(id, 255, time.Now())
			continue
		}
		if st, err := task.Status(ctx); err == nil && st.Status == containerd.Stopped {
			r.handleExit(id, st.ExitStatus, st.ExitTime)
		}
	}
}
