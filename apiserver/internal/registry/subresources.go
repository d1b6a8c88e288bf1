package registry

import (
	"context"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/apierrors"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/validation/field"
)

func httpBody(b []byte) *httpbody.HttpBody {
	return &httpbody.HttpBody{ContentType: "text/plain", Data: b}
}

// scalable is a kind with spec.replicas and a selector: ReplicaSet, Deployment.
type scalable interface {
	proto.Message
	GetMetadata() *metav1.ObjectMeta
}

// ScaleAccess reads and writes a kind's replicas for the /scale subresource.
type ScaleAccess[T scalable] struct {
	Replicas    func(T) (spec, status int32)
	SetReplicas func(T, int32)
	Selector    func(T) *metav1.LabelSelector
}

type scaleServer[T scalable, L proto.Message, EV any, R request[T]] struct {
	*Resource[T, L, EV, R]
	access ScaleAccess[T]
}

func (s *scaleServer[T, L, EV, R]) scaleOf(obj T) *appsv1.Scale {
	m := obj.GetMetadata()
	spec, status := s.access.Replicas(obj)
	return &appsv1.Scale{
		ApiVersion: "autoscaling/v1", Kind: "Scale",
		Metadata: &metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), Uid: m.GetUid(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp()},
		Spec:   &appsv1.ScaleSpec{Replicas: spec},
		Status: &appsv1.ScaleStatus{Replicas: status, Selector: labels.FormatLabelSelector(s.access.Selector(obj))},
	}
}

// GetScale reads the replicas of a Deployment or ReplicaSet.
func (s *scaleServer[T, L, EV, R]) GetScale(ctx context.Context, opts *metav1.GetOptions) (sc *appsv1.Scale, err error) {
	defer s.observe("get_scale", s.deps.Now(), &err)
	obj, _, err := s.get(ctx, opts.GetNamespace(), opts.GetName())
	if err != nil {
		return nil, err
	}
	return s.scaleOf(obj), nil
}

// validScaleReplicas checks the one field a Scale write may change.
func validScaleReplicas(name string, want int32) error {
	if want < 0 {
		return apierrors.Invalid("Scale", name, field.ErrorList{
			field.Invalid(field.NewPath("spec", "replicas"), want, "must be greater than or equal to 0")})
	}
	return nil
}

// UpdateScale sets the replicas of a Deployment or ReplicaSet.
func (s *scaleServer[T, L, EV, R]) UpdateScale(ctx context.Context, req *appsv1.ScaleRequest) (sc *appsv1.Scale, err error) {
	defer s.observe("update_scale", s.deps.Now(), &err)
	in := req.GetObject()
	if in == nil {
		return nil, apierrors.BadRequest("the request body must be a Scale object")
	}
	want := in.GetSpec().GetReplicas()
	if err := validScaleReplicas(req.GetName(), want); err != nil {
		return nil, err
	}
	obj, err := s.guaranteedUpdate(ctx, req.GetNamespace(), req.GetName(), in.GetMetadata().GetResourceVersion(), func(old T) (T, error) {
		next := proto.Clone(old).(T)
		s.access.SetReplicas(next, want)
		return next, nil
	}, specUpdate, false)
	if err != nil {
		return nil, err
	}
	return s.scaleOf(obj), nil
}
