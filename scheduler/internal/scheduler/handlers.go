package scheduler

import (
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
)

// AddEventHandlers feeds s from the factory's pod and node informers and
// reads Services through its service lister. Call it before the factory
// starts.
func (s *Scheduler) AddEventHandlers(f *informer.SharedInformerFactory) {
	f.Core().V1().Pods().Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
		AddFunc:    s.OnPodAdd,
		UpdateFunc: s.OnPodUpdate,
		DeleteFunc: s.OnPodDelete,
	})
	f.Core().V1().Nodes().Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Node]{
		AddFunc:    s.OnNodeAdd,
		UpdateFunc: s.OnNodeUpdate,
		DeleteFunc: s.OnNodeDelete,
	})
	services := f.Core().V1().Services().Lister()
	s.cfg.Services = func(ns string) []*corev1.Service { return services.ListNamespace(ns, nil) }
}

func assigned(p *corev1.Pod) bool { return p.GetSpec().GetNodeName() != "" }

// terminal pods no longer hold resources on their node.
func terminal(p *corev1.Pod) bool {
	ph := p.GetStatus().GetPhase()
	return ph == "Succeeded" || ph == "Failed"
}

// responsible reports whether s schedules p.
func (s *Scheduler) responsible(p *corev1.Pod) bool {
	name := p.GetSpec().GetSchedulerName()
	return name == s.cfg.SchedulerName || name == "" && s.cfg.SchedulerName == DefaultSchedulerName
}

// OnPodAdd handles a pod seen for the first time.
func (s *Scheduler) OnPodAdd(p *corev1.Pod) {
	switch {
	case assigned(p):
		if !terminal(p) {
			s.Cache.AddPod(p)
		}
	case s.responsible(p) && !terminal(p) && p.GetMetadata().GetDeletionTimestamp() == nil:
		s.Queue.Add(p)
	}
}

// OnPodUpdate handles a changed pod: bound pods move into the cache,
// finished ones free their node.
func (s *Scheduler) OnPodUpdate(old, p *corev1.Pod) {
	switch {
	case assigned(p):
		if !assigned(old) {
			s.Queue.Delete(p)
		}
		if terminal(p) {
			s.Cache.RemovePod(p)
			if !terminal(old) {
				s.lg.Debug("pod finished, retrying unschedulable pods", zap.String("pod", p.GetMetadata().GetName()))
				s.Queue.MoveAllToActiveOrBackoff()
			}
			return
		}
		s.Cache.UpdatePod(p)
	case !s.responsible(p) || terminal(p):
		s.Queue.Delete(p)
	case s.Cache.IsAssumed(p):
		// Binding in flight: the informer will show the pod bound soon.
	default:
		s.Queue.Update(p)
	}
}

// OnPodDelete handles a deleted pod: a bound one frees its node.
func (s *Scheduler) OnPodDelete(p *corev1.Pod) {
	if assigned(p) {
		s.Cache.RemovePod(p)
		s.Queue.MoveAllToActiveOrBackoff()
		return
	}
	s.Queue.Delete(p)
}

// OnNodeAdd handles a new node: unschedulable pods may fit now.
func (s *Scheduler) OnNodeAdd(n *corev1.Node) {
	s.Cache.AddNode(n)
	s.Queue.MoveAllToActiveOrBackoff()
}

// OnNodeUpdate handles a changed node; pods are retried only when a change
// can make room (allocatable, taints, cordon, labels, conditions).
func (s *Scheduler) OnNodeUpdate(old, n *corev1.Node) {
	s.Cache.UpdateNode(n)
	if nodeSchedulingChanged(old, n) {
		s.Queue.MoveAllToActiveOrBackoff()
	}
}

// OnNodeDelete handles a deleted node.
func (s *Scheduler) OnNodeDelete(n *corev1.Node) { s.Cache.RemoveNode(n) }

func nodeSchedulingChanged(old, n *corev1.Node) bool {
	return !proto.Equal(old.GetSpec(), n.GetSpec()) ||
		!equalMaps(old.GetMetadata().GetLabels(), n.GetMetadata().GetLabels()) ||
		!equalMaps(old.GetStatus().GetAllocatable(), n.GetStatus().GetAllocatable()) ||
		readyOf(old) != readyOf(n)
}

func readyOf(n *corev1.Node) string {
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus()
		}
	}
	return ""
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
