package registry

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/apierrors"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/validation/field"
)

type podResource = Resource[*corev1.Pod, *corev1.PodList, corev1.PodWatchEvent, *corev1.PodRequest]

// PodServer adds the pod subresources, binding and log, to the generic verbs.
type PodServer struct {
	*podResource
	// Logs streams a container's log from the node that runs it.
	Logs func(ctx context.Context, pod *corev1.Pod, opts *corev1.PodLogOptions, w func([]byte) error) error
}

var _ corev1.PodServiceServer = (*PodServer)(nil)

// podGracePeriod is how long a deleted pod has to stop: none when it never
// reached a node or has finished, else the request's or the pod's own period.
func podGracePeriod(p *corev1.Pod, requested *int64) (int64, bool) {
	if p.GetSpec().GetNodeName() == "" {
		return 0, false
	}
	switch p.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return 0, false
	}
	grace := int64(30)
	if g := p.GetSpec().TerminationGracePeriodSeconds; g != nil {
		grace = int64(*g)
	}
	if requested != nil {
		grace = *requested
	}
	if grace < 0 {
		grace = 0
	}
	return grace, true
}

func podFields(p *corev1.Pod) map[string]string {
	return map[string]string{
		"spec.nodeName":            p.GetSpec().GetNodeName(),
		"spec.restartPolicy":       p.GetSpec().GetRestartPolicy(),
		"spec.schedulerName":       p.GetSpec().GetSchedulerName(),
		"spec.serviceAccountName":  p.GetSpec().GetServiceAccountName(),
		"status.phase":             p.GetStatus().GetPhase(),
		"status.podIP":             p.GetStatus().GetPodIp(),
		"status.nominatedNodeName": p.GetStatus().GetNominatedNodeName(),
	}
}

var podFieldLabels = []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
	"spec.serviceAccountName", "status.phase", "status.podIP", "status.nominatedNodeName"}

func preparePodCreate(p *corev1.Pod) {
	p.Status = &corev1.PodStatus{Phase: "Pending"}
}

