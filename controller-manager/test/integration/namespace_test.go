package integration

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/controller-manager/internal/controller/namespace"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

func startNamespaces(e *env) {
	e.start("namespace", func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, _ client.Recorder) runnable {
		return namespace.New(lg, cs, f, namespace.Config{Common: controller.Common{Workers: 2}})
	})
}

// TestNamespaceDeletion: deleting a namespace deletes everything in it (a
// bound pod gracefully, waiting for its kubelet), then the namespace; its
// conditions say what is left meanwhile.
func TestNamespaceDeletion(t *testing.T) {
	e := newEnv(t)
	startNamespaces(e)
	const ns = "doomed"
	if _, err := e.cs.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "app", Image: "nginx"}}}}
	}
	for _, p := range []*corev1.Pod{pod("unbound"), pod("bound")} {
		if _, err := e.cs.CoreV1().Pods(ns).Create(e.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.cs.CoreV1().Pods(ns).Bind(e.ctx, "bound", "node-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.CoreV1().ConfigMaps(ns).Create(e.ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "cfg"}}); err != nil {
		t.Fatal(err)
	}
	nl := newReplicaSet("rs", "rs", 0)
	nl.Metadata.Namespace = ns
	if _, err := e.cs.AppsV1().ReplicaSets(ns).Create(e.ctx, nl); err != nil {
		t.Fatal(err)
	}

	if err := e.cs.CoreV1().Namespaces().Delete(e.ctx, ns, client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("everything but the bound pod deleted, the namespace waiting for it", func() (bool, string) {
		var left []string
		for _, k := range controller.Kinds() {
			if !k.Namespaced {
				continue
			}
			objs, err := k.Client(e.cs, ns).List(e.ctx, client.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, o := range objs {
				left = append(left, k.Resource+"/"+o.GetMetadata().GetName())
			}
		}
		n, err := e.cs.CoreV1().Namespaces().Get(e.ctx, ns)
		if err != nil {
			return false, err.Error()
		}
		remaining := condition(n, namespace.ContentRemaining)
		return slices.Equal(left, []string{"pods/bound"}) && remaining.GetStatus() == "True" &&
				remaining.GetMessage() == "Some resources are remaining: pods has 1 resource instances",
			fmt.Sprintf("left %v, phase %s, ContentRemaining %v", left, n.GetStatus().GetPhase(), remaining)
	})
	p, err := e.cs.CoreV1().Pods(ns).Get(e.ctx, "bound")
	if err != nil || p.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("bound pod should be terminating: %v %v", p.GetMetadata(), err)
	}
	// The kubelet confirms the pod stopped: the namespace goes.
	if err := e.cs.CoreV1().Pods(ns).Delete(e.ctx, "bound", client.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	e.eventually("namespace removed", func() (bool, string) {
		n, err := e.cs.CoreV1().Namespaces().Get(e.ctx, ns)
		if client.IsNotFound(err) {
			return true, ""
		}
		return false, fmt.Sprintf("%v %v", n.GetStatus(), err)
	})
}

// TestNamespaceKindsCoverDiscovery: the namespace controller deletes every
// namespaced resource the apiserver serves.
func TestNamespaceKindsCoverDiscovery(t *testing.T) {
	e := newEnv(t)
	get := func(path string, into any) {
		b, err := e.cs.RESTGet(e.ctx, path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var groups struct {
		Groups []struct {
			PreferredVersion struct{ GroupVersion string } `json:"preferredVersion"`
		} `json:"groups"`
	}
	get("/apis", &groups)
	paths := []string{"/api/v1"}
	for _, g := range groups.Groups {
		paths = append(paths, "/apis/"+g.PreferredVersion.GroupVersion)
	}
	var served, known []string
	for _, p := range paths {
		var list struct {
			GroupVersion string `json:"groupVersion"`
			Resources    []struct {
				Name       string `json:"name"`
				Kind       string `json:"kind"`
				Namespaced bool   `json:"namespaced"`
			} `json:"resources"`
		}
		get(p, &list)
		for _, r := range list.Resources {
			if !strings.Contains(r.Name, "/") {
				served = append(served, fmt.Sprintf("%s %s %s %v", list.GroupVersion, r.Kind, r.Name, r.Namespaced))
			}
		}
	}
	for _, k := range controller.Kinds() {
		known = append(known, fmt.Sprintf("%s %s %s %v", k.APIVersion, k.Kind, k.Resource, k.Namespaced))
	}
	slices.Sort(served)
	slices.Sort(known)
	if !slices.Equal(served, known) {
		t.Errorf("controller.Kinds() does not match the apiserver's discovery:\nserved %q\nknown  %q", served, known)
	}
}

func condition(n *corev1.Namespace, t string) *corev1.NamespaceCondition {
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}
