package integration

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/prototext"

	"skiff.dev/controller-manager/internal/controller/endpoints"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

func startEndpoints(e *env) {
	e.start("endpoint", func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable {
		return endpoints.New(lg, cs, f, endpoints.Config{Workers: 2, Recorder: rec})
	})
}

// endpointsState is "ready=[name/ip...] notReady=[...] ports=[...]" or
// "absent".
func (e *env) endpointsState(name string) (string, *corev1.Endpoints) {
	ep, err := e.cs.CoreV1().Endpoints(e.ns).Get(e.ctx, name)
	if client.IsNotFound(err) {
		return "absent", nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var ready, notReady, ports []string
	for _, s := range ep.GetSubsets() {
		for _, a := range s.GetAddresses() {
			ready = append(ready, a.GetTargetRef().GetName()+"/"+a.GetIp()+"@"+a.GetNodeName())
		}
		for _, a := range s.GetNotReadyAddresses() {
			notReady = append(notReady, a.GetTargetRef().GetName()+"/"+a.GetIp()+"@"+a.GetNodeName())
		}
		for _, p := range s.GetPorts() {
			ports = append(ports, fmt.Sprintf("%s:%d/%s", p.GetName(), p.GetPort(), p.GetProtocol()))
		}
	}
	sort.Strings(ready) // the controller sorts by IP; the test names by pod
	sort.Strings(notReady)
	return fmt.Sprintf("ready=%v notReady=%v ports=%v", ready, notReady, ports), ep
}

func (e *env) waitEndpoints(name, want string) *corev1.Endpoints {
	e.t.Helper()
	var ep *corev1.Endpoints
	e.eventually("endpoints "+want, func() (bool, string) {
		var got string
		got, ep = e.endpointsState(name)
		return got == want, got
	})
	return ep
}

func TestEndpointsFollowReadiness(t *testing.T) {
	e := newEnv(t)
	startEndpoints(e)
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: e.ns, Labels: map[string]string{"tier": "front"}},
		Spec: &corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []*corev1.ServicePort{{Name: "http", Port: 80, TargetPort: "http", Protocol: "TCP"}}}}
	if _, err := e.cs.CoreV1().Services(e.ns).Create(e.ctx, svc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web-a", "web-b", "other"} {
		app := "web"
		if name == "other" {
			app = "other"
		}
		p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: map[string]string{"app": app}},
			Spec: template(app, "nginx:1.27").GetSpec()}
		p.Spec.Containers[0].Ports[0].ContainerPort = 8080
		if _, err := e.cs.CoreV1().Pods(e.ns).Create(e.ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := e.cs.CoreV1().Pods(e.ns).Bind(e.ctx, name, "node1"); err != nil {
			t.Fatal(err)
		}
	}
	// No pod has an IP yet.
	ep := e.waitEndpoints("web", "ready=[] notReady=[] ports=[]")
	if ep.GetMetadata().GetLabels()["tier"] != "front" {
		t.Errorf("endpoints labels %v, want the service's", ep.GetMetadata().GetLabels())
	}
	a, b := podIP("web-a"), podIP("web-b")
	e.setReady("web-a", true)
	e.setReady("web-b", false)
	e.setReady("other", true)
	ep = e.waitEndpoints("web", fmt.Sprintf("ready=[web-a/%s@node1] notReady=[web-b/%s@node1] ports=[http:8080/TCP]", a, b))
	ref := ep.GetSubsets()[0].GetAddresses()[0].GetTargetRef()
	pa, _ := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "web-a")
	if ref.GetKind() != "Pod" || ref.GetNamespace() != e.ns || ref.GetUid() != pa.GetMetadata().GetUid() {
		t.Errorf("targetRef %v, want pod web-a", prototext.Format(ref))
	}

	// Readiness flips move addresses.
	e.setReady("web-b", true)
	e.waitEndpoints("web", fmt.Sprintf("ready=[web-a/%s@node1 web-b/%s@node1] notReady=[] ports=[http:8080/TCP]", a, b))
	e.setReady("web-a", false)
	ep = e.waitEndpoints("web", fmt.Sprintf("ready=[web-b/%s@node1] notReady=[web-a/%s@node1] ports=[http:8080/TCP]", b, a))

	// A change that does not matter writes nothing.
	rv := ep.GetMetadata().GetResourceVersion()
	cur, _ := e.cs.CoreV1().Services(e.ns).Get(e.ctx, "web")
	cur.Metadata.Annotations = map[string]string{"touched": "yes"}
	if _, err := e.cs.CoreV1().Services(e.ns).Update(e.ctx, cur); err != nil {
		t.Fatal(err)
	}
	pb, _ := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "web-b")
	pb.Metadata.Annotations = map[string]string{"touched": "yes"}
	if _, err := e.cs.CoreV1().Pods(e.ns).Update(e.ctx, pb); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, ep := e.endpointsState("web"); ep.GetMetadata().GetResourceVersion() != rv {
		t.Errorf("endpoints rewritten without a change: resourceVersion %s, was %s", ep.GetMetadata().GetResourceVersion(), rv)
	}

	// A terminating pod leaves at once, before its kubelet confirms.
	if err := e.cs.CoreV1().Pods(e.ns).Delete(e.ctx, "web-b", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "web-b"); err != nil || p.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("web-b should be terminating: %v %v", p, err)
	}
	e.waitEndpoints("web", fmt.Sprintf("ready=[] notReady=[web-a/%s@node1] ports=[http:8080/TCP]", a))

	// Endpoints deleted by hand come back; they go with the Service.
	if err := e.cs.CoreV1().Endpoints(e.ns).Delete(e.ctx, "web", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitEndpoints("web", fmt.Sprintf("ready=[] notReady=[web-a/%s@node1] ports=[http:8080/TCP]", a))
	if err := e.cs.CoreV1().Services(e.ns).Delete(e.ctx, "web", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitEndpoints("web", "absent")
}
