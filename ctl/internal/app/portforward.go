package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/printers"
)

func (c *cli) portForwardCommand() *cobra.Command {
	var addresses []string
	cmd := &cobra.Command{
		Use:   "port-forward TYPE/NAME [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]",
		Short: "Forward one or more local ports to a pod",
		Long: `Forward one or more local ports to a pod, through the apiserver and the
kubelet of the pod's node, which connects to the port inside the pod's
network namespace. Every local connection gets its own stream; forwarding
goes on until interrupted.

The target is a pod (NAME, pod/NAME), or a deployment, replica set or
service (deploy/NAME, rs/NAME, svc/NAME), for which a running pod is
chosen. For a service, the remote port is a service port, forwarded to the
pod's target port. A local port of 0, or none (":80"), is chosen at random.`,
		Example: `  # Listen on 8080 locally, forwarding to port 80 of the pod web-0
  skiffctl port-forward pod/web-0 8080:80

  # Listen on 5000 and 6000 locally, to the same ports of a pod of the deployment
  skiffctl port-forward deploy/web 5000 6000

  # Listen on a random local port, to the target port of service port 80
  skiffctl port-forward svc/web :80`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return errors.New("TYPE/NAME and list of ports are required for port-forward\nSee 'skiffctl port-forward -h' for help and examples")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			listen, err := parseListenAddresses(addresses)
			if err != nil {
				return err
			}
			cs, err := c.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			pod, specs, err := forwardTarget(ctx, cs, c.namespace(), args[0], args[1:])
			if err != nil {
				return err
			}
			ports, err := parseForwardPorts(specs)
			if err != nil {
				return err
			}
			if phase := pod.GetStatus().GetPhase(); phase != "Running" {
				return fmt.Errorf("unable to forward port because pod is not running. Current status=%v", phase)
			}
			f := &forwarder{out: c.out, errOut: c.errOut, ns: pod.GetMetadata().GetNamespace(), pod: pod.GetMetadata().GetName(),
				forward: cs.PortForward}
			return f.run(ctx, listen, ports)
		},
	}
	cmd.Flags().StringSliceVar(&addresses, "address", []string{"localhost"},
		"addresses to listen on (comma separated); only IP addresses or localhost (127.0.0.1 and ::1)")
	return cmd
}

// forwardedPort is one LOCAL:REMOTE pair.
type forwardedPort struct{ local, remote uint16 }

// listenAddress is an address to listen on; with failureMode "all" (the
// two of localhost) one of the group is enough, with "any" each must work.
type listenAddress struct{ address, network, failureMode string }

// parseListenAddresses reads --address as kubectl does: localhost is
// 127.0.0.1 and ::1, anything else must be an IP.
func parseListenAddresses(in []string) ([]listenAddress, error) {
	seen := map[string]listenAddress{}
	for _, a := range in {
		switch ip := net.ParseIP(a); {
		case a == "localhost":
			for _, l := range []listenAddress{{"127.0.0.1", "tcp4", "all"}, {"::1", "tcp6", "all"}} {
				if _, ok := seen[l.address]; !ok {
					seen[l.address] = l
				}
			}
		case ip != nil && ip.To4() != nil:
			seen[a] = listenAddress{a, "tcp4", "any"}
		case ip != nil:
			seen[a] = listenAddress{a, "tcp6", "any"}
		default:
			return nil, fmt.Errorf("%s is not a valid IP", a)
		}
	}
	out := make([]listenAddress, 0, len(seen))
	for _, l := range seen {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].address < out[j].address })
	return out, nil
}

// parseForwardPorts reads [LOCAL:]REMOTE specs (remote ports already
// numbers) in client-go's words.
func parseForwardPorts(specs []string) ([]forwardedPort, error) {
	var out []forwardedPort
	for _, s := range specs {
		parts := strings.Split(s, ":")
		var local, remote string
		switch len(parts) {
		case 1:
			local, remote = parts[0], parts[0]
		case 2:
			local, remote = parts[0], parts[1]
			if local == "" {
				local = "0"
			}
		default:
			return nil, fmt.Errorf("invalid port format '%s'", s)
		}
		l, err := strconv.ParseUint(local, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("error parsing local port '%s': %s", local, err)
		}
		r, err := strconv.ParseUint(remote, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("error parsing remote port '%s': %s", remote, err)
		}
		if r == 0 {
			return nil, errors.New("remote port must be > 0")
		}
		out = append(out, forwardedPort{uint16(l), uint16(r)})
	}
	return out, nil
}

// splitPort is LOCAL and REMOTE of a spec; REMOTE alone is both.
func splitPort(s string) (local, remote string) {
	if l, r, ok := strings.Cut(s, ":"); ok {
		return l, r
	}
	return s, s
}

