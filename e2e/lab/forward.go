package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// Forward serves listen, a loopback address of the machine's own
// namespace, by relaying every TCP connection to the apiservers of the lab
// (APIServerURL), dialled inside the namespace of the host that serves it.
// It adds no link, route or rule: the relay is this process. It returns
// once listening; the relay stops when ctx ends.
func (l *Lab) Forward(ctx context.Context, listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("lab: forward %q: %w", listen, err)
	}
	if a, err := netip.ParseAddr(host); err != nil || !a.IsLoopback() {
		return fmt.Errorf("lab: forward %q: want a loopback address such as 127.0.0.1:6443", listen)
	}
	target := strings.TrimPrefix(strings.TrimPrefix(l.APIServerURL(), "https://"), "http://")
	h := l.hostsWith(RoleMaster)[0]
	if l.cfg.Masters > 1 {
		h = l.hostsWith(RoleLB)[0]
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("lab: forward: %w", err)
	}
	dial := DialContextIn(h.NetNSPath())
	var wg sync.WaitGroup
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	go func() {
		defer wg.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					l.lg.Warn("forward: accept", zap.Error(err))
				}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				relay(ctx, l.lg, c, dial, target)
			}()
		}
	}()
	l.lg.Info("forwarding", zap.String("listen", listen), zap.String("to", target), zap.String("netns", h.NetNS))
	return nil
}

func relay(ctx context.Context, lg *zap.Logger, c net.Conn, dial func(context.Context, string, string) (net.Conn, error), target string) {
	defer func() { _ = c.Close() }()
	up, err := dial(ctx, "tcp", target)
	if err != nil {
		lg.Warn("forward: dial", zap.String("to", target), zap.Error(err))
		return
	}
	defer func() { _ = up.Close() }()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	select {
	case <-done:
		<-done
	case <-ctx.Done():
	}
}