// Bind assigns a pod to a node, once: the scheduler's only write to pods.
func (s *PodServer) Bind(ctx context.Context, req *corev1.BindingRequest) (b *corev1.Binding, err error) {
	defer s.observe("bind", s.deps.Now(), &err)
	b = req.GetObject()
	if b == nil {
		return nil, apierrors.BadRequest("the request body must be a Binding object")
	}
	name := req.GetName()
	if name == "" {
		name = b.GetMetadata().GetName()
	}
	if m := b.GetMetadata(); m.GetName() != "" && m.GetName() != name {
		return nil, apierrors.BadRequest("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name)
	}
	node := b.GetTarget().GetName()
	if node == "" {
		return nil, apierrors.Invalid("Binding", name, field.ErrorList{field.Required(field.NewPath("target", "name"), "the node to bind to")})
	}
	if k := b.GetTarget().GetKind(); k != "" && k != "Node" {
		return nil, apierrors.Invalid("Binding", name, field.ErrorList{field.NotSupported(field.NewPath("target", "kind"), k, []string{"Node"})})
	}
	given := b.GetMetadata().GetResourceVersion()
	uid := b.GetMetadata().GetUid()
	_, err = s.guaranteedUpdate(ctx, req.GetNamespace(), name, given, func(old *corev1.Pod) (*corev1.Pod, error) {
		if uid != "" && old.GetMetadata().GetUid() != uid {
			return nil, apierrors.Conflict("pods/binding", name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", uid, old.GetMetadata().GetUid()))
		}
		if old.GetMetadata().GetDeletionTimestamp() != nil {
			return nil, apierrors.Conflict("pods/binding", name, "pod is being deleted, cannot be assigned to a host")
		}
		if cur := old.GetSpec().GetNodeName(); cur != "" {
			return nil, apierrors.Conflict("pods/binding", name, fmt.Sprintf("pod %s is already assigned to node %q", name, cur))
		}
		p := proto.Clone(old).(*corev1.Pod)
		p.Spec.NodeName = node
		if p.Status == nil {
			p.Status = &corev1.PodStatus{}
		}
		setPodCondition(p.Status, &corev1.PodCondition{Type: "PodScheduled", Status: "True", LastTransitionTime: s.now()})
		return p, nil
	}, trustedUpdate, false)
	if err != nil {
		return nil, err
	}
	b.ApiVersion, b.Kind = "v1", "Binding"
	return b, nil
}

func setPodCondition(st *corev1.PodStatus, c *corev1.PodCondition) {
	for i, cur := range st.Conditions {
		if cur.Type == c.Type {
			if cur.Status == c.Status {
				c.LastTransitionTime = cur.LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// Log streams a container's log through the node's kubelet. The container
// defaults to the pod's only one; Logs gets the options with it set.
func (s *PodServer) Log(opts *corev1.PodLogOptions, stream corev1.PodService_LogServer) error {
	ctx := stream.Context()
	if errs := validatePodLogOptions(opts); len(errs) > 0 {
		return apierrors.Invalid("PodLogOptions", opts.GetName(), errs)
	}
	pod, _, err := s.get(ctx, opts.GetNamespace(), opts.GetName())
	if err != nil {
		return err
	}
	container, err := logContainer(pod, opts.GetContainer())
	if err != nil {
		return err
	}
	if pod.GetSpec().GetNodeName() == "" {
		return apierrors.BadRequest("pod %s/%s is not scheduled to a node yet: no logs", opts.GetNamespace(), opts.GetName())
	}
	if s.Logs == nil {
		return apierrors.Unavailable("pod logs are not available: no kubelet connection configured")
	}
	opts = proto.Clone(opts).(*corev1.PodLogOptions)
	opts.Container = container
	return s.Logs(ctx, pod, opts, func(b []byte) error { return stream.Send(httpBody(b)) })
}

// ExecTarget finds the pod and container an exec request is for, with
// Log's rules for the container (the only one when none is named), and
// checks the pod is on a node.
func (s *PodServer) ExecTarget(ctx context.Context, namespace, name, container string) (*corev1.Pod, string, error) {
	pod, _, err := s.get(ctx, namespace, name)
	if err != nil {
		return nil, "", err
	}
	container, err = logContainer(pod, container)
	if err != nil {
		return nil, "", err
	}
	if err := runsOnNode(pod, "exec into", "exec into a container in"); err != nil {
		return nil, "", err
	}
	return pod, container, nil
}

// PortForwardTarget finds the pod a port-forward request is for and
// checks it runs on a node.
func (s *PodServer) PortForwardTarget(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	pod, _, err := s.get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	if err := runsOnNode(pod, "forward to", "port-forward to"); err != nil {
		return nil, err
	}
	return pod, nil
}

// runsOnNode refuses a stream to a pod that is not on a node, or has
// completed: what says what could not be done.
func runsOnNode(pod *corev1.Pod, unscheduled, completed string) error {
	ns, name := pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName()
	if pod.GetSpec().GetNodeName() == "" {
		return apierrors.BadRequest("pod %s/%s is not scheduled to a node yet: nothing to %s", ns, name, unscheduled)
	}
	switch pod.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return apierrors.BadRequest("cannot %s a completed pod; current phase is %s", completed, pod.GetStatus().GetPhase())
	}
	return nil
}

// validatePodLogOptions checks the numbers as Kubernetes does.
func validatePodLogOptions(o *corev1.PodLogOptions) field.ErrorList {
	var errs field.ErrorList
	if o.TailLines != nil && o.GetTailLines() < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), o.GetTailLines(), "must be greater than or equal to 0"))
	}
	if o.LimitBytes != nil && o.GetLimitBytes() < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), o.GetLimitBytes(), "must be greater than 0"))
	}
	if o.SinceSeconds != nil && o.GetSinceSeconds() < 1 {
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), o.GetSinceSeconds(), "must be greater than 0"))
	}
	return errs
}

// logContainer is the container whose log is asked for: the one named,
// which must be one of the pod's (init containers included), or the pod's
// only container. The messages are Kubernetes'.
func logContainer(pod *corev1.Pod, name string) (string, error) {
	var names, inits []string
	for _, c := range pod.GetSpec().GetContainers() {
		names = append(names, c.GetName())
	}
	for _, c := range pod.GetSpec().GetInitContainers() {
		inits = append(inits, c.GetName())
	}
	podName := pod.GetMetadata().GetName()
	if name == "" {
		if len(names) == 1 {
			return names[0], nil
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", podName, names)
		if len(inits) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: %v", inits)
		}
		return "", apierrors.BadRequest("%s", msg)
	}
	if slices.Contains(names, name) || slices.Contains(inits, name) {
		return name, nil
	}
	return "", apierrors.BadRequest("container %s is not valid for pod %s", name, podName)
}
