package client

import (
	"context"
	"io"

	"google.golang.org/grpc"

	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// PodClient is the typed client of pods, with the binding and log
// subresources.
type PodClient struct {
	*StatusResource[*corev1.Pod, *corev1.PodList]
	raw corev1.PodServiceClient
}

// Bind assigns the named pod to a node (what the scheduler does).
func (c *PodClient) Bind(ctx context.Context, name, node string) error {
	b := &corev1.Binding{
		ApiVersion: "v1",
		Kind:       "Binding",
		Metadata:   &metav1.ObjectMeta{Namespace: c.namespace, Name: name},
		Target:     &corev1.ObjectReference{Kind: "Node", ApiVersion: "v1", Name: node},
	}
	_, err := c.raw.Bind(ctx, &corev1.BindingRequest{Namespace: c.namespace, Name: name, Object: b})
	return err
}

// Log streams the named pod's log as selected by opts (nil: the whole log
// of its only container). Close the reader to end the stream, which matters
// with Follow. Read errors keep their gRPC code (IsNotFound, ...).
func (c *PodClient) Log(ctx context.Context, name string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	req := &corev1.PodLogOptions{}
	if opts != nil {
		req = clone(opts)
	}
	req.Namespace, req.Name = c.namespace, name
	ctx, cancel := context.WithCancel(ctx)
	s, err := c.raw.Log(ctx, req)
	if err != nil {
		cancel()
		return nil, err
	}
	return &logReader{recv: func() ([]byte, error) {
		b, err := s.Recv()
		return b.GetData(), err
	}, cancel: cancel}, nil
}

// logReader turns a stream of byte chunks into an io.Reader.
type logReader struct {
	recv   func() ([]byte, error)
	cancel context.CancelFunc
	buf    []byte
	err    error
}

func (r *logReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.buf, r.err = r.recv()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close ends the stream; a Read in progress returns a Canceled error.
func (r *logReader) Close() error {
	r.cancel()
	return nil
}

// scaleClient is what generated clients of kinds with /scale have.
type scaleClient interface {
	GetScale(ctx context.Context, in *metav1.GetOptions, opts ...grpc.CallOption) (*appsv1.Scale, error)
	UpdateScale(ctx context.Context, in *appsv1.ScaleRequest, opts ...grpc.CallOption) (*appsv1.Scale, error)
}

// Scaler reads and writes the scale subresource.
type Scaler struct {
	namespace string
	raw       scaleClient
}

func newScaler(namespace string, c scaleClient) Scaler { return Scaler{namespace: namespace, raw: c} }

// GetScale returns the named object's scale: spec.replicas and
// status.replicas and selector.
func (s Scaler) GetScale(ctx context.Context, name string) (*appsv1.Scale, error) {
	return s.raw.GetScale(ctx, &metav1.GetOptions{Namespace: s.namespace, Name: name})
}

// UpdateScale sets the named object's spec.replicas from scale.spec.replicas;
// a resourceVersion in scale's metadata makes it conditional.
func (s Scaler) UpdateScale(ctx context.Context, name string, scale *appsv1.Scale) (*appsv1.Scale, error) {
	return s.raw.UpdateScale(ctx, &appsv1.ScaleRequest{Namespace: s.namespace, Name: name, Object: scale})
}

// ReplicaSetClient is the typed client of replicasets, with /scale.
type ReplicaSetClient struct {
	*StatusResource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList]
	Scaler
}

// DeploymentClient is the typed client of deployments, with /scale.
type DeploymentClient struct {
	*StatusResource[*appsv1.Deployment, *appsv1.DeploymentList]
	Scaler
}
