package validation

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// validTemplate is the pod template of the workload tests: labels
// app=web,tier=front and one container.
func validTemplate() *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{
			Name: "web", Image: "nginx:1.25", Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
		}}},
	}
}

func webSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{
		MatchLabels:      map[string]string{"app": "web"},
		MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "tier", Operator: "In", Values: []string{"front", "edge"}}},
	}
}

// Selector and template rules shared by ReplicaSet, Deployment, DaemonSet
// and Job; each kind's test runs them.
type workloadCase struct {
	name   string
	sel    func() *metav1.LabelSelector
	tmpl   func(t *corev1.PodTemplateSpec)
	suffix []string // errors, relative to spec
}

var workloadCases = []workloadCase{
	{"no selector", func() *metav1.LabelSelector { return nil }, nil, []string{"selector" + required}},
	{"empty selector", func() *metav1.LabelSelector { return &metav1.LabelSelector{} }, nil, []string{"selector" + invalid}},
	{"selector not matching template", func() *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	}, nil, []string{"template.metadata.labels" + invalid}},
	{"expression not matching template", func() *metav1.LabelSelector {
		s := webSelector()
		s.MatchExpressions[0].Operator = "NotIn"
		return s
	}, nil, []string{"template.metadata.labels" + invalid}},
	{"template without labels", webSelector, func(t *corev1.PodTemplateSpec) { t.Metadata = nil }, []string{"template.metadata.labels" + invalid}},
	{"bad selector operator", func() *metav1.LabelSelector {
		s := webSelector()
		s.MatchExpressions[0].Operator = "in"
		return s
	}, nil, []string{"selector.matchExpressions[0].operator" + notSupported}},
	{"In without values", func() *metav1.LabelSelector {
		s := webSelector()
		s.MatchExpressions[0].Values = nil
		return s
	}, nil, []string{"selector.matchExpressions[0].values" + required}},
	{"Exists with values", func() *metav1.LabelSelector {
		s := webSelector()
		s.MatchExpressions[0].Operator = "Exists"
		return s
	}, nil, []string{"selector.matchExpressions[0].values" + forbidden}},
	{"bad selector key", func() *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app!": "web"}}
	}, nil, []string{"selector.matchLabels" + invalid}},
	{"no template", webSelector, nil, []string{"template" + required}},
	{"template without image", webSelector, func(t *corev1.PodTemplateSpec) { t.Spec.Containers[0].Image = "" },
		[]string{"template.spec.containers[0].image" + required}},
	{"bad template label", webSelector, func(t *corev1.PodTemplateSpec) { t.Metadata.Labels["bad key"] = "x" },
		[]string{"template.metadata.labels" + invalid}},
}

// runWorkloadCases checks the shared rules on a kind: build makes a valid,
// defaulted object with the given selector and template.
func runWorkloadCases(t *testing.T, validate func(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) []string) {
	t.Helper()
	for _, tc := range workloadCases {
		t.Run(tc.name, func(t *testing.T) {
			var tmpl *corev1.PodTemplateSpec
			if tc.name != "no template" {
				tmpl = validTemplate()
				if tc.tmpl != nil {
					tc.tmpl(tmpl)
				}
			}
			got := validate(tc.sel(), tmpl)
			want := make([]string, len(tc.suffix))
			for i, s := range tc.suffix {
				want[i] = "spec." + s
			}
			expectStrings(t, got, want)
		})
	}
}

// expectStrings compares "field: Type" lists in any order.
func expectStrings(t *testing.T, got, want []string) {
	t.Helper()
	g := strings.Join(sortedCopy(got), "\n")
	w := strings.Join(sortedCopy(want), "\n")
	if g != w {
		t.Errorf("errors:\n got  %q\n want %q", got, want)
	}
}

// ---------------------------------------------------------------- ReplicaSet

func validReplicaSet() *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: "web-7d9f8c6b5", Namespace: "default"},
		Spec:     &appsv1.ReplicaSetSpec{Replicas: new(int32(3)), Selector: webSelector(), Template: validTemplate()},
	}
}

