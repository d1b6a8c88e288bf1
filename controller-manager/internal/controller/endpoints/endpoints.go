// Package endpoints is the Endpoints controller: for every Service with a
// selector it keeps an Endpoints object of the same name listing the IPs
// and ports of the pods the selector matches, ready pods in addresses and
// the others in notReadyAddresses. It writes only when the result changes,
// and deletes the Endpoints with their Service.
package endpoints

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/intstr"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
)

// HeadlessLabel marks the Endpoints of a headless Service, as Kubernetes'.
const HeadlessLabel = "service.kubernetes.io/headless"

// Config configures the controller.
type Config = controller.Common

// Controller is the Endpoints controller.
type Controller struct {
	lg        *zap.Logger
	cs        *client.Clientset
	services  informer.Lister[*corev1.Service]
	pods      informer.Lister[*corev1.Pod]
	endpoints informer.Lister[*corev1.Endpoints]
	rec       client.Recorder
	*controller.Controller
}

// New makes the controller and registers its handlers on the factory's
// Service, Pod and Endpoints informers; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	cfg = cfg.Defaulted()
	svcInf, podInf, epInf := f.Core().V1().Services(), f.Core().V1().Pods(), f.Core().V1().Endpoints()
	c := &Controller{lg: lg, cs: cs, services: svcInf.Lister(), pods: podInf.Lister(), endpoints: epInf.Lister(), rec: cfg.Recorder}
	c.Controller = controller.New(lg, cfg.Options("endpoint", c.sync,
		svcInf.Informer().HasSynced, podInf.Informer().HasSynced, epInf.Informer().HasSynced))
	svcInf.Informer().AddEventHandler(c.Handler())
	podInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
		AddFunc: c.podChanged,
		UpdateFunc: func(old, cur *corev1.Pod) {
			if !relevantChange(old, cur) {
				return
			}
			if !maps.Equal(old.GetMetadata().GetLabels(), cur.GetMetadata().GetLabels()) {
				c.podChanged(old)
			}
			c.podChanged(cur)
		},
		DeleteFunc: c.podChanged,
	})
	epInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Endpoints]{
		// Endpoints changed or deleted by someone else are put right.
		UpdateFunc: func(_, ep *corev1.Endpoints) { c.Enqueue(ep) },
		DeleteFunc: func(ep *corev1.Endpoints) { c.Enqueue(ep) },
	})
	return c
}

// relevantChange reports whether an update can change an Endpoints.
func relevantChange(old, cur *corev1.Pod) bool {
	if old.GetMetadata().GetResourceVersion() == cur.GetMetadata().GetResourceVersion() {
		return false
	}
	om, cm := old.GetMetadata(), cur.GetMetadata()
	return !maps.Equal(om.GetLabels(), cm.GetLabels()) ||
		(om.GetDeletionTimestamp() == nil) != (cm.GetDeletionTimestamp() == nil) ||
		old.GetStatus().GetPodIp() != cur.GetStatus().GetPodIp() ||
		old.GetStatus().GetPhase() != cur.GetStatus().GetPhase() ||
		controller.IsPodReady(old) != controller.IsPodReady(cur) ||
		old.GetSpec().GetNodeName() != cur.GetSpec().GetNodeName() ||
		old.GetSpec().GetHostname() != cur.GetSpec().GetHostname() ||
		old.GetSpec().GetSubdomain() != cur.GetSpec().GetSubdomain() ||
		!proto.Equal(&corev1.PodSpec{Containers: old.GetSpec().GetContainers()}, &corev1.PodSpec{Containers: cur.GetSpec().GetContainers()})
}

// podChanged queues every Service of the pod's namespace that selects it.
func (c *Controller) podChanged(pod *corev1.Pod) {
	set := labels.Set(pod.GetMetadata().GetLabels())
	for _, svc := range c.services.ListNamespace(pod.GetMetadata().GetNamespace(), nil) {
		sel := svc.GetSpec().GetSelector()
		if len(sel) > 0 && labels.SelectorFromSet(sel).Matches(set) {
			c.Enqueue(svc)
		}
	}
}

