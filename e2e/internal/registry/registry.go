// Package registry is skiff-registry: go-containerregistry's OCI
// distribution registry, seeded at start with every OCI image-layout
// archive of a folder, so the lab's image pulls are real pulls.
package registry

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"skiff.dev/proto/component"
)

// Annotations of an OCI index entry that name the image.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// Run runs skiff-registry with args and returns its exit code.
func Run(args []string) int {
	var addr, seed, blobDir, logLevel string
	cmd := &cobra.Command{
		Use:   "skiff-registry",
		Short: "An OCI distribution registry seeded from OCI image-layout archives",
		Long: `skiff-registry serves the OCI distribution API (/v2/) and, before it reports
ready on /readyz, pushes into itself every image of every OCI image-layout archive
(*.tar) in --seed: an index entry named "skiff.dev/pause:3.9" or
"docker.io/library/busybox:1.36" (annotation io.containerd.image.name or
org.opencontainers.image.ref.name) becomes pause:3.9 or library/busybox:1.36; an
entry named only by a tag becomes <archive name>:<tag>.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lg, err := component.NewLogger("console", logLevel)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return Serve(ctx, lg.Named("registry"), Config{Addr: addr, SeedDir: seed, BlobDir: blobDir})
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:5000", "address to serve on")
	f.StringVar(&seed, "seed", "", "folder of OCI image-layout archives (*.tar) to serve from the start")
	f.StringVar(&blobDir, "blob-dir", "", "keep blobs in this folder instead of memory")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "skiff-registry:", err)
		return 1
	}
	return 0
}

// Config configures Serve.
type Config struct {
	Addr, SeedDir, BlobDir string
}

// Serve serves the registry until ctx ends.
func Serve(ctx context.Context, lg *zap.Logger, cfg Config) error {
	var opts []ggcr.Option
	if cfg.BlobDir != "" {
		if err := os.MkdirAll(cfg.BlobDir, 0o755); err != nil {
			return fmt.Errorf("blob dir: %w", err)
		}
		opts = append(opts, ggcr.WithBlobHandler(ggcr.NewDiskBlobHandler(cfg.BlobDir)))
	}
	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/v2/", ggcr.New(opts...))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "seeding", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	lg.Info("serving", zap.String("address", ln.Addr().String()))
	if cfg.SeedDir != "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		if err := SeedDir(ctx, lg, cfg.SeedDir, net.JoinHostPort("127.0.0.1", port)); err != nil {
			_ = srv.Close()
			return err
		}
	}
	ready.Store(true)
	lg.Info("ready")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// SeedDir pushes every image of every *.tar OCI image-layout archive in dir
// to the registry at host (plain HTTP).
func SeedDir(ctx context.Context, lg *zap.Logger, dir, host string) error {
	archives, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil {
		return err
	}
	for _, a := range archives {
		refs, err := seedArchive(ctx, a, host)
		if err != nil {
			return fmt.Errorf("seed %s: %w", a, err)
		}
		lg.Info("seeded", zap.String("archive", a), zap.Strings("images", refs))
	}
	return nil
}

func seedArchive(ctx context.Context, archive, host string) ([]string, error) {
	tmp, err := os.MkdirTemp("", "skiff-registry-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := untar(archive, tmp); err != nil {
		return nil, err
	}
	p, err := layout.FromPath(tmp)
	if err != nil {
		return nil, fmt.Errorf("not an OCI image layout: %w", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(filepath.Base(archive), ".tar")
	var pushed []string
	for _, desc := range im.Manifests {
		ref, err := refFor(desc, base, host)
		if err != nil {
			return nil, err
		}
		if desc.MediaType.IsIndex() {
			ii, err := idx.ImageIndex(desc.Digest)
			if err != nil {
				return nil, err
			}
			err = remote.WriteIndex(ref, ii, remote.WithContext(ctx))
			if err != nil {
				return nil, fmt.Errorf("push %s: %w", ref, err)
			}
		} else {
			img, err := idx.Image(desc.Digest)
			if err != nil {
				return nil, err
			}
			if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
				return nil, fmt.Errorf("push %s: %w", ref, err)
			}
		}
		pushed = append(pushed, ref.Context().RepositoryStr()+":"+ref.Identifier())
	}
	if len(pushed) == 0 {
		return nil, errors.New("index.json lists no image")
	}
	return pushed, nil
}

// refFor names an index entry in the registry at host.
func refFor(desc v1.Descriptor, base, host string) (name.Tag, error) {
	n := desc.Annotations[annotationContainerdName]
	if n == "" {
		n = desc.Annotations[annotationRefName]
	}
	repo, tag := base, "latest"
	switch {
	case n == "":
	case strings.ContainsAny(n, "/:"):
		t, err := name.NewTag(n)
		if err != nil {
			return name.Tag{}, fmt.Errorf("image name %q: %w", n, err)
		}
		repo, tag = t.Context().RepositoryStr(), t.TagStr()
	default:
		tag = n
	}
	return name.NewTag(host+"/"+repo+":"+tag, name.Insecure)
}

// untar unpacks a tar archive into dir, refusing paths that leave it.
func untar(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		target := filepath.Join(dir, filepath.Clean("/"+hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, cerr := io.Copy(out, tr)
			if err := errors.Join(cerr, out.Close()); err != nil {
				return fmt.Errorf("unpack %s: %w", hdr.Name, err)
			}
		}
	}
}
