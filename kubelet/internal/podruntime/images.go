package podruntime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"go.uber.org/zap"
)

// Image pull policies, as Kubernetes.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// ErrImageNeverPull is returned for a missing image whose policy is Never.
var ErrImageNeverPull = errors.New("image not present and its pull policy is Never")

// NormalizeImage makes a reference full, as containerd names images:
// busybox is docker.io/library/busybox:latest.
func NormalizeImage(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	return named.String(), nil
}

// DefaultPullPolicy is Kubernetes' default: Always for :latest or no tag,
// else IfNotPresent.
func DefaultPullPolicy(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return PullIfNotPresent
	}
	if _, ok := named.(reference.Digested); ok {
		return PullIfNotPresent
	}
	if t, ok := named.(reference.Tagged); !ok || t.Tag() == "latest" {
		return PullAlways
	}
	return PullIfNotPresent
}

// ImportDir imports and unpacks every OCI or Docker image archive (*.tar)
// in dir, returning the names of the images imported.
func (r *Runtime) ImportDir(ctx context.Context, dir string) ([]string, error) {
	ctx = r.ns(ctx)
	paths, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil {
		return nil, fmt.Errorf("image dir %s: %w", dir, err)
	}
	var names []string
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return names, fmt.Errorf("import %s: %w", p, err)
		}
		imgs, err := r.client.Import(ctx, f, containerd.WithImportPlatform(platforms.Default()))
		f.Close()
		if err != nil {
			return names, fmt.Errorf("import %s: %w", p, err)
		}
		for _, img := range imgs {
			if err := containerd.NewImageWithPlatform(r.client, img, platforms.Default()).Unpack(ctx, r.cfg.Snapshotter); err != nil {
				return names, fmt.Errorf("unpack %s from %s: %w", img.Name, p, err)
			}
			names = append(names, img.Name)
		}
		r.lg.Info("imported images", zap.String("archive", p), zap.Int("images", len(imgs)))
	}
	return names, nil
}

// HasImage reports whether the image is present (and unpacked).
func (r *Runtime) HasImage(ctx context.Context, ref string) bool {
	img, err := r.client.GetImage(r.ns(ctx), ref)
	if err != nil {
		return false
	}
	ok, err := img.IsUnpacked(r.ns(ctx), r.cfg.Snapshotter)
	return err == nil && ok
}

type pull struct {
	done chan struct{}
	err  error
}

// EnsureImage makes a normalized image present per policy, pulling it when
// needed; pulling is called before a pull starts. Concurrent pulls of one
// image share one.
func (r *Runtime) EnsureImage(ctx context.Context, ref, policy string, pulling func()) (pulled bool, err error) {
	present := r.HasImage(ctx, ref)
	switch {
	case policy == PullNever && !present:
		return false, ErrImageNeverPull
	case policy != PullAlways && present:
		return false, nil
	}
	r.pullMu.Lock()
	p, ok := r.pulls[ref]
	if !ok {
		p = &pull{done: make(chan struct{})}
		r.pulls[ref] = p
		if pulling != nil {
			pulling()
		}
		go func() {
			p.err = r.pull(context.WithoutCancel(ctx), ref)
			r.pullMu.Lock()
			delete(r.pulls, ref)
			r.pullMu.Unlock()
			close(p.done)
		}()
	} else if pulling != nil {
		pulling()
	}
	r.pullMu.Unlock()
	select {
	case <-p.done:
		return p.err == nil, p.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (r *Runtime) pull(ctx context.Context, ref string) error {
	ctx = r.ns(ctx)
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(
		docker.WithPlainHTTP(r.plainHTTP),
		docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(r.credentials))),
	)})
	_, err := r.client.Pull(ctx, ref, containerd.WithPullUnpack, containerd.WithResolver(resolver),
		containerd.WithPullSnapshotter(r.cfg.Snapshotter))
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	return nil
}

// plainHTTP: loopback registries, as containerd's CRI, and --insecure-registry ones.
func (r *Runtime) plainHTTP(host string) (bool, error) {
	if ok, _ := docker.MatchLocalhost(host); ok {
		return true, nil
	}
	return slices.Contains(r.cfg.InsecureRegistries, host), nil
}

type authEntry struct{ user, secret string }

func (r *Runtime) credentials(host string) (string, string, error) {
	if a, ok := r.auth[host]; ok {
		return a.user, a.secret, nil
	}
	if host == "registry-1.docker.io" {
		if a, ok := r.auth["https://index.docker.io/v1/"]; ok {
			return a.user, a.secret, nil
		}
	}
	return "", "", nil
}

// loadDockerConfig reads the auths of a docker config.json.
func loadDockerConfig(path string) (map[string]authEntry, error) {
	out := map[string]authEntry{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	var cfg struct {
		Auths map[string]struct {
			Auth     string `json:"auth"`
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("docker config %s: %w", path, err)
	}
	for host, a := range cfg.Auths {
		e := authEntry{user: a.Username, secret: a.Password}
		if a.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("docker config %s: auths.%s.auth: %w", path, host, err)
			}
			u, p, ok := strings.Cut(string(dec), ":")
			if !ok {
				return nil, fmt.Errorf("docker config %s: auths.%s.auth: want base64 of user:password", path, host)
			}
			e = authEntry{user: u, secret: p}
		}
		h := strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
		if host != "https://index.docker.io/v1/" {
			host = strings.TrimSuffix(h, "/")
		}
		out[host] = e
	}
	return out, nil
}
