package pods

import (
	"net"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/kubelet/internal/podruntime"
	corev1 "skiff.dev/proto/core/v1"
)

func parseIP(s string) net.IP { return net.ParseIP(s) }

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t.UTC().Truncate(time.Second))
}

// terminated is the state of an exited run.
func terminated(c *podruntime.Container) *corev1.ContainerState {
	st := c.State()
	return &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: int32(st.ExitCode), Reason: st.Reason, StartedAt: ts(st.StartedAt), FinishedAt: ts(st.FinishedAt),
		ContainerId: "containerd://" + c.ID,
	}}
}

// status is the pod's status now, as Kubernetes' kubelet computes it.
func (w *worker) status(pod *corev1.Pod) *corev1.PodStatus {
	old := pod.GetStatus()
	s := &corev1.PodStatus{
		HostIp:            w.m.cfg.HostIP,
		StartTime:         ts(w.startTime),
		QosClass:          old.GetQosClass(),
		NominatedNodeName: old.GetNominatedNodeName(),
	}
	if old.GetStartTime() != nil {
		s.StartTime = old.GetStartTime()
	}
	switch {
	case pod.GetSpec().GetHostNetwork():
		s.PodIp = w.m.cfg.HostIP
	case w.net.IP != nil:
		s.PodIp = w.net.IP.String()
	}
	if s.PodIp != "" {
		s.PodIps = []*corev1.PodIP{{Ip: s.PodIp}}
	}
	var pending, running, succeeded, failed int
	allReady := true
	for _, spec := range pod.GetSpec().GetContainers() {
		cs := w.containers[spec.GetName()]
		st := &corev1.ContainerStatus{Name: spec.GetName(), Image: spec.GetImage()}
		started := false
		switch {
		case cs == nil || cs.cur == nil:
			reason, msg := "ContainerCreating", ""
			if cs != nil && cs.waitingReason != "" {
				reason, msg = cs.waitingReason, cs.waitingMessage
			}
			st.State = &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
			pending++
		default:
			st.RestartCount = int32(cs.restarts)
			st.ContainerId = "containerd://" + cs.cur.ID
			st.ImageId = cs.imageRef
			cur := cs.cur.State()
			if cs.prev != nil {
				st.LastState = terminated(cs.prev)
			}
			switch {
			case cur.Running:
				st.State = &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ts(cur.StartedAt)}}
				started = cs.probes == nil || cs.probes.started()
				st.Ready = started && (cs.probes == nil || cs.probes.ready())
				running++
			case cs.waitingReason != "":
				st.LastState = terminated(cs.cur)
				st.State = &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: cs.waitingReason, Message: cs.waitingMessage}}
				failed++
			default:
				st.State = terminated(cs.cur)
				if cur.ExitCode == 0 {
					succeeded++
				} else {
					failed++
				}
			}
		}
		st.Started = &started
		allReady = allReady && st.Ready
		s.ContainerStatuses = append(s.ContainerStatuses, st)
	}
	s.Phase = phase(pod.GetSpec().GetRestartPolicy(), pending, running, succeeded, failed)
	if len(pod.GetSpec().GetContainers()) == 0 {
		allReady = false
	}
	ready := "False"
	if allReady && s.Phase == "Running" {
		ready = "True"
	}
	reason := ""
	if ready == "False" {
		reason = "ContainersNotReady"
		if s.Phase == "Succeeded" || s.Phase == "Failed" {
			reason = "PodCompleted"
		}
	}
	s.Conditions = []*corev1.PodCondition{
		condition(old, "PodScheduled", "True", ""),
		condition(old, "Initialized", "True", ""),
		condition(old, "ContainersReady", ready, reason),
		condition(old, "Ready", ready, reason),
	}
	return s
}

// phase follows Kubernetes' getPhase.
func phase(restartPolicy string, pending, running, succeeded, failed int) string {
	switch {
	case pending > 0:
		return "Pending"
	case running > 0:
		return "Running"
	case succeeded+failed == 0:
		return "Pending"
	case restartPolicy == "Never" && failed > 0:
		return "Failed"
	case restartPolicy == "Never" || failed == 0 && restartPolicy == "OnFailure":
		return "Succeeded"
	default:
		return "Running"
	}
}

// condition keeps the last transition time of an unchanged condition.
func condition(old *corev1.PodStatus, typ, status, reason string) *corev1.PodCondition {
	c := &corev1.PodCondition{Type: typ, Status: status, Reason: reason, LastTransitionTime: ts(time.Now())}
	for _, o := range old.GetConditions() {
		if o.GetType() == typ && o.GetStatus() == status {
			c.LastTransitionTime = o.GetLastTransitionTime()
		}
	}
	return c
}
