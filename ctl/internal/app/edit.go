package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"skiff.dev/proto/client"
	"skiff.dev/proto/codec"
)

// ---- diff ----

func (c *cli) diffCommand() *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "diff -f FILENAME",
		Short: "Diff the live version against what apply would make of it",
		Long: `Diff the live objects against what skiffctl apply -f would make of them, as kubectl diff
does: each object's live YAML is written to /tmp/LIVE-XXXX/ and the result of applying the
manifest to /tmp/MERGED-XXXX/, and "diff -u -N" compares the two folders (KUBECTL_EXTERNAL_DIFF
names another program). The merged object is the apiserver's answer to a dry run of what
apply would send (an update, or a create of a new object), so it has the server's defaults,
validation and allocations, and nothing is changed.
Exit status: 0 no differences, 1 differences found, >1 skiffctl or diff failed.`,
		Example: `  skiffctl diff -f web.yaml
  skiffctl get deploy web -o yaml | sed s/replicas:.2/replicas:\ 3/ | skiffctl diff -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return diffFailed{errors.New("must specify one of -f and -k")}
			}
			err := c.runDiff(cmd.Context(), files)
			if err != nil && !errors.Is(err, errSilent) {
				return diffFailed{err}
			}
			return err
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "files, folders or - (stdin) with the manifests")
	return cmd
}

func (c *cli) runDiff(ctx context.Context, files []string) error {
	ms, err := readManifests(files, c.in)
	if err != nil {
		return err
	}
	d, err := c.dyn()
	if err != nil {
		return err
	}
	liveDir, err := os.MkdirTemp("", "LIVE-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(liveDir)
	mergedDir, err := os.MkdirTemp("", "MERGED-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(mergedDir)
	for _, m := range ms {
		obj := m.obj
		if m.r.Namespaced && meta(obj).GetNamespace() == "" {
			meta(obj).Namespace = c.namespace()
		}
		if !m.r.Namespaced {
			meta(obj).Namespace = ""
		}
		file := m.r.Version + "." + m.r.Kind + "." + meta(obj).GetNamespace() + "." + meta(obj).GetName()
		if m.r.Group != "" {
			file = m.r.Group + "." + file
		}
		merged, live, err := c.dryRunApply(ctx, d, m.r, obj)
		if err != nil {
			return err
		}
		if live != nil {
			if err := writeYAML(filepath.Join(liveDir, file), live); err != nil {
				return err
			}
		}
		if err := writeYAML(filepath.Join(mergedDir, file), merged); err != nil {
			return err
		}
	}
	prog := []string{"diff", "-u", "-N"}
	if ext := strings.Fields(os.Getenv("KUBECTL_EXTERNAL_DIFF")); len(ext) > 0 {
		prog = ext
	}
	run := exec.CommandContext(ctx, prog[0], append(prog[1:], liveDir, mergedDir)...)
	run.Stdout, run.Stderr = c.out, c.errOut
	err = run.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return errSilent // differences: exit 1, as diff(1)
	case errors.As(err, &exit):
		return fmt.Errorf("%s failed: exit status %d", prog[0], exit.ExitCode())
	}
	return fmt.Errorf("failed to run %q: %v", prog[0], err)
}

// dryRunApply is what skiffctl apply would store, as the apiserver answers
// a dry run of it: a create of a new object, an update of a changed one,
// the live object itself when apply would leave it unchanged. So the
// server's defaults and allocations show, and only as changes when apply
// would change them. live is nil for a new object.
func (c *cli) dryRunApply(ctx context.Context, d dynamic, r *resource, obj object) (merged, live object, err error) {
	name, ns := meta(obj).GetName(), meta(obj).GetNamespace()
	for attempt := 0; ; attempt++ {
		live, err = d.Get(ctx, r, ns, name)
		if client.IsNotFound(err) {
			create := clone(obj)
			meta(create).ResourceVersion = ""
			merged, err = d.DryRunCreate(ctx, r, create)
			if client.IsAlreadyExists(err) && attempt < 3 {
				continue // created meanwhile: diff against it
			}
			return merged, nil, err
		}
		if err != nil {
			return nil, nil, err
		}
		same, err := subsetOf(obj, live)
		if err != nil || same {
			return live, live, err
		}
		merged, err = d.DryRunUpdate(ctx, r, applyOver(obj, live))
		if client.IsConflict(err) && attempt < 3 {
			continue
		}
		return merged, live, err
	}
}

func writeYAML(path string, o object) error {
	b, err := toYAML(o)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// ---- edit ----

const editHeader = `# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
`

func (c *cli) editCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "edit (TYPE NAME | TYPE/NAME)",
		Short: "Edit a resource on the server",
		Long: `Edit a resource in your editor: $KUBE_EDITOR, else $EDITOR, else vi. The object's YAML is
