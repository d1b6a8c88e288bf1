package kubelet

import (
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"skiff.dev/apiserver/internal/apierrors"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/remotecommand"
)

// refusal carries a kubelet's refusal, made an API error by
// ModifyResponse, to the ErrorHandler.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }

// ProxyExec passes an exec request for container of pod through to the
// kubelet of the pod's node (/exec/{namespace}/{pod}/{container}, with the
// request's command and stream parameters), and once the kubelet has
// switched protocols, the connection both ways until one end closes it.
// The caller's credentials stay here: the kubelet sees the apiserver's. It
// returns an error, for the caller to answer, only when nothing was
// answered yet. It has the signature of the server's PodExec hook.
func (c *Client) ProxyExec(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, container string) error {
	if err := websocketUpgrade(r); err != nil {
		return err
	}
	addr, err := c.kubeletAddress(r.Context(), pod, "exec in")
	if err != nil {
		return err
	}
	ns, name, node := pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName(), pod.GetSpec().GetNodeName()
	q := r.URL.Query()
	q.Del("container")
	target := &url.URL{Scheme: c.scheme, Host: addr, RawQuery: q.Encode(),
		Path: "/exec/" + url.PathEscape(ns) + "/" + url.PathEscape(name) + "/" + url.PathEscape(container)}
	base := c.scheme + "://" + addr
	var proxyErr error
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = ""
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Cookie")
		},
		Transport:     c.http.Transport,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusSwitchingProtocols {
				return nil
			}
			defer resp.Body.Close()
			return refusal{kubeletError(resp, node, base)}
		},
		ErrorHandler: func(_ http.ResponseWriter, _ *http.Request, err error) {
			var ref refusal
			switch {
			case errors.As(err, &ref):
				proxyErr = ref.err
			case r.Context().Err() != nil:
				proxyErr = r.Context().Err()
			default:
				proxyErr = apierrors.Unavailable("cannot reach the kubelet of node %q at %s: %v", node, base, err)
			}
		},
		ErrorLog: zap.NewStdLog(c.lg.WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
	}
	c.lg.Debug("proxying exec", zap.String("pod", ns+"/"+name), zap.String("container", container), zap.String("node", node), zap.String("kubelet", base))
	p.ServeHTTP(w, r)
	return proxyErr
}

// websocketUpgrade checks that r asks to switch to the websocket protocol,
// the only one the kubelet's exec speaks; anything else (SPDY, which
// kubectl uses with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, or no upgrade
// at all) gets a clear 400 before the kubelet is called.
func websocketUpgrade(r *http.Request) error {
	upgrade := r.Header.Get("Upgrade")
	connUpgrade := false
	for _, v := range r.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			connUpgrade = connUpgrade || strings.EqualFold(strings.TrimSpace(tok), "upgrade")
		}
	}
	if connUpgrade && strings.EqualFold(upgrade, "websocket") {
		return nil
	}
	asked := "no protocol upgrade"
	if upgrade != "" {
		asked = "an upgrade to " + upgrade
	}
	return apierrors.BadRequest("exec speaks the websocket protocols %s: this request asks for %s "+
		"(SPDY is not supported; kubectl 1.30 and later use websockets unless KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)",
		strings.Join(remotecommand.Protocols, " and "), asked)
}
