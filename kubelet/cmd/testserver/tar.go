package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tarMain is the image's /bin/tar (the test server called as "tar"): the
// forms `kubectl cp` runs, in GNU tar's words, on archive/tar.
//
//	tar cf - PATH...          write PATHs (directories recursively) to stdout
//	tar xf - [-C DIR]         extract stdin into DIR (or the working dir)
//
// Flags may be bundled with or without a dash (cf, -cf, -xmf); m (do not
// restore times), v, --no-same-owner and --no-same-permissions are taken.
func tarMain(args []string) int {
	var create, extract bool
	file, dir := "", ""
	var paths []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-C" || a == "--directory":
			if i+1 >= len(args) {
				return tarFail("option requires an argument -- 'C'")
			}
			i++
			dir = args[i]
		case a == "--no-same-owner" || a == "--no-same-permissions":
		case strings.HasPrefix(a, "--"):
			return tarFail(fmt.Sprintf("unrecognized option '%s'", a))
		case i == 0 && !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "-") && a != "-": // a group of flags
			for _, f := range strings.TrimPrefix(a, "-") {
				switch f {
				case 'c':
					create = true
				case 'x':
					extract = true
				case 'f':
					if i+1 >= len(args) {
						return tarFail("option requires an argument -- 'f'")
					}
					i++
					file = args[i]
				case 'm', 'v', 'o', 'p':
				default:
					return tarFail(fmt.Sprintf("invalid option -- '%c'", f))
				}
			}
		default:
			paths = append(paths, a)
		}
	}
	switch {
	case create == extract:
		return tarFail("You must specify one of the '-Acdtrux', '--delete' or '--test-label' options")
	case file != "-":
		return tarFail("only '-f -' (standard input or output) is supported")
	}
	if dir != "" {
		if err := os.Chdir(dir); err != nil {
			fmt.Fprintf(os.Stderr, "tar: %s: Cannot open: %v\n", dir, unwrap(err))
			return tarFail("Error is not recoverable: exiting now")
		}
	}
	if extract {
		if err := untar(os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "tar:", err)
			return tarFail("Error is not recoverable: exiting now")
		}
		return 0
	}
	if len(paths) == 0 {
		return tarFail("Cowardly refusing to create an empty archive")
	}
	tw := tar.NewWriter(os.Stdout)
	failed, warned := false, false
	for _, p := range paths {
		if strings.HasPrefix(p, "/") && !warned {
			fmt.Fprintln(os.Stderr, "tar: Removing leading `/' from member names")
			warned = true
		}
		if err := addTree(tw, p); err != nil {
			fmt.Fprintln(os.Stderr, "tar:", err)
			failed = true
		}
	}
	if err := tw.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "tar:", err)
		return 2
	}
	if failed {
		fmt.Fprintln(os.Stderr, "tar: Exiting with failure status due to previous errors")
		return 2
	}
	return 0
}

func tarFail(msg string) int {
	fmt.Fprintln(os.Stderr, "tar:", msg)
	return 2
}

// unwrap is the reason of a file error, capitalised as the C library
// says it ("No such file or directory").
func unwrap(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// addTree writes root and, for a directory, everything under it, named as
// given less leading slashes.
func addTree(tw *tar.Writer, root string) error {
	if _, err := os.Lstat(root); err != nil {
		return fmt.Errorf("%s: Cannot stat: %v", root, unwrap(err))
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: Cannot open: %v", p, unwrap(err))
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		hdr.Name = strings.TrimLeft(filepath.ToSlash(p), "/")
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("%s: Cannot open: %v", p, unwrap(err))
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
}

// untar extracts r into the working directory; names that would land
// outside it are refused.
func untar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("This does not look like a tar archive: %v", err)
		}
		name := filepath.Clean(strings.TrimLeft(hdr.Name, "/"))
		if name == ".." || strings.HasPrefix(name, "../") {
			fmt.Fprintf(os.Stderr, "tar: %s: Member name contains '..'\n", hdr.Name)
			continue
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(name, 0o755); err != nil {
				return err
			}
			_ = os.Chmod(name, mode|0o700)
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			_ = os.Remove(name)
			f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return fmt.Errorf("%s: Cannot open: %v", name, unwrap(err))
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			_ = os.Remove(name)
			if err := os.Symlink(hdr.Linkname, name); err != nil {
				return err
			}
		default:
			fmt.Fprintf(os.Stderr, "tar: %s: Unsupported file type, skipping\n", hdr.Name)
		}
	}
}

// testMain is the image's /bin/test, for the checks `kubectl cp` makes:
// test -d|-f|-e PATH exits 0 when PATH is a directory, a regular file, or
// exists; else 1.
func testMain(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "test: want -d, -f or -e and a path")
		return 2
	}
	fi, err := os.Stat(args[1])
	switch args[0] {
	case "-e":
		if err == nil {
			return 0
		}
	case "-d":
		if err == nil && fi.IsDir() {
			return 0
		}
	case "-f":
		if err == nil && fi.Mode().IsRegular() {
			return 0
		}
	default:
		fmt.Fprintf(os.Stderr, "test: %s: unknown operator\n", args[0])
		return 2
	}
	return 1
}
