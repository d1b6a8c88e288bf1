// Package kubelet is the apiserver's client of the kubelets' HTTP API: it
// finds the node a pod runs on, picks the node's address and kubelet port
// as kube-apiserver does, and streams the container log the node serves at
// /containerLogs/{namespace}/{pod}/{container}.
//
// Kubelets are called over HTTPS with the apiserver's client certificate
// (--kubelet-client-certificate/--kubelet-client-key); their serving
// certificates are verified against --kubelet-certificate-authority, or, as
// kube-apiserver does when it is unset, not verified at all (with a
// warning). Plain HTTP is for an insecure development cluster only.
package kubelet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"skiff.dev/apiserver/internal/apierrors"
	corev1 "skiff.dev/proto/core/v1"
)

// DefaultPort is the kubelet's port when a node does not say
// (status.daemonEndpoints.kubeletEndpoint.Port).
const DefaultPort = 10250

// AddressTypes are the node address types, for --kubelet-preferred-address-types.
var AddressTypes = []string{"Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"}

// DefaultPreferredAddressTypes puts InternalIP first, as kubeadm configures
// kube-apiserver: Skiff nodes have no DNS for their host names (the lab's
// hosts are network namespaces), so an IP is what reaches them.
var DefaultPreferredAddressTypes = []string{"InternalIP", "Hostname", "InternalDNS", "ExternalDNS", "ExternalIP"}

// NodeGetter returns the named node.
type NodeGetter func(ctx context.Context, name string) (*corev1.Node, error)

// Config is how the apiserver reaches kubelets.
type Config struct {
	// PreferredAddressTypes are tried in order to pick a node's address;
	// empty is DefaultPreferredAddressTypes.
	PreferredAddressTypes []string
	// ClientCertFile and ClientKeyFile are the apiserver's client
	// certificate for kubelets (PEM); empty calls without one.
	ClientCertFile string
	ClientKeyFile  string
	// CAFile verifies the kubelets' serving certificates; empty does not
	// verify them.
	CAFile string
	// InsecureHTTP calls kubelets over plain HTTP (development only).
	InsecureHTTP bool
	// Timeout bounds connecting and waiting for the answer to start (not
	// the streaming of a log); 0 is 5s.
	Timeout time.Duration
}

// Client calls kubelets.
type Client struct {
	lg     *zap.Logger
	nodes  NodeGetter
	cfg    Config
	scheme string
	http   *http.Client
}

