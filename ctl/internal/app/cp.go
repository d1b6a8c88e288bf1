package app

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"skiff.dev/proto/client"
	"skiff.dev/proto/remotecommand"
)

func (c *cli) cpCommand() *cobra.Command {
	var container string
	var noPreserve bool
	cmd := &cobra.Command{
		Use:   "cp <file-spec-src> <file-spec-dest> [-c CONTAINER]",
		Short: "Copy files and directories to and from containers",
		Long: `Copy files and directories to and from a container of a pod, as kubectl cp
does: by running tar in the container (through exec), so the container's
image must have a tar binary. A remote file spec is [NAMESPACE/]POD:PATH.`,
		Example: `  # !!!Important Note!!!
  # Requires that the 'tar' binary is present in your container
  # image.  If 'tar' is not present, 'skiffctl cp' will fail.

  # Copy /tmp/foo_dir local directory to /tmp/bar_dir in a remote pod in the default namespace
  skiffctl cp /tmp/foo_dir <some-pod>:/tmp/bar_dir

  # Copy /tmp/foo local file to /tmp/bar in a remote pod in a specific container
  skiffctl cp /tmp/foo <some-pod>:/tmp/bar -c <specific-container>

  # Copy /tmp/foo from a remote pod to /tmp/bar locally
  skiffctl cp <some-namespace>/<some-pod>:/tmp/foo /tmp/bar`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return errors.New("source and destination are required")
			}
			src, err := parseFileSpec(args[0])
			if err != nil {
				return err
			}
			dest, err := parseFileSpec(args[1])
			if err != nil {
				return err
			}
			if src.pod != "" && dest.pod != "" {
				return errors.New("one of src or dest must be a local file specification")
			}
			if src.file == "" || dest.file == "" {
				return errors.New("filepath can not be empty")
			}
			if src.pod == "" && dest.pod == "" {
				return errors.New("one of src or dest must be a remote file specification")
			}
			cs, err := c.client()
			if err != nil {
				return err
			}
			cp := copier{cs: cs, container: container, noPreserve: noPreserve, out: c.out, errOut: c.errOut}
			for _, s := range []*fileSpec{&src, &dest} {
				if s.pod != "" && s.namespace == "" {
					s.namespace = c.namespace()
				}
			}
			if src.pod != "" {
				return cp.fromPod(cmd.Context(), src, dest.file)
			}
			return cp.toPod(cmd.Context(), src.file, dest)
		},
	}
	cmd.Flags().StringVarP(&container, "container", "c", "", "the container; required when the pod has several")
	cmd.Flags().BoolVar(&noPreserve, "no-preserve", false, "the copied file/directory's ownership and permissions will not be preserved in the container")
	return cmd
}

// fileSpec is [[NAMESPACE/]POD:]PATH.
type fileSpec struct {
	namespace, pod, file string
}

var errFileSpec = errors.New("filespec must match the canonical format: [[namespace/]pod:]file/path")

func parseFileSpec(arg string) (fileSpec, error) {
	i := strings.Index(arg, ":")
	switch {
	case i == 0:
		return fileSpec{}, errFileSpec
	case i < 0:
		return fileSpec{file: arg}, nil
	}
	pod, file := arg[:i], arg[i+1:]
	switch parts := strings.Split(pod, "/"); len(parts) {
	case 1:
		return fileSpec{pod: parts[0], file: file}, nil
	case 2:
		return fileSpec{namespace: parts[0], pod: parts[1], file: file}, nil
	}
	return fileSpec{}, errFileSpec
}

// copier runs tar in a container through exec.
type copier struct {
	cs          *client.Clientset
	container   string
	noPreserve  bool
	out, errOut io.Writer
}

