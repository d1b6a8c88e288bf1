package informer_test

import (
	"context"
	"log"
	"time"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/labels"
)

// A controller watches pods through a factory, queues keys from its
// handlers and reads the cache through listers.
func Example() {
	cs, err := client.New(client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	f := informer.NewSharedInformerFactory(cs, 10*time.Minute)
	pods := f.Core().V1().Pods()
	queue := make(chan string, 100) // a workqueue in real code
	pods.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
		AddFunc:    func(p *corev1.Pod) { queue <- informer.MetaNamespaceKeyFunc(p) },
		UpdateFunc: func(_, p *corev1.Pod) { queue <- informer.MetaNamespaceKeyFunc(p) },
		DeleteFunc: func(p *corev1.Pod) { queue <- informer.MetaNamespaceKeyFunc(p) },
	})
	// Pods by node, as the scheduler and kubelet want them.
	if err := pods.Informer().AddIndexers(informer.Indexers{"node": func(o informer.Object) []string {
		return []string{o.(*corev1.Pod).GetSpec().GetNodeName()}
	}}); err != nil {
		log.Fatal(err)
	}

	f.Start(ctx)
	if !f.WaitForCacheSync(ctx) {
		log.Fatal("caches did not sync")
	}
	key := <-queue
	ns, name := informer.SplitKey(key)
	pod, err := pods.Lister().Get(ns, name)
	if client.IsNotFound(err) {
		return // deleted meanwhile
	}
	pod = informer.Clone(pod) // cached objects are read-only
	pod.Metadata.Labels = map[string]string{"seen": "true"}
	_, _ = cs.CoreV1().Pods(ns).Update(ctx, pod)

	web := pods.Lister().ListNamespace("default", labels.SelectorFromSet(labels.Set{"app": "web"}))
	onNode, _ := pods.Lister().ByIndex("node", "node-1")
	log.Println(len(web), len(onNode))
}
