package app

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

const tableManifests = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: 10.96.100.10
  selector: {app: db}
  ports:
  - {port: 5432, targetPort: "5432"}
---
apiVersion: v1
kind: Service
metadata: {name: dns}
spec:
  clusterIP: None
  selector: {app: dns}
  ports:
  - {port: 53, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  clusterIP: 10.96.100.11
  externalIPs: [192.0.2.10]
  selector: {app: web}
  ports:
  - {name: http, port: 80, nodePort: 30080}
  - {name: https, port: 443, nodePort: 30443}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets:
- addresses: [{ip: 10.244.1.5}, {ip: 10.244.2.7}]
  ports: [{name: http, port: 8080}, {name: metrics, port: 9090}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: dns}
subsets:
- addresses: [{ip: 10.244.3.3}]
  ports: [{name: dns, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: db}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
type: Opaque
stringData: {user: admin, password: hunter2}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
`

// tablesEnv has one object or more of every kind whose table kubectl
// prints in its own way; status is written as the controllers would.
func tablesEnv(t *testing.T) *env {
	e := newEnv(t)
	e.must("apply", "-f", e.file("objects.yaml", tableManifests))
	cs := e.client()
	ctx := e.ctx()
	now := time.Now()

	type node struct {
		name    string
		labels  map[string]string
		ready   string // condition status; "" for no condition
		cordon  bool
		version string
	}
	for _, n := range []node{
		{"n1", map[string]string{"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": ""}, "True", false, "v0.1.0"},
		{"n2", nil, "False", true, "v0.1.0"},
		{"n3", map[string]string{"kubernetes.io/role": "worker"}, "", false, ""},
	} {
		obj := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: n.name, Labels: n.labels}, Spec: &corev1.NodeSpec{Unschedulable: n.cordon}}
		created, err := cs.CoreV1().Nodes().Create(ctx, obj)
		if err != nil {
			t.Fatal(err)
		}
		created.Status = &corev1.NodeStatus{
			NodeInfo:  &corev1.NodeSystemInfo{KubeletVersion: n.version},
			Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: "10.0.0." + n.name[1:]}},
		}
		if n.ready != "" {
			created.Status.Conditions = []*corev1.NodeCondition{{Type: "Ready", Status: n.ready}}
		}
		if n.name == "n1" {
			created.Status.NodeInfo.OsImage = "Debian GNU/Linux 12 (bookworm)"
			created.Status.NodeInfo.KernelVersion = "6.1.0-28-amd64"
			created.Status.NodeInfo.ContainerRuntimeVersion = "containerd://2.0.0"
		}
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, created); err != nil {
			t.Fatal(err)
		}
	}

	tmpl := func(app string) *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: app, Image: app + ":1.0"}}}}
	}
	rs, err := cs.AppsV1().ReplicaSets("default").Create(ctx, &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: "web-7c9d4e"},
		Spec: &appsv1.ReplicaSetSpec{Replicas: new(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: tmpl("web")}})
	if err != nil {
		t.Fatal(err)
	}
	rs.Status = &appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, FullyLabeledReplicas: 3}
	if _, err := cs.AppsV1().ReplicaSets("default").UpdateStatus(ctx, rs); err != nil {
		t.Fatal(err)
	}

	dsTmpl := tmpl("proxy")
	dsTmpl.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	ds, err := cs.AppsV1().DaemonSets("default").Create(ctx, &appsv1.DaemonSet{
		Metadata: &metav1.ObjectMeta{Name: "proxy"},
		Spec:     &appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "proxy"}}, Template: dsTmpl}})
	if err != nil {
		t.Fatal(err)
	}
	ds.Status = &appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 1, UpdatedNumberScheduled: 2, NumberAvailable: 1, NumberUnavailable: 1}
	if _, err := cs.AppsV1().DaemonSets("default").UpdateStatus(ctx, ds); err != nil {
		t.Fatal(err)
	}

	for _, j := range []struct {
		name        string
		completions int32
		status      *batchv1.JobStatus
	}{
		{"batch", 3, &batchv1.JobStatus{StartTime: timestamppb.New(now.Add(-2 * day)), Active: 1, Succeeded: 0}},
		{"pi", 1, &batchv1.JobStatus{StartTime: timestamppb.New(now.Add(-3 * day)), CompletionTime: timestamppb.New(now.Add(-3*day + 3*time.Hour)), Succeeded: 1,
			Conditions: []*batchv1.JobCondition{{Type: "Complete", Status: "True"}}}},
	} {
		jt := tmpl(j.name)
		jt.Spec.RestartPolicy = "Never"
		job, err := cs.BatchV1().Jobs("default").Create(ctx, &batchv1.Job{Metadata: &metav1.ObjectMeta{Name: j.name},
			Spec: &batchv1.JobSpec{Completions: &j.completions, Template: jt}})
		if err != nil {
			t.Fatal(err)
		}
		job.Status = j.status
		if _, err := cs.BatchV1().Jobs("default").UpdateStatus(ctx, job); err != nil {
			t.Fatalf("job %s status: %v", j.name, err)
		}
	}
	return e
}

func TestGetGoldenTables(t *testing.T) {
	e := tablesEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "nodes"}, `NAME   STATUS                        ROLES                  AGE   VERSION
n1     Ready                         control-plane,master   AGE   v0.1.0
n2     NotReady,SchedulingDisabled   <none>                 AGE   v0.1.0
n3     Unknown                       worker                 AGE
`},
		{[]string{"get", "no", "n1", "-o", "wide"}, `NAME   STATUS   ROLES                  AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE                         KERNEL-VERSION   CONTAINER-RUNTIME
n1     Ready    control-plane,master   AGE   v0.1.0    10.0.0.1      <none>        Debian GNU/Linux 12 (bookworm)   6.1.0-28-amd64   containerd://2.0.0
`},
		{[]string{"get", "services"}, `NAME   TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)                      AGE
db     ClusterIP   10.96.100.10   <none>        5432/TCP                     AGE
dns    ClusterIP   None           <none>        53/UDP                       AGE
web    NodePort    10.96.100.11   192.0.2.10    80:30080/TCP,443:30443/TCP   AGE
`},
		{[]string{"get", "svc", "db", "-o", "wide"}, `NAME   TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)    AGE   SELECTOR