func TestDefaultReplicaSet(t *testing.T) {
	rs := &appsv1.ReplicaSet{Spec: &appsv1.ReplicaSetSpec{Template: validTemplate()}}
	DefaultReplicaSet(rs)
	if rs.Spec.GetReplicas() != 1 {
		t.Errorf("replicas = %d, want 1", rs.Spec.GetReplicas())
	}
	if rp := rs.Spec.Template.Spec.RestartPolicy; rp != "Always" {
		t.Errorf("template restartPolicy = %q, want Always", rp)
	}
	if pp := rs.Spec.Template.Spec.Containers[0].ImagePullPolicy; pp != "IfNotPresent" {
		t.Errorf("template imagePullPolicy = %q, want IfNotPresent", pp)
	}
	expectIdempotent(t, validReplicaSet(), DefaultReplicaSet)
	expectIdempotent(t, &appsv1.ReplicaSet{}, DefaultReplicaSet)
}

func TestValidateReplicaSet(t *testing.T) {
	runWorkloadCases(t, func(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) []string {
		rs := validReplicaSet()
		rs.Spec.Selector, rs.Spec.Template = sel, tmpl
		DefaultReplicaSet(rs)
		return errStrings(ValidateReplicaSet(rs))
	})
	tests := []struct {
		name   string
		mutate func(rs *appsv1.ReplicaSet)
		want   []string
	}{
		{"valid", func(rs *appsv1.ReplicaSet) {}, nil},
		{"zero replicas", func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = new(int32(0)) }, nil},
		{"negative replicas", func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = new(int32(-1)) }, []string{"spec.replicas" + invalid}},
		{"negative minReadySeconds", func(rs *appsv1.ReplicaSet) { rs.Spec.MinReadySeconds = -1 }, []string{"spec.minReadySeconds" + invalid}},
		{"restartPolicy Never", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.RestartPolicy = "Never" },
			[]string{"spec.template.spec.restartPolicy" + notSupported}},
		{"activeDeadlineSeconds", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.ActiveDeadlineSeconds = new(int32(30)) },
			[]string{"spec.template.spec.activeDeadlineSeconds" + invalid}},
		{"no spec", func(rs *appsv1.ReplicaSet) { rs.Spec = nil }, []string{"spec" + required}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := validReplicaSet()
			DefaultReplicaSet(rs)
			tt.mutate(rs)
			expectErrors(t, ValidateReplicaSet(rs), tt.want...)
		})
	}
}

func TestValidateReplicaSetMessages(t *testing.T) {
	rs := validReplicaSet()
	DefaultReplicaSet(rs)
	rs.Spec.Replicas = new(int32(-1))
	rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	errs := ValidateReplicaSet(rs)
	expectDetail(t, errs, "spec.replicas", "spec.replicas: Invalid value: -1: must be greater than or equal to 0")
	expectDetail(t, errs, "spec.template.metadata.labels",
		`spec.template.metadata.labels: Invalid value: "app=web,tier=front": selector does not match template labels`)
}

func TestValidateReplicaSetUpdate(t *testing.T) {
	old := validReplicaSet()
	DefaultReplicaSet(old)
	tests := []struct {
		name   string
		mutate func(rs *appsv1.ReplicaSet)
		want   []string
	}{
		{"scaled", func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = new(int32(5)) }, nil},
		{"template changed", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" }, nil},
		{"selector changed", func(rs *appsv1.ReplicaSet) { rs.Spec.Selector.MatchLabels["tier"] = "front" }, []string{"spec.selector" + invalid}},
		{"invalid update", func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = new(int32(-2)) }, []string{"spec.replicas" + invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newObj := proto.Clone(old).(*appsv1.ReplicaSet)
			tt.mutate(newObj)
			expectErrors(t, ValidateReplicaSetUpdate(newObj, old), tt.want...)
		})
	}

	t.Run("status", func(t *testing.T) {
		newObj := proto.Clone(old).(*appsv1.ReplicaSet)
		newObj.Status = &appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 2, FullyLabeledReplicas: 3}
		expectErrors(t, ValidateReplicaSetStatusUpdate(newObj, old))
		newObj.Status = &appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 3, AvailableReplicas: -1}
		expectErrors(t, ValidateReplicaSetStatusUpdate(newObj, old), "status.readyReplicas"+invalid, "status.availableReplicas"+invalid)
	})
}

