package printers

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func TestPodRow(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	running := &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	waiting := func(reason string) *corev1.ContainerState {
		return &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
	}
	terminated := func(reason string, code, signal int32) *corev1.ContainerState {
		return &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}
	}
	pod := func(phase string, init []*corev1.ContainerStatus, ctrs ...*corev1.ContainerStatus) *corev1.Pod {
		p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"},
			Spec:   &corev1.PodSpec{InitContainers: []*corev1.Container{{Name: "i1"}, {Name: "i2"}}, Containers: []*corev1.Container{{Name: "c"}}},
			Status: &corev1.PodStatus{Phase: phase, InitContainerStatuses: init, ContainerStatuses: ctrs}}
		return p
	}
	initDone := []*corev1.ContainerStatus{{State: terminated("Completed", 0, 0)}, {State: terminated("Completed", 0, 0)}}
	deleted := func(p *corev1.Pod) *corev1.Pod { p.Metadata.DeletionTimestamp = timestamppb.New(now); return p }
	crashing := &corev1.ContainerStatus{State: waiting("CrashLoopBackOff"), RestartCount: 5,
		LastState: &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: timestamppb.New(now.Add(-2 * time.Minute))}}}
	notReady := pod("Running", initDone, &corev1.ContainerStatus{State: terminated("Completed", 0, 0)}, &corev1.ContainerStatus{State: running, Ready: true})
	notReady.Spec.Containers = append(notReady.Spec.Containers, &corev1.Container{Name: "d"})

	tests := []struct {
		name     string
		pod      *corev1.Pod
		ready    int
		status   string
		restarts string
	}{
		{"new pod", &corev1.Pod{Status: &corev1.PodStatus{}}, 0, "Pending", "0"},
		{"running", pod("Running", initDone, &corev1.ContainerStatus{State: running, Ready: true}), 1, "Running", "0"},
		{"running not ready", pod("Running", initDone, &corev1.ContainerStatus{State: running}), 0, "Running", "0"},
		{"crash loop", pod("Running", initDone, crashing), 0, "CrashLoopBackOff", "5 (2m ago)"},
		{"first init container running", pod("Pending", []*corev1.ContainerStatus{{State: running}, {State: waiting("PodInitializing")}}), 0, "Init:0/2", "0"},
		{"second init container waiting", pod("Pending", []*corev1.ContainerStatus{{State: terminated("Completed", 0, 0)}, {State: waiting("ErrImagePull"), RestartCount: 1}}), 0, "Init:ErrImagePull", "1"},
		{"init container failed", pod("Pending", []*corev1.ContainerStatus{{State: terminated("", 2, 0)}}), 0, "Init:ExitCode:2", "0"},
		{"killed", pod("Failed", initDone, &corev1.ContainerStatus{State: terminated("", 137, 9)}), 0, "Signal:9", "0"},
		{"exited", pod("Failed", initDone, &corev1.ContainerStatus{State: terminated("", 3, 0)}), 0, "ExitCode:3", "0"},
		{"one container done, one running", notReady, 1, "NotReady", "0"},
		{"evicted", &corev1.Pod{Status: &corev1.PodStatus{Phase: "Failed", Reason: "Evicted"}}, 0, "Evicted", "0"},
		{"terminating", deleted(pod("Running", initDone, &corev1.ContainerStatus{State: running, Ready: true})), 1, "Terminating", "0"},
		{"deleted after it finished", deleted(pod("Succeeded", initDone, &corev1.ContainerStatus{State: terminated("Completed", 0, 0)})), 0, "Completed", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PodRow(tt.pod, now)
			if got.Ready != tt.ready || got.Status != tt.status || got.Restarts != tt.restarts {
				t.Errorf("PodRow = %d %q %q, want %d %q %q", got.Ready, got.Status, got.Restarts, tt.ready, tt.status, tt.restarts)
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-5 * time.Second, "<invalid>"}, {0, "0s"}, {119 * time.Second, "119s"}, {2 * time.Minute, "2m"},
		{9*time.Minute + 5*time.Second, "9m5s"}, {3*time.Hour - time.Second, "179m"}, {3 * time.Hour, "3h"},
		{7*time.Hour + 30*time.Minute, "7h30m"}, {47 * time.Hour, "47h"}, {3*day + 5*time.Hour, "3d5h"},
		{100 * day, "100d"}, {800 * day, "2y70d"}, {9 * 365 * day, "9y"},
	}
	for _, tt := range tests {
		if got := HumanDuration(tt.d); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestEveryKindHasOneCellPerColumn: a row that does not fit its columns
// would shift every cell after the gap, in skiffctl and in kubectl.
func TestEveryKindHasOneCellPerColumn(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := func() *metav1.ObjectMeta {
		return &metav1.ObjectMeta{Name: "x", CreationTimestamp: timestamppb.New(now.Add(-time.Hour))}
	}
	for kind, o := range map[string]Object{
		"Pod": &corev1.Pod{Metadata: m()}, "Node": &corev1.Node{Metadata: m()}, "Service": &corev1.Service{Metadata: m()},
		"Endpoints": &corev1.Endpoints{Metadata: m()}, "Event": &corev1.Event{Metadata: m()}, "ConfigMap": &corev1.ConfigMap{Metadata: m()},
		"Secret": &corev1.Secret{Metadata: m()}, "ServiceAccount": &corev1.ServiceAccount{Metadata: m()}, "Namespace": &corev1.Namespace{Metadata: m()},
		"ReplicaSet": &appsv1.ReplicaSet{Metadata: m()}, "Deployment": &appsv1.Deployment{Metadata: m()}, "DaemonSet": &appsv1.DaemonSet{Metadata: m()},
		"Job": &batchv1.Job{Metadata: m()}, "Lease": &coordinationv1.Lease{Metadata: m()},
	} {
		cols, cells := Columns(kind), Cells(o, now)
		if len(cols) != len(cells) {
			t.Errorf("%s: %d columns, %d cells %v", kind, len(cols), len(cells), cells)
		}
		if _, ok := columns[kind]; !ok {
			t.Errorf("%s has no columns of its own", kind)
		}
		for i, c := range cols {
			switch v := cells[i].(type) {
			case string:
				if c.Type != "string" {
					t.Errorf("%s column %s is %s, its cell a string", kind, c.Name, c.Type)
				}
			case int64:
				// Kubernetes declares some counts "string" (a Deployment's
				// Up-to-date, a ConfigMap's Data) and sends numbers.
			default:
				t.Errorf("%s column %s: cell %v is %T, want string or int64", kind, c.Name, v, v)
			}
		}
	}
}
