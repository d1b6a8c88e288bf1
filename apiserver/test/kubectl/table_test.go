package kubectl

import (
	"bufio"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/apiserver/apiservertest"
	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// tableEnv is an apiserver holding one object or more of every kind, with
// the status its controllers and kubelet would write, and a kubectl for it.
type tableEnv struct {
	srv  *apiservertest.Server
	conn *grpc.ClientConn
	k    *apiservertest.Kubectl
}

func tableCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newTableEnv(t *testing.T) *tableEnv {
	t.Helper()
	srv := apiservertest.Start(t, apiservertest.Options{})
	conn, err := grpc.NewClient(srv.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e := &tableEnv{srv: srv, conn: conn, k: apiservertest.NewKubectl(t, srv)}
	e.fixtures(t)
	return e
}

func tableMeta(name string, labels map[string]string) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels}
}

func tableInt32(i int32) *int32 { return &i }

func tableTemplate(app string, containers ...*corev1.Container) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: &corev1.PodSpec{Containers: containers}}
}

func tableContainer(name, image string) *corev1.Container {
	return &corev1.Container{Name: name, Image: image}
}

// must fails the test on err.
func tableMust[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func (e *tableEnv) fixtures(t *testing.T) {
	t.Helper()
	ctx := tableCtx(t)

	nodes := corev1.NewNodeServiceClient(e.conn)
	n := tableMust[*corev1.Node](t, "create node")(nodes.Create(ctx, &corev1.NodeRequest{Object: &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}}}}))
	n.Status = &corev1.NodeStatus{
		Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True"}},
		Addresses:  []*corev1.NodeAddress{{Type: "InternalIP", Address: "10.0.0.11"}},
		NodeInfo:   &corev1.NodeSystemInfo{KubeletVersion: "v1.32.3", OsImage: "Debian GNU/Linux 13 (trixie)", KernelVersion: "6.12.0", ContainerRuntimeVersion: "containerd://2.1.0"},
	}
	tableMust[*corev1.Node](t, "node status")(nodes.UpdateStatus(ctx, &corev1.NodeRequest{Object: n}))

	pods := corev1.NewPodServiceClient(e.conn)
	p := tableMust[*corev1.Pod](t, "create pod")(pods.Create(ctx, &corev1.PodRequest{Object: &corev1.Pod{
		Metadata: tableMeta("web-1", map[string]string{"app": "web"}),
		Spec:     &corev1.PodSpec{NodeName: "node-1", Containers: []*corev1.Container{tableContainer("web", "nginx:1.27")}}}}))
	p.Status = &corev1.PodStatus{Phase: "Running", PodIp: "10.244.1.5", PodIps: []*corev1.PodIP{{Ip: "10.244.1.5"}},
		Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True"}},
		ContainerStatuses: []*corev1.ContainerStatus{{Name: "web", Ready: true, Image: "nginx:1.27",
			State: &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: timestamppb.Now()}}}}}
	tableMust[*corev1.Pod](t, "pod status")(pods.UpdateStatus(ctx, &corev1.PodRequest{Object: p}))
	p = tableMust[*corev1.Pod](t, "create pod")(pods.Create(ctx, &corev1.PodRequest{Object: &corev1.Pod{
		Metadata: tableMeta("setup", nil),
		Spec:     &corev1.PodSpec{NodeName: "node-1", RestartPolicy: "Never", Containers: []*corev1.Container{tableContainer("setup", "busybox:1.36")}}}}))
	p.Status = &corev1.PodStatus{Phase: "Succeeded", PodIp: "10.244.1.6",
		ContainerStatuses: []*corev1.ContainerStatus{{Name: "setup", Image: "busybox:1.36",
			State: &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}}
	tableMust[*corev1.Pod](t, "pod status")(pods.UpdateStatus(ctx, &corev1.PodRequest{Object: p}))

	services := corev1.NewServiceServiceClient(e.conn)
	tableMust[*corev1.Service](t, "create service")(services.Create(ctx, &corev1.ServiceRequest{Object: &corev1.Service{
		Metadata: tableMeta("db", nil),
		Spec: &corev1.ServiceSpec{ClusterIp: "10.96.100.10", Selector: map[string]string{"app": "db"},
			Ports: []*corev1.ServicePort{{Port: 5432}}}}}))
	tableMust[*corev1.Service](t, "create service")(services.Create(ctx, &corev1.ServiceRequest{Object: &corev1.Service{
		Metadata: tableMeta("web", nil),
		Spec: &corev1.ServiceSpec{Type: "NodePort", ClusterIp: "10.96.100.11", Selector: map[string]string{"app": "web"},
			Ports: []*corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}}}}}))

	tableMust[*corev1.Endpoints](t, "create endpoints")(corev1.NewEndpointsServiceClient(e.conn).Create(ctx, &corev1.EndpointsRequest{Object: &corev1.Endpoints{
		Metadata: tableMeta("web", nil),
		Subsets: []*corev1.EndpointSubset{{Addresses: []*corev1.EndpointAddress{{Ip: "10.244.1.5"}},
			Ports: []*corev1.EndpointPort{{Name: "http", Port: 8080}}}}}}))

	now := timestamppb.Now()
	tableMust[*corev1.Event](t, "create event")(corev1.NewEventServiceClient(e.conn).Create(ctx, &corev1.EventRequest{Object: &corev1.Event{
		Metadata:       tableMeta("web-1.1", nil),
		InvolvedObject: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", FieldPath: "spec.containers{web}"},
		Reason:         "Pulled", Message: `Container image "nginx:1.27" already present on machine`, Type: "Normal",
		Source: &corev1.EventSource{Component: "kubelet", Host: "node-1"}, FirstTimestamp: now, LastTimestamp: now, Count: 1}}))

	tableMust[*corev1.ConfigMap](t, "create configmap")(corev1.NewConfigMapServiceClient(e.conn).Create(ctx, &corev1.ConfigMapRequest{Object: &corev1.ConfigMap{
		Metadata: tableMeta("settings", nil), Data: map[string]string{"mode": "fast", "level": "3"}}}))
	tableMust[*corev1.Secret](t, "create secret")(corev1.NewSecretServiceClient(e.conn).Create(ctx, &corev1.SecretRequest{Object: &corev1.Secret{
		Metadata: tableMeta("creds", nil), Type: "Opaque", Data: map[string][]byte{"user": []byte("admin"), "password": []byte("hunter2")}}}))
	tableMust[*corev1.ServiceAccount](t, "create serviceaccount")(corev1.NewServiceAccountServiceClient(e.conn).Create(ctx, &corev1.ServiceAccountRequest{Object: &corev1.ServiceAccount{
		Metadata: tableMeta("builder", nil)}}))
	tableMust[*corev1.Namespace](t, "create namespace")(corev1.NewNamespaceServiceClient(e.conn).Create(ctx, &corev1.NamespaceRequest{Object: &corev1.Namespace{
		Metadata: &metav1.ObjectMeta{Name: "team-a"}}}))
	tableMust[*corev1.ConfigMap](t, "create configmap")(corev1.NewConfigMapServiceClient(e.conn).Create(ctx, &corev1.ConfigMapRequest{Object: &corev1.ConfigMap{
		Metadata: &metav1.ObjectMeta{Name: "team-settings", Namespace: "team-a"}}}))

	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	deployments := appsv1.NewDeploymentServiceClient(e.conn)
	d := tableMust[*appsv1.Deployment](t, "create deployment")(deployments.Create(ctx, &appsv1.DeploymentRequest{Object: &appsv1.Deployment{
		Metadata: tableMeta("web", nil),
		Spec:     &appsv1.DeploymentSpec{Replicas: tableInt32(3), Selector: sel, Template: tableTemplate("web", tableContainer("web", "nginx:1.27"), tableContainer("log", "busybox:1.36"))}}}))
	d.Status = &appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}
	tableMust[*appsv1.Deployment](t, "deployment status")(deployments.UpdateStatus(ctx, &appsv1.DeploymentRequest{Object: d}))

	replicaSets := appsv1.NewReplicaSetServiceClient(e.conn)
	rs := tableMust[*appsv1.ReplicaSet](t, "create replicaset")(replicaSets.Create(ctx, &appsv1.ReplicaSetRequest{Object: &appsv1.ReplicaSet{
		Metadata: tableMeta("web-5d8f7c", nil),
		Spec:     &appsv1.ReplicaSetSpec{Replicas: tableInt32(3), Selector: sel, Template: tableTemplate("web", tableContainer("web", "nginx:1.27"))}}}))
	rs.Status = &appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2}
	tableMust[*appsv1.ReplicaSet](t, "replicaset status")(replicaSets.UpdateStatus(ctx, &appsv1.ReplicaSetRequest{Object: rs}))

	daemonSets := appsv1.NewDaemonSetServiceClient(e.conn)
	dsTemplate := tableTemplate("agent", tableContainer("agent", "skiff/agent:1"))
	dsTemplate.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	ds := tableMust[*appsv1.DaemonSet](t, "create daemonset")(daemonSets.Create(ctx, &appsv1.DaemonSetRequest{Object: &appsv1.DaemonSet{
		Metadata: tableMeta("agent", nil),
		Spec:     &appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}, Template: dsTemplate}}}))
	ds.Status = &appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 1, UpdatedNumberScheduled: 2, NumberAvailable: 1}
	tableMust[*appsv1.DaemonSet](t, "daemonset status")(daemonSets.UpdateStatus(ctx, &appsv1.DaemonSetRequest{Object: ds}))

	jobs := batchv1.NewJobServiceClient(e.conn)
	jobTemplate := tableTemplate("migrate", tableContainer("migrate", "skiff/migrate:2"))
	jobTemplate.Spec.RestartPolicy = "Never"
	j := tableMust[*batchv1.Job](t, "create job")(jobs.Create(ctx, &batchv1.JobRequest{Object: &batchv1.Job{
		Metadata: tableMeta("migrate", nil),
		Spec:     &batchv1.JobSpec{Completions: tableInt32(1), Template: jobTemplate}}}))
	start := time.Now().Add(-time.Hour)
	j.Status = &batchv1.JobStatus{Succeeded: 1, StartTime: timestamppb.New(start), CompletionTime: timestamppb.New(start.Add(42 * time.Second)),
		Conditions: []*batchv1.JobCondition{{Type: "Complete", Status: "True"}}}
	tableMust[*batchv1.Job](t, "job status")(jobs.UpdateStatus(ctx, &batchv1.JobRequest{Object: j}))

	holder := "node-1"
	tableMust[*coordinationv1.Lease](t, "create lease")(coordinationv1.NewLeaseServiceClient(e.conn).Create(ctx, &coordinationv1.LeaseRequest{Object: &coordinationv1.Lease{
		Metadata: tableMeta("skiff-scheduler", nil), Spec: &coordinationv1.LeaseSpec{HolderIdentity: proto.String(holder), LeaseDurationSeconds: tableInt32(15)}}}))
}

