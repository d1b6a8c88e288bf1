// Package packaging tests `make packages`: the .deb of every component,
// what dpkg-deb says about it, the installed binaries, and the maintainer
// scripts in a throwaway root.
package packaging

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"skiff.dev/e2e/internal/repo"
)

type pkg struct {
	name      string
	component string   // the Makefile COMPONENTS entry
	depends   []string // exactly the Depends: field
	config    bool     // ships a unit and /etc/skiff/<component>.yaml
	user      bool     // its postinst creates the skiff user
}

var packages = []pkg{
	{"skiff-apiserver", "apiserver", []string{"adduser"}, true, true},
	{"skiff-scheduler", "scheduler", []string{"adduser"}, true, true},
	{"skiff-controller-manager", "controller-manager", []string{"adduser"}, true, true},
	{"skiff-kubelet", "kubelet", []string{"containerd", "runc"}, true, false},
	{"skiff-kube-proxy", "kube-proxy", []string{"iptables"}, true, false},
	{"skiffctl", "ctl", nil, false, false},
}

func (p pkg) files() []string {
	files := []string{"/usr/bin/" + p.name}
	if p.config {
		files = append(files, "/lib/systemd/system/"+p.name+".service", "/etc/skiff/"+p.component+".yaml")
	}
	return files
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPackages builds the packages with `make packages`, then checks each
// one with dpkg-deb (name, version from git, dependencies, files and their
// modes, conffiles, that the unit and config are systemd/'s), extracts
// them all into one root and runs every installed binary's --version.
func TestPackages(t *testing.T) {
	root := repo.Root(t)
	out := buildPackages(t)
	version := repo.Var(t, "VERSION")
	debVersion := repo.Var(t, "PKG_VERSION")
	components := repo.Components(t)
	installed := t.TempDir()
	var built []pkg
	for _, p := range packages {
		t.Run(p.name, func(t *testing.T) {
			debs, _ := filepath.Glob(filepath.Join(out, p.name+"_*.deb"))
			if !slices.Contains(components, p.component) {
				if len(debs) != 0 {
					t.Errorf("%s built though %s is not in COMPONENTS", p.name, p.component)
				}
				if repo.AllDaemonsMerged(t) {
					t.Errorf("every daemon is in COMPONENTS but there is no %s package", p.name)
				}
				t.Logf("%s: %s is not in the Makefile's COMPONENTS yet; checked once it is", p.name, p.component)
				return
			}
			if len(debs) != 1 {
				t.Fatalf("want one %s_*.deb in %s, got %v", p.name, out, debs)
			}
			deb := debs[0]
			fields := map[string]string{}
			for _, f := range []string{"Package", "Version", "Architecture", "Depends"} {
				fields[f] = strings.TrimSpace(run(t, "dpkg-deb", "--field", deb, f))
			}
			want := map[string]string{"Package": p.name, "Version": debVersion, "Architecture": "amd64",
				"Depends": strings.Join(p.depends, ", ")}
			for f, v := range want {
				if fields[f] != v {
					t.Errorf("%s: %s: %q, want %q", filepath.Base(deb), f, fields[f], v)
				}
			}
			contents := run(t, "dpkg-deb", "--contents", deb)
			for _, f := range p.files() {
				mode := "-rw-r--r--"
				if strings.HasPrefix(f, "/usr/bin/") {
					mode = "-rwxr-xr-x"
				}
				if !strings.Contains(contents, mode+" root/root") || !containsLine(contents, mode, "."+f) {
					t.Errorf("%s: no %s %s in:\n%s", p.name, mode, f, contents)
				}
			}
			info := run(t, "dpkg-deb", "--info", deb)
			if p.config {
				conffiles := run(t, "dpkg-deb", "--info", deb, "conffiles")
				if strings.TrimSpace(conffiles) != "/etc/skiff/"+p.component+".yaml" {
					t.Errorf("%s: conffiles %q, want /etc/skiff/%s.yaml", p.name, conffiles, p.component)
				}
				for _, s := range []string{"postinst", "prerm", "postrm"} {
					if !strings.Contains(info, " "+s+" ") {
						t.Errorf("%s: no %s script in:\n%s", p.name, s, info)
					}
				}
			}
			run(t, "dpkg-deb", "-x", deb, installed)
			if p.config {
				same(t, filepath.Join(installed, "lib/systemd/system", p.name+".service"), filepath.Join(root, "systemd", p.name+".service"))
				same(t, filepath.Join(installed, "etc/skiff", p.component+".yaml"), filepath.Join(root, "systemd/config", p.component+".yaml"))
			}
			built = append(built, p)
		})
	}
	for _, p := range built {
		out, err := exec.Command(filepath.Join(installed, "usr/bin", p.name), "--version").CombinedOutput()
		if got, want := strings.TrimSpace(string(out)), p.name+" "+version; err != nil || got != want {
			t.Errorf("installed %s --version: %q (%v), want %q (component.SetVersion on its command)", p.name, got, err, want)
		}
	}
	if len(built) < 3 {
		t.Fatalf("only %d packages built; want at least skiff-apiserver, skiff-scheduler and skiffctl", len(built))
	}
}

var (
	buildOnce sync.Once
	pkgDir    string
	buildErr  string
)

// buildPackages runs `make packages` once per test binary.
func buildPackages(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "skiff-packages")
		if err != nil {
			buildErr = err.Error()
			return
		}
		pkgDir = dir
		if out, err := exec.Command("make", "-s", "-C", repo.Root(t), "packages", "PKG_OUT="+dir).CombinedOutput(); err != nil {
			buildErr = fmt.Sprintf("make packages: %v\n%s", err, out)
		}
	})
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	return pkgDir
}

// TestPackageVersions: the Makefile turns git describe's versions into
// Debian versions that dpkg orders as the releases are, so an upgrade
// from one build to a later one is an upgrade.
func TestPackageVersions(t *testing.T) {
	ordered := []struct{ git, deb string }{
		{"v0.0.0-146-g1e673a3", "0.0.0+146.g1e673a3"}, // before any tag
		{"v0.1.0-rc.1", "0.1.0~rc.1"},
		{"v0.1.0", "0.1.0"},
		{"v0.1.0-5-gabc1234", "0.1.0+5.gabc1234"},
		{"v0.1.0-5-gabc1234-dirty", "0.1.0+5.gabc1234+dirty"},
		{"v0.1.0-12-gdef5678", "0.1.0+12.gdef5678"},
		{"v0.2.0", "0.2.0"},
	}
	var prev string
	for _, v := range ordered {
		out, err := exec.Command("make", "-s", "-C", repo.Root(t), "print-PKG_VERSION", "VERSION="+v.git).CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != v.deb {
			t.Errorf("VERSION=%s: PKG_VERSION %q (%v), want %q", v.git, got, err, v.deb)
			continue
		}
		if prev != "" {
			if err := exec.Command("dpkg", "--compare-versions", prev, "lt", v.deb).Run(); err != nil {
				t.Errorf("dpkg orders %s before %s, want after", v.deb, prev)
			}
		}
		prev = v.deb
	}
}

func containsLine(contents, mode, path string) bool {
	for _, l := range strings.Split(contents, "\n") {
		if strings.HasPrefix(l, mode) && strings.HasSuffix(l, " "+path) {
			return true
		}
	}
	return false
}

func same(t *testing.T, got, want string) {
	t.Helper()
	a, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("%s differs from %s", got, want)
	}
}
