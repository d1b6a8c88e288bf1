package controller

import (
	"time"

	corev1 "skiff.dev/proto/core/v1"
)

// PodReadyCondition is the type of a pod's Ready condition.
const PodReadyCondition = "Ready"

// podCondition returns pod's condition of type t, or nil.
func podCondition(pod *corev1.Pod, t string) *corev1.PodCondition {
	for _, c := range pod.GetStatus().GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

// IsPodReady reports whether pod's Ready condition is True.
func IsPodReady(pod *corev1.Pod) bool {
	c := podCondition(pod, PodReadyCondition)
	return c != nil && c.GetStatus() == "True"
}

// IsPodAvailable reports whether pod has been ready for at least
// minReadySeconds at now.
func IsPodAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := podCondition(pod, PodReadyCondition)
	if c == nil || c.GetStatus() != "True" {
		return false
	}
	if minReadySeconds <= 0 {
		return true
	}
	since := c.GetLastTransitionTime()
	minReady := time.Duration(minReadySeconds) * time.Second
	return since != nil && !since.AsTime().Add(minReady).After(now)
}

// IsPodActive reports whether pod counts toward its controller's replicas:
// not finished and not being deleted.
func IsPodActive(pod *corev1.Pod) bool {
	switch pod.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return false
	}
	return pod.GetMetadata().GetDeletionTimestamp() == nil
}
