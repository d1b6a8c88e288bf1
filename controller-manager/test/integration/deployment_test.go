package integration

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/controller-manager/internal/controller/deployment"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/rollout"
)

func startWorkloads(e *env) {
	startReplicaSets(e)
	e.start("deployment", func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable {
		return deployment.New(lg, cs, f, deployment.Config{Workers: 2, Recorder: rec})
	})
}

func newDeployment(name string, replicas int32, image string) *appsv1.Deployment {
	return &appsv1.Deployment{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: template(name, image),
		},
	}
}

func (e *env) deploy(name string) *appsv1.Deployment {
	e.t.Helper()
	d, err := e.cs.AppsV1().Deployments(e.ns).Get(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// updateDeploy applies change to the Deployment, retrying conflicts.
func (e *env) updateDeploy(name string, change func(d *appsv1.Deployment)) {
	e.t.Helper()
	for attempt := 0; ; attempt++ {
		d := e.deploy(name)
		change(d)
		_, err := e.cs.AppsV1().Deployments(e.ns).Update(e.ctx, d)
		if err == nil {
			return
		}
		if !client.IsConflict(err) || attempt > 10 {
			e.t.Fatal(err)
		}
	}
}

func setImage(image, cause string) func(d *appsv1.Deployment) {
	return func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = image
		if cause != "" {
			if d.Metadata.Annotations == nil {
				d.Metadata.Annotations = map[string]string{}
			}
			d.Metadata.Annotations[rollout.ChangeCauseAnnotation] = cause
		}
	}
}

// waitRolledOut waits until skiffctl's rollout status would say
// "successfully rolled out" with every pod running image.
func (e *env) waitRolledOut(name, image string) *appsv1.Deployment {
	e.t.Helper()
	var d *appsv1.Deployment
	e.eventually("deployment "+name+" rolled out to "+image, func() (bool, string) {
		d = e.deploy(name)
		s := d.GetStatus()
		n := *d.GetSpec().Replicas
		ok := d.GetMetadata().GetGeneration() <= s.GetObservedGeneration() && s.GetUpdatedReplicas() == n &&
			s.GetReplicas() == n && s.GetAvailableReplicas() == n
		pods := e.activePods("app=" + name)
		for _, p := range pods {
			ok = ok && p.GetSpec().GetContainers()[0].GetImage() == image
		}
		return ok && len(pods) == int(n), fmt.Sprintf("status %v, %d pods", s, len(pods))
	})
	return d
}

// replicaSets lists the Deployment's ReplicaSets by name.
func (e *env) replicaSets(app string) map[string]*appsv1.ReplicaSet {
	e.t.Helper()
	l, err := e.cs.AppsV1().ReplicaSets(e.ns).List(e.ctx, client.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]*appsv1.ReplicaSet{}
	for _, rs := range l.GetItems() {
		out[rs.GetMetadata().GetName()] = rs
	}
	return out
}

// newRSOf is the ReplicaSet running the Deployment's template.
func (e *env) newRSOf(d *appsv1.Deployment) *appsv1.ReplicaSet {
	e.t.Helper()
	for _, rs := range e.replicaSets(d.GetMetadata().GetName()) {
		if rollout.EqualIgnoreHash(rs.GetSpec().GetTemplate(), d.GetSpec().GetTemplate()) {
			return rs
		}
	}
	e.t.Fatalf("no replicaset runs deployment %s's template", d.GetMetadata().GetName())
	return nil
}

func cond(d *appsv1.Deployment, t string) *appsv1.DeploymentCondition {
	for _, c := range d.GetStatus().GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

// undo does what skiffctl rollout undo --to-revision does
// (ctl/internal/app/rollout.go): copy that revision's template, without
// its pod-template-hash label, and its annotations into the Deployment.
func (e *env) undo(name string, revision string) {
	e.t.Helper()
	var target *appsv1.ReplicaSet
	for _, rs := range e.replicaSets(name) {
		if rs.GetMetadata().GetAnnotations()[rollout.RevisionAnnotation] == revision {
			target = rs
		}
	}
	if target == nil {
		e.t.Fatalf("no revision %s of deployment %s", revision, name)
	}
	skipped := rollout.NotCopiedAnnotations
	e.updateDeploy(name, func(d *appsv1.Deployment) {
		ann := map[string]string{}
		for k, v := range d.GetMetadata().GetAnnotations() {
			if skipped[k] {
				ann[k] = v
			}
		}
		for k, v := range target.GetMetadata().GetAnnotations() {
			if !skipped[k] {
				ann[k] = v
			}
		}
		d.Spec.Template = rollout.WithoutHash(target.GetSpec().GetTemplate())
		d.Metadata.Annotations = ann
	})
}

func TestDeploymentRollingUpdateAndUndo(t *testing.T) {
	e := newEnv(t)
	startWorkloads(e)
	e.fakeKubelet("app=web", 300*time.Millisecond)
	w := e.watchPods("app=web")
	if _, err := e.cs.AppsV1().Deployments(e.ns).Create(e.ctx, newDeployment("web", 4, "nginx:1.27")); err != nil {
		t.Fatal(err)
	}
	d := e.waitRolledOut("web", "nginx:1.27")
	rs1 := e.newRSOf(d)
	hash1 := rs1.GetMetadata().GetLabels()[rollout.PodTemplateHashLabel]
	if hash1 == "" || rs1.GetMetadata().GetName() != "web-"+hash1 || rs1.GetSpec().GetSelector().GetMatchLabels()[rollout.PodTemplateHashLabel] != hash1 {
		t.Errorf("replicaset %s: labels %v selector %v, want web-<pod-template-hash>", rs1.GetMetadata().GetName(),
			rs1.GetMetadata().GetLabels(), rs1.GetSpec().GetSelector())
	}
	if hash1 != rollout.ComputeHash(d.GetSpec().GetTemplate(), nil) {
		t.Errorf("pod-template-hash %s, want the template's hash %s", hash1, rollout.ComputeHash(d.GetSpec().GetTemplate(), nil))
	}
	if !controller.IsControlledBy(rs1.GetMetadata(), d.GetMetadata().GetUid()) {
		t.Errorf("replicaset ownerReferences %v", rs1.GetMetadata().GetOwnerReferences())
	}
	for _, p := range e.activePods("app=web") {
		if p.GetMetadata().GetLabels()[rollout.PodTemplateHashLabel] != hash1 {
			t.Errorf("pod %s labels %v lack pod-template-hash=%s", p.GetMetadata().GetName(), p.GetMetadata().GetLabels(), hash1)
		}
	}
	if got := d.GetMetadata().GetAnnotations()[rollout.RevisionAnnotation]; got != "1" {
		t.Errorf("deployment revision %q, want 1", got)
	}
	if c := cond(d, "Available"); c.GetStatus() != "True" || c.GetReason() != "MinimumReplicasAvailable" {
		t.Errorf("Available condition %v", c)
	}
	e.eventually("Progressing NewReplicaSetAvailable", func() (bool, string) {
		c := cond(e.deploy("web"), "Progressing")
		return c.GetStatus() == "True" && c.GetReason() == "NewReplicaSetAvailable" &&
			c.GetMessage() == fmt.Sprintf("ReplicaSet %q has successfully progressed.", "web-"+hash1), fmt.Sprint(c)
	})
	e.eventually("ScalingReplicaSet event", func() (bool, string) {
		evs := e.events("Deployment", "web")
		return slices.Contains(evs, "ScalingReplicaSet Scaled up replica set web-"+hash1+" to 4"), fmt.Sprint(evs)
	})

	// v1 -> v2: never fewer than 4 - maxUnavailable(25% of 4 = 1) ready
	// pods, never more than 4 + maxSurge(1) pods.
	e.eventually("watcher sees 4 ready pods", func() (bool, string) { return w.ready() == 4, fmt.Sprint(w.ready()) })
	w.arm()
	e.updateDeploy("web", setImage("nginx:1.28", "skiffctl set image deployment/web web=nginx:1.28"))
	d = e.waitRolledOut("web", "nginx:1.28")
	minReady, maxActive, _ := w.result()
	t.Logf("rolling update: at least %d ready pods, at most %d pods", minReady, maxActive)
	if minReady < 3 {
		t.Errorf("ready pods fell to %d during the rolling update, want at least 3", minReady)
	}
	if maxActive > 5 {
		t.Errorf("%d pods existed during the rolling update, want at most 5", maxActive)
	}
	rs2 := e.newRSOf(d)
	if rs2.GetMetadata().GetName() == rs1.GetMetadata().GetName() {
		t.Fatal("no new replicaset for the new template")
	}
	if a := rs2.GetMetadata().GetAnnotations(); a[rollout.RevisionAnnotation] != "2" || a[rollout.ChangeCauseAnnotation] != "skiffctl set image deployment/web web=nginx:1.28" {
		t.Errorf("new replicaset annotations %v, want revision 2 and the change-cause", a)
	}
	if got := d.GetMetadata().GetAnnotations()[rollout.RevisionAnnotation]; got != "2" {
		t.Errorf("deployment revision %q, want 2", got)
	}
	e.eventually("old replicaset at 0", func() (bool, string) {
		rs := e.replicaSets("web")[rs1.GetMetadata().GetName()]
		return *rs.GetSpec().Replicas == 0 && rs.GetStatus().GetReplicas() == 0, fmt.Sprint(rs.GetSpec(), rs.GetStatus())
	})
	e.eventually("scale-down events", func() (bool, string) {
		evs := e.events("Deployment", "web")
		return slices.Contains(evs, "ScalingReplicaSet Scaled down replica set web-"+hash1+" to 0") &&
			slices.ContainsFunc(evs, func(s string) bool {
				return strings.HasPrefix(s, "ScalingReplicaSet Scaled up replica set "+rs2.GetMetadata().GetName()+" to ")
			}), fmt.Sprint(evs)
	})

	// rollout undo (to revision 1): the old ReplicaSet comes back as
	// revision 3, the same pod-template-hash, within the same bounds.
	e.eventually("watcher sees 4 ready pods", func() (bool, string) { return w.ready() == 4, fmt.Sprint(w.ready()) })
	w = e.watchPods("app=web")
	e.eventually("new watcher sees 4 ready pods", func() (bool, string) { return w.ready() == 4, fmt.Sprint(w.ready()) })
	w.arm()
	e.undo("web", "1")
	d = e.waitRolledOut("web", "nginx:1.27")
	if minReady, maxActive, _ := w.result(); minReady < 3 || maxActive > 5 {
		t.Errorf("during undo: min ready %d (want >= 3), max pods %d (want <= 5)", minReady, maxActive)
	}
	rss := e.replicaSets("web")
	if len(rss) != 2 {
		t.Errorf("replicasets after undo: %v, want the two revisions", rss)
	}
	back := rss[rs1.GetMetadata().GetName()]
	if back == nil || *back.GetSpec().Replicas != 4 || back.GetMetadata().GetAnnotations()[rollout.RevisionAnnotation] != "3" {
		t.Errorf("after undo, replicaset %s = %v, want 4 replicas at revision 3", rs1.GetMetadata().GetName(), back)
	}
	if _, ok := back.GetMetadata().GetAnnotations()[rollout.ChangeCauseAnnotation]; ok {
		t.Errorf("revision 3 has change-cause %q, want none (revision 1 had none)", back.GetMetadata().GetAnnotations()[rollout.ChangeCauseAnnotation])
	}
	if got := d.GetMetadata().GetAnnotations()[rollout.RevisionAnnotation]; got != "3" {
		t.Errorf("deployment revision after undo %q, want 3", got)
	}
}

func TestDeploymentRecreate(t *testing.T) {
	e := newEnv(t)
	startWorkloads(e)
	e.fakeKubelet("app=db", 200*time.Millisecond)
	dep := newDeployment("db", 3, "postgres:16")
	dep.Spec.Strategy = &appsv1.DeploymentStrategy{Type: "Recreate"}
	if _, err := e.cs.AppsV1().Deployments(e.ns).Create(e.ctx, dep); err != nil {
		t.Fatal(err)
	}
	e.waitRolledOut("db", "postgres:16")
	w := e.watchPods("app=db")
	w.check = func(pods map[string]*corev1.Pod) string {
		images := map[string]bool{}
		for _, p := range pods {
			images[p.GetSpec().GetContainers()[0].GetImage()] = true
		}
		if len(images) > 1 {
			return fmt.Sprintf("old and new pods at once: %v", images)
		}
		return ""
	}
	e.eventually("watcher sees 3 ready pods", func() (bool, string) { return w.ready() == 3, fmt.Sprint(w.ready()) })
	w.arm()
	e.updateDeploy("db", setImage("postgres:17", ""))
	e.waitRolledOut("db", "postgres:17")
	if _, _, v := w.result(); len(v) > 0 {
		t.Errorf("Recreate ran old and new pods together: %v", v[0])
	}
}

func TestDeploymentScalePauseAndHistoryLimit(t *testing.T) {
	e := newEnv(t)
	startWorkloads(e)
	e.fakeKubelet("app=api", 100*time.Millisecond)
	dep := newDeployment("api", 2, "api:1")
	dep.Spec.RevisionHistoryLimit = new(int32(1))
	if _, err := e.cs.AppsV1().Deployments(e.ns).Create(e.ctx, dep); err != nil {
		t.Fatal(err)
	}
	e.waitRolledOut("api", "api:1")

	// The scale subresource.
	if _, err := e.cs.AppsV1().Deployments(e.ns).UpdateScale(e.ctx, "api", &appsv1.Scale{
		Metadata: &metav1.ObjectMeta{Name: "api", Namespace: e.ns}, Spec: &appsv1.ScaleSpec{Replicas: 5}}); err != nil {
		t.Fatal(err)
	}
	e.waitRolledOut("api", "api:1")

	for i := 2; i <= 4; i++ {
		e.updateDeploy("api", setImage(fmt.Sprintf("api:%d", i), ""))
		e.waitRolledOut("api", fmt.Sprintf("api:%d", i))
	}
	e.eventually("one old replicaset kept (revisionHistoryLimit 1)", func() (bool, string) {
		rss := e.replicaSets("api")
		var revs []string
		for _, rs := range rss {
			revs = append(revs, rs.GetMetadata().GetAnnotations()[rollout.RevisionAnnotation])
		}
		slices.Sort(revs)
		return slices.Equal(revs, []string{"3", "4"}), fmt.Sprint(revs)
	})

	// Paused: a template change does not roll out until resumed.
	e.updateDeploy("api", func(d *appsv1.Deployment) { d.Spec.Paused = true })
	e.eventually("Progressing DeploymentPaused", func() (bool, string) {
		c := cond(e.deploy("api"), "Progressing")
		return c.GetStatus() == "Unknown" && c.GetReason() == "DeploymentPaused", fmt.Sprint(c)
	})
	e.updateDeploy("api", setImage("api:5", ""))
	time.Sleep(time.Second)
	if rss := e.replicaSets("api"); len(rss) != 2 {
		t.Errorf("paused deployment made a replicaset: %d replicasets", len(rss))
	}
	e.updateDeploy("api", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	e.waitRolledOut("api", "api:5")
}

func TestDeploymentProgressDeadline(t *testing.T) {
	e := newEnv(t)
	startWorkloads(e)
	// No kubelet: the pods never become ready.
	dep := newDeployment("stuck", 2, "stuck:1")
	dep.Spec.ProgressDeadlineSeconds = new(int32(2))
	if _, err := e.cs.AppsV1().Deployments(e.ns).Create(e.ctx, dep); err != nil {
		t.Fatal(err)
	}
	e.eventually("ProgressDeadlineExceeded", func() (bool, string) {
		d := e.deploy("stuck")
		c := cond(d, "Progressing")
		return c.GetStatus() == "False" && c.GetReason() == "ProgressDeadlineExceeded" &&
			strings.HasSuffix(c.GetMessage(), "has timed out progressing."), fmt.Sprint(d.GetStatus())
	})
	if c := cond(e.deploy("stuck"), "Available"); c.GetStatus() != "False" || c.GetReason() != "MinimumReplicasUnavailable" {
		t.Errorf("Available condition %v, want False MinimumReplicasUnavailable", c)
	}
	// Readiness arriving later completes the rollout.
	for _, p := range e.activePods("app=stuck") {
		e.setReady(p.GetMetadata().GetName(), true)
	}
	e.eventually("NewReplicaSetAvailable", func() (bool, string) {
		c := cond(e.deploy("stuck"), "Progressing")
		return c.GetStatus() == "True" && c.GetReason() == "NewReplicaSetAvailable", fmt.Sprint(c)
	})
}