db     ClusterIP   10.96.100.10   <none>        5432/TCP   AGE   app=db
`},
		{[]string{"get", "ep"}, `NAME   ENDPOINTS                                                     AGE
db     <none>                                                        AGE
dns    10.244.3.3:53                                                 AGE
web    10.244.1.5:8080,10.244.2.7:8080,10.244.1.5:9090 + 1 more...   AGE
`},
		{[]string{"get", "rs"}, `NAME         DESIRED   CURRENT   READY   AGE
web-7c9d4e   3         3         2       AGE
`},
		{[]string{"get", "replicasets", "-o", "wide"}, `NAME         DESIRED   CURRENT   READY   AGE   CONTAINERS   IMAGES    SELECTOR
web-7c9d4e   3         3         2       AGE   web          web:1.0   app=web
`},
		{[]string{"get", "ds"}, `NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            AGE
proxy   2         2         1       2            1           kubernetes.io/os=linux   AGE
`},
		{[]string{"get", "jobs"}, `NAME    STATUS     COMPLETIONS   DURATION   AGE
batch   Running    0/3           2d         AGE
pi      Complete   1/1           3h         AGE
`},
		{[]string{"get", "secrets"}, `NAME    TYPE     DATA   AGE
creds   Opaque   2      AGE
`},
		{[]string{"get", "ns"}, `NAME              STATUS   AGE
