package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"

	"go.uber.org/zap"

	"skiff.dev/proto/remotecommand"
	"skiff.dev/proto/stats"
)

// PortForwardFunc connects to port inside the network namespace of a pod
// of this node. ctx ends when the caller goes away.
type PortForwardFunc func(ctx context.Context, namespace, pod string, port uint16) (net.Conn, error)

// SummaryFunc is the node's Summary API answer now.
type SummaryFunc func(ctx context.Context) (*stats.Summary, error)

// portForward serves GET and POST /portForward/{namespace}/{pod}?port=80
// (the path kube-apiserver calls) over Kubernetes' websocket port-forward
// protocol.
func (s *Server) portForward(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "port-forward: use GET or POST", http.StatusMethodNotAllowed)
		return
	}
	ns, pod, _, ok := validPathNames(w, r, false)
	if !ok {
		return
	}
	if s.cfg.PortForward == nil {
		http.Error(w, "port-forward is not supported by this kubelet", http.StatusNotImplemented)
		return
	}
	ports, err := remotecommand.ParsePorts(r.URL.Query()["port"], "port")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.cfg.PodLookup != nil {
		if _, err := s.podUID(ns, pod); err != nil {
			s.fail(w, err)
			return
		}
	}
	lg := s.lg.With(zap.String("pod", ns+"/"+pod))
	lg.Debug("port-forward", zap.Any("ports", ports))
	err = remotecommand.ServePortForward(w, r, pod, ports, func(ctx context.Context, port uint16) (net.Conn, error) {
		return s.cfg.PortForward(ctx, ns, pod, port)
	})
	if err != nil {
		lg.Info("port-forward stream", zap.Error(err))
	}
}

// statsSummary serves GET /stats/summary: the node's and its pods' CPU and
// memory, in the shape of Kubernetes' Summary API.
func (s *Server) statsSummary(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Summary == nil {
		http.Error(w, "stats are not supported by this kubelet", http.StatusNotImplemented)
		return
	}
	sum, err := s.cfg.Summary(r.Context())
	if err != nil {
		s.lg.Error("stats summary", zap.Error(err))
		http.Error(w, "stats summary: "+err.Error(), http.StatusInternalServerError)
		return
	}
	b, err := json.Marshal(sum)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
