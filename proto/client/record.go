package client

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// Event types.
const (
	EventTypeNormal  = "Normal"
	EventTypeWarning = "Warning"
)

// Recorder records Events about objects, as client-go's
// record.EventRecorder: what happened to obj (reason, a CamelCase word such
// as "Scheduled" or "FailedMount") and a human message.
type Recorder interface {
	// Event records an event about obj; it never blocks and never fails
	// (events are best effort).
	Event(obj Object, eventType, reason, messageFmt string, args ...any)
}

// Tuning of EventRecorder.
const (
	eventQueueSize    = 1000
	eventWriteTimeout = 10 * time.Second
)

// EventRecorder writes core/v1 Events through a Clientset from a background
// goroutine, so Event never waits for the apiserver; when its queue is full
// it drops the event with a log line. Shutdown flushes it.
type EventRecorder struct {
	lg        *zap.Logger
	events    func(ns string) *EventClient
	component string
	host      string

	mu      sync.Mutex // guards stopped and sends on queue
	stopped bool
	queue   chan *corev1.Event
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}

	lastNano atomic.Int64
	now      func() time.Time
}

var _ Recorder = (*EventRecorder)(nil)

// NewRecorder starts a recorder whose events name component (e.g.
// "scheduler") and host as their source.
func NewRecorder(cs *Clientset, component, host string) *EventRecorder {
	return newRecorder(cs, component, host, eventQueueSize)
}

func newRecorder(cs *Clientset, component, host string, queueSize int) *EventRecorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &EventRecorder{
		lg:        cs.lg.Named("events"),
		events:    cs.CoreV1().Events,
		component: component,
		host:      host,
		queue:     make(chan *corev1.Event, queueSize),
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
		now:       time.Now,
	}
	go r.run()
	return r
}

// Event queues an Event named <name>.<unique suffix> in obj's namespace
// ("default" for cluster-scoped objects).
func (r *EventRecorder) Event(obj Object, eventType, reason, messageFmt string, args ...any) {
	ev := r.makeEvent(obj, eventType, reason, fmt.Sprintf(messageFmt, args...))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	select {
	case r.queue <- ev:
	default:
		r.lg.Warn("event queue full, dropping event",
			zap.String("object", ev.Metadata.Namespace+"/"+ev.InvolvedObject.Name),
			zap.String("reason", reason), zap.String("message", ev.Message))
	}
}

// Shutdown stops taking events and writes the queued ones, giving up on
// them when ctx ends.
func (r *EventRecorder) Shutdown(ctx context.Context) {
	r.mu.Lock()
	if !r.stopped {
		r.stopped = true
		close(r.queue)
	}
	r.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		r.cancel()
		<-r.done
	}
	r.cancel()
}

func (r *EventRecorder) run() {
	defer close(r.done)
	for ev := range r.queue {
		if r.ctx.Err() != nil {
			continue // shutting down past the deadline: drain only
		}
		ctx, cancel := context.WithTimeout(r.ctx, eventWriteTimeout)
		_, err := r.events(ev.Metadata.Namespace).Create(ctx, ev)
		cancel()
		if err != nil {
			r.lg.Warn("cannot write event", zap.String("event", ev.Metadata.Namespace+"/"+ev.Metadata.Name),
				zap.String("reason", ev.Reason), zap.Error(err))
		}
	}
}

func (r *EventRecorder) makeEvent(obj Object, eventType, reason, message string) *corev1.Event {
	now := r.now()
	m := obj.GetMetadata()
	apiVersion, kind := TypeOf(obj)
	ns := m.GetNamespace()
	if ns == "" {
		ns = "default"
	}
	ts := timestamppb.New(now)
	return &corev1.Event{
		ApiVersion: "v1",
		Kind:       "Event",
		Metadata:   &metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s.%x", m.GetName(), r.uniqueNano(now))},
		InvolvedObject: &corev1.ObjectReference{
			Kind:            kind,
			Namespace:       m.GetNamespace(),
			Name:            m.GetName(),
			Uid:             m.GetUid(),
			ApiVersion:      apiVersion,
			ResourceVersion: m.GetResourceVersion(),
		},
		Reason:             reason,
		Message:            message,
		Source:             &corev1.EventSource{Component: r.component, Host: r.host},
		FirstTimestamp:     ts,
		LastTimestamp:      ts,
		Count:              1,
		Type:               eventType,
		ReportingComponent: r.component,
		ReportingInstance:  r.host,
	}
}

// uniqueNano is now in nanoseconds, bumped past the last one handed out so
// two events of one recorder never share a name.
func (r *EventRecorder) uniqueNano(now time.Time) int64 {
	n := now.UnixNano()
	for {
		last := r.lastNano.Load()
		if n <= last {
			n = last + 1
		}
		if r.lastNano.CompareAndSwap(last, n) {
			return n
		}
	}
}

// groups maps proto packages to Kubernetes API groups.
var groups = map[string]string{
	"core":         "",
	"apps":         "apps",
	"batch":        "batch",
	"coordination": "coordination.k8s.io",
}

// TypeOf returns obj's apiVersion and kind ("apps/v1", "Deployment"): its
// own fields when set, else derived from its message type
// (skiff.apps.v1.Deployment).
func TypeOf(obj proto.Message) (apiVersion, kind string) {
	if t, ok := obj.(interface {
		GetApiVersion() string
		GetKind() string
	}); ok && t.GetApiVersion() != "" && t.GetKind() != "" {
		return t.GetApiVersion(), t.GetKind()
	}
	d := obj.ProtoReflect().Descriptor()
	kind = string(d.Name())
	parts := strings.Split(string(d.ParentFile().Package()), ".") // skiff.apps.v1
	if len(parts) != 3 {
		return "", kind
	}
	version := parts[2]
	if g := groups[parts[1]]; g != "" {
		return g + "/" + version, kind
	}
	return version, kind
}

// FakeRecorder records events as "<type> <reason> <message>" strings on
// Events, for tests of code that records events; it drops them when Events
// is full or nil.
type FakeRecorder struct {
	Events chan string
}

// NewFakeRecorder returns a FakeRecorder buffering size events.
func NewFakeRecorder(size int) *FakeRecorder { return &FakeRecorder{Events: make(chan string, size)} }

// Event implements Recorder.
func (f *FakeRecorder) Event(_ Object, eventType, reason, messageFmt string, args ...any) {
	if f.Events == nil {
		return
	}
	select {
	case f.Events <- eventType + " " + reason + " " + fmt.Sprintf(messageFmt, args...):
	default:
	}
}