written to a temporary file; when the editor exits, the file is applied over the
resourceVersion it was read at. An unchanged file changes nothing. A file that does not parse
or that the apiserver refuses is reopened with the reasons on top; saved again unchanged, the
edit is cancelled and the file kept. On a conflict (someone changed the object meanwhile)
the file is kept and its path printed, to apply again.`,
		Example: `  skiffctl edit deployment web
  KUBE_EDITOR=nano skiffctl edit svc/web`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "yaml" && output != "json" {
				return fmt.Errorf("the flag 'output' must be one of yaml|json")
			}
			r, name, err := oneTarget(args)
			if err != nil {
				return err
			}
			return c.runEdit(cmd.Context(), r, name, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "the format to edit in: yaml or json")
	return cmd
}

func (c *cli) runEdit(ctx context.Context, r *resource, name, format string) error {
	d, err := c.dyn()
	if err != nil {
		return err
	}
	ns := c.namespace()
	if !r.Namespaced {
		ns = ""
	}
	live, err := d.Get(ctx, r, ns, name)
	if err != nil {
		return err
	}
	var original []byte
	if format == "json" {
		original, err = toJSON(live)
		original = append(original, '\n')
	} else {
		original, err = toYAML(live)
	}
	if err != nil {
		return err
	}
	editor := os.Getenv("KUBE_EDITOR")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	resourceString := r.Plural
	if r.Group != "" {
		resourceString += "." + r.Group
	}
	preserved := func(file string, err error) error {
		fmt.Fprintf(c.errOut, "A copy of your changes has been stored to %q\n", file)
		return err
	}

	content := original
	var reasons []string
	var lastEdited []byte
	for {
		var buf bytes.Buffer
		buf.WriteString(editHeader)
		for _, r := range reasons {
			buf.WriteString("# " + strings.ReplaceAll(r, "\n", "\n# ") + "\n#\n")
		}
		buf.Write(content)
		f, err := os.CreateTemp("", "skiffctl-edit-*."+format)
		if err != nil {
			return err
		}
		file := f.Name()
		_, werr := f.Write(buf.Bytes())
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
		ed := exec.CommandContext(ctx, "sh", "-c", editor+` "$1"`, "sh", file)
		ed.Stdin, ed.Stdout, ed.Stderr = c.in, c.out, c.errOut
		if err := ed.Run(); err != nil {
			return preserved(file, fmt.Errorf("there was a problem with the editor %q: %v", editor, err))
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		edited := dropCommentLines(raw)
		if lastEdited != nil && bytes.Equal(edited, lastEdited) {
			return preserved(file, errors.New("Edit cancelled, no valid changes were saved."))
		}
		if bytes.Equal(bytes.TrimSpace(edited), bytes.TrimSpace(original)) {
			os.Remove(file)
			fmt.Fprintln(c.errOut, "Edit cancelled, no changes made.")
			return nil
		}
		if len(bytes.TrimSpace(edited)) == 0 {
			os.Remove(file)
			fmt.Fprintln(c.errOut, "Edit cancelled, saved file was empty.")
			return nil
		}
		obj := r.New()
		if err := codec.UnmarshalYAML(edited, obj); err != nil {
			reasons = []string{fmt.Sprintf("The edited file had a syntax error: %v", err)}
			content, lastEdited = edited, edited
			os.Remove(file)
			continue
		}
		if apiVersionOf(obj) != r.APIVersion() || kindOf(obj) != r.Kind || obj.GetMetadata().GetName() != name {
			return preserved(file, errors.New("At least one of apiVersion, kind and name was changed"))
		}
		if r.Namespaced {
			if got := obj.GetMetadata().GetNamespace(); got != "" && got != ns {
				return preserved(file, fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", got, ns, got))
			}
			meta(obj).Namespace = ns
		}
		if _, err := d.Update(ctx, r, obj); err != nil {
			switch {
			case client.IsInvalid(err):
				fmt.Fprintf(c.errOut, "error: %s %q is invalid\n", resourceString, name)
				reasons = []string{fmt.Sprintf("%s %q was not valid:\n* %s", resourceString, name, errorMessage(err))}
				content, lastEdited = edited, edited
				os.Remove(file)
				continue
			case client.IsNotFound(err):
				fmt.Fprintf(c.errOut, "error: %s %q could not be found on the server\n", resourceString, name)
				fmt.Fprintf(c.errOut, "The edits you made on deleted resources have been saved to %q\n", file)
				return errSilent
			}
			fmt.Fprintf(c.errOut, "error: %s %q could not be patched: %s\n", resourceString, name, strings.TrimPrefix(c.formatError(err), "error: "))
			fmt.Fprintf(c.errOut, "You can run `skiffctl apply -f %s` to try this update again.\n", file)
			return errSilent
		}
		os.Remove(file)
		fmt.Fprintf(c.out, "%s/%s edited\n", r.Qualified(), name)
		return nil
	}
}

// errorMessage is the message of a gRPC status error, or err's text.
func errorMessage(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}

// dropCommentLines removes the lines starting with '#', as kubectl edit
// does with its header.
func dropCommentLines(b []byte) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out.Write(line)
		}
	}
	return out.Bytes()
}
