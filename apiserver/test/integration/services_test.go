package integration

import (
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc"

	"skiff.dev/apiserver/apiservertest"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func nodePortService(name string) *corev1.Service {
	return &corev1.Service{Metadata: om(name), Spec: &corev1.ServiceSpec{Type: "NodePort",
		Selector: map[string]string{"app": name}, Ports: []*corev1.ServicePort{{Port: 80, TargetPort: "8080", Protocol: "TCP"}}}}
}

// createServices creates n NodePort services from workers goroutines spread
// over conns and returns them.
func createServices(t *testing.T, conns []grpc.ClientConnInterface, ns, prefix string, n, workers int) []*corev1.Service {
	t.Helper()
	ctx := ctxT(t)
	var mu sync.Mutex
	var out []*corev1.Service
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := corev1.NewServiceServiceClient(conns[w%len(conns)])
			for i := range next {
				s, err := c.Create(ctx, &corev1.ServiceRequest{Namespace: ns, Object: nodePortService(fmt.Sprintf("%s-%02d", prefix, i))})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				out = append(out, s)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("create service: %v", err)
	}
	return out
}

func checkDistinct(t *testing.T, svcs []*corev1.Service) {
	t.Helper()
	ips, ports := map[string]string{}, map[int32]string{}
	for _, s := range svcs {
		name := s.GetMetadata().GetName()
		ip := s.GetSpec().GetClusterIp()
		if ip == "" || len(s.GetSpec().GetClusterIps()) != 1 || s.GetSpec().GetClusterIps()[0] != ip {
			t.Errorf("%s: clusterIP %q clusterIPs %v", name, ip, s.GetSpec().GetClusterIps())
		}
		if other, ok := ips[ip]; ok {
			t.Errorf("clusterIP %s given to both %s and %s", ip, other, name)
		}
		ips[ip] = name
		np := s.GetSpec().GetPorts()[0].GetNodePort()
		if np < 30000 || np > 32767 {
			t.Errorf("%s: nodePort %d outside 30000-32767", name, np)
		}
		if other, ok := ports[np]; ok {
			t.Errorf("nodePort %d given to both %s and %s", np, other, name)
		}
		ports[np] = name
	}
}

// TestServiceAllocation: ClusterIPs and NodePorts are unique under
// concurrency, explicit requests for taken ones are refused, and deletion
// releases them.
func TestServiceAllocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "svc")
	svcs := createServices(t, []grpc.ClientConnInterface{e.conn}, ns, "web", 30, 10)
	if len(svcs) != 30 {
		t.Fatalf("created %d services, want 30", len(svcs))
	}
	checkDistinct(t, svcs)

	taken := svcs[0]
	path := "/api/v1/namespaces/" + ns + "/services"
	r := e.do(t, "POST", path, fmt.Sprintf(`{"metadata":{"name":"dup-ip"},"spec":{"clusterIP":%q,"ports":[{"port":80}]}}`, taken.Spec.ClusterIp), "")
	expectStatus(t, r, 422, "Invalid", "spec.clusterIP", "provided IP is already allocated")
	r = e.do(t, "POST", path, fmt.Sprintf(`{"metadata":{"name":"dup-port"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":%d}]}}`, taken.Spec.Ports[0].NodePort), "")
	expectStatus(t, r, 422, "Invalid", "spec.ports[0].nodePort", "provided port is already allocated")
	for _, n := range []string{"dup-ip", "dup-port"} {
		expectStatus(t, e.do(t, "GET", path+"/"+n, nil, ""), 404, "NotFound")
	}

	// Deleting releases the IP and the port for an explicit request.
	ip, port := taken.Spec.ClusterIp, taken.Spec.Ports[0].NodePort
	if r := e.do(t, "DELETE", path+"/"+taken.Metadata.Name, nil, ""); r.code != 200 {
		t.Fatalf("delete: %s", r)
	}
	r = e.do(t, "POST", path, fmt.Sprintf(`{"metadata":{"name":"reuse"},"spec":{"type":"NodePort","clusterIP":%q,"ports":[{"port":80,"nodePort":%d}]}}`, ip, port), "")
	if r.code != 201 || dig(r.json(t), "spec", "clusterIP") != ip {
		t.Fatalf("create with released IP %s and port %d: %s", ip, port, r)
	}
}

// TestServiceAllocationTwoAPIServers: two apiservers on one etcd never give
// the same ClusterIP or NodePort twice.
func TestServiceAllocationTwoAPIServers(t *testing.T) {
	t.Parallel()
	etcd := apiservertest.StartEtcd(t)
	a := newEnv(t, apiservertest.Options{EtcdServers: etcd})
	b := newEnv(t, apiservertest.Options{EtcdServers: etcd})
	ns := a.newNamespace(t, "svc2")
	eventually(t, "namespace visible to the second apiserver", func() error {
		_, err := corev1.NewNamespaceServiceClient(b.conn).Get(ctxT(t), &metav1.GetOptions{Name: ns})
		return err
	})
	svcs := createServices(t, []grpc.ClientConnInterface{a.conn, b.conn}, ns, "shared", 30, 10)
	checkDistinct(t, svcs)
	list, err := corev1.NewServiceServiceClient(b.conn).List(ctxT(t), &metav1.ListOptions{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 30 {
		t.Errorf("listed %d services, want 30", len(list.Items))
	}
	checkDistinct(t, list.Items)
}
