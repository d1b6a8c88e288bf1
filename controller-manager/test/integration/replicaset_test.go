package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/controller-manager/internal/controller/replicaset"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

func startReplicaSets(e *env) {
	e.start("replicaset", func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable {
		return replicaset.New(lg, cs, f, replicaset.Config{Common: controller.Common{Workers: 2, Recorder: rec}})
	})
}

func (e *env) rs(name string) *appsv1.ReplicaSet {
	e.t.Helper()
	rs, err := e.cs.AppsV1().ReplicaSets(e.ns).Get(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

func (e *env) scaleRS(name string, n int32) {
	e.t.Helper()
	for attempt := 0; ; attempt++ {
		rs := e.rs(name)
		rs.Spec.Replicas = &n
		_, err := e.cs.AppsV1().ReplicaSets(e.ns).Update(e.ctx, rs)
		if err == nil {
			return
		}
		if !client.IsConflict(err) || attempt > 10 {
			e.t.Fatal(err)
		}
	}
}

// waitRS waits for n active pods and a status that says so.
func (e *env) waitRS(name, app string, n int32) []*corev1.Pod {
	e.t.Helper()
	var pods []*corev1.Pod
	e.eventually(fmt.Sprintf("replicaset %s at %d pods", name, n), func() (bool, string) {
		pods = e.activePods("app=" + app)
		rs := e.rs(name)
		s := rs.GetStatus()
		return len(pods) == int(n) && s.GetReplicas() == n && s.GetObservedGeneration() == rs.GetMetadata().GetGeneration(),
			fmt.Sprintf("%d pods %v, status %v", len(pods), names(pods), s)
	})
	return pods
}

func TestReplicaSetScaleUpAndDown(t *testing.T) {
	e := newEnv(t)
	startReplicaSets(e)
	rs, err := e.cs.AppsV1().ReplicaSets(e.ns).Create(e.ctx, newReplicaSet("nginx-6799fc88d8", "nginx", 3))
	if err != nil {
		t.Fatal(err)
	}
	pods := e.waitRS("nginx-6799fc88d8", "nginx", 3)
	for _, p := range pods {
		m := p.GetMetadata()
		ref := controller.ControllerOf(m)
		if ref == nil || ref.GetKind() != "ReplicaSet" || ref.GetApiVersion() != "apps/v1" || ref.GetName() != "nginx-6799fc88d8" ||
			ref.GetUid() != rs.GetMetadata().GetUid() || !ref.GetBlockOwnerDeletion() {
			t.Errorf("pod %s ownerReferences = %v, want the ReplicaSet as controller with blockOwnerDeletion", m.GetName(), m.GetOwnerReferences())
		}
		if len(m.GetName()) != len("nginx-6799fc88d8-")+5 || m.GetName()[:17] != "nginx-6799fc88d8-" {
			t.Errorf("pod name %q, want nginx-6799fc88d8-xxxxx", m.GetName())
		}
		if p.GetSpec().GetContainers()[0].GetImage() != "nginx:1.27" || m.GetLabels()["app"] != "nginx" {
			t.Errorf("pod %s not made from the template: %v", m.GetName(), p)
		}
	}
	e.eventually("SuccessfulCreate events", func() (bool, string) {
		evs := e.events("ReplicaSet", "nginx-6799fc88d8")
		for _, p := range pods {
			if !slices.Contains(evs, "SuccessfulCreate Created pod: "+p.GetMetadata().GetName()) {
				return false, fmt.Sprint(evs)
			}
		}
		return true, ""
	})

	// Readiness and availability in the status.
	e.setReady(pods[0].GetMetadata().GetName(), true)
	e.setReady(pods[1].GetMetadata().GetName(), true)
	e.eventually("2 ready replicas", func() (bool, string) {
		s := e.rs("nginx-6799fc88d8").GetStatus()
		return s.GetReadyReplicas() == 2 && s.GetAvailableReplicas() == 2 && s.GetFullyLabeledReplicas() == 3, fmt.Sprint(s)
	})

	e.scaleRS("nginx-6799fc88d8", 5)
	e.waitRS("nginx-6799fc88d8", "nginx", 5)

	// Scaling down deletes not-ready pods first: the two ready ones stay.
	e.scaleRS("nginx-6799fc88d8", 2)
	left := e.waitRS("nginx-6799fc88d8", "nginx", 2)
	if got, want := names(left), names(pods[:2]); !slices.Equal(got, want) {
		t.Errorf("after scaling down, pods %v remain, want the ready ones %v", got, want)
	}
	e.eventually("SuccessfulDelete events", func() (bool, string) {
		evs := e.events("ReplicaSet", "nginx-6799fc88d8")
		return countPrefix(evs, "SuccessfulDelete Deleted pod: nginx-6799fc88d8-") == 3, fmt.Sprint(evs)
	})

	e.scaleRS("nginx-6799fc88d8", 0)
	e.waitRS("nginx-6799fc88d8", "nginx", 0)
}

func TestReplicaSetAdoptionAndRelease(t *testing.T) {
	e := newEnv(t)
	// An orphan that the ReplicaSet's selector matches, and a pod of
	// another controller that it also matches.
	orphan := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "orphan", Namespace: e.ns, Labels: map[string]string{"app": "web"}},
		Spec: template("web", "nginx:1.27").GetSpec()}
	if _, err := e.cs.CoreV1().Pods(e.ns).Create(e.ctx, orphan); err != nil {
		t.Fatal(err)
	}
	other := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "others", Namespace: e.ns, Labels: map[string]string{"app": "web"},
		OwnerReferences: []*metav1.OwnerReference{{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "else", Uid: "0000-else", Controller: new(true)}}},
		Spec: template("web", "nginx:1.27").GetSpec()}
	if _, err := e.cs.CoreV1().Pods(e.ns).Create(e.ctx, other); err != nil {
		t.Fatal(err)
	}
	startReplicaSets(e)
	rs, err := e.cs.AppsV1().ReplicaSets(e.ns).Create(e.ctx, newReplicaSet("web", "web", 2))
	if err != nil {
		t.Fatal(err)
	}
	uid := rs.GetMetadata().GetUid()
	var owned []*corev1.Pod
	e.eventually("orphan adopted and one pod created", func() (bool, string) {
		owned = nil
		for _, p := range e.pods("app=web") {
			if controller.IsControlledBy(p.GetMetadata(), uid) {
				owned = append(owned, p)
			}
		}
		return len(owned) == 2 && slices.Contains(names(owned), "orphan"), fmt.Sprint(names(owned))
	})
	if p, _ := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "others"); !controller.IsControlledBy(p.GetMetadata(), "0000-else") {
		t.Errorf("the other controller's pod changed owner: %v", p.GetMetadata().GetOwnerReferences())
	}

	// Relabel the adopted pod: it is released and replaced.
	for attempt := 0; ; attempt++ {
		p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "orphan")
		if err != nil {
			t.Fatal(err)
		}
		p.Metadata.Labels = map[string]string{"app": "debug"}
		if _, err = e.cs.CoreV1().Pods(e.ns).Update(e.ctx, p); err == nil {
			break
		} else if !client.IsConflict(err) || attempt > 10 {
			t.Fatal(err)
		}
	}
	e.eventually("relabelled pod released and replaced", func() (bool, string) {
		p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "orphan")
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, q := range e.activePods("app=web") {
			if controller.IsControlledBy(q.GetMetadata(), uid) {
				n++
			}
		}
		return len(p.GetMetadata().GetOwnerReferences()) == 0 && n == 2,
			fmt.Sprintf("orphan refs %v, %d owned web pods", p.GetMetadata().GetOwnerReferences(), n)
	})
}

