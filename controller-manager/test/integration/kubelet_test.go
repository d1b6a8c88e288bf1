package integration

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/controller-manager/internal/controller"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/labels"
)

// fakeKubelet plays the kubelets for pods matching a selector: each new
// pod is reported running and ready after delay.
func (e *env) fakeKubelet(selector string, delay time.Duration) {
	e.t.Helper()
	sel, err := labels.Parse(selector)
	if err != nil {
		e.t.Fatal(err)
	}
	cs := e.newClient()
	f := informer.NewSharedInformerFactory(cs, 0)
	ctx, cancel := context.WithCancel(e.ctx)
	var wg sync.WaitGroup
	f.Core().V1().Pods().Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
		AddFunc: func(p *corev1.Pod) {
			if !sel.Matches(labels.Set(p.GetMetadata().GetLabels())) || controller.IsPodReady(p) {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-ctx.Done():
					return
				case <-time.After(delay):
				}
				name := p.GetMetadata().GetName()
				pc := cs.CoreV1().Pods(p.GetMetadata().GetNamespace())
				for attempt := 0; attempt < 10 && ctx.Err() == nil; attempt++ {
					cur, err := pc.Get(ctx, name)
					if err != nil || cur.GetMetadata().GetDeletionTimestamp() != nil {
						return
					}
					now := timestamppb.Now()
					ip := podIP(name)
					cur.Status = &corev1.PodStatus{Phase: "Running", PodIp: ip, PodIps: []*corev1.PodIP{{Ip: ip}}, StartTime: now,
						Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: now}}}
					if _, err := pc.UpdateStatus(ctx, cur); err == nil {
						return
					}
				}
			}()
		},
	})
	f.Start(ctx)
	e.t.Cleanup(func() {
		cancel()
		wg.Wait()
		f.Shutdown()
	})
}

// podWatcher follows every change of the pods matching a selector and
// records the extremes a user would care about during a rollout.
type podWatcher struct {
	mu         sync.Mutex
	pods       map[string]*corev1.Pod // active pods
	armed      bool
	minReady   int
	maxActive  int
	violations []string
	check      func(pods map[string]*corev1.Pod) string // a non-empty result is a violation
}

func (e *env) watchPods(selector string) *podWatcher {
	e.t.Helper()
	sel, err := labels.Parse(selector)
	if err != nil {
		e.t.Fatal(err)
	}
	w := &podWatcher{pods: map[string]*corev1.Pod{}, minReady: 1 << 30}
	f := informer.NewSharedInformerFactory(e.newClient(), 0)
	ctx, cancel := context.WithCancel(e.ctx)
	apply := func(p *corev1.Pod, gone bool) {
		if !sel.Matches(labels.Set(p.GetMetadata().GetLabels())) {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if gone || !controller.IsPodActive(p) {
			delete(w.pods, p.GetMetadata().GetName())
		} else {
			w.pods[p.GetMetadata().GetName()] = p
		}
		if !w.armed {
			return
		}
		ready := 0
		for _, q := range w.pods {
			if controller.IsPodReady(q) {
				ready++
			}
		}
		w.minReady = min(w.minReady, ready)
		w.maxActive = max(w.maxActive, len(w.pods))
		if w.check != nil {
			if v := w.check(w.pods); v != "" {
				w.violations = append(w.violations, v)
			}
		}
	}
	f.Core().V1().Pods().Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
		AddFunc:    func(p *corev1.Pod) { apply(p, false) },
		UpdateFunc: func(_, p *corev1.Pod) { apply(p, false) },
		DeleteFunc: func(p *corev1.Pod) { apply(p, true) },
	})
	f.Start(ctx)
	if !f.WaitForCacheSync(ctx) {
		e.t.Fatal("pod watcher did not sync")
	}
	e.t.Cleanup(func() { cancel(); f.Shutdown() })
	return w
}

// arm starts recording extremes from the current state on.
func (w *podWatcher) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = true
}

func (w *podWatcher) result() (minReady, maxActive int, violations []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.minReady, w.maxActive, append([]string(nil), w.violations...)
}

// ready is how many active pods the watcher sees ready.
func (w *podWatcher) ready() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, p := range w.pods {
		if controller.IsPodReady(p) {
			n++
		}
	}
	return n
}
