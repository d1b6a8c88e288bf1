package server

import (
	"context"
	"io"
	"net/http"

	"go.uber.org/zap"

	"skiff.dev/proto/remotecommand"
)

// ExecFunc runs cmd in a running container of a pod of this node with the
// given streams (nil when not asked for; with tty, stderr is nil and the
// output a terminal's, sized by what resize brings) and returns its exit
// code; an error says the command could not be run. ctx ends when the
// caller goes away.
type ExecFunc func(ctx context.Context, namespace, pod, container string, cmd []string,
	stdin io.Reader, stdout, stderr io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) (exitCode int, err error)

// exec serves GET and POST /exec/{namespace}/{pod}/{container}?command=...
// (the path kube-apiserver calls) over Kubernetes' websocket channel
// protocol.
func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "exec: use GET or POST", http.StatusMethodNotAllowed)
		return
	}
	ns, pod, ctr, ok := validPathNames(w, r, true)
	if !ok {
		return
	}
	if s.cfg.Exec == nil {
		http.Error(w, "exec is not supported by this kubelet", http.StatusNotImplemented)
		return
	}
	opts, err := remotecommand.ParseOptions(r.URL.Query())
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
	lg := s.lg.With(zap.String("pod", ns+"/"+pod), zap.String("container", ctr), zap.Strings("command", opts.Command))
	lg.Info("exec")
	err = remotecommand.Serve(w, r, opts, func(ctx context.Context, st remotecommand.Streams) (int, error) {
		code, err := s.cfg.Exec(ctx, ns, pod, ctr, opts.Command, st.Stdin, st.Stdout, st.Stderr, opts.TTY, st.Resize)
		lg.Info("exec ended", zap.Int("exitCode", code), zap.Error(err))
		return code, err
	})
	if err != nil {
		lg.Info("exec stream", zap.Error(err))
	}
}