// New builds the client and loads its TLS material.
func New(lg *zap.Logger, nodes NodeGetter, cfg Config) (*Client, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	if len(cfg.PreferredAddressTypes) == 0 {
		cfg.PreferredAddressTypes = DefaultPreferredAddressTypes
	}
	for _, t := range cfg.PreferredAddressTypes {
		if !slices.Contains(AddressTypes, t) {
			return nil, fmt.Errorf("kubelet address type %q: must be one of %s", t, strings.Join(AddressTypes, ", "))
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	c := &Client{lg: lg, nodes: nodes, cfg: cfg, scheme: "https"}
	tr := &http.Transport{
		Proxy:                 nil, // kubelets are reached directly, whatever the environment says
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	if cfg.InsecureHTTP {
		if cfg.ClientCertFile != "" || cfg.CAFile != "" {
			return nil, errors.New("kubelet client: plain HTTP was asked for together with TLS certificates: choose one")
		}
		c.scheme = "http"
		lg.Warn("INSECURE: calling kubelets over plain HTTP with no authentication; use only for local development")
	} else {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.ClientCertFile != "" || cfg.ClientKeyFile != "" {
			cert, err := tls.LoadX509KeyPair(cfg.ClientCertFile, cfg.ClientKeyFile)
			if err != nil {
				return nil, fmt.Errorf("kubelet client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("kubelet certificate authority: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kubelet certificate authority %s: no PEM certificate in it", cfg.CAFile)
			}
			tc.RootCAs = pool
		} else {
			tc.InsecureSkipVerify = true
			lg.Warn("kubelets' serving certificates will not be verified: set --kubelet-certificate-authority")
		}
		tr.TLSClientConfig = tc
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// NodeAddress is where a node's kubelet listens: the first of its
// addresses in the preferred order of types, and its kubelet port.
func NodeAddress(node *corev1.Node, preferred []string) (string, error) {
	port := int(node.GetStatus().GetDaemonEndpoints().GetKubeletEndpoint().GetPort())
	if port <= 0 {
		port = DefaultPort
	}
	for _, t := range preferred {
		for _, a := range node.GetStatus().GetAddresses() {
			if a.GetType() == t && a.GetAddress() != "" {
				return net.JoinHostPort(a.GetAddress(), strconv.Itoa(port)), nil
			}
		}
	}
	return "", fmt.Errorf("node %q has no address of the types %v", node.GetMetadata().GetName(), preferred)
}

// ContainerLogs streams the log of opts.Container of pod from the kubelet
// of the pod's node, chunk by chunk to w, starting with an empty chunk once
// the kubelet has accepted the request. It has the signature of the pod
// registry's Logs hook.
func (c *Client) ContainerLogs(ctx context.Context, pod *corev1.Pod, opts *corev1.PodLogOptions, w func([]byte) error) error {
	nodeName := pod.GetSpec().GetNodeName()
	podName := pod.GetMetadata().GetName()
	addr, err := c.kubeletAddress(ctx, pod, "ask for the log")
	if err != nil {
		return err
	}
	u := &url.URL{Scheme: c.scheme, Host: addr, Path: "/containerLogs/" + url.PathEscape(pod.GetMetadata().GetNamespace()) + "/" +
		url.PathEscape(podName) + "/" + url.PathEscape(opts.GetContainer()), RawQuery: logQuery(opts).Encode()}
	base := c.scheme + "://" + addr
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return apierrors.Internal("kubelet request: %v", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return apierrors.Unavailable("cannot reach the kubelet of node %q at %s: %v", nodeName, base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return kubeletError(resp, nodeName, base)
	}
	c.lg.Debug("streaming container log", zap.String("pod", pod.GetMetadata().GetNamespace()+"/"+podName),
		zap.String("container", opts.GetContainer()), zap.String("node", nodeName), zap.String("kubelet", base))
	// An empty first chunk says the log was found: the REST answer starts
	// (200 and its headers) before any line, as a followed log may have none yet.
	if err := w(nil); err != nil {
		return err
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if werr := w(slices.Clone(buf[:n])); werr != nil {
				return werr
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return apierrors.Unavailable("the log stream from the kubelet of node %q at %s broke: %v", nodeName, base, err)
		}
	}
}

// kubeletAddress is host:port of the kubelet of the pod's node; what says
// what the apiserver wanted of it, for errors.
func (c *Client) kubeletAddress(ctx context.Context, pod *corev1.Pod, what string) (string, error) {
	nodeName := pod.GetSpec().GetNodeName()
	node, err := c.nodes(ctx, nodeName)
	if apierrors.IsNotFound(err) {
		return "", apierrors.New(apierrors.ReasonNotFound, "nodes", nodeName,
			fmt.Sprintf("node %q of pod %q not found: there is no kubelet to %s", nodeName, pod.GetMetadata().GetName(), what))
	}
	if err != nil {
		return "", err
	}
	addr, err := NodeAddress(node, c.cfg.PreferredAddressTypes)
	if err != nil {
		return "", apierrors.Unavailable("cannot reach the kubelet: %v", err)
	}
	return addr, nil
}

// logQuery is opts as the kubelet's query parameters.
func logQuery(opts *corev1.PodLogOptions) url.Values {
	q := url.Values{}
	for k, on := range map[string]bool{"follow": opts.GetFollow(), "previous": opts.GetPrevious(), "timestamps": opts.GetTimestamps()} {
		if on {
			q.Set(k, "true")
		}
	}
	if opts.TailLines != nil {
		q.Set("tailLines", strconv.FormatInt(opts.GetTailLines(), 10))
	}
	if opts.SinceSeconds != nil {
		q.Set("sinceSeconds", strconv.FormatInt(opts.GetSinceSeconds(), 10))
	}
	if opts.LimitBytes != nil {
		q.Set("limitBytes", strconv.FormatInt(opts.GetLimitBytes(), 10))
	}
	return q
}

// kubeletError maps a kubelet's refusal to the API's errors, keeping the
// kubelet's message: 404 is NotFound, 400 BadRequest; the kubelet refusing
// the apiserver's credentials, or failing, is the server's problem.
func kubeletError(resp *http.Response, node, base string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return apierrors.New(apierrors.ReasonNotFound, "", "", msg)
	case http.StatusBadRequest:
		return apierrors.BadRequest("%s", msg)
	case http.StatusUnauthorized, http.StatusForbidden:
		return apierrors.Internal("the kubelet of node %q at %s refused the apiserver (%d: %s): check --kubelet-client-certificate and the kubelet's client CA",
			node, base, resp.StatusCode, msg)
	default:
		return apierrors.Internal("the kubelet of node %q at %s answered %d: %s", node, base, resp.StatusCode, msg)
	}
}
