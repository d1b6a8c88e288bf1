// Package clientgo runs a client-go program (k8s.io/client-go v0.32.3, the
// typed clientset and a shared informer) against a real apiserver, once
// speaking Kubernetes protobuf, as kubectl and controllers do by default,
// and once JSON.
package clientgo

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"skiff.dev/apiserver/apiservertest"
)

// contentTypes are the two wire formats client-go can be set to.
var contentTypes = []struct{ name, contentType, accept string }{
	{"protobuf", "application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf,application/json"},
	{"json", "application/json", "application/json"},
}

// wait is how long a test waits for something the apiserver streams; a
// failure is reported when it has not come, never a timing assertion.
const wait = 60 * time.Second

func clientset(t *testing.T, srv *apiservertest.Server, contentType, accept string) *kubernetes.Clientset {
	t.Helper()
	cfg := &rest.Config{Host: srv.URL, QPS: 1000, Burst: 1000, Timeout: wait}
	cfg.ContentType, cfg.AcceptContentTypes = contentType, accept
	// Every answer comes in the format asked for.
	var mu sync.Mutex
	answers := map[string]int{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if err == nil {
				mu.Lock()
				answers[resp.Header.Get("Content-Type")]++
				mu.Unlock()
			}
			return resp, err
		})
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(answers) == 0 {
			t.Error("no answer seen")
		}
		for ct := range answers {
			if !strings.HasPrefix(ct, contentType) {
				t.Errorf("an answer came as %q, want %s (all: %v)", ct, contentType, answers)
			}
		}
	})
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	t.Cleanup(cancel)
	return ctx
}

func pod(name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "nginx:1.27",
			Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
			Env:   []corev1.EnvVar{{Name: "MODE", Value: "test"}},
		}}},
	}
}

func TestPods(t *testing.T) {
	for _, ct := range contentTypes {
		t.Run(ct.name, func(t *testing.T) {
			srv := apiservertest.Start(t, apiservertest.Options{})
			pods := clientset(t, srv, ct.contentType, ct.accept).CoreV1().Pods("default")
			ctx := ctxT(t)

			created, err := pods.Create(ctx, pod("web-1", map[string]string{"app": "web"}), metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if created.UID == "" || created.ResourceVersion == "" || created.CreationTimestamp.IsZero() ||
				created.Spec.RestartPolicy != corev1.RestartPolicyAlways || created.Spec.Containers[0].Env[0].Value != "test" ||
				created.Spec.Containers[0].Ports[0].ContainerPort != 80 {
				t.Errorf("created pod: %+v", created)
			}
			if _, err := pods.Create(ctx, pod("web-1", nil), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
				t.Errorf("second create: %v, want AlreadyExists", err)
			}
			bad := pod("bad", nil)
			bad.Spec.Containers[0].Image = ""
			_, err = pods.Create(ctx, bad, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Errorf("create without an image: %v, want Invalid", err)
			}
			if _, err := pods.Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get of a pod never made: %v, want NotFound", err)
			}
			if _, err := pods.Create(ctx, pod("web-2", map[string]string{"app": "other"}), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}

			got, err := pods.Get(ctx, "web-1", metav1.GetOptions{})
			if err != nil || got.UID != created.UID || got.Spec.Containers[0].Image != "nginx:1.27" {
				t.Fatalf("get: %v %+v", err, got)
			}
			list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			if err != nil || len(list.Items) != 1 || list.Items[0].Name != "web-1" || list.ResourceVersion == "" {
				t.Fatalf("list app=web: %v %+v", err, list)
			}

			got.Labels["tier"] = "front"
			updated, err := pods.Update(ctx, got, metav1.UpdateOptions{})
			if err != nil || updated.Labels["tier"] != "front" || updated.ResourceVersion == got.ResourceVersion {
				t.Fatalf("update: %v %+v", err, updated)
			}
			if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
				t.Errorf("update with a stale resourceVersion: %v, want Conflict", err)
			}

			updated.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.5", HostIP: "10.0.0.11",
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
			st, err := pods.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
			if err != nil || st.Status.Phase != corev1.PodRunning || st.Status.PodIP != "10.244.1.5" || len(st.Status.Conditions) != 1 {
				t.Fatalf("update status: %v %+v", err, st.Status)
			}

			err = pods.Delete(ctx, "web-1", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("not-the-uid"))}})
			if !apierrors.IsConflict(err) {
				t.Errorf("delete with a wrong UID precondition: %v, want Conflict", err)
			}
			if err := pods.Delete(ctx, "web-1", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, err := pods.Get(ctx, "web-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get after delete: %v, want NotFound", err)
			}
		})
	}
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
}