// ---------------------------------------------------------------- Deployment

func validDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec:     &appsv1.DeploymentSpec{Replicas: new(int32(3)), Selector: webSelector(), Template: validTemplate()},
	}
}

func TestDefaultDeployment(t *testing.T) {
	d := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Template: validTemplate()}}
	DefaultDeployment(d)
	s := d.Spec
	checks := []struct {
		what      string
		got, want any
	}{
		{"replicas", s.GetReplicas(), int32(1)},
		{"strategy", s.Strategy.GetType(), "RollingUpdate"},
		{"maxSurge", s.Strategy.GetRollingUpdate().GetMaxSurge(), "25%"},
		{"maxUnavailable", s.Strategy.GetRollingUpdate().GetMaxUnavailable(), "25%"},
		{"revisionHistoryLimit", s.GetRevisionHistoryLimit(), int32(10)},
		{"progressDeadlineSeconds", s.GetProgressDeadlineSeconds(), int32(600)},
		{"template restartPolicy", s.Template.Spec.RestartPolicy, "Always"},
		{"template terminationGracePeriodSeconds", s.Template.Spec.GetTerminationGracePeriodSeconds(), int32(30)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	expectIdempotent(t, d, DefaultDeployment)
	expectIdempotent(t, &appsv1.Deployment{}, DefaultDeployment)

	partial := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Strategy: &appsv1.DeploymentStrategy{
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: "1"}}}}
	DefaultDeployment(partial)
	if ru := partial.Spec.Strategy.RollingUpdate; ru.MaxSurge != "1" || ru.MaxUnavailable != "25%" {
		t.Errorf("rollingUpdate = %v, want maxSurge kept at 1 and maxUnavailable 25%%", ru)
	}
	recreate := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Strategy: &appsv1.DeploymentStrategy{Type: "Recreate"}}}
	DefaultDeployment(recreate)
	if recreate.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("Recreate got a rollingUpdate: %v", recreate.Spec.Strategy.RollingUpdate)
	}
}

func TestValidateDeployment(t *testing.T) {
	runWorkloadCases(t, func(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) []string {
		d := validDeployment()
		d.Spec.Selector, d.Spec.Template = sel, tmpl
		DefaultDeployment(d)
		return errStrings(ValidateDeployment(d))
	})
	ru := func(d *appsv1.Deployment) *appsv1.RollingUpdateDeployment { return d.Spec.Strategy.RollingUpdate }
	const rup = "spec.strategy.rollingUpdate"
	tests := []struct {
		name   string
		mutate func(d *appsv1.Deployment)
		want   []string
	}{
		{"valid", func(d *appsv1.Deployment) {}, nil},
		{"integer surge", func(d *appsv1.Deployment) { ru(d).MaxSurge, ru(d).MaxUnavailable = "2", "0" }, nil},
		{"surge over 100%", func(d *appsv1.Deployment) { ru(d).MaxSurge = "200%" }, nil},
		{"recreate", func(d *appsv1.Deployment) { d.Spec.Strategy = &appsv1.DeploymentStrategy{Type: "Recreate"} }, nil},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = new(int32(-1)) }, []string{"spec.replicas" + invalid}},
		{"bad strategy type", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, []string{"spec.strategy.type" + notSupported}},
		{"recreate with rollingUpdate", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "Recreate" }, []string{rup + forbidden}},
		{"rolling without parameters", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate = nil }, []string{rup + required}},
		{"both zero", func(d *appsv1.Deployment) { ru(d).MaxSurge, ru(d).MaxUnavailable = "0", "0%" }, []string{rup + ".maxUnavailable" + invalid}},
		{"negative surge", func(d *appsv1.Deployment) { ru(d).MaxSurge = "-1" }, []string{rup + ".maxSurge" + invalid}},
		{"bad percent", func(d *appsv1.Deployment) { ru(d).MaxUnavailable = "25.5%" }, []string{rup + ".maxUnavailable" + invalid}},
		{"word", func(d *appsv1.Deployment) { ru(d).MaxSurge = "some" }, []string{rup + ".maxSurge" + invalid}},
		{"unavailable over 100%", func(d *appsv1.Deployment) { ru(d).MaxUnavailable = "101%" }, []string{rup + ".maxUnavailable" + invalid}},
		{"negative revisionHistoryLimit", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = new(int32(-1)) },
			[]string{"spec.revisionHistoryLimit" + invalid}},
		{"negative minReadySeconds", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = -5 }, []string{"spec.minReadySeconds" + invalid}},
		{"deadline not above minReadySeconds", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 },
			[]string{"spec.progressDeadlineSeconds" + invalid}},
		{"negative deadline", func(d *appsv1.Deployment) { d.Spec.ProgressDeadlineSeconds = new(int32(-1)) },
			[]string{"spec.progressDeadlineSeconds" + invalid}},
		{"restartPolicy OnFailure", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = "OnFailure" },
			[]string{"spec.template.spec.restartPolicy" + notSupported}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDeployment()
			DefaultDeployment(d)
			tt.mutate(d)
			expectErrors(t, ValidateDeployment(d), tt.want...)
		})
	}
}

