package testutil

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Registry is an OCI distribution registry in memory, on 127.0.0.1.
type Registry struct {
	Host string // 127.0.0.1:PORT
	srv  *httptest.Server
}

// StartRegistry serves a registry until the test's cleanup.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &Registry{Host: u.Host, srv: srv}
}

// ImageArchive is the path of one of the shared images' archives.
func ImageArchive(name string) string {
	return shared.ImageDir + "/" + strings.NewReplacer("/", "_", ":", "_").Replace(name) + ".tar"
}

// Push uploads the image of an OCI archive as repo:tag, as `docker push`
// does: blobs (monolithic uploads), then the manifest.
func (r *Registry) Push(archive, repo, tag string) error {
	files, err := readTar(archive)
	if err != nil {
		return err
	}
	var index ocispec.Index
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) == 0 {
		return fmt.Errorf("push %s: bad index.json: %v", archive, err)
	}
	mdesc := index.Manifests[0]
	manifest := files["blobs/sha256/"+mdesc.Digest.Encoded()]
	var m ocispec.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return fmt.Errorf("push %s: bad manifest: %w", archive, err)
	}
	base := "http://" + r.Host + "/v2/" + repo
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		resp, err := http.Post(base+"/blobs/uploads/", "", nil)
		if err != nil {
			return fmt.Errorf("push: start upload: %w", err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil || resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("push: start upload: %s %v", resp.Status, err)
		}
		q := loc.Query()
		q.Set("digest", d.Digest.String())
		loc.RawQuery = q.Encode()
		if err := put(loc.String(), "application/octet-stream", files["blobs/sha256/"+d.Digest.Encoded()]); err != nil {
			return err
		}
	}
	return put(base+"/manifests/"+tag, mdesc.MediaType, manifest)
}

func put(u, contentType string, body []byte) error {
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("push: PUT %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("push: PUT %s: %s %s", u, resp.Status, b)
	}
	return nil
}

func readTar(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			out[h.Name] = b
		}
	}
}