func TestDeployments(t *testing.T) {
	for _, ct := range contentTypes {
		t.Run(ct.name, func(t *testing.T) {
			srv := apiservertest.Start(t, apiservertest.Options{})
			deps := clientset(t, srv, ct.contentType, ct.accept).AppsV1().Deployments("default")
			ctx := ctxT(t)

			d, err := deps.Create(ctx, deployment("web", 2), metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if *d.Spec.Replicas != 2 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
				d.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" || *d.Spec.RevisionHistoryLimit != 10 || d.Generation != 1 {
				t.Errorf("created deployment (defaults): %+v", d.Spec)
			}
			if _, err := deps.Get(ctx, "web", metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			}
			list, err := deps.List(ctx, metav1.ListOptions{})
			if err != nil || len(list.Items) != 1 {
				t.Fatalf("list: %v %+v", err, list)
			}

			d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
			d, err = deps.Update(ctx, d, metav1.UpdateOptions{})
			if err != nil || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.28" || d.Generation != 2 {
				t.Fatalf("update: %v %+v", err, d)
			}
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2,
				Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"}}}
			d, err = deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
			if err != nil || d.Status.AvailableReplicas != 2 || d.Status.Conditions[0].Reason != "MinimumReplicasAvailable" {
				t.Fatalf("update status: %v %+v", err, d.Status)
			}

			sc, err := deps.GetScale(ctx, "web", metav1.GetOptions{})
			if err != nil || sc.Spec.Replicas != 2 || sc.Status.Replicas != 2 || sc.Status.Selector != "app=web" {
				t.Fatalf("get scale: %v %+v", err, sc)
			}
			sc, err = deps.UpdateScale(ctx, "web", &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default",
				ResourceVersion: sc.ResourceVersion}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}, metav1.UpdateOptions{})
			if err != nil || sc.Spec.Replicas != 5 {
				t.Fatalf("update scale: %v %+v", err, sc)
			}
			if d, err = deps.Get(ctx, "web", metav1.GetOptions{}); err != nil || *d.Spec.Replicas != 5 {
				t.Fatalf("replicas after scale: %v %+v", err, d)
			}

			if err := deps.Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, err := deps.Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get after delete: %v, want NotFound", err)
			}
		})
	}
}

// next waits for the next watch event.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("the watch ended")
		}
		return ev
	case <-time.After(wait):
		t.Fatalf("no watch event in %v", wait)
	}
	return watch.Event{}
}