func TestValidateDeploymentUpdate(t *testing.T) {
	old := validDeployment()
	DefaultDeployment(old)
	tests := []struct {
		name   string
		mutate func(d *appsv1.Deployment)
		want   []string
	}{
		{"new image", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" }, nil},
		{"paused", func(d *appsv1.Deployment) { d.Spec.Paused = true }, nil},
		{"selector changed", func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		},
			[]string{"spec.selector" + invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newObj := proto.Clone(old).(*appsv1.Deployment)
			tt.mutate(newObj)
			errs := ValidateDeploymentUpdate(newObj, old)
			expectErrors(t, errs, tt.want...)
			if len(tt.want) > 0 {
				expectDetail(t, errs, "spec.selector", `spec.selector: Invalid value: "app=web": field is immutable`)
			}
		})
	}

	t.Run("status", func(t *testing.T) {
		newObj := proto.Clone(old).(*appsv1.Deployment)
		newObj.Status = &appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}
		expectErrors(t, ValidateDeploymentStatusUpdate(newObj, old))
		newObj.Status = &appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 4, UnavailableReplicas: -1}
		expectErrors(t, ValidateDeploymentStatusUpdate(newObj, old), "status.updatedReplicas"+invalid, "status.unavailableReplicas"+invalid)
	})
}

// ---------------------------------------------------------------- DaemonSet

func validDaemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		Metadata: &metav1.ObjectMeta{Name: "node-agent", Namespace: "kube-system"},
		Spec:     &appsv1.DaemonSetSpec{Selector: webSelector(), Template: validTemplate()},
	}
}

func TestDefaultDaemonSet(t *testing.T) {
	ds := validDaemonSet()
	DefaultDaemonSet(ds)
	s := ds.Spec
	if s.UpdateStrategy.GetType() != "RollingUpdate" || s.UpdateStrategy.RollingUpdate.GetMaxUnavailable() != "1" ||
		s.UpdateStrategy.RollingUpdate.GetMaxSurge() != "0" {
		t.Errorf("updateStrategy = %v, want RollingUpdate maxUnavailable 1 maxSurge 0", s.UpdateStrategy)
	}
	if s.GetRevisionHistoryLimit() != 10 {
		t.Errorf("revisionHistoryLimit = %d, want 10", s.GetRevisionHistoryLimit())
	}
	if s.Template.Spec.DnsPolicy != "ClusterFirst" {
		t.Errorf("template dnsPolicy = %q, want ClusterFirst", s.Template.Spec.DnsPolicy)
	}
	expectIdempotent(t, validDaemonSet(), DefaultDaemonSet)
	expectIdempotent(t, &appsv1.DaemonSet{}, DefaultDaemonSet)
	onDelete := &appsv1.DaemonSet{Spec: &appsv1.DaemonSetSpec{UpdateStrategy: &appsv1.DaemonSetUpdateStrategy{Type: "OnDelete"}}}
	DefaultDaemonSet(onDelete)
	if onDelete.Spec.UpdateStrategy.RollingUpdate != nil {
		t.Errorf("OnDelete got a rollingUpdate")
	}
}

