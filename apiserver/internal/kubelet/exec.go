package kubelet

import (
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
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
	q := r.URL.Query()
	q.Del("container")
	path := "/exec/" + url.PathEscape(pod.GetMetadata().GetNamespace()) + "/" + url.PathEscape(pod.GetMetadata().GetName()) + "/" + url.PathEscape(container)
	return c.proxyStream(w, r, pod, path, q, "exec in", zap.String("container", container))
}

// ProxyPortForward passes a port-forward request (?ports=80&ports=443, as
// Kubernetes' PodPortForwardOptions) through to the kubelet of the pod's
// node (/portForward/{namespace}/{pod}?port=80&port=443), as ProxyExec
// does. It has the signature of the server's PodPortForward hook.
func (c *Client) ProxyPortForward(w http.ResponseWriter, r *http.Request, pod *corev1.Pod) error {
	ports, err := remotecommand.ParsePorts(r.URL.Query()["ports"], "ports")
	if err != nil {
		return apierrors.BadRequest("%v", err)
	}
	q := url.Values{}
	for _, p := range ports {
		q.Add("port", strconv.Itoa(int(p)))
	}
	path := "/portForward/" + url.PathEscape(pod.GetMetadata().GetNamespace()) + "/" + url.PathEscape(pod.GetMetadata().GetName())
	return c.proxyStream(w, r, pod, path, q, "port-forward to", zap.Any("ports", ports))
}

// proxyStream passes an upgrade request through to path on the kubelet of
// the pod's node, and then the connection both ways.
func (c *Client) proxyStream(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, path string, q url.Values, what string, fields ...zap.Field) error {
	if err := websocketUpgrade(r); err != nil {
		return err
	}
	addr, err := c.kubeletAddress(r.Context(), pod, what)
	if err != nil {
		return err
	}
	ns, name, node := pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName(), pod.GetSpec().GetNodeName()
	target := &url.URL{Scheme: c.scheme, Host: addr, RawQuery: q.Encode(), Path: path}
	c.lg.Debug("proxying stream", append(fields, zap.String("to", what), zap.String("pod", ns+"/"+name), zap.String("node", node),
		zap.String("kubelet", c.scheme+"://"+addr))...)
	return c.proxy(w, r, node, addr, target, http.StatusSwitchingProtocols)
}

// ProxyNode passes a GET of path (e.g. /stats/summary) through to the
// kubelet of the named node, as kube-apiserver's nodes/{name}/proxy does.
// It has the signature of the server's NodeProxy hook.
func (c *Client) ProxyNode(w http.ResponseWriter, r *http.Request, nodeName, path string) error {
	node, err := c.nodes(r.Context(), nodeName)
	if err != nil {
		return err
	}
	addr, err := NodeAddress(node, c.cfg.PreferredAddressTypes)
	if err != nil {
		return apierrors.Unavailable("cannot reach the kubelet: %v", err)
	}
	target := &url.URL{Scheme: c.scheme, Host: addr, Path: path, RawQuery: r.URL.RawQuery}
	return c.proxy(w, r, nodeName, addr, target, http.StatusOK)
}

// proxy passes r to target on the kubelet of node at addr. An answer
// other than ok is the kubelet's refusal, returned as an API error for
// the caller to answer; else the answer, and for an upgrade the
// connection, goes back as it comes.
func (c *Client) proxy(w http.ResponseWriter, r *http.Request, node, addr string, target *url.URL, ok int) error {
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
			if resp.StatusCode == ok {
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
	return apierrors.BadRequest("exec and port-forward speak the websocket protocols %s: this request asks for %s "+
		"(SPDY is not supported; kubectl 1.30 and later use websockets unless KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)",
		strings.Join(remotecommand.Protocols, " and "), asked)
}