// TestReplicaSetNoDoubleCreates runs the controller on watches that lag
// 300ms per event: re-syncs triggered meanwhile must not create again.
func TestReplicaSetNoDoubleCreates(t *testing.T) {
	e := newEnv(t)
	slow := client.NewForConn(slowWatchConn{e.newClient().Conn(), 300 * time.Millisecond})
	e.startWith("replicaset", slow, func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable {
		return replicaset.New(lg, cs, f, replicaset.Config{Common: controller.Common{Workers: 4, Recorder: rec}})
	})
	if _, err := e.cs.AppsV1().ReplicaSets(e.ns).Create(e.ctx, newReplicaSet("slow", "slow", 10)); err != nil {
		t.Fatal(err)
	}
	// Poke the ReplicaSet repeatedly while its pods' events are in flight.
	e.eventually("10 pods", func() (bool, string) {
		rs := e.rs("slow")
		if rs.Metadata.Annotations == nil {
			rs.Metadata.Annotations = map[string]string{}
		}
		rs.Metadata.Annotations["poke"] = time.Now().String()
		_, _ = e.cs.AppsV1().ReplicaSets(e.ns).Update(context.Background(), rs)
		n := len(e.pods("app=slow"))
		return n >= 10, fmt.Sprint(n)
	})
	e.waitRS("slow", "slow", 10)
	time.Sleep(2 * time.Second) // let every lagging event arrive
	if n := len(e.pods("app=slow")); n != 10 {
		t.Errorf("%d pods exist, want exactly 10", n)
	}
	if evs := e.events("ReplicaSet", "slow"); countPrefix(evs, "SuccessfulCreate") != 10 || countPrefix(evs, "SuccessfulDelete") != 0 {
		t.Errorf("events: %q, want 10 creations and no deletion", evs)
	}
}
