package app

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/spf13/cobra"

	"skiff.dev/proto/client"
	"skiff.dev/proto/codec"
)

func (c *cli) applyCommand() *cobra.Command {
	var files []string
	var output string
	cmd := &cobra.Command{
		Use:   "apply -f FILENAME",
		Short: "Create or update resources from files or stdin",
		Example: `  skiffctl apply -f web.yaml
  skiffctl apply -f manifests/
  cat web.yaml | skiffctl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runApply(cmd.Context(), files, output, false)
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "files, folders or - (stdin) with the manifests")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: name")
	return cmd
}

// runApply applies (or, with createOnly, creates) every manifest. It goes
// on after a failed object and fails at the end, as kubectl does.
func (c *cli) runApply(ctx context.Context, files []string, output string, createOnly bool) error {
	ms, err := readManifests(files, c.in)
	if err != nil {
		return err
	}
	d, err := c.dyn()
	if err != nil {
		return err
	}
	var failed bool
	for _, m := range ms {
		obj := m.obj
		if m.r.Namespaced && meta(obj).GetNamespace() == "" {
			meta(obj).Namespace = c.namespace()
		}
		if !m.r.Namespaced {
			meta(obj).Namespace = ""
		}
		var result string
		if createOnly {
			result, err = c.create(ctx, d, m)
		} else {
			result, err = c.apply(ctx, d, m)
		}
		if err != nil {
			fmt.Fprintln(c.errOut, c.formatError(err))
			failed = true
			if client.IsUnavailable(err) {
				return errSilent
			}
			continue
		}
		if output == "name" {
			fmt.Fprintf(c.out, "%s/%s\n", m.r.Qualified(), meta(obj).GetName())
		} else {
			fmt.Fprintf(c.out, "%s/%s %s\n", m.r.Qualified(), meta(obj).GetName(), result)
		}
	}
	if failed {
		return errSilent
	}
	return nil
}

func (c *cli) create(ctx context.Context, d dynamic, m manifest) (string, error) {
	obj := clone(m.obj)
	meta(obj).ResourceVersion = ""
	if _, err := d.Create(ctx, m.r, obj); err != nil {
		return "", err
	}
	return "created", nil
}

// apply creates the object, or updates it over the live one's
// resourceVersion; "unchanged" when the live object already has every
// field the manifest sets.
func (c *cli) apply(ctx context.Context, d dynamic, m manifest) (string, error) {
	name, ns := meta(m.obj).GetName(), meta(m.obj).GetNamespace()
	for attempt := 0; ; attempt++ {
		live, err := d.Get(ctx, m.r, ns, name)
		if client.IsNotFound(err) {
			obj := clone(m.obj)
			meta(obj).ResourceVersion = ""
			if _, err := d.Create(ctx, m.r, obj); err != nil {
				if client.IsAlreadyExists(err) && attempt < 3 {
					continue
				}
				return "", err
			}
			return "created", nil
		}
		if err != nil {
			return "", err
		}
		same, err := subsetOf(m.obj, live)
		if err != nil {
			return "", err
		}
		if same {
			return "unchanged", nil
		}
		if _, err := d.Update(ctx, m.r, applyOver(m.obj, live)); err != nil {
			if client.IsConflict(err) && attempt < 3 {
				continue
			}
			return "", err
		}
		return "configured", nil
	}
}

// applyOver is the object apply sends to replace live with want: want,
// at live's resourceVersion, keeping live's identity and, unless want
// names them, its owners and finalizers.
func applyOver(want, live object) object {
	obj := clone(want)
	lm, om := live.GetMetadata(), meta(obj)
	om.ResourceVersion = lm.GetResourceVersion()
	om.Uid = lm.GetUid()
	om.CreationTimestamp = lm.GetCreationTimestamp()
	if om.OwnerReferences == nil {
		om.OwnerReferences = lm.GetOwnerReferences()
	}
	if om.Finalizers == nil {
		om.Finalizers = lm.GetFinalizers()
	}
	return obj
}

// subsetOf reports whether every field set in want has the same value in
// have, comparing their JSON forms.
func subsetOf(want, have object) (bool, error) {
	wj, err := codec.Marshal(want)
	if err != nil {
		return false, err
	}
	hj, err := codec.Marshal(have)
	if err != nil {
		return false, err
	}
	var w, h any
	if err := json.Unmarshal(wj, &w); err != nil {
		return false, err
	}
	if err := json.Unmarshal(hj, &h); err != nil {
		return false, err
	}
	if wm, ok := w.(map[string]any); ok {
		if md, ok := wm["metadata"].(map[string]any); ok {
			// Server-owned metadata the manifest may carry from -o yaml.
			for _, k := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"} {
				delete(md, k)
			}
		}
		delete(wm, "status")
	}
	return jsonSubset(w, h), nil
}

func jsonSubset(w, h any) bool {
	switch wv := w.(type) {
	case map[string]any:
		hv, ok := h.(map[string]any)
		if !ok {
			return false
		}
		for k, x := range wv {
			y, ok := hv[k]
			if !ok {
				if isZero(x) {
					continue
				}
				return false
			}
			if !jsonSubset(x, y) {
				return false
			}
		}
		return true
	case []any:
		hv, ok := h.([]any)
		if !ok || len(hv) != len(wv) {
			return false
		}
		for i := range wv {
			if !jsonSubset(wv[i], hv[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(w, h)
	}
}

func isZero(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}