// sync converges the Endpoints of one Service.
func (c *Controller) sync(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	epc := c.cs.CoreV1().Endpoints(ns)
	svc, err := c.services.Get(ns, name)
	if client.IsNotFound(err) {
		// The Service is gone: so go its Endpoints.
		if _, err := c.endpoints.Get(ns, name); client.IsNotFound(err) {
			return controller.Result{}, nil
		}
		if err := epc.Delete(ctx, name, client.DeleteOptions{}); err != nil && !client.IsNotFound(err) {
			return controller.Result{}, fmt.Errorf("deleting endpoints %s: %w", key, err)
		}
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if len(svc.GetSpec().GetSelector()) == 0 {
		return controller.Result{}, nil // endpoints managed by the user
	}
	pods := c.pods.ListNamespace(ns, labels.SelectorFromSet(svc.GetSpec().GetSelector()))
	subsets := Subsets(svc, pods)
	wantLabels := maps.Clone(svc.GetMetadata().GetLabels())
	if svc.GetSpec().GetClusterIp() == "None" {
		if wantLabels == nil {
			wantLabels = map[string]string{}
		}
		wantLabels[HeadlessLabel] = ""
	}
	cur, err := c.endpoints.Get(ns, name)
	if client.IsNotFound(err) {
		ep := &corev1.Endpoints{ApiVersion: "v1", Kind: "Endpoints",
			Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns, Labels: wantLabels}, Subsets: subsets}
		if _, err := epc.Create(ctx, ep); err != nil && !client.IsAlreadyExists(err) {
			return controller.Result{}, fmt.Errorf("creating endpoints %s: %w", key, err)
		}
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if subsetsEqual(cur.GetSubsets(), subsets) && maps.Equal(cur.GetMetadata().GetLabels(), wantLabels) {
		return controller.Result{}, nil // nothing changed: no write
	}
	ep := controller.Clone(cur)
	ep.Subsets = subsets
	ep.Metadata.Labels = wantLabels
	if _, err := epc.Update(ctx, ep); err != nil {
		return controller.Result{}, fmt.Errorf("updating endpoints %s: %w", key, err)
	}
	return controller.Result{}, nil
}

func subsetsEqual(a, b []*corev1.EndpointSubset) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Subsets computes a Service's endpoints from the pods its selector
// matches: pods without an IP, finished or terminating are left out; a pod
// whose container ports lack a named targetPort is left out of that port.
// Pods with the same resolved ports share a subset; addresses are sorted.
func Subsets(svc *corev1.Service, pods []*corev1.Pod) []*corev1.EndpointSubset {
	publishNotReady := svc.GetSpec().GetPublishNotReadyAddresses()
	type group struct {
		ports    []*corev1.EndpointPort
		ready    []*corev1.EndpointAddress
		notReady []*corev1.EndpointAddress
	}
	groups := map[string]*group{}
	var order []string
	for _, pod := range pods {
		if !inEndpoints(pod, publishNotReady) {
			continue
		}
		ports, ok := podPorts(svc, pod)
		if !ok {
			continue
		}
		k := portsKey(ports)
		g := groups[k]
		if g == nil {
			g = &group{ports: ports}
			groups[k] = g
			order = append(order, k)
		}
		addr := address(svc, pod)
		if publishNotReady || controller.IsPodReady(pod) {
			g.ready = append(g.ready, addr)
		} else {
			g.notReady = append(g.notReady, addr)
		}
	}
	sort.Strings(order)
	var out []*corev1.EndpointSubset
	for _, k := range order {
		g := groups[k]
		sortAddresses(g.ready)
		sortAddresses(g.notReady)
		out = append(out, &corev1.EndpointSubset{Addresses: g.ready, NotReadyAddresses: g.notReady, Ports: g.ports})
	}
	return out
}

// inEndpoints reports whether pod belongs in endpoints at all.
func inEndpoints(pod *corev1.Pod, publishNotReady bool) bool {
	if pod.GetStatus().GetPodIp() == "" {
		return false
	}
	switch pod.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return false
	}
	return pod.GetMetadata().GetDeletionTimestamp() == nil || publishNotReady
}

// podPorts resolves the Service's ports against pod; ok is false when the
// pod serves none of them (a Service without ports needs none).
func podPorts(svc *corev1.Service, pod *corev1.Pod) ([]*corev1.EndpointPort, bool) {
	sp := svc.GetSpec().GetPorts()
	if len(sp) == 0 {
		return nil, true
	}
	var out []*corev1.EndpointPort
	for _, p := range sp {
		protocol := p.GetProtocol()
		if protocol == "" {
			protocol = "TCP"
		}
		n, ok := findPort(pod, p.GetTargetPort(), p.GetPort(), protocol)
		if !ok {
			continue
		}
		out = append(out, &corev1.EndpointPort{Name: p.GetName(), Port: n, Protocol: protocol})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, len(out) > 0
}

// findPort resolves a targetPort: a number is itself, empty is the
// Service port, a name is the container port of that name and protocol.
func findPort(pod *corev1.Pod, target string, servicePort int32, protocol string) (int32, bool) {
	if target == "" {
		return servicePort, true
	}
	if n, ok := intstr.Int(target); ok {
		return n, true
	}
	for _, c := range pod.GetSpec().GetContainers() {
		for _, cp := range c.GetPorts() {
			cpProto := cp.GetProtocol()
			if cpProto == "" {
				cpProto = "TCP"
			}
			if cp.GetName() == target && cpProto == protocol {
				return cp.GetContainerPort(), true
			}
		}
	}
	return 0, false
}

func portsKey(ports []*corev1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "%s/%d/%s,", p.GetName(), p.GetPort(), p.GetProtocol())
	}
	return b.String()
}

func address(svc *corev1.Service, pod *corev1.Pod) *corev1.EndpointAddress {
	m := pod.GetMetadata()
	a := &corev1.EndpointAddress{
		Ip:        pod.GetStatus().GetPodIp(),
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: m.GetNamespace(), Name: m.GetName(), Uid: m.GetUid()},
	}
	if n := pod.GetSpec().GetNodeName(); n != "" {
		a.NodeName = &n
	}
	if h := pod.GetSpec().GetHostname(); h != "" && pod.GetSpec().GetSubdomain() == svc.GetMetadata().GetName() {
		a.Hostname = h
	}
	return a
}

func sortAddresses(a []*corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool {
		if a[i].GetIp() != a[j].GetIp() {
			return a[i].GetIp() < a[j].GetIp()
		}
		return a[i].GetTargetRef().GetName() < a[j].GetTargetRef().GetName()
	})
}