func (cp copier) exec(ctx context.Context, s fileSpec, cmd []string, streams remotecommand.ClientStreams) (int, error) {
	opts := remotecommand.Options{Container: cp.container, Command: cmd, Stdin: streams.Stdin != nil, Stdout: true, Stderr: true}
	return cp.cs.Exec(ctx, s.namespace, s.pod, opts, streams)
}

// toPod copies the local file or directory src to dest: into it when it
// is a directory in the container, else as it.
func (cp copier) toPod(ctx context.Context, src string, dest fileSpec) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("%s doesn't exist in local filesystem", src)
	}
	destFile := path.Clean(dest.file)
	if code, err := cp.exec(ctx, dest, []string{"test", "-d", destFile},
		remotecommand.ClientStreams{Stdout: io.Discard, Stderr: io.Discard}); err == nil && code == 0 {
		destFile = path.Join(destFile, filepath.Base(filepath.Clean(src)))
	}
	r, w := io.Pipe()
	go func() {
		w.CloseWithError(writeTar(w, filepath.Clean(src), path.Base(destFile)))
	}()
	defer r.Close()
	cmd := []string{"tar", "-xmf", "-"}
	if cp.noPreserve {
		cmd = []string{"tar", "--no-same-permissions", "--no-same-owner", "-xmf", "-"}
	}
	if dir := path.Dir(destFile); dir != "" {
		cmd = append(cmd, "-C", dir)
	}
	code, err := cp.exec(ctx, dest, cmd, remotecommand.ClientStreams{Stdin: r, Stdout: cp.out, Stderr: cp.errOut})
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// writeTar writes src (recursively) to w as name and, for a directory,
// name/... below it, as kubectl's makeTar.
func writeTar(w io.Writer, src, name string) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = path.Join(name, filepath.ToSlash(rel))
		if fi.IsDir() {
			if entries, err := os.ReadDir(p); err != nil || len(entries) > 0 {
				return err // a directory with files is made by its files, as kubectl does
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// fromPod copies the file or directory src of the container to the local
// path dest, as kubectl's copyFromPod: tar's messages go to stdout.
func (cp copier) fromPod(ctx context.Context, src fileSpec, dest string) error {
	r, w := io.Pipe()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := cp.exec(ctx, src, []string{"tar", "cf", "-", src.file}, remotecommand.ClientStreams{Stdout: w, Stderr: cp.out})
		w.CloseWithError(err)
		done <- result{code, err}
	}()
	prefix := stripPathShortcuts(path.Clean(strings.TrimLeft(src.file, "/")))
	untarErr := cp.untar(r, prefix, dest)
	r.CloseWithError(errors.New("copy ended")) // lets the exec end if untar stopped early
	res := <-done
	switch {
	case res.err != nil:
		return res.err
	case untarErr != nil:
		return untarErr
	case res.code != 0:
		return exitError{res.code}
	}
	return nil
}

// untar extracts the members of r, named prefix[/...], to dest[/...].
func (cp copier) untar(r io.Reader, prefix, dest string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !strings.HasPrefix(hdr.Name, prefix) {
			return errors.New("tar contents corrupted")
		}
		target := filepath.Join(dest, filepath.FromSlash(path.Clean("/"+hdr.Name[len(prefix):])))
		if rel, err := filepath.Rel(dest, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			fmt.Fprintf(cp.errOut, "warning: file %q is outside target destination, skipping\n", target)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		mode := hdr.FileInfo().Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case mode&os.ModeSymlink != 0:
			fmt.Fprintf(cp.errOut, "warning: skipping symlink: %q -> %q\n", target, hdr.Linkname)
		default:
			f, err := os.Create(target)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		}
	}
}

// stripPathShortcuts drops leading "../" and a lone "." or "..", so that a
// remote path cannot name what is above the destination.
func stripPathShortcuts(p string) string {
	for strings.HasPrefix(p, "../") {
		p = strings.TrimPrefix(p, "../")
	}
	if p == "." || p == ".." {
		return ""
	}
	return strings.TrimPrefix(p, "/")
}
