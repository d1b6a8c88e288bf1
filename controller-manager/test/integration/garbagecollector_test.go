package integration

import (
	"fmt"
	"testing"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/controller-manager/internal/controller/garbagecollector"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

func startGC(e *env) {
	e.start("garbagecollector", func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, _ client.Recorder) runnable {
		return garbagecollector.New(lg, cs, f, garbagecollector.Config{Common: controller.Common{Workers: 4}})
	})
}

// TestCascadingDeletion: deleting a ReplicaSet deletes its pods in the
// background, in the foreground (the ReplicaSet stays, with the
// foregroundDeletion finalizer, until its pods are gone) or orphans them.
func TestCascadingDeletion(t *testing.T) {
	e := newEnv(t)
	startReplicaSets(e)
	startGC(e)
	for _, policy := range []string{"Background", "Foreground", "Orphan"} {
		t.Run(policy, func(t *testing.T) {
			app := "gc-" + map[string]string{"Background": "bg", "Foreground": "fg", "Orphan": "orphan"}[policy]
			rs, err := e.cs.AppsV1().ReplicaSets(e.ns).Create(e.ctx, newReplicaSet(app, app, 3))
			if err != nil {
				t.Fatal(err)
			}
			var pods []*corev1.Pod
			e.eventually("3 pods", func() (bool, string) {
				pods = e.activePods("app=" + app)
				return len(pods) == 3, fmt.Sprintf("%d pods", len(pods))
			})
			if policy == "Foreground" {
				// A bound pod waits for its kubelet, and holds its owner meanwhile.
				if err := e.cs.CoreV1().Pods(e.ns).Bind(e.ctx, pods[0].GetMetadata().GetName(), "node-a"); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.cs.AppsV1().ReplicaSets(e.ns).Delete(e.ctx, app, client.DeleteOptions{PropagationPolicy: policy}); err != nil {
				t.Fatal(err)
			}
			switch policy {
			case "Background":
				e.eventually("replicaset and its pods gone", func() (bool, string) {
					_, err := e.cs.AppsV1().ReplicaSets(e.ns).Get(e.ctx, app)
					left := e.pods("app=" + app)
					return client.IsNotFound(err) && len(left) == 0, fmt.Sprintf("rs: %v, %d pods", err, len(left))
				})
			case "Foreground":
				bound := pods[0].GetMetadata().GetName()
				e.eventually("the unbound pods gone, the bound one terminating, the replicaset waiting", func() (bool, string) {
					got, err := e.cs.AppsV1().ReplicaSets(e.ns).Get(e.ctx, app)
					left := e.pods("app=" + app)
					return err == nil && got.GetMetadata().GetDeletionTimestamp() != nil &&
							len(left) == 1 && left[0].GetMetadata().GetName() == bound && left[0].GetMetadata().GetDeletionTimestamp() != nil,
						fmt.Sprintf("rs %v (%v), pods %d", got.GetMetadata().GetFinalizers(), err, len(left))
				})
				if err := e.cs.CoreV1().Pods(e.ns).Delete(e.ctx, bound, client.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
					t.Fatal(err)
				}
				e.eventually("replicaset removed once its last pod is", func() (bool, string) {
					_, err := e.cs.AppsV1().ReplicaSets(e.ns).Get(e.ctx, app)
					return client.IsNotFound(err), fmt.Sprint(err)
				})
			case "Orphan":
				e.eventually("replicaset gone, its pods kept without the ownerReference", func() (bool, string) {
					_, err := e.cs.AppsV1().ReplicaSets(e.ns).Get(e.ctx, app)
					left := e.activePods("app=" + app)
					owned := 0
					for _, p := range left {
						if controller.IsControlledBy(p.GetMetadata(), rs.GetMetadata().GetUid()) {
							owned++
						}
					}
					return client.IsNotFound(err) && len(left) == 3 && owned == 0, fmt.Sprintf("rs: %v, %d pods, %d still owned", err, len(left), owned)
				})
			}
		})
	}
}

// TestGarbageCollectorKeepsObjectsWithALiveOwner: an object with two owners
// loses the reference to the deleted one and stays; one whose owner never
// existed is collected.
func TestGarbageCollectorKeepsObjectsWithALiveOwner(t *testing.T) {
	e := newEnv(t)
	startGC(e)
	cms := e.cs.CoreV1().ConfigMaps(e.ns)
	ref := func(cm *corev1.ConfigMap) *metav1.OwnerReference {
		return &metav1.OwnerReference{ApiVersion: "v1", Kind: "ConfigMap", Name: cm.GetMetadata().GetName(), Uid: cm.GetMetadata().GetUid()}
	}
	mk := func(name string, owners ...*metav1.OwnerReference) *corev1.ConfigMap {
		cm, err := cms.Create(e.ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: name, OwnerReferences: owners}})
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}
	a, b := mk("owner-a"), mk("owner-b")
	mk("shared", ref(a), ref(b))
	mk("only-a", ref(a))
	mk("ghost-owned", &metav1.OwnerReference{ApiVersion: "v1", Kind: "ConfigMap", Name: "ghost", Uid: "00000000-0000-0000-0000-000000000000"})
	if err := cms.Delete(e.ctx, "owner-a", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("only-a and ghost-owned collected, shared kept with one owner", func() (bool, string) {
		_, errA := cms.Get(e.ctx, "only-a")
		_, errG := cms.Get(e.ctx, "ghost-owned")
		shared, err := cms.Get(e.ctx, "shared")
		refs := shared.GetMetadata().GetOwnerReferences()
		return client.IsNotFound(errA) && client.IsNotFound(errG) && err == nil && len(refs) == 1 && refs[0].GetName() == "owner-b",
			fmt.Sprintf("only-a: %v, ghost-owned: %v, shared refs %v (%v)", errA, errG, refs, err)
	})
}
