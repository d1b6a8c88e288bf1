package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
)

// Messages of the drain filters, in kubectl's words (k8s.io/kubectl/pkg/drain).
const (
	daemonSetFatal      = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
	daemonSetWarning    = "ignoring DaemonSet-managed Pods"
	localStorageFatal   = "Pods with local storage (use --delete-emptydir-data to override)"
	localStorageWarning = "deleting Pods with local storage"
	unmanagedFatal      = "Pods declare no controller (use --force to override)"
	unmanagedWarning    = "deleting Pods that declare no controller"

	// mirrorPodAnnotation marks the API copy of a static pod, which the
	// apiserver cannot delete for real.
	mirrorPodAnnotation = "kubernetes.io/config.mirror"
)

// drainPollInterval is how often drain checks whether deleted pods are gone.
const drainPollInterval = 500 * time.Millisecond

type drainOptions struct {
	force              bool
	ignoreDaemonSets   bool
	deleteEmptyDirData bool
	disableEviction    bool
	gracePeriod        int
	timeout            time.Duration
	selector           string
	podSelector        string
	dryRun             string
	skipWaitTimeout    int
}

func (c *cli) drainCommand() *cobra.Command {
	var o drainOptions
	cmd := &cobra.Command{
		Use:   "drain NODE",
		Short: "Drain node in preparation for maintenance",
		Long: `Drain node in preparation for maintenance.

The given node is marked unschedulable to prevent new pods from arriving, then
every pod bound to it is deleted, except mirror pods (which cannot be deleted
through the API server). Skiff's apiserver has no eviction API, so drain always
deletes pods with a normal DELETE (as kubectl drain --disable-eviction does):
there are no PodDisruptionBudget checks.

If there are DaemonSet-managed pods, drain will not proceed without
--ignore-daemonsets, and regardless it will not delete them, because the
DaemonSet controller would replace them at once. Pods that declare no
controller (no ownerReference with controller=true) are only deleted with
--force: nothing would recreate them. Pods with emptyDir volumes need
--delete-emptydir-data, since their data is lost.

drain waits for the deleted pods to be gone, that is until the kubelet
confirms they stopped (use --grace-period=0 not to wait for the kubelet). Use
'skiffctl uncordon' to make the node schedulable again.`,
		Example: `  # Drain node "n1", even if there are pods not managed by a controller on it
  skiffctl drain n1 --force

  # As above, but skip DaemonSet pods and wait at most 5 minutes
  skiffctl drain n1 --force --ignore-daemonsets --timeout=5m`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runDrain(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.force, "force", false, "Continue even if there are pods that do not declare a controller.")
	f.BoolVar(&o.ignoreDaemonSets, "ignore-daemonsets", false, "Ignore DaemonSet-managed pods.")
	f.BoolVar(&o.deleteEmptyDirData, "delete-emptydir-data", false, "Continue even if there are pods using emptyDir (local data that will be deleted when the node is drained).")
	f.IntVar(&o.gracePeriod, "grace-period", -1, "Period of time in seconds given to each pod to terminate gracefully. If negative, the default value specified in the pod will be used.")
	f.DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before giving up, zero means infinite")
	f.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter nodes on")
	f.StringVar(&o.podSelector, "pod-selector", "", "Label selector to filter pods on the node")
	f.BoolVar(&o.disableEviction, "disable-eviction", false, "Accepted for kubectl compatibility: Skiff has no eviction API, so drain always deletes pods.")
	f.IntVar(&o.skipWaitTimeout, "skip-wait-for-delete-timeout", 0, "If pod DeletionTimestamp older than N seconds, skip waiting for the pod. Seconds must be greater than 0 to skip.")
	f.StringVar(&o.dryRun, "dry-run", "none", `Must be "none" or "client". If client strategy, only print what would be done, without doing it.`)
	f.Lookup("dry-run").NoOptDefVal = "client"
	return cmd
}

// aggregate is several errors shown as one, as apimachinery's
// utilerrors.Aggregate: one error's message, or "[a, b]".
type aggregate []error

func (a aggregate) Error() string {
	if len(a) == 1 {
		return a[0].Error()
	}
	msgs := make([]string, len(a))
	for i, e := range a {
		msgs[i] = e.Error()
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// podDelete is a pod on a node and what drain does with it.
type podDelete struct {
	pod     *corev1.Pod
	delete  bool   // the pod must go before the node is drained
	reason  string // okay, skip, warning or error
	message string
}

const (
	podOkay    = "okay"
	podSkip    = "skip"
	podWarning = "warning"
	podError   = "error"
)

func (c *cli) runDrain(ctx context.Context, o drainOptions, args []string) error {
	switch {
	case len(args) == 0 && o.selector == "":
		return errors.New("USAGE: drain NODE [flags]: name the node to drain")
	case len(args) > 0 && o.selector != "":
		return errors.New("cannot specify both a node name and a --selector option")
	}
	switch o.dryRun {
	case "none", "client":
	case "server":
		return errors.New(`--dry-run=server is not supported: the Skiff apiserver has no server-side dry run; use --dry-run=client`)
	default:
		return fmt.Errorf(`Invalid dry-run value (%s). Must be "none" or "client".`, o.dryRun)
	}
	if o.podSelector != "" {
		if _, err := labels.Parse(o.podSelector); err != nil {
			return errors.New("--pod-selector=<pod_selector> must be a valid label selector")
		}
	}
	d, err := c.dyn()
	if err != nil {
		return err
	}
	nodes, err := c.selectNodes(ctx, d, args, o.selector)
	if err != nil {
		return err
	}
	dry := o.dryRun == "client"
	c.cordonNodes(ctx, d, nodes, true, dry)

	var fatal aggregate
	var remaining []string
	for _, n := range nodes {
		if err := c.drainNode(ctx, d, n, o); err != nil {
			fmt.Fprintf(c.errOut, "error: unable to drain node %q due to error: %s, continuing command...\n", n, c.errorText(err))
			fatal = append(fatal, err)
			remaining = append(remaining, n)
			continue
		}
		fmt.Fprintf(c.out, "node/%s drained%s\n", n, dryRunSuffix(dry))
	}
	if len(remaining) == 0 {
		return nil
	}
	fmt.Fprintln(c.errOut, "There are pending nodes to be drained:")
	for _, n := range remaining {
		fmt.Fprintf(c.errOut, " %s\n", n)
	}
	// As kubectl's CheckErr: an aggregate prints one line per error, any
	// other error one "error: ..." line.
	errs := []error(fatal)
	if agg, ok := errs[0].(aggregate); ok && len(errs) == 1 {
		errs = agg
	} else if len(errs) == 1 {
		return errs[0]
	}
	for _, e := range errs {
		fmt.Fprintln(c.errOut, c.errorText(e))
	}
	return errSilent
}

// errorText is err's message, with API errors in kubectl's words.
func (c *cli) errorText(err error) string {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return c.formatError(err)
	}
	return err.Error()
}

func dryRunSuffix(dry bool) string {
	if dry {
		return " (dry run)"
	}
	return ""
}

// selectNodes returns the named nodes, or those the label selector matches.
func (c *cli) selectNodes(ctx context.Context, d dynamic, names []string, selector string) ([]string, error) {
	nodes := resourceMust("nodes")
	if selector != "" {
		objs, _, err := d.List(ctx, nodes, &metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 {
			return nil, errors.New("no nodes found")
		}
		for _, o := range objs {
			names = append(names, o.GetMetadata().GetName())
		}
		return names, nil
	}
	for _, n := range names {
		if _, err := d.Get(ctx, nodes, "", n); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// cordonNodes sets spec.unschedulable of each node, printing kubectl's
// lines; failures are printed and do not stop the others.
func (c *cli) cordonNodes(ctx context.Context, d dynamic, nodes []string, unschedulable, dry bool) {
	verb := "cordon"
	if !unschedulable {
		verb = "uncordon"
	}
	for _, n := range nodes {
		var changed bool
		var err error
		if dry {
			var obj object
			if obj, err = d.Get(ctx, resourceMust("nodes"), "", n); err == nil {
				changed = obj.(*corev1.Node).GetSpec().GetUnschedulable() != unschedulable
			}
		} else {
			changed, err = c.setUnschedulable(ctx, n, unschedulable)
		}
		if err != nil {
			fmt.Fprintf(c.errOut, "error: unable to %s node %q: %s\n", verb, n, c.errorText(err))
			continue
		}
		res := verb + "ed"
		if !changed {
			res = "already " + res
		}
		fmt.Fprintf(c.out, "node/%s %s%s\n", n, res, dryRunSuffix(dry))
	}
}

// setUnschedulable updates the node, reporting whether it changed.
func (c *cli) setUnschedulable(ctx context.Context, node string, unschedulable bool) (bool, error) {
	return c.mutate(ctx, resourceMust("nodes"), "", node, func(o object) (bool, error) {
		n := o.(*corev1.Node)
		if n.GetSpec().GetUnschedulable() == unschedulable {
			return false, nil
		}
		if n.Spec == nil {
			n.Spec = &corev1.NodeSpec{}
		}
		n.Spec.Unschedulable = unschedulable
		return true, nil
	})
}

// drainNode deletes the pods of one node that drain's rules allow and waits
// for them to be gone.
func (c *cli) drainNode(ctx context.Context, d dynamic, node string, o drainOptions) error {
	list, err := c.podsForDeletion(ctx, d, node, o)
	if err != nil {
		return err
	}
	if errs := podDeleteErrors(list); len(errs) > 0 {
		return errs
	}
	if w := podDeleteWarnings(list); w != "" {
		fmt.Fprintf(c.errOut, "Warning: %s\n", w)
	}
	var pods []*corev1.Pod
	for _, p := range list {
		if p.delete {
			pods = append(pods, p.pod)
		}
	}
	if o.dryRun == "client" {
		for _, p := range pods {
			fmt.Fprintf(c.out, "deleting pod %s/%s (dry run)\n", p.GetMetadata().GetNamespace(), p.GetMetadata().GetName())
		}
		return nil
	}
	if err := c.deletePods(ctx, d, pods, o); err != nil {
		if pending, lerr := c.podsForDeletion(ctx, d, node, o); lerr == nil {
			var names []string
			for _, p := range pending {
				if p.delete {
					names = append(names, "pod/"+p.pod.GetMetadata().GetName())
				}
			}
			if len(names) > 0 {
				fmt.Fprintf(c.errOut, "There are pending pods in node %q when an error occurred: %s\n", node, c.errorText(err))
				for _, n := range names {
					fmt.Fprintln(c.errOut, n)
				}
			}
		}
		return err
	}
	return nil
}

// podsForDeletion lists the pods bound to node in every namespace and runs
// kubectl's filters over them, in kubectl's order: the first filter that
// spares a pod decides; for a pod that must go, the last filter's verdict
// (okay or a warning) stands.
func (c *cli) podsForDeletion(ctx context.Context, d dynamic, node string, o drainOptions) ([]podDelete, error) {
	objs, _, err := d.List(ctx, resourceMust("pods"), &metav1.ListOptions{
		FieldSelector: "spec.nodeName=" + node,
		LabelSelector: o.podSelector,
	})
	if err != nil {
		return nil, err
	}
	filters := []func(*corev1.Pod) podDelete{
		func(p *corev1.Pod) podDelete { return skipDeletedFilter(p, o.skipWaitTimeout, c.now()) },
		func(p *corev1.Pod) podDelete { return c.daemonSetFilter(ctx, d, p, o) },
		mirrorPodFilter,
		func(p *corev1.Pod) podDelete { return localStorageFilter(p, o) },
		func(p *corev1.Pod) podDelete { return unreplicatedFilter(p, o) },
	}
	out := make([]podDelete, 0, len(objs))
	for _, obj := range objs {
		p := obj.(*corev1.Pod)
		var st podDelete
		for _, f := range filters {
			st = f(p)
			if !st.delete {
				break
			}
		}
		st.pod = p
		out = append(out, st)
	}
	return out, nil
}

func okay() podDelete { return podDelete{delete: true, reason: podOkay} }

func finished(p *corev1.Pod) bool {
	ph := p.GetStatus().GetPhase()
	return ph == "Succeeded" || ph == "Failed"
}

// controllerOf is the pod's ownerReference with controller=true.
func controllerOf(m *metav1.ObjectMeta) *metav1.OwnerReference {
	for _, r := range m.GetOwnerReferences() {
		if r.GetController() {
			return r
		}
	}
	return nil
}

func skipDeletedFilter(p *corev1.Pod, skipAfter int, now time.Time) podDelete {
	if skipPodWait(p, skipAfter, now) {
		return podDelete{reason: podSkip}
	}
	return okay()
}

// skipPodWait reports whether the pod has been terminating for longer than
// --skip-wait-for-delete-timeout.
func skipPodWait(p *corev1.Pod, skipAfter int, now time.Time) bool {
	ts := p.GetMetadata().GetDeletionTimestamp()
	return skipAfter > 0 && ts != nil && int(now.Sub(ts.AsTime()).Seconds()) > skipAfter
}

func (c *cli) daemonSetFilter(ctx context.Context, d dynamic, p *corev1.Pod, o drainOptions) podDelete {
	ref := controllerOf(p.GetMetadata())
	if ref == nil || ref.GetKind() != "DaemonSet" || finished(p) {
		return okay()
	}
	if _, err := d.Get(ctx, resourceMust("daemonsets"), p.GetMetadata().GetNamespace(), ref.GetName()); err != nil {
		msg := status.Convert(err).Message()
		if client.IsNotFound(err) && o.force {
			// An orphaned DaemonSet pod: nothing will replace it.
			return podDelete{delete: true, reason: podWarning, message: msg}
		}
		return podDelete{reason: podError, message: msg}
	}
	if !o.ignoreDaemonSets {
		return podDelete{reason: podError, message: daemonSetFatal}
	}
	return podDelete{reason: podWarning, message: daemonSetWarning}
}

func mirrorPodFilter(p *corev1.Pod) podDelete {
	if _, ok := p.GetMetadata().GetAnnotations()[mirrorPodAnnotation]; ok {
		return podDelete{reason: podSkip}
	}
	return okay()
}

func localStorageFilter(p *corev1.Pod, o drainOptions) podDelete {
	local := false
	for _, v := range p.GetSpec().GetVolumes() {
		if v.GetEmptyDir() != nil {
			local = true
		}
	}
	if !local || finished(p) {
		return okay()
	}
	if !o.deleteEmptyDirData {
		return podDelete{reason: podError, message: localStorageFatal}
	}
	return podDelete{delete: true, reason: podWarning, message: localStorageWarning}
}

func unreplicatedFilter(p *corev1.Pod, o drainOptions) podDelete {
	if finished(p) || controllerOf(p.GetMetadata()) != nil {
		return okay()
	}
	if o.force {
		return podDelete{delete: true, reason: podWarning, message: unmanagedWarning}
	}
	return podDelete{reason: podError, message: unmanagedFatal}
}

// groupPods joins the namespace/name of the pods with reason, per message,
// in the order messages first appear.
func groupPods(list []podDelete, reason string) (msgs []string, pods map[string][]string) {
	pods = map[string][]string{}
	for _, p := range list {
		if p.reason != reason {
			continue
		}
		if _, ok := pods[p.message]; !ok {
			msgs = append(msgs, p.message)
		}
		m := p.pod.GetMetadata()
		pods[p.message] = append(pods[p.message], m.GetNamespace()+"/"+m.GetName())
	}
	return msgs, pods
}

// podDeleteErrors is one error per reason that stops the drain.
func podDeleteErrors(list []podDelete) aggregate {
	msgs, pods := groupPods(list, podError)
	var errs aggregate
	for _, m := range msgs {
		if m == "" {
			m = "unexpected error"
		}
		errs = append(errs, fmt.Errorf("cannot delete %s: %s", m, strings.Join(pods[m], ", ")))
	}
	return errs
}

// podDeleteWarnings is kubectl's warning line: "msg: ns/a, ns/b; msg2: ...".
func podDeleteWarnings(list []podDelete) string {
	msgs, pods := groupPods(list, podWarning)
	parts := make([]string, 0, len(msgs))
	for _, m := range msgs {
		parts = append(parts, m+": "+strings.Join(pods[m], ", "))
	}
	return strings.Join(parts, "; ")
}

// deletePods deletes the pods and waits until each is gone (or replaced by
// a new pod of the same name), printing "pod/NAME deleted" as each goes.
func (c *cli) deletePods(ctx context.Context, d dynamic, pods []*corev1.Pod, o drainOptions) error {
	if len(pods) == 0 {
		return nil
	}
	podsR := resourceMust("pods")
	wctx := ctx
	if o.timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	for _, p := range pods {
		m := p.GetMetadata()
		opts := &metav1.DeleteOptions{Namespace: m.GetNamespace(), Name: m.GetName()}
		if o.gracePeriod >= 0 {
			g := int64(o.gracePeriod)
			opts.GracePeriodSeconds = &g
		}
		if err := d.Delete(wctx, podsR, opts); err != nil && !client.IsNotFound(err) {
			if wctx.Err() != nil && ctx.Err() == nil {
				return timeoutErrors(pods, o.timeout)
			}
			return err
		}
		fmt.Fprintf(c.out, "deleting pod %s/%s\n", m.GetNamespace(), m.GetName())
	}
	pending := pods
	for {
		var still []*corev1.Pod
		for _, p := range pending {
			m := p.GetMetadata()
			cur, err := d.Get(wctx, podsR, m.GetNamespace(), m.GetName())
			switch {
			case client.IsNotFound(err) || err == nil && cur.GetMetadata().GetUid() != m.GetUid():
				fmt.Fprintf(c.out, "pod/%s deleted\n", m.GetName())
			case err != nil && wctx.Err() != nil:
				still = append(still, p)
			case err != nil:
				return err
			case skipPodWait(cur.(*corev1.Pod), o.skipWaitTimeout, c.now()):
				fmt.Fprintf(c.out, "pod %q has DeletionTimestamp older than %v seconds, skipping\n", m.GetName(), o.skipWaitTimeout)
			default:
				still = append(still, p)
			}
		}
		pending = still
		if len(pending) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if wctx.Err() != nil {
			return timeoutErrors(pending, o.timeout)
		}
		select {
		case <-wctx.Done():
		case <-time.After(drainPollInterval):
		}
	}
}

// timeoutErrors is kubectl's error for pods still there at --timeout.
func timeoutErrors(pods []*corev1.Pod, timeout time.Duration) aggregate {
	var errs aggregate
	for _, p := range pods {
		m := p.GetMetadata()
		errs = append(errs, fmt.Errorf("error when waiting for pod %q in namespace %q to terminate: global timeout reached: %v", m.GetName(), m.GetNamespace(), timeout))
	}
	return errs
}