// ageCell is what an AGE (or LAST SEEN) cell of a fixture made moments ago
// looks like: kubectl prints seconds, or minutes on a very slow machine.
var ageCell = regexp.MustCompile(`^([0-9]+s|[0-9]+m[0-9]*s?)$`)

// columnGap splits an expected row into cells: they are written with two
// spaces or more between them.
var columnGap = regexp.MustCompile(`\s{2,}`)

// assertTable checks kubectl's table output against want, row by row and
// cell by cell: the header's column starts cut every row (so the columns
// must be aligned as kubectl aligns them), and a want cell "<age>" takes
// any recent age.
func assertTable(t *testing.T, got, want string) {
	t.Helper()
	gotLines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	wantLines := strings.Split(strings.TrimSpace(want), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("kubectl printed %d lines, want %d:\n%s\nwant:\n%s", len(gotLines), len(wantLines), got, want)
	}
	header := gotLines[0]
	var starts []int
	for i := range header {
		if header[i] != ' ' && (i == 0 || strings.HasPrefix(header[max(0, i-3):i], "   ")) {
			starts = append(starts, i)
		}
	}
	for li, line := range gotLines {
		var cells []string
		for ci, s := range starts {
			end := len(line)
			if ci+1 < len(starts) {
				end = min(starts[ci+1], len(line))
			}
			if s > len(line) {
				cells = append(cells, "")
				continue
			}
			if ci+1 < len(starts) && end > 0 && end < len(line) && line[end-1] != ' ' {
				t.Fatalf("line %d is not aligned with the header:\n%s", li+1, got)
			}
			cells = append(cells, strings.TrimSpace(line[s:end]))
		}
		wantCells := columnGap.Split(strings.TrimSpace(wantLines[li]), -1)
		if len(cells) != len(wantCells) {
			t.Fatalf("line %d has cells %q, want %q; output:\n%s", li+1, cells, wantCells, got)
		}
		for ci := range cells {
			ok := cells[ci] == wantCells[ci]
			if wantCells[ci] == "<age>" {
				ok = ageCell.MatchString(cells[ci])
			}
			if !ok {
				t.Errorf("line %d cell %d = %q, want %q; output:\n%s", li+1, ci+1, cells[ci], wantCells[ci], got)
			}
		}
	}
}

