package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/proto/remotecommand"
)

// Exec runs a command in a container of the named pod, as `kubectl exec`
// does: through the apiserver's pods/exec subresource, which passes the
// connection to the kubelet of the pod's node, over Kubernetes' websocket
// channel protocol. It returns the command's exit code; an error means it
// did not run, or its end was lost. A refusal, or the kubelet's Status when
// the command could not run, keeps the gRPC code of its HTTP status
// (IsNotFound, codes.Internal, ...) and its reason.
func (cs *Clientset) Exec(ctx context.Context, namespace, pod string, opts remotecommand.Options, streams remotecommand.ClientStreams) (int, error) {
	path := "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(pod) + "/exec?" + opts.Query().Encode()
	conn, err := cs.dialStream(ctx, path, remotecommand.Protocols, "exec in pod "+namespace+"/"+pod)
	if err != nil {
		return 0, err
	}
	code, err := remotecommand.Stream(ctx, conn, streams)
	var se *remotecommand.StatusError
	if errors.As(err, &se) && se.Code != 0 {
		// The command could not run: the kubelet's Status, as a refusal's.
		return 0, restError(se.Code, se.Status)
	}
	return code, err
}

// PortForward forwards one connection, local, to port of the named pod, as
// `kubectl port-forward` does for every connection it accepts: through the
// apiserver's pods/portforward subresource to the kubelet of the pod's
// node, which connects to the port inside the pod's network namespace. It
// returns when either side has ended; an error says the pod's port could
// not be reached (in the kubelet's words) or the stream broke.
func (cs *Clientset) PortForward(ctx context.Context, namespace, pod string, port uint16, local io.ReadWriter) error {
	path := "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(pod) + "/portforward?ports=" + strconv.Itoa(int(port))
	conn, err := cs.dialStream(ctx, path, remotecommand.PortForwardProtocols, "port-forward to pod "+namespace+"/"+pod)
	if err != nil {
		return err
	}
	return remotecommand.ForwardPort(ctx, conn, local)
}

// dialStream opens a websocket to path (a streaming subresource) on the
// first apiserver that answers, with the Clientset's credentials. A
// refusal keeps the gRPC code of its HTTP status (IsNotFound, ...).
func (cs *Clientset) dialStream(ctx context.Context, path string, protocols []string, what string) (*websocket.Conn, error) {
	if cs.rest == nil {
		return nil, errors.New("this client has no REST endpoints (made with NewForConn)")
	}
	d := websocket.Dialer{Subprotocols: protocols, TLSClientConfig: cs.rest.tls, HandshakeTimeout: 30 * time.Second}
	header := http.Header{}
	if cs.rest.token != "" {
		header.Set("Authorization", "Bearer "+cs.rest.token)
	}
	var errs []string
	for _, base := range cs.rest.bases {
		u := "ws" + strings.TrimPrefix(base, "http") + path
		conn, resp, err := d.DialContext(ctx, u, header)
		if err == nil {
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		if resp == nil { // not reached: try the next apiserver
			errs = append(errs, err.Error())
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, restError(resp.StatusCode, b) // an apiserver answered: no failover
	}
	return nil, status.Error(codes.Unavailable, fmt.Sprintf("%s: %s", what, strings.Join(errs, "; ")))
}