default           Active   AGE
kube-node-lease   Active   AGE
kube-public       Active   AGE
kube-system       Active   AGE
team-a            Active   AGE
`},
		{[]string{"get", "ds,rs", "-o", "name"}, "daemonset.apps/proxy\nreplicaset.apps/web-7c9d4e\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if got := normAge(e.must(tt.args...)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestGetYAMLRoundTrip applies every kind's -o yaml back: nothing changes.
func TestGetYAMLRoundTrip(t *testing.T) {
	e := tablesEnv(t)
	for _, kind := range []string{"nodes", "services", "endpoints", "replicasets", "daemonsets", "jobs", "secrets", "namespaces"} {
		t.Run(kind, func(t *testing.T) {
			y := e.must("get", kind, "-o", "yaml")
			out, errOut, code := e.runIn(y, "apply", "-f", "-")
			if code != 0 || strings.Contains(out, "configured") || strings.Contains(out, "created") || !strings.Contains(out, "unchanged") {
				t.Errorf("apply of get %s -o yaml: code %d\nstdout: %s\nstderr: %s", kind, code, out, errOut)
			}
		})
	}
}

func TestGetWatchRows(t *testing.T) {
	e := newEnv(t)
	e.createPods(podOn("default", "a", "", "", ""))
	r := e.start("get", "pods", "-w", "--output-watch-events")
	plain := e.start("get", "pods", "--watch")
	r.waitFor("Pending")
	plain.waitFor("Pending")

	cs := e.client()
	e.createPods(podOn("default", "b", "", "", ""))
	r.waitFor("ADDED   b")
	b, err := cs.CoreV1().Pods("default").Get(e.ctx(), "b")
	if err != nil {
		t.Fatal(err)
	}
	b.Status.Phase = "Running"
	if _, err := cs.CoreV1().Pods("default").UpdateStatus(e.ctx(), b); err != nil {
		t.Fatal(err)
	}
	r.waitFor("Running")
	if err := cs.CoreV1().Pods("default").Delete(e.ctx(), "b", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.waitFor("DELETED")
	if code := r.stop(); code != 0 {
		t.Errorf("get -w exit %d", code)
	}
	// The plain watch prints the same rows, without the EVENT column.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if out, _ := plain.output(); strings.Count(out, "Running") == 2 || time.Now().After(deadline) {
			break
		}
	}
	if code := plain.stop(); code != 0 {
		t.Errorf("get --watch exit %d", code)
	}
	out, _ := r.output()
	// The header once, then one row per change, each aligned on its own
	// as kubectl prints them.
	want := `EVENT   NAME   READY   STATUS    RESTARTS   AGE
ADDED   a      0/1     Pending   0          AGE
ADDED   b     0/1   Pending   0     AGE
MODIFIED   b     0/1   Running   0     AGE
DELETED   b     0/1   Running   0     AGE
`
	if got := normAge(out); got != want {
		t.Errorf("get -w --output-watch-events printed\n%s\nwant\n%s", got, want)
	}
	want = `NAME   READY   STATUS    RESTARTS   AGE
a      0/1     Pending   0          AGE
b     0/1   Pending   0     AGE
b     0/1   Running   0     AGE
b     0/1   Running   0     AGE
`
	if got, _ := plain.output(); normAge(got) != want {
		t.Errorf("get --watch printed\n%s\nwant\n%s", normAge(got), want)
	}
}

func TestDescribeKinds(t *testing.T) {
	e := tablesEnv(t)
	tests := []struct {
		args  []string
		lines []string
	}{
		{[]string{"describe", "node", "n2"}, []string{"Name:               n2\n", "Roles:              <none>\n", "Unschedulable:      true\n",
			"  Ready   False   <unset>            <unset>", "  InternalIP:  10.0.0.2\n", "Events:                       <none>\n"}},
		{[]string{"describe", "svc", "web"}, []string{"Type:                     NodePort\n", "IP:                       10.96.100.11\n",
			"External IPs:             192.0.2.10\n", "Port:                     http  80/TCP\n", "NodePort:                 https  30443/TCP\n",
			"Endpoints:                10.244.1.5:8080,10.244.2.7:8080\n", "External Traffic Policy:  Cluster\n"}},
		{[]string{"describe", "rs/web-7c9d4e"}, []string{"Selector:     app=web\n", "Replicas:     3 current / 3 desired\n",
			"Pods Status:  0 Running / 0 Waiting / 0 Succeeded / 0 Failed\n", "    Image:         web:1.0\n"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out := e.must(tt.args...)
			for _, l := range tt.lines {
				if !strings.Contains(out, l) {
					t.Errorf("lacks %q:\n%s", l, out)
				}
			}
		})
	}
}