func TestValidateDaemonSet(t *testing.T) {
	runWorkloadCases(t, func(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) []string {
		ds := validDaemonSet()
		ds.Spec.Selector, ds.Spec.Template = sel, tmpl
		DefaultDaemonSet(ds)
		return errStrings(ValidateDaemonSet(ds))
	})
	ru := func(ds *appsv1.DaemonSet) *appsv1.RollingUpdateDaemonSet { return ds.Spec.UpdateStrategy.RollingUpdate }
	const rup = "spec.updateStrategy.rollingUpdate"
	tests := []struct {
		name   string
		mutate func(ds *appsv1.DaemonSet)
		want   []string
	}{
		{"valid", func(ds *appsv1.DaemonSet) {}, nil},
		{"surge instead", func(ds *appsv1.DaemonSet) { ru(ds).MaxUnavailable, ru(ds).MaxSurge = "0", "10%" }, nil},
		{"on delete", func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy = &appsv1.DaemonSetUpdateStrategy{Type: "OnDelete"} }, nil},
		{"bad strategy", func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.Type = "Recreate" }, []string{"spec.updateStrategy.type" + notSupported}},
		{"both set", func(ds *appsv1.DaemonSet) { ru(ds).MaxSurge = "1" }, []string{rup + ".maxSurge" + invalid}},
		{"both zero", func(ds *appsv1.DaemonSet) { ru(ds).MaxUnavailable = "0%" }, []string{rup + ".maxUnavailable" + invalid}},
		{"surge over 100%", func(ds *appsv1.DaemonSet) { ru(ds).MaxUnavailable, ru(ds).MaxSurge = "0", "150%" }, []string{rup + ".maxSurge" + invalid}},
		{"negative unavailable", func(ds *appsv1.DaemonSet) { ru(ds).MaxUnavailable = "-1" }, []string{rup + ".maxUnavailable" + invalid}},
		{"negative revisionHistoryLimit", func(ds *appsv1.DaemonSet) { ds.Spec.RevisionHistoryLimit = new(int32(-1)) },
			[]string{"spec.revisionHistoryLimit" + invalid}},
		{"activeDeadlineSeconds", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.ActiveDeadlineSeconds = new(int32(5)) },
			[]string{"spec.template.spec.activeDeadlineSeconds" + invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := validDaemonSet()
			DefaultDaemonSet(ds)
			tt.mutate(ds)
			expectErrors(t, ValidateDaemonSet(ds), tt.want...)
		})
	}
}

func TestValidateDaemonSetUpdate(t *testing.T) {
	old := validDaemonSet()
	DefaultDaemonSet(old)
	newObj := proto.Clone(old).(*appsv1.DaemonSet)
	newObj.Spec.Template.Spec.Containers[0].Image = "nginx:1.26"
	expectErrors(t, ValidateDaemonSetUpdate(newObj, old))
	newObj.Spec.Selector.MatchLabels["app"] = "agent"
	newObj.Spec.Template.Metadata.Labels["app"] = "agent"
	expectErrors(t, ValidateDaemonSetUpdate(newObj, old), "spec.selector"+invalid)

	status := proto.Clone(old).(*appsv1.DaemonSet)
	status.Status = &appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, NumberReady: -1}
	expectErrors(t, ValidateDaemonSetStatusUpdate(status, old), "status.numberReady"+invalid)
}

func TestValidateScale(t *testing.T) {
	expectErrors(t, ValidateScale(&appsv1.Scale{Spec: &appsv1.ScaleSpec{Replicas: 0}}))
	expectErrors(t, ValidateScale(&appsv1.Scale{Spec: &appsv1.ScaleSpec{Replicas: -1}}), "spec.replicas"+invalid)
}
