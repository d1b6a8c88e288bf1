package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
// did not run, or its end was lost. A refusal keeps the gRPC code of its
// HTTP status (IsNotFound, ...).
func (cs *Clientset) Exec(ctx context.Context, namespace, pod string, opts remotecommand.Options, streams remotecommand.ClientStreams) (int, error) {
	if cs.rest == nil {
		return 0, errors.New("this client has no REST endpoints (made with NewForConn)")
	}
	path := "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(pod) + "/exec?" + opts.Query().Encode()
	d := websocket.Dialer{Subprotocols: remotecommand.Protocols, TLSClientConfig: cs.rest.tls, HandshakeTimeout: 30 * time.Second}
	header := http.Header{}
	if cs.rest.token != "" {
		header.Set("Authorization", "Bearer "+cs.rest.token)
	}
	var errs []string
	for _, base := range cs.rest.bases {
		u := "ws" + strings.TrimPrefix(base, "http") + path
		conn, resp, err := d.DialContext(ctx, u, header)
		if err == nil {
			return remotecommand.Stream(ctx, conn, streams)
		}
		if ctx.Err() != nil {
			return 0, status.FromContextError(ctx.Err()).Err()
		}
		if resp == nil { // not reached: try the next apiserver
			errs = append(errs, err.Error())
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return 0, restError(resp.StatusCode, b) // an apiserver answered: no failover
	}
	return 0, status.Error(codes.Unavailable, fmt.Sprintf("exec in pod %s/%s: %s", namespace, pod, strings.Join(errs, "; ")))
}
