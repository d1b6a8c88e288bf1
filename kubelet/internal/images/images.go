// Package images builds the project's container images with no Docker:
// static Go binaries (CGO_ENABLED=0) of programs in this module, each alone
// on an empty base, written as OCI image archives (oci-layout, index.json,
// a manifest, a config with the Entrypoint and one gzip layer) that
// containerd imports.
package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	_ "crypto/sha256" // go-digest hashes with it
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is one image of the project: a Go program of this module alone on
// an empty base.
type Image struct {
	// Name is the image reference, e.g. skiff.dev/pause:3.9.
	Name string
	// Package is the program's package path relative to the module root.
	Package string
	// Binary is the program's path in the image, also its entrypoint.
	Binary string
	// Cmd is the image's default arguments.
	Cmd []string
	// Env is the image's default environment.
	Env []string
	// Links are more paths of the binary in the image (hard links), for a
	// multi-call binary: the test server is also /bin/tar and /bin/test.
	Links []string
}

// Names of the project's images.
const (
	Pause      = "skiff.dev/pause:3.9"
	TestServer = "skiff.dev/testserver:1.0"
)

// All are the images `make images` builds.
var All = []Image{
	{Name: Pause, Package: "./cmd/pause", Binary: "/pause"},
	{Name: TestServer, Package: "./cmd/testserver", Binary: "/testserver", Env: []string{"PORT=8080"}, Links: []string{"/bin/tar", "/bin/test"}},
}

// FileName is the archive name of an image in an images directory:
// skiff.dev/pause:3.9 is skiff.dev_pause_3.9.tar.
func FileName(name string) string {
	return strings.NewReplacer("/", "_", ":", "_", "@", "_").Replace(name) + ".tar"
}

// BuildAll builds every image of All from the module at moduleDir into
// outDir, returning the archive paths.
func BuildAll(ctx context.Context, moduleDir, outDir string) ([]string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	binDir, err := os.MkdirTemp("", "skiff-images-")
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	defer os.RemoveAll(binDir)
	var paths []string
	for _, img := range All {
		bin := filepath.Join(binDir, filepath.Base(img.Binary))
		if err := BuildGo(ctx, moduleDir, img.Package, bin); err != nil {
			return nil, err
		}
		out := filepath.Join(outDir, FileName(img.Name))
		if err := WriteArchiveFile(out, img, bin); err != nil {
			return nil, err
		}
		paths = append(paths, out)
	}
	return paths, nil
}

// BuildGo builds a static binary of pkg (relative to moduleDir) into out.
func BuildGo(ctx context.Context, moduleDir, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("images: go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// WriteArchiveFile writes the OCI archive of img, whose program is the
// binary at bin, to path.
func WriteArchiveFile(path string, img Image, bin string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	if err := WriteArchive(f, img, bin); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// blob is one content-addressed file of an OCI layout.
type blob struct {
	desc ocispec.Descriptor
	data []byte
}

func newBlob(mediaType string, data []byte) blob {
	return blob{desc: ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}, data: data}
}

// Layout is an image's OCI blobs: its layer, config and manifest.
type Layout struct {
	Manifest ocispec.Descriptor
	blobs    []blob
}

// Blobs returns each blob's descriptor and content, e.g. to push to a registry.
func (l *Layout) Blobs() map[digest.Digest][]byte {
	m := make(map[digest.Digest][]byte, len(l.blobs))
	for _, b := range l.blobs {
		m[b.desc.Digest] = b.data
	}
	return m
}

// Build makes the OCI blobs of img with the binary at bin.
func Build(img Image, bin string) (*Layout, error) {
	prog, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	mtime := time.Unix(0, 0)
	dirs := []string{"tmp/", "etc/", "dev/", "proc/", "sys/"}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: mtime}); err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(img.Binary, "/"),
		Mode: 0o755, Size: int64(len(prog)), ModTime: mtime}); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if _, err := tw.Write(prog); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	linkDirs := map[string]bool{}
	for _, l := range img.Links {
		l = strings.TrimPrefix(l, "/")
		if d := path.Dir(l); d != "." && !linkDirs[d] && !slices.Contains(dirs, d+"/") {
			linkDirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime}); err != nil {
				return nil, fmt.Errorf("images: %w", err)
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeLink, Name: l, Linkname: strings.TrimPrefix(img.Binary, "/"),
			Mode: 0o755, ModTime: mtime}); err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	diffID := digest.FromBytes(layerTar.Bytes())
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := io.Copy(zw, &layerTar); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	layer := newBlob(ocispec.MediaTypeImageLayerGzip, gz.Bytes())

	created := mtime.UTC()
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config: ocispec.ImageConfig{
			Entrypoint: []string{img.Binary},
			Cmd:        img.Cmd,
			Env:        append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, img.Env...),
			WorkingDir: "/",
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	config := newBlob(ocispec.MediaTypeImageConfig, cfgJSON)
	mf := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    config.desc,
		Layers:    []ocispec.Descriptor{layer.desc},
	}
	mfJSON, err := json.Marshal(mf)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	manifest := newBlob(ocispec.MediaTypeImageManifest, mfJSON)
	return &Layout{Manifest: manifest.desc, blobs: []blob{layer, config, manifest}}, nil
}

// WriteArchive writes img, whose program is the binary at bin, as an OCI
// image archive (a tar of an OCI image layout) named img.Name.
func WriteArchive(w io.Writer, img Image, bin string) error {
	l, err := Build(img, bin)
	if err != nil {
		return err
	}
	desc := l.Manifest
	tag := img.Name[strings.LastIndex(img.Name, ":")+1:]
	desc.Annotations = map[string]string{
		"io.containerd.image.name": img.Name,
		ocispec.AnnotationRefName:  tag,
	}
	desc.Platform = &ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"}
	index, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{desc},
	})
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	layout, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	tw := tar.NewWriter(w)
	files := []struct {
		name string
		data []byte
	}{{ocispec.ImageLayoutFile, layout}, {"index.json", index}}
	for _, b := range l.blobs {
		files = append(files, struct {
			name string
			data []byte
		}{"blobs/sha256/" + b.desc.Digest.Encoded(), b.data})
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/", Mode: 0o755}); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/sha256/", Mode: 0o755}); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data))}); err != nil {
			return fmt.Errorf("images: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("images: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	return nil
}