func TestGetPrintsServerSideTables(t *testing.T) {
	e := newTableEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "pods"}, `
NAME    READY   STATUS      RESTARTS   AGE
setup   0/1     Completed   0          <age>
web-1   1/1     Running     0          <age>`},
		{[]string{"get", "pods", "-o", "wide"}, `
NAME    READY   STATUS      RESTARTS   AGE     IP           NODE     NOMINATED NODE   READINESS GATES
setup   0/1     Completed   0          <age>   10.244.1.6   node-1   <none>           <none>
web-1   1/1     Running     0          <age>   10.244.1.5   node-1   <none>           <none>`},
		{[]string{"get", "nodes"}, `
NAME     STATUS   ROLES           AGE     VERSION
node-1   Ready    control-plane   <age>   v1.32.3`},
		{[]string{"get", "nodes", "-o", "wide"}, `
NAME     STATUS   ROLES           AGE     VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE                       KERNEL-VERSION   CONTAINER-RUNTIME
node-1   Ready    control-plane   <age>   v1.32.3   10.0.0.11     <none>        Debian GNU/Linux 13 (trixie)   6.12.0           containerd://2.1.0`},
		{[]string{"get", "services"}, `
NAME   TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)        AGE
db     ClusterIP   10.96.100.10   <none>        5432/TCP       <age>
web    NodePort    10.96.100.11   <none>        80:30080/TCP   <age>`},
		{[]string{"get", "svc", "-o", "wide"}, `
NAME   TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)        AGE     SELECTOR
db     ClusterIP   10.96.100.10   <none>        5432/TCP       <age>   app=db
web    NodePort    10.96.100.11   <none>        80:30080/TCP   <age>   app=web`},
		{[]string{"get", "endpoints"}, `
NAME   ENDPOINTS         AGE
web    10.244.1.5:8080   <age>`},
		{[]string{"get", "events"}, `
LAST SEEN   TYPE     REASON   OBJECT      MESSAGE
<age>       Normal   Pulled   pod/web-1   Container image "nginx:1.27" already present on machine`},
		{[]string{"get", "events", "-o", "wide"}, `
LAST SEEN   TYPE     REASON   OBJECT      SUBOBJECT              SOURCE             MESSAGE                                                    FIRST SEEN   COUNT   NAME
<age>       Normal   Pulled   pod/web-1   spec.containers{web}   kubelet, node-1    Container image "nginx:1.27" already present on machine   <age>        1       web-1.1`},
		{[]string{"get", "configmaps"}, `
NAME       DATA   AGE
settings   2      <age>`},
		{[]string{"get", "secrets"}, `
NAME    TYPE     DATA   AGE
creds   Opaque   2      <age>`},
		{[]string{"get", "serviceaccounts"}, `
NAME      SECRETS   AGE
builder   0         <age>`},
		{[]string{"get", "namespaces"}, `
NAME              STATUS   AGE
default           Active   <age>
kube-node-lease   Active   <age>
kube-public       Active   <age>
kube-system       Active   <age>
team-a            Active   <age>`},
		{[]string{"get", "replicasets"}, `
NAME         DESIRED   CURRENT   READY   AGE
web-5d8f7c   3         3         2       <age>`},
		{[]string{"get", "rs", "-o", "wide"}, `
NAME         DESIRED   CURRENT   READY   AGE     CONTAINERS   IMAGES       SELECTOR
web-5d8f7c   3         3         2       <age>   web          nginx:1.27   app=web`},
		{[]string{"get", "deployments"}, `
NAME   READY   UP-TO-DATE   AVAILABLE   AGE
web    2/3     3            2           <age>`},
		{[]string{"get", "deploy", "-o", "wide"}, `
NAME   READY   UP-TO-DATE   AVAILABLE   AGE     CONTAINERS   IMAGES                    SELECTOR
web    2/3     3            2           <age>   web,log      nginx:1.27,busybox:1.36   app=web`},
		{[]string{"get", "daemonsets"}, `
NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            AGE
agent   2         2         1       2            1           kubernetes.io/os=linux   <age>`},
		{[]string{"get", "ds", "-o", "wide"}, `
NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            AGE     CONTAINERS   IMAGES          SELECTOR
agent   2         2         1       2            1           kubernetes.io/os=linux   <age>   agent        skiff/agent:1   app=agent`},
		{[]string{"get", "endpoints", "-o", "wide"}, `
NAME   ENDPOINTS         AGE
web    10.244.1.5:8080   <age>`},
		{[]string{"get", "jobs"}, `
NAME      STATUS     COMPLETIONS   DURATION   AGE
migrate   Complete   1/1           42s        <age>`},
		{[]string{"get", "leases"}, `
NAME              HOLDER   AGE
skiff-scheduler   node-1   <age>`},
		{[]string{"get", "pod", "web-1"}, `
NAME    READY   STATUS    RESTARTS   AGE
web-1   1/1     Running   0          <age>`},
		{[]string{"get", "configmaps", "-A"}, `
NAMESPACE   NAME            DATA   AGE
default     settings        2      <age>
team-a      team-settings   0      <age>`},
		{[]string{"get", "pods", "--show-labels"}, `
NAME    READY   STATUS      RESTARTS   AGE     LABELS
setup   0/1     Completed   0          <age>   <none>
web-1   1/1     Running     0          <age>   app=web`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, stderr, err := e.k.Run("", tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if stderr != "" {
				t.Errorf("kubectl wrote to stderr: %s", stderr)
			}
			assertTable(t, out, tt.want)
		})
	}
}

