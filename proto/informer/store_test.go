package informer

import (
	"slices"
	"testing"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"

	"skiff.dev/proto/client"
	"skiff.dev/proto/labels"
)

func pod(ns, name, node string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:     &corev1.PodSpec{NodeName: node},
	}
}

func byNode(obj Object) []string {
	if n := obj.(*corev1.Pod).GetSpec().GetNodeName(); n != "" {
		return []string{n}
	}
	return nil
}

func keys(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, MetaNamespaceKeyFunc(o))
	}
	slices.Sort(out)
	return out
}

func TestKeys(t *testing.T) {
	tests := []struct {
		obj           Object
		key, ns, name string
	}{
		{pod("web", "a", "", nil), "web/a", "web", "a"},
		{&corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-1"}}, "node-1", "", "node-1"},
	}
	for _, tt := range tests {
		if got := MetaNamespaceKeyFunc(tt.obj); got != tt.key {
			t.Errorf("key = %q, want %q", got, tt.key)
		}
		if ns, name := SplitKey(tt.key); ns != tt.ns || name != tt.name {
			t.Errorf("SplitKey(%q) = %q %q", tt.key, ns, name)
		}
	}
}

func TestIndexer(t *testing.T) {
	s := NewIndexer(nil, Indexers{"node": byNode})
	s.Add(pod("web", "a", "n1", nil))
	s.Add(pod("web", "b", "n1", nil))
	s.Add(pod("db", "c", "n2", nil))
	s.Add(pod("db", "d", "", nil)) // unscheduled: in no node bucket

	tests := []struct {
		index, value string
		want         []string
	}{
		{"node", "n1", []string{"web/a", "web/b"}},
		{"node", "n2", []string{"db/c"}},
		{"node", "", nil},
		{NamespaceIndex, "db", []string{"db/c", "db/d"}},
	}
	for _, tt := range tests {
		got, err := s.ByIndex(tt.index, tt.value)
		if err != nil || !slices.Equal(keys(got), tt.want) {
			t.Errorf("ByIndex(%s, %q) = %v, %v; want %v", tt.index, tt.value, keys(got), err, tt.want)
		}
	}

	// Moving a pod to another node moves it in the index.
	s.Update(pod("web", "a", "n2", nil))
	if got, _ := s.IndexKeys("node", "n2"); !slices.Equal(got, []string{"db/c", "web/a"}) {
		t.Errorf("after update n2 holds %v", got)
	}
	if got, _ := s.IndexKeys("node", "n1"); !slices.Equal(got, []string{"web/b"}) {
		t.Errorf("after update n1 holds %v", got)
	}
	s.Delete(pod("web", "b", "", nil))
	if got, _ := s.IndexKeys("node", "n1"); len(got) != 0 {
		t.Errorf("after delete n1 holds %v", got)
	}
	if _, ok := s.GetByKey("web/b"); ok {
		t.Error("deleted object still stored")
	}

	if _, err := s.ByIndex("nope", "x"); err == nil {
		t.Error("ByIndex of a missing index did not fail")
	}
	if err := s.AddIndexers(Indexers{"node": byNode}); err == nil {
		t.Error("AddIndexers re-used a name without error")
	}
}

func TestIndexerAddIndexersToFilledStore(t *testing.T) {
	s := NewIndexer(nil, nil)
	s.Add(pod("web", "a", "n1", nil))
	if err := s.AddIndexers(Indexers{"node": byNode}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.IndexKeys("node", "n1"); !slices.Equal(got, []string{"web/a"}) {
		t.Errorf("index over existing objects = %v", got)
	}
}

func TestIndexerReplace(t *testing.T) {
	s := NewIndexer(nil, Indexers{"node": byNode})
	s.Add(pod("web", "a", "n1", nil))
	s.Add(pod("web", "b", "n1", nil))
	s.Replace([]Object{pod("web", "b", "n2", nil), pod("web", "c", "n1", nil)})
	if got := slices.Sorted(slices.Values(s.ListKeys())); !slices.Equal(got, []string{"web/b", "web/c"}) {
		t.Errorf("keys after Replace = %v", got)
	}
	if got, _ := s.IndexKeys("node", "n1"); !slices.Equal(got, []string{"web/c"}) {
		t.Errorf("n1 after Replace = %v", got)
	}
}

func TestLister(t *testing.T) {
	s := NewIndexer(nil, Indexers{"node": byNode})
	s.Add(pod("web", "a", "n1", map[string]string{"app": "web", "tier": "front"}))
	s.Add(pod("web", "b", "n2", map[string]string{"app": "web"}))
	s.Add(pod("db", "c", "n1", map[string]string{"app": "db"}))
	l := NewLister[*corev1.Pod](s, "pods")

	p, err := l.Get("web", "a")
	if err != nil || p.GetMetadata().GetName() != "a" {
		t.Fatalf("Get(web, a) = %v, %v", p, err)
	}
	_, err = l.Get("web", "zzz")
	if !client.IsNotFound(err) || err.Error() != `rpc error: code = NotFound desc = pods "zzz" not found in namespace "web"` {
		t.Errorf("Get of a missing pod = %v", err)
	}

	names := func(ps []*corev1.Pod) []string {
		var out []string
		for _, p := range ps {
			out = append(out, MetaNamespaceKeyFunc(p))
		}
		slices.Sort(out)
		return out
	}
	parsed, err := labels.Parse("app in (web,db),!tier")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  []*corev1.Pod
		want []string
	}{
		{"all", l.List(nil), []string{"db/c", "web/a", "web/b"}},
		{"everything", l.List(labels.Everything()), []string{"db/c", "web/a", "web/b"}},
		{"app=web", l.List(labels.SelectorFromSet(labels.Set{"app": "web"})), []string{"web/a", "web/b"}},
		{"app=web,tier=front", l.List(labels.SelectorFromSet(labels.Set{"app": "web", "tier": "front"})), []string{"web/a"}},
		{"app in (web,db),!tier", l.List(parsed), []string{"db/c", "web/b"}},
		{"namespace db", l.ListNamespace("db", nil), []string{"db/c"}},
		{"namespace web, app=db", l.ListNamespace("web", labels.SelectorFromSet(labels.Set{"app": "db"})), nil},
	}
	for _, tt := range tests {
		if got := names(tt.got); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	onN1, err := l.ByIndex("node", "n1")
	if err != nil || !slices.Equal(names(onN1), []string{"db/c", "web/a"}) {
		t.Errorf("ByIndex(node, n1) = %v, %v", names(onN1), err)
	}

	nodes := NewLister[*corev1.Node](NewIndexer(nil, nil), "nodes")
	if _, err := nodes.Get("", "n9"); !client.IsNotFound(err) || err.Error() != `rpc error: code = NotFound desc = nodes "n9" not found` {
		t.Errorf("Get of a missing node = %v", err)
	}
}
