package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/printers"
	"skiff.dev/proto/rollout"
)

// The Deployment controller's bookkeeping, shared with
// skiff-controller-manager through skiff.dev/proto/rollout: each revision of
// a Deployment is a ReplicaSet it owns, numbered by an annotation.
const (
	revisionAnnotation    = rollout.RevisionAnnotation
	changeCauseAnnotation = rollout.ChangeCauseAnnotation
	podTemplateHashLabel  = rollout.PodTemplateHashLabel
	restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"
)

// rollbackSkippedAnnotations are kept from the Deployment, not taken from
// the ReplicaSet, on rollback (kubectl's annotationsToSkip).
var rollbackSkippedAnnotations = rollout.NotCopiedAnnotations

func (c *cli) rolloutCommand() *cobra.Command {
	ro := &cobra.Command{
		Use:   "rollout SUBCOMMAND",
		Short: "Manage the rollout of a resource",
		Long: `Manage the rollout of one or many resources.

Valid resource types include deployments and daemonsets (status and restart).
A Deployment's revisions are the ReplicaSets it owns.`,
	}
	ro.AddCommand(c.rolloutStatusCommand(), c.rolloutHistoryCommand(), c.rolloutUndoCommand(),
		c.rolloutRestartCommand(), c.rolloutPauseCommand(true), c.rolloutPauseCommand(false))
	return ro
}

// rolloutTarget reads "TYPE/NAME" or "TYPE NAME" and checks the kind.
func rolloutTarget(args []string, verb string, kinds ...string) (*resource, string, error) {
	r, name, err := oneTarget(args)
	if err != nil {
		return nil, "", err
	}
	for _, k := range kinds {
		if r.Kind == k {
			return r, name, nil
		}
	}
	return nil, "", fmt.Errorf("no %s has been implemented for %s", verb, groupKind(r))
}

// groupKind is how kubectl prints a schema.GroupKind: "ReplicaSet.apps", "Pod".
func groupKind(r *resource) string {
	if r.Group == "" {
		return r.Kind
	}
	return r.Kind + "." + r.Group
}

// resourceString is "deployments.apps", the plural qualified by group.
func resourceString(r *resource) string {
	if r.Group == "" {
		return r.Plural
	}
	return r.Plural + "." + r.Group
}

func (c *cli) rolloutStatusCommand() *cobra.Command {
	var watch bool
	var revision int64
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status (TYPE NAME | TYPE/NAME) [flags]",
		Short: "Show the status of the rollout",
		Long: `Show the status of the rollout.

By default 'rollout status' watches the latest rollout until it is done. Use
--watch=false not to wait. Use --timeout to give up after a while.`,
		Example: `  # Watch the rollout status of a deployment
  skiffctl rollout status deployment/web`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, name, err := rolloutTarget(args, "status viewer", "Deployment", "DaemonSet")
			if err != nil {
				return err
			}
			if revision < 0 {
				return fmt.Errorf("revision must be a positive integer: %v", revision)
			}
			return c.rolloutStatus(cmd.Context(), r, name, watch, revision, timeout)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&watch, "watch", "w", true, "Watch the status of the rollout until it's done.")
	f.Int64Var(&revision, "revision", 0, "Pin to a specific revision for showing its status. Defaults to 0 (last revision).")
	f.DurationVar(&timeout, "timeout", 0, "The length of time to wait before ending watch, zero means never. Any other values should contain a corresponding time unit (e.g. 1s, 2m, 3h).")
	return cmd
}