// assertRow checks one printed row, cells apart by two spaces or more, as
// a watch prints them (each event's row aligned on its own).
func assertRow(t *testing.T, got, want string) {
	t.Helper()
	g, w := columnGap.Split(strings.TrimSpace(got), -1), columnGap.Split(strings.TrimSpace(want), -1)
	ok := len(g) == len(w)
	for i := 0; ok && i < len(g); i++ {
		ok = g[i] == w[i] || w[i] == "<age>" && ageCell.MatchString(g[i])
	}
	if !ok {
		t.Errorf("kubectl printed %q, want %q", got, want)
	}
}

func TestGetMoreForms(t *testing.T) {
	e := newTableEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "pods", "-A", "-o", "wide"}, `
NAMESPACE   NAME    READY   STATUS      RESTARTS   AGE     IP           NODE     NOMINATED NODE   READINESS GATES
default     setup   0/1     Completed   0          <age>   10.244.1.6   node-1   <none>           <none>
default     web-1   1/1     Running     0          <age>   10.244.1.5   node-1   <none>           <none>`},
		{[]string{"get", "events", "-A"}, `
NAMESPACE   LAST SEEN   TYPE     REASON   OBJECT      MESSAGE
default     <age>       Normal   Pulled   pod/web-1   Container image "nginx:1.27" already present on machine`},
		{[]string{"get", "deployments,replicasets"}, `
NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   2/3     3            2           <age>

NAME                         DESIRED   CURRENT   READY   AGE
replicaset.apps/web-5d8f7c   3         3         2       <age>`},
		{[]string{"get", "all"}, `
NAME        READY   STATUS      RESTARTS   AGE
pod/setup   0/1     Completed   0          <age>
pod/web-1   1/1     Running     0          <age>

NAME         TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)        AGE
service/db   ClusterIP   10.96.100.10   <none>        5432/TCP       <age>
service/web  NodePort    10.96.100.11   <none>        80:30080/TCP   <age>

NAME                   DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            AGE
daemonset.apps/agent   2         2         1       2            1           kubernetes.io/os=linux   <age>

NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   2/3     3            2           <age>

NAME                         DESIRED   CURRENT   READY   AGE
replicaset.apps/web-5d8f7c   3         3         2       <age>

NAME                STATUS     COMPLETIONS   DURATION   AGE
job.batch/migrate   Complete   1/1           42s        <age>`},
		{[]string{"get", "pods", "--sort-by=.metadata.name", "-o", "wide"}, `
NAME    READY   STATUS      RESTARTS   AGE     IP           NODE     NOMINATED NODE   READINESS GATES
setup   0/1     Completed   0          <age>   10.244.1.6   node-1   <none>           <none>
web-1   1/1     Running     0          <age>   10.244.1.5   node-1   <none>           <none>`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, stderr, err := e.k.Run("", tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if stderr != "" {
				t.Errorf("kubectl wrote to stderr: %s", stderr)
			}
			if strings.Contains(tt.want, "\n\n") {
				// Two kinds: two tables, each aligned on its own.
				gotParts, wantParts := strings.Split(out, "\n\n"), strings.Split(strings.TrimSpace(tt.want), "\n\n")
				if len(gotParts) != len(wantParts) {
					t.Fatalf("kubectl printed %d tables, want %d:\n%s", len(gotParts), len(wantParts), out)
				}
				for i := range gotParts {
					assertTable(t, gotParts[i], wantParts[i])
				}
				return
			}
			assertTable(t, out, tt.want)
		})
	}

	t.Run("get jobs -o wide", func(t *testing.T) {
		j := tableMust[*batchv1.Job](t, "get job")(batchv1.NewJobServiceClient(e.conn).Get(tableCtx(t), &metav1.GetOptions{Namespace: "default", Name: "migrate"}))
		assertTable(t, e.k.MustRun("get", "jobs", "-o", "wide"), `
NAME      STATUS     COMPLETIONS   DURATION   AGE     CONTAINERS   IMAGES            SELECTOR
migrate   Complete   1/1           42s        <age>   migrate      skiff/migrate:2   batch.kubernetes.io/controller-uid=`+j.GetMetadata().GetUid())
	})

	t.Run("get -o yaml", func(t *testing.T) {
		out := e.k.MustRun("get", "configmap", "settings", "-o", "yaml")
		want := regexp.MustCompile(`^apiVersion: v1
data:
  level: "3"
  mode: fast
kind: ConfigMap
metadata:
  creationTimestamp: "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"
  name: settings
  namespace: default
  resourceVersion: "[0-9]+"
  uid: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
$`)
		if !want.MatchString(out) {
			t.Errorf("kubectl get -o yaml printed\n%s\nwant it to match\n%s", out, want)
		}
		out = e.k.MustRun("get", "configmaps", "-n", "team-a", "-o", "yaml")
		want = regexp.MustCompile(`^apiVersion: v1
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    creationTimestamp: "[-0-9T:]+Z"
    name: team-settings
    namespace: team-a
    resourceVersion: "[0-9]+"
    uid: [-0-9a-f]{36}
kind: List
metadata:
  resourceVersion: ""
$`)
		if !want.MatchString(out) {
			t.Errorf("kubectl get -o yaml of a list printed\n%s\nwant it to match\n%s", out, want)
		}
	})

	t.Run("label", func(t *testing.T) {
		if out := e.k.MustRun("label", "pod", "web-1", "tier=frontend"); out != "pod/web-1 labeled\n" {
			t.Errorf("kubectl label printed %q, want %q", out, "pod/web-1 labeled\n")
		}
		assertTable(t, e.k.MustRun("get", "pods", "-l", "tier=frontend", "--show-labels"), `
NAME    READY   STATUS    RESTARTS   AGE     LABELS
web-1   1/1     Running   0          <age>   app=web,tier=frontend`)
		if out := e.k.MustRun("label", "pod", "web-1", "tier-"); out != "pod/web-1 unlabeled\n" {
			t.Errorf("kubectl label tier- printed %q, want %q", out, "pod/web-1 unlabeled\n")
		}
		out, stderr, err := e.k.Run("", "get", "pods", "-l", "tier=frontend")
		if err != nil || out != "" || stderr != "No resources found in default namespace.\n" {
			t.Errorf("get after unlabel: err %v, stdout %q, stderr %q", err, out, stderr)
		}
	})
}