// forwardTarget finds the pod of TYPE/NAME and the port specs with remote
// ports as numbers of the pod: named container ports resolved, and for a
// service its ports translated to target ports, as kubectl does.
func forwardTarget(ctx context.Context, cs *client.Clientset, ns, target string, specs []string) (*corev1.Pod, []string, error) {
	kind, name, found := strings.Cut(target, "/")
	if !found {
		kind, name = "pods", target
	}
	if name == "" {
		return nil, nil, fmt.Errorf("pod name or resource type/name must be specified")
	}
	r, err := lookupResource(kind)
	if err != nil {
		return nil, nil, err
	}
	switch r.Plural {
	case "pods":
		pod, err := cs.CoreV1().Pods(ns).Get(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		specs, err := podPortsToNumbers(specs, pod)
		return pod, specs, err
	case "services":
		svc, err := cs.CoreV1().Services(ns).Get(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		pod, err := podForSelector(ctx, cs, ns, svc.GetSpec().GetSelector(), "service/"+name)
		if err != nil {
			return nil, nil, err
		}
		specs, err := servicePortsToTargets(specs, svc, pod)
		return pod, specs, err
	case "deployments", "replicasets":
		var sel map[string]string
		if r.Plural == "deployments" {
			d, err := cs.AppsV1().Deployments(ns).Get(ctx, name)
			if err != nil {
				return nil, nil, err
			}
			sel = d.GetSpec().GetSelector().GetMatchLabels()
		} else {
			rs, err := cs.AppsV1().ReplicaSets(ns).Get(ctx, name)
			if err != nil {
				return nil, nil, err
			}
			sel = rs.GetSpec().GetSelector().GetMatchLabels()
		}
		pod, err := podForSelector(ctx, cs, ns, sel, r.Singular()+"."+r.Group+"/"+name)
		if err != nil {
			return nil, nil, err
		}
		specs, err := podPortsToNumbers(specs, pod)
		return pod, specs, err
	}
	return nil, nil, fmt.Errorf("cannot attach to %s: selector for %s not implemented", r.Kind, r.Plural)
}

// podForSelector is the most active pod matching sel, as kubectl's
// attachable pod: running before pending, ready before not, older first.
func podForSelector(ctx context.Context, cs *client.Clientset, ns string, sel map[string]string, what string) (*corev1.Pod, error) {
	if len(sel) == 0 {
		return nil, fmt.Errorf("cannot attach to %s: it has no selector", what)
	}
	list, err := cs.CoreV1().Pods(ns).List(ctx, client.ListOptions{LabelSelector: printers.FormatLabels(sel)})
	if err != nil {
		return nil, err
	}
	var pods []*corev1.Pod
	for _, p := range list.GetItems() {
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		return nil, fmt.Errorf("no pods found for %s (selector %s)", what, printers.FormatLabels(sel))
	}
	rank := func(p *corev1.Pod) int {
		r := 0
		if p.GetSpec().GetNodeName() != "" {
			r++
		}
		if p.GetStatus().GetPhase() == "Running" {
			r += 2
		}
		for _, c := range p.GetStatus().GetConditions() {
			if c.GetType() == "Ready" && c.GetStatus() == "True" {
				r += 4
			}
		}
		return r
	}
	sort.SliceStable(pods, func(i, j int) bool {
		if a, b := rank(pods[i]), rank(pods[j]); a != b {
			return a > b
		}
		ti, tj := pods[i].GetMetadata().GetCreationTimestamp().AsTime(), pods[j].GetMetadata().GetCreationTimestamp().AsTime()
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return pods[i].GetMetadata().GetName() < pods[j].GetMetadata().GetName()
	})
	return pods[0], nil
}

// containerPortByName is the number of a pod's named container port.
func containerPortByName(pod *corev1.Pod, name string) (int32, error) {
	for _, c := range pod.GetSpec().GetContainers() {
		for _, p := range c.GetPorts() {
			if p.GetName() == name {
				return p.GetContainerPort(), nil
			}
		}
	}
	return -1, fmt.Errorf("Pod '%s' does not have a named port '%s'", pod.GetMetadata().GetName(), name)
}

// podPortsToNumbers resolves named remote ports among the pod's
// container ports.
func podPortsToNumbers(specs []string, pod *corev1.Pod) ([]string, error) {
	var out []string
	for _, s := range specs {
		local, remote := splitPort(s)
		if remote == "" {
			return nil, errors.New("remote port cannot be empty")
		}
		num := remote
		if _, err := strconv.Atoi(remote); err != nil {
			n, err := containerPortByName(pod, remote)
			if err != nil {
				return nil, err
			}
			num = strconv.Itoa(int(n))
		}
		if local != remote {
			out = append(out, local+":"+num)
		} else {
			out = append(out, num)
		}
	}
	return out, nil
}

// servicePortsToTargets translates service ports (numbers or names) to
// the pod's target ports, keeping the local port the service port when
// none was given.
func servicePortsToTargets(specs []string, svc *corev1.Service, pod *corev1.Pod) ([]string, error) {
	name := svc.GetMetadata().GetName()
	var out []string
	for _, s := range specs {
		local, remote := splitPort(s)
		num, err := strconv.Atoi(remote)
		if err != nil {
			found := false
			for _, p := range svc.GetSpec().GetPorts() {
				if p.GetName() == remote {
					num, found = int(p.GetPort()), true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("Service '%s' does not have a named port '%s'", name, remote)
			}
			if local == remote {
				local = strconv.Itoa(num)
			}
		}
		target, err := serviceTargetPort(svc, pod, int32(num))
		if err != nil {
			return nil, err
		}
		remote = strconv.Itoa(int(target))
		if local != remote {
			out = append(out, local+":"+remote)
		} else {
			out = append(out, remote)
		}
	}
	return out, nil
}

// serviceTargetPort is the pod's port behind service port port.
func serviceTargetPort(svc *corev1.Service, pod *corev1.Pod, port int32) (int32, error) {
	for _, p := range svc.GetSpec().GetPorts() {
		if p.GetPort() != port {
			continue
		}
		if svc.GetSpec().GetClusterIp() == "None" {
			return port, nil
		}
		t := p.GetTargetPort()
		if t == "" || t == "0" {
			return port, nil
		}
		if n, err := strconv.Atoi(t); err == nil {
			return int32(n), nil
		}
		return containerPortByName(pod, t)
	}
	return port, fmt.Errorf("Service %s does not have a service port %d", svc.GetMetadata().GetName(), port)
}

// forwarder listens and forwards every connection over its own stream.
type forwarder struct {
	out, errOut io.Writer
	ns, pod     string
	forward     func(ctx context.Context, namespace, pod string, port uint16, local io.ReadWriter) error
	mu          sync.Mutex // one line at a time on out and errOut
}

func (f *forwarder) printf(w io.Writer, format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(w, format, args...)
}

// run listens on every address for every port and forwards until ctx
// ends, as client-go's PortForwarder.
func (f *forwarder) run(ctx context.Context, addresses []listenAddress, ports []forwardedPort) error {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	var wg sync.WaitGroup
	ok := false
	for i := range ports {
		p := &ports[i]
		var errs []error
		fails, successes := map[string]int{}, map[string]int{}
		for _, a := range addresses {
			l, err := net.Listen(a.network, net.JoinHostPort(a.address, strconv.Itoa(int(p.local))))
			if err != nil {
				errs = append(errs, fmt.Errorf("unable to create listener: Error %s", err))
				fails[a.failureMode]++
				continue
			}
			successes[a.failureMode]++
			_, port, _ := net.SplitHostPort(l.Addr().String())
			n, _ := strconv.ParseUint(port, 10, 16)
			p.local = uint16(n) // a random port is the same on every address
			f.printf(f.out, "Forwarding from %s -> %d\n", net.JoinHostPort(a.address, port), p.remote)
			listeners = append(listeners, l)
			wg.Add(1)
			go func(pp forwardedPort) {
				defer wg.Done()
				f.accept(ctx, l, pp)
			}(*p)
		}
		if successes["all"] == 0 && fails["all"] > 0 || fails["any"] > 0 {
			f.printf(f.errOut, "Unable to listen on port %d: %v\n", p.local,
				fmt.Errorf("Listeners failed to create with the following errors: %v", errs))
			continue
		}
		ok = true
	}
	if !ok {
		return fmt.Errorf("unable to listen on any of the requested ports: %v", ports)
	}
	<-ctx.Done()
	for _, l := range listeners {
		l.Close()
	}
	wg.Wait()
	return nil
}

// accept handles the connections of one listener until it is closed.
func (f *forwarder) accept(ctx context.Context, l net.Listener, p forwardedPort) {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				f.printf(f.errOut, "error accepting connection on port %d: %v\n", p.local, err)
			}
			return
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer conn.Close()
			f.printf(f.out, "Handling connection for %d\n", p.local)
			if err := f.forward(ctx, f.ns, f.pod, p.remote, conn); err != nil && ctx.Err() == nil {
				f.printf(f.errOut, "error: an error occurred forwarding %d -> %d: %v\n", p.local, p.remote, err)
			}
		}()
	}
}

func (p forwardedPort) String() string { return fmt.Sprintf("{%d %d}", p.local, p.remote) }
