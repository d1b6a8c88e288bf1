package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestWriteArchive(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(bin, []byte("#!fake binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteArchive(&buf, Image{Name: "skiff.dev/demo:1.2", Binary: "/demo", Cmd: []string{"--x"}}, bin); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	for name, b := range files {
		if d, ok := bytes.CutPrefix([]byte(name), []byte("blobs/sha256/")); ok && len(d) > 0 {
			if got := digest.FromBytes(b).Encoded(); got != string(d) {
				t.Errorf("blob %s has digest %s", name, got)
			}
		}
	}
	var layout ocispec.ImageLayout
	if err := json.Unmarshal(files["oci-layout"], &layout); err != nil || layout.Version != ocispec.ImageLayoutVersion {
		t.Errorf("oci-layout = %s, %v", files["oci-layout"], err)
	}
	var index ocispec.Index
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json = %s, %v", files["index.json"], err)
	}
	m := index.Manifests[0]
	if m.Annotations["io.containerd.image.name"] != "skiff.dev/demo:1.2" || m.Annotations[ocispec.AnnotationRefName] != "1.2" {
		t.Errorf("manifest annotations %v, want the image name and tag", m.Annotations)
	}
	var mf ocispec.Manifest
	if err := json.Unmarshal(files["blobs/sha256/"+m.Digest.Encoded()], &mf); err != nil || len(mf.Layers) != 1 || mf.Layers[0].MediaType != ocispec.MediaTypeImageLayerGzip {
		t.Fatalf("manifest %+v, %v: want one gzip layer", mf, err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(files["blobs/sha256/"+mf.Config.Digest.Encoded()], &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/demo" || cfg.Config.Cmd[0] != "--x" || cfg.OS != "linux" || len(cfg.RootFS.DiffIDs) != 1 {
		t.Errorf("config %+v: want entrypoint /demo, cmd --x, linux, one diff id", cfg)
	}
}

// TestLinks: an image's links are hard links to its binary in the layer,
// under directories of their own.
func TestLinks(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(bin, []byte("#!fake binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := Build(Image{Name: "skiff.dev/demo:1", Binary: "/demo", Links: []string{"/bin/tar", "/bin/test"}}, bin)
	if err != nil {
		t.Fatal(err)
	}
	var layer []byte
	for _, b := range l.blobs {
		if b.desc.MediaType == ocispec.MediaTypeImageLayerGzip {
			layer = b.data
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(layer))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeLink || h.Name == "bin/" || h.Name == "demo" {
			got = append(got, fmt.Sprintf("%s %c %s", h.Name, h.Typeflag, h.Linkname))
		}
	}
	want := []string{"demo 0 ", "bin/ 5 ", "bin/tar 1 demo", "bin/test 1 demo"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("layer %q, want %q", got, want)
	}
}

func TestFileName(t *testing.T) {
	if got := FileName("skiff.dev/pause:3.9"); got != "skiff.dev_pause_3.9.tar" {
		t.Errorf("FileName = %s", got)
	}
}