// TestGetWatch: kubectl get -w prints the table, then a row for every
// change the server's Table watch sends.
func TestGetWatch(t *testing.T) {
	e := newTableEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, tc := range []struct {
		args    []string
		initial []string
		prefix  string
		name    string
	}{
		{[]string{"get", "configmaps", "-w"}, []string{"NAME       DATA   AGE", "settings   2      <age>"}, "", "extra-1"},
		{[]string{"get", "configmaps", "-w", "--output-watch-events", "-A"}, []string{
			"EVENT   NAMESPACE   NAME       DATA   AGE",
			"ADDED   default   settings   2      <age>",
			"ADDED   team-a   team-settings   0      <age>"}, "ADDED   default   ", "extra-2"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := e.k.Command(ctx, tc.args...)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 100)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			})
			next := func() string {
				t.Helper()
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("kubectl get -w ended; stderr: %s", stderr.String())
					}
					return l
				case <-time.After(2 * time.Minute):
					t.Fatalf("kubectl get -w printed nothing more; stderr: %s", stderr.String())
				}
				return ""
			}
			for _, want := range tc.initial {
				assertRow(t, next(), want)
			}

			cms := corev1.NewConfigMapServiceClient(e.conn)
			name := tc.name
			created := tableMust[*corev1.ConfigMap](t, "create configmap")(cms.Create(ctx, &corev1.ConfigMapRequest{Object: &corev1.ConfigMap{
				Metadata: tableMeta(name, nil), Data: map[string]string{"a": "1"}}}))
			assertRow(t, next(), tc.prefix+name+"   1   <age>")
			created.Data["b"] = "2"
			tableMust[*corev1.ConfigMap](t, "update configmap")(cms.Update(ctx, &corev1.ConfigMapRequest{Object: created}))
			assertRow(t, next(), strings.Replace(tc.prefix, "ADDED", "MODIFIED", 1)+name+"   2   <age>")
			tableMust[*corev1.ConfigMap](t, "delete configmap")(cms.Delete(ctx, &metav1.DeleteOptions{Namespace: "default", Name: name}))
			assertRow(t, next(), strings.Replace(tc.prefix, "ADDED", "DELETED", 1)+name+"   2   <age>")
			if stderr.Len() > 0 {
				t.Errorf("kubectl get -w wrote to stderr: %s", stderr.String())
			}
		})
	}
}