func TestWatch(t *testing.T) {
	for _, ct := range contentTypes {
		t.Run(ct.name, func(t *testing.T) {
			srv := apiservertest.Start(t, apiservertest.Options{})
			pods := clientset(t, srv, ct.contentType, ct.accept).CoreV1().Pods("default")
			ctx := ctxT(t)
			list, err := pods.List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()

			p, err := pods.Create(ctx, pod("w1", nil), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p.Labels = map[string]string{"seen": "yes"}
			if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := pods.Delete(ctx, "w1", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, want := range []struct {
				typ   watch.EventType
				label string
			}{{watch.Added, ""}, {watch.Modified, "yes"}, {watch.Deleted, "yes"}} {
				ev := next(t, w)
				got, ok := ev.Object.(*corev1.Pod)
				if ev.Type != want.typ || !ok || got.Name != "w1" || got.Labels["seen"] != want.label || got.Spec.Containers[0].Image != "nginx:1.27" {
					t.Errorf("event %s %T %+v, want %s of pod w1 with label seen=%q", ev.Type, ev.Object, ev.Object, want.typ, want.label)
				}
			}
		})
	}
}

// recorder keeps what an informer's handlers saw, as "ADD name" lines.
type recorder struct {
	mu   sync.Mutex
	seen []string
	ch   chan struct{}
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.seen = append(r.seen, s)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

// waitFor waits until the handlers saw want.
func (r *recorder) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		for _, s := range r.seen {
			if s == want {
				r.mu.Unlock()
				return
			}
		}
		seen := fmt.Sprint(r.seen)
		r.mu.Unlock()
		select {
		case <-r.ch:
		case <-time.After(time.Second):
		case <-deadline:
			t.Fatalf("the informer's handlers did not see %q; they saw %s", want, seen)
		}
	}
}

func TestInformer(t *testing.T) {
	for _, ct := range contentTypes {
		t.Run(ct.name, func(t *testing.T) {
			srv := apiservertest.Start(t, apiservertest.Options{})
			cs := clientset(t, srv, ct.contentType, ct.accept)
			ctx := ctxT(t)
			if _, err := cs.CoreV1().Pods("default").Create(ctx, pod("before", nil), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.AppsV1().Deployments("default").Create(ctx, deployment("web", 1), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}

			factory := informers.NewSharedInformerFactory(cs, 0)
			podInformer := factory.Core().V1().Pods()
			deployInformer := factory.Apps().V1().Deployments()
			rec := &recorder{ch: make(chan struct{}, 1)}
			name := func(o any) string {
				if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
					o = d.Obj
				}
				m, err := metaAccessor(o)
				if err != nil {
					return err.Error()
				}
				return m
			}
			for _, inf := range []cache.SharedIndexInformer{podInformer.Informer(), deployInformer.Informer()} {
				if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
					AddFunc:    func(o any) { rec.add("ADD " + name(o)) },
					UpdateFunc: func(_, o any) { rec.add("UPDATE " + name(o)) },
					DeleteFunc: func(o any) { rec.add("DELETE " + name(o)) },
				}); err != nil {
					t.Fatal(err)
				}
			}
			stop := make(chan struct{})
			defer factory.Shutdown() // after close(stop): it waits for the informers to end
			defer close(stop)
			factory.Start(stop)
			syncCtx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			for typ, ok := range factory.WaitForCacheSync(syncCtx.Done()) {
				if !ok {
					t.Fatalf("the %v informer did not sync", typ)
				}
			}
			rec.waitFor(t, "ADD pod/before")
			rec.waitFor(t, "ADD deployment/web")
			if p, err := podInformer.Lister().Pods("default").Get("before"); err != nil || p.Spec.Containers[0].Image != "nginx:1.27" {
				t.Errorf("lister: %v %+v", err, p)
			}

			pods := cs.CoreV1().Pods("default")
			p, err := pods.Create(ctx, pod("after", nil), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rec.waitFor(t, "ADD pod/after")
			p.Labels = map[string]string{"v": "2"}
			if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			rec.waitFor(t, "UPDATE pod/after")
			if err := pods.Delete(ctx, "after", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			rec.waitFor(t, "DELETE pod/after")
			sc, err := cs.AppsV1().Deployments("default").GetScale(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sc.Spec.Replicas = 3
			if _, err := cs.AppsV1().Deployments("default").UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			rec.waitFor(t, "UPDATE deployment/web")
			if err := cs.AppsV1().Deployments("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			rec.waitFor(t, "DELETE deployment/web")
			if _, err := podInformer.Lister().Pods("default").Get("after"); !apierrors.IsNotFound(err) {
				t.Errorf("lister after delete: %v, want NotFound", err)
			}
		})
	}
}

// metaAccessor names an informer's object as kind/name.
func metaAccessor(o any) (string, error) {
	switch o := o.(type) {
	case *corev1.Pod:
		return "pod/" + o.Name, nil
	case *appsv1.Deployment:
		return "deployment/" + o.Name, nil
	}
	return "", fmt.Errorf("unexpected %T", o)
}

// TestNodes writes a node and its status as a kubelet built on client-go
// would: Kubernetes' types carry fields Skiff lacks (nodeInfo's
// kubeProxyVersion, always written, empty), which must not get in the way.
func TestNodes(t *testing.T) {
	for _, ct := range contentTypes {
		t.Run(ct.name, func(t *testing.T) {
			srv := apiservertest.Start(t, apiservertest.Options{})
			nodes := clientset(t, srv, ct.contentType, ct.accept).CoreV1().Nodes()
			ctx := ctxT(t)
			n, err := nodes.Create(ctx, &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"kubernetes.io/hostname": "node-1"}},
				Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"},
					Taints: []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			n.Status = corev1.NodeStatus{
				Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")},
				Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1900m"), corev1.ResourceMemory: resource.MustParse("3Gi")},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
					LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
				Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.11"}},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
				NodeInfo: corev1.NodeSystemInfo{MachineID: "m1", KernelVersion: "6.1.0", OSImage: "Debian GNU/Linux 12",
					ContainerRuntimeVersion: "containerd://1.7.24", KubeletVersion: "v0.1.0", OperatingSystem: "linux", Architecture: "amd64"},
			}
			if _, err := nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("update status: %v", err)
			}
			got, err := nodes.Get(ctx, "node-1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Allocatable.Cpu().String() != "1900m" || got.Status.Capacity.Memory().String() != "4Gi" ||
				got.Status.NodeInfo.KernelVersion != "6.1.0" || got.Status.DaemonEndpoints.KubeletEndpoint.Port != 10250 ||
				got.Status.Conditions[0].Reason != "KubeletReady" || got.Spec.Taints[0].Value != "db" || got.Status.Addresses[0].Address != "10.0.0.11" {
				t.Errorf("node read back: %+v %+v", got.Spec, got.Status)
			}
		})
	}
}