func (c *cli) rolloutStatus(ctx context.Context, r *resource, name string, watch bool, revision int64, timeout time.Duration) error {
	d, err := c.dyn()
	if err != nil {
		return err
	}
	ns := c.namespace()
	obj, err := d.Get(ctx, r, ns, name)
	if err != nil {
		return err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	show := func(obj object) (bool, error) {
		msg, done, err := rolloutStatusMessage(obj, revision)
		if err != nil {
			return false, err
		}
		fmt.Fprint(c.out, msg)
		return done || !watch, nil
	}
	if done, err := show(obj); done || err != nil {
		return err
	}
	rv := obj.GetMetadata().GetResourceVersion()
	for {
		next, err := d.Watch(ctx, r, &metav1.ListOptions{Namespace: ns, FieldSelector: "metadata.name=" + name, ResourceVersion: rv})
		if err != nil {
			return rolloutTimeout(ctx, err)
		}
		for {
			ev, err := next()
			if errors.Is(err, io.EOF) && !deadlinePassed(ctx) {
				break // the server ended the watch: watch again from rv
			}
			switch {
			case err != nil:
				return rolloutTimeout(ctx, err)
			case ev.Type == metav1.EventType_DELETED:
				return errors.New("object has been deleted")
			case ev.Type != metav1.EventType_ADDED && ev.Type != metav1.EventType_MODIFIED:
				continue
			}
			rv = ev.Object.GetMetadata().GetResourceVersion()
			if done, err := show(ev.Object); done || err != nil {
				return err
			}
		}
	}
}

// deadlinePassed reports whether ctx's deadline is over, even if its timer
// has not fired yet (the server may end a stream at the deadline first).
func deadlinePassed(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// rolloutTimeout turns the end of --timeout into kubectl's message; an
// interrupted watch ends quietly.
func rolloutTimeout(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return nil
	case deadlinePassed(ctx):
		return errors.New("timed out waiting for the condition")
	}
	return err
}

// rolloutStatusMessage is kubectl's status line of a Deployment or
// DaemonSet rollout and whether it is done (polymorphichelpers
// rollout_status.go).
func rolloutStatusMessage(obj object, revision int64) (string, bool, error) {
	switch x := obj.(type) {
	case *appsv1.Deployment:
		name := x.GetMetadata().GetName()
		if revision > 0 {
			rev, err := revisionOf(x.GetMetadata())
			if err != nil {
				return "", false, fmt.Errorf("cannot get the revision of deployment %q: %v", name, err)
			}
			if rev != revision {
				return "", false, fmt.Errorf("desired revision (%d) is different from the running revision (%d)", revision, rev)
			}
		}
		s := x.GetStatus()
		if x.GetMetadata().GetGeneration() > s.GetObservedGeneration() {
			return "Waiting for deployment spec update to be observed...\n", false, nil
		}
		for _, cond := range s.GetConditions() {
			if cond.GetType() == "Progressing" && cond.GetReason() == "ProgressDeadlineExceeded" {
				return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", name)
			}
		}
		want := printers.SpecReplicas(x.GetSpec().Replicas)
		switch {
		case s.GetUpdatedReplicas() < want:
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", name, s.GetUpdatedReplicas(), want), false, nil
		case s.GetReplicas() > s.GetUpdatedReplicas():
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", name, s.GetReplicas()-s.GetUpdatedReplicas()), false, nil
		case s.GetAvailableReplicas() < s.GetUpdatedReplicas():
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", name, s.GetAvailableReplicas(), s.GetUpdatedReplicas()), false, nil
		}
		return fmt.Sprintf("deployment %q successfully rolled out\n", name), true, nil
	case *appsv1.DaemonSet:
		name := x.GetMetadata().GetName()
		if t := x.GetSpec().GetUpdateStrategy().GetType(); t != "" && t != "RollingUpdate" {
			return "", true, errors.New("rollout status is only available for RollingUpdate strategy type")
		}
		s := x.GetStatus()
		if x.GetMetadata().GetGeneration() > s.GetObservedGeneration() {
			return "Waiting for daemon set spec update to be observed...\n", false, nil
		}
		switch {
		case s.GetUpdatedNumberScheduled() < s.GetDesiredNumberScheduled():
			return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...\n", name, s.GetUpdatedNumberScheduled(), s.GetDesiredNumberScheduled()), false, nil
		case s.GetNumberAvailable() < s.GetDesiredNumberScheduled():
			return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...\n", name, s.GetNumberAvailable(), s.GetDesiredNumberScheduled()), false, nil
		}
		return fmt.Sprintf("daemon set %q successfully rolled out\n", name), true, nil
	}
	return "", false, fmt.Errorf("no status viewer has been implemented for %T", obj)
}

// revisionOf reads the revision annotation; a missing one is revision 0.
func revisionOf(m *metav1.ObjectMeta) (int64, error) { return rollout.Revision(m.GetAnnotations()) }

// ownedReplicaSets lists the ReplicaSets whose controller is dep, oldest
// first, as the Deployment controller finds them: by the Deployment's
// selector, then by the controller ownerReference's uid.
func ownedReplicaSets(ctx context.Context, d dynamic, dep *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := labels.FromLabelSelector(dep.GetSpec().GetSelector())
	if err != nil {
		return nil, fmt.Errorf("deployment %q has an invalid selector: %w", dep.GetMetadata().GetName(), err)
	}
	objs, _, err := d.List(ctx, resourceMust("replicasets"), &metav1.ListOptions{
		Namespace: dep.GetMetadata().GetNamespace(), LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ReplicaSet
	for _, o := range objs {
		rs := o.(*appsv1.ReplicaSet)
		if ref := controllerOf(rs.GetMetadata()); ref != nil && ref.GetUid() == dep.GetMetadata().GetUid() {
			out = append(out, rs)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].GetMetadata(), out[j].GetMetadata()
		if !a.GetCreationTimestamp().AsTime().Equal(b.GetCreationTimestamp().AsTime()) {
			return a.GetCreationTimestamp().AsTime().Before(b.GetCreationTimestamp().AsTime())
		}
		return a.GetName() < b.GetName()
	})
	return out, nil
}

// newReplicaSet is the owned ReplicaSet running dep's current template,
// the oldest when there are several; nil when there is none.
func newReplicaSet(dep *appsv1.Deployment, rss []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	for _, rs := range rss {
		if rollout.EqualIgnoreHash(rs.GetSpec().GetTemplate(), dep.GetSpec().GetTemplate()) {
			return rs
		}
	}
	return nil
}

// getDeployment reads a Deployment by name in the current namespace.
func (c *cli) getDeployment(ctx context.Context, name string) (dynamic, *appsv1.Deployment, error) {
	d, err := c.dyn()
	if err != nil {
		return d, nil, err
	}
	obj, err := d.Get(ctx, resourceMust("deployments"), c.namespace(), name)
	if err != nil {
		return d, nil, err
	}
	return d, obj.(*appsv1.Deployment), nil
}

// revisions maps revision numbers to the ReplicaSets of a Deployment;
// ReplicaSets whose revision does not parse are left out, as kubectl does.
func revisions(rss []*appsv1.ReplicaSet) (map[int64]*appsv1.ReplicaSet, []int64) {
	byRev := map[int64]*appsv1.ReplicaSet{}
	var revs []int64
	for _, rs := range rss {
		v, err := revisionOf(rs.GetMetadata())
		if err != nil {
			continue
		}
		if _, dup := byRev[v]; !dup {
			revs = append(revs, v)
		}
		byRev[v] = rs
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	return byRev, revs
}

func (c *cli) rolloutHistoryCommand() *cobra.Command {
	var revision int64
	var output string
	cmd := &cobra.Command{
		Use:   "history (TYPE NAME | TYPE/NAME) [flags]",
		Short: "View rollout history",
		Long: `View previous rollout revisions and configurations.

A Deployment's revisions are the ReplicaSets it owns, numbered by their
deployment.kubernetes.io/revision annotation; CHANGE-CAUSE is their
kubernetes.io/change-cause annotation.`,
		Example: `  # View the rollout history of a deployment
  skiffctl rollout history deployment/web

  # View the details of deployment revision 3
  skiffctl rollout history deployment/web --revision=3`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, name, err := rolloutTarget(args, "history viewer", "Deployment")
			if err != nil {
				return err
			}
			if revision < 0 {
				return fmt.Errorf("revision must be a positive integer: %v", revision)
			}
			switch output {
			case "", "yaml", "json":
			default:
				return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,yaml", output)
			}
			d, dep, err := c.getDeployment(cmd.Context(), name)
			if err != nil {
				return err
			}
			rss, err := ownedReplicaSets(cmd.Context(), d, dep)
			if err != nil {
				return err
			}
			byRev, revs := revisions(rss)
			if output != "" {
				var objs []object
				if revision > 0 {
					rs, ok := byRev[revision]
					if !ok {
						return errors.New("unable to find the specified revision")
					}
					objs = append(objs, rs)
				} else {
					for _, v := range revs {
						objs = append(objs, byRev[v])
					}
				}
				return printObjects(c.out, output, resourceMust("replicasets"), objs)
			}
			var body strings.Builder
			switch {
			case len(revs) == 0:
				body.WriteString("No rollout history found.")
			case revision > 0:
				rs, ok := byRev[revision]
				if !ok {
					return errors.New("unable to find the specified revision")
				}
				tmpl := proto.Clone(rs.GetSpec().GetTemplate()).(*corev1.PodTemplateSpec)
				if cause := rs.GetMetadata().GetAnnotations()[changeCauseAnnotation]; cause != "" {
					m := meta(tmpl)
					if m.Annotations == nil {
						m.Annotations = map[string]string{}
					}
					m.Annotations[changeCauseAnnotation] = cause
				}
				w := newDescribeWriter(&body)
				describePodTemplate(w, tmpl)
				w.flush()
			default:
				t := newPaddedTable(&body)
				t.row("REVISION", "CHANGE-CAUSE")
				for _, v := range revs {
					t.row(strconv.FormatInt(v, 10), printers.OrNone(byRev[v].GetMetadata().GetAnnotations()[changeCauseAnnotation]))
				}
				t.flush()
			}
			with := ""
			if revision > 0 {
				with = fmt.Sprintf("with revision #%d", revision)
			}
			// kubectl prints this through its name printer: "KIND/NAME OPERATION".
			fmt.Fprintf(c.out, "%s/%s %s\n%s\n", r.Qualified(), name, with, body.String())
			return nil
		},
	}
	cmd.Flags().Int64Var(&revision, "revision", 0, "See the details, including podTemplate of the revision specified")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (json, yaml): the ReplicaSets of the revisions.")
	return cmd
}

func (c *cli) rolloutUndoCommand() *cobra.Command {
	var toRevision int64
	var dryRun string
	cmd := &cobra.Command{
		Use:   "undo (TYPE NAME | TYPE/NAME) [flags]",
		Short: "Undo a previous rollout",
		Long: `Roll back to a previous rollout: copy the pod template of that revision's
ReplicaSet (without its pod-template-hash label) into the Deployment.`,
		Example: `  # Roll back to the previous deployment
  skiffctl rollout undo deployment/web

  # Roll back to revision 3
  skiffctl rollout undo deployment/web --to-revision=3`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, name, err := rolloutTarget(args, "rollbacker", "Deployment")
			if err != nil {
				return err
			}
			if dryRun != "none" && dryRun != "client" {
				return fmt.Errorf(`Invalid dry-run value (%s). Must be "none" or "client".`, dryRun)
			}
			msg, err := c.rollback(cmd.Context(), name, toRevision, dryRun == "client")
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%s/%s %s\n", r.Qualified(), name, msg)
			return nil
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	cmd.Flags().StringVar(&dryRun, "dry-run", "none", `Must be "none" or "client". If client strategy, only print the pod template it would roll back to.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
	return cmd
}

// rollback is kubectl's DeploymentRollbacker: it returns what to print after
// "deployment.apps/NAME".
func (c *cli) rollback(ctx context.Context, name string, toRevision int64, dry bool) (string, error) {
	d, dep, err := c.getDeployment(ctx, name)
	if err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		rss, err := ownedReplicaSets(ctx, d, dep)
		if err != nil {
			return "", fmt.Errorf("failed to retrieve replica sets from deployment %s: %w", name, err)
		}
		rs, rev, err := rollbackTarget(dep, rss, toRevision)
		if err != nil {
			return "", err
		}
		if dry {
			var b strings.Builder
			w := newDescribeWriter(&b)
			describePodTemplate(w, rs.GetSpec().GetTemplate())
			w.flush()
			return strings.TrimSuffix(b.String(), "\n") + " (dry run)", nil
		}
		if dep.GetSpec().GetPaused() {
			return "", fmt.Errorf("you cannot rollback a paused deployment; resume it first with 'skiffctl rollout resume deployment/%s' and try again", name)
		}
		if rollout.EqualIgnoreHash(rs.GetSpec().GetTemplate(), dep.GetSpec().GetTemplate()) {
			return fmt.Sprintf("skipped rollback (current template already matches revision %d)", rev), nil
		}
		annotations := map[string]string{}
		for k, v := range dep.GetMetadata().GetAnnotations() {
			if rollbackSkippedAnnotations[k] {
				annotations[k] = v
			}
		}
		for k, v := range rs.GetMetadata().GetAnnotations() {
			if !rollbackSkippedAnnotations[k] {
				annotations[k] = v
			}
		}
		tmplOf(dep)
		dep.Spec.Template = rollout.WithoutHash(rs.GetSpec().GetTemplate())
		meta(dep).Annotations = annotations
		_, err = d.Update(ctx, resourceMust("deployments"), dep)
		if client.IsConflict(err) && attempt < 5 {
			if _, dep, err = c.getDeployment(ctx, name); err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", fmt.Errorf("failed restoring revision %d: %w", rev, err)
		}
		return "rolled back", nil
	}
}

// rollbackTarget picks the ReplicaSet of toRevision, or of the revision
// before the latest when toRevision is 0.
func rollbackTarget(dep *appsv1.Deployment, rss []*appsv1.ReplicaSet, toRevision int64) (*appsv1.ReplicaSet, int64, error) {
	byRev, revs := revisions(rss)
	if toRevision > 0 {
		rs, ok := byRev[toRevision]
		if !ok {
			return nil, 0, fmt.Errorf("unable to find specified revision %d in history", toRevision)
		}
		return rs, toRevision, nil
	}
	if len(revs) < 2 {
		return nil, 0, fmt.Errorf("no rollout history found for deployment %q", dep.GetMetadata().GetName())
	}
	prev := revs[len(revs)-2]
	return byRev[prev], prev, nil
}

func (c *cli) rolloutRestartCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restart (TYPE NAME | TYPE/NAME)",
		Short: "Restart a resource",
		Long: `Restart a resource: its pods are replaced by a rollout, because the pod
template gets a kubectl.kubernetes.io/restartedAt annotation.`,
		Example: `  # Restart a deployment
  skiffctl rollout restart deployment/web`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, name, err := rolloutTarget(args, "restarter", "Deployment", "DaemonSet")
			if err != nil {
				return err
			}
			now := c.now().Format(time.RFC3339)
			_, err = c.mutate(cmd.Context(), r, c.namespace(), name, func(o object) (bool, error) {
				var tmpl *corev1.PodTemplateSpec
				switch x := o.(type) {
				case *appsv1.Deployment:
					if x.GetSpec().GetPaused() {
						return false, fmt.Errorf("error: %s %q can't restart paused deployment (run rollout resume first)", resourceString(r), name)
					}
					tmpl = tmplOf(x)
				case *appsv1.DaemonSet:
					if x.Spec == nil {
						x.Spec = &appsv1.DaemonSetSpec{}
					}
					if x.Spec.Template == nil {
						x.Spec.Template = &corev1.PodTemplateSpec{}
					}
					tmpl = x.Spec.Template
				}
				tm := meta(tmpl)
				if tm.Annotations == nil {
					tm.Annotations = map[string]string{}
				}
				tm.Annotations[restartedAtAnnotation] = now
				return true, nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%s/%s restarted\n", r.Qualified(), name)
			return nil
		},
	}
}

// rolloutPauseCommand is pause (spec.paused=true) or resume.
func (c *cli) rolloutPauseCommand(pause bool) *cobra.Command {
	verb, short, done, already := "pause", "Mark the provided resource as paused", "paused", "is already paused"
	if !pause {
		verb, short, done, already = "resume", "Resume a paused resource", "resumed", "is not paused"
	}
	return &cobra.Command{
		Use:   verb + " (TYPE NAME | TYPE/NAME)",
		Short: short,
		Long: short + `.

Paused deployments are not reconciled by the Deployment controller: changes to
their template do not roll out until they are resumed.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, name, err := rolloutTarget(args, verb+"r", "Deployment")
			if err != nil {
				return err
			}
			_, err = c.mutate(cmd.Context(), r, c.namespace(), name, func(o object) (bool, error) {
				dep := o.(*appsv1.Deployment)
				if dep.GetSpec().GetPaused() == pause {
					return false, fmt.Errorf("error: %s %q %s", resourceString(r), name, already)
				}
				tmplOf(dep)
				dep.Spec.Paused = pause
				return true, nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%s/%s %s\n", r.Qualified(), name, done)
			return nil
		},
	}
}

// tmplOf returns the Deployment's pod template, creating missing parts.
func tmplOf(d *appsv1.Deployment) *corev1.PodTemplateSpec {
	if d.Spec == nil {
		d.Spec = &appsv1.DeploymentSpec{}
	}
	if d.Spec.Template == nil {
		d.Spec.Template = &corev1.PodTemplateSpec{}
	}
	return d.Spec.Template
}

// newPaddedTable is kubectl's tabbedString and describe writer layout:
// columns two spaces apart.
func newPaddedTable(w io.Writer) *table {
	return &table{tw: newPaddedTabWriter(w)}
}
