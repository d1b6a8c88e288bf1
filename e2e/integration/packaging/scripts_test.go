package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"skiff.dev/e2e/internal/repo"
)

// TestMaintainerScripts installs each daemon package into a throwaway root
// as dpkg would (files extracted, then postinst configure) and checks what
// the postinst did there: the control plane's packages created the skiff
// system user, every unit is enabled (the multi-user.target.wants link)
// and nothing was started (there is no systemd in the root). Running the
// postinst again, as an upgrade does, changes nothing.
//
// The root: this machine's /usr under an overlay (writes stay in the
// test's folder), the package's files on top, a copy of the account files
// of /etc, /dev bound; it is entered with chroot in a private mount
// namespace, so the mounts end with the command.
func TestMaintainerScripts(t *testing.T) {
	out := buildPackages(t)
	components := repo.Components(t)
	for _, p := range packages {
		if !p.config || !slices.Contains(components, p.component) {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			debs, _ := filepath.Glob(filepath.Join(out, p.name+"_*.deb"))
			if len(debs) != 1 {
				t.Fatalf("want one %s_*.deb, got %v", p.name, debs)
			}
			dir := t.TempDir()
			root, files, upper, work := filepath.Join(dir, "root"), filepath.Join(dir, "files"), filepath.Join(dir, "upper"), filepath.Join(dir, "work")
			for _, d := range []string{root + "/usr", root + "/etc", root + "/var/lib", root + "/tmp", root + "/run", root + "/dev", root + "/DEBIAN", upper, work} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, l := range []string{"bin", "sbin", "lib", "lib64"} {
				if err := os.Symlink("usr/"+l, filepath.Join(root, l)); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range []string{"passwd", "group", "shadow", "gshadow", "login.defs", "adduser.conf", "nsswitch.conf"} {
				if data, err := os.ReadFile("/etc/" + f); err == nil {
					if err := os.WriteFile(filepath.Join(root, "etc", f), data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The package's files: /usr into the overlay's top layer
			// (/lib is /usr/lib, as on Debian), /etc into the root.
			run(t, "dpkg-deb", "-x", debs[0], files)
			run(t, "dpkg-deb", "-e", debs[0], filepath.Join(root, "DEBIAN", "x"))
			run(t, "cp", "-a", files+"/lib/.", files+"/usr/lib/")
			run(t, "cp", "-a", files+"/etc/.", root+"/etc/")
			postinst := func(args ...string) string {
				script := "mount -t overlay overlay -o lowerdir=" + files + "/usr:/usr,upperdir=" + upper + ",workdir=" + work + " " + root + "/usr && " +
					"mount --bind /dev " + root + "/dev && " +
					"exec chroot " + root + " /usr/bin/env -i PATH=/usr/sbin:/usr/bin DPKG_MAINTSCRIPT_PACKAGE=" + p.name +
					" /bin/sh /DEBIAN/x/postinst " + strings.Join(args, " ")
				cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
				b, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("postinst %v: %v\n%s", args, err, b)
				}
				return string(b)
			}
			postinst("configure")
			link := filepath.Join(root, "etc/systemd/system/multi-user.target.wants", p.name+".service")
			if dst, err := os.Readlink(link); err != nil || dst != "/lib/systemd/system/"+p.name+".service" {
				t.Errorf("unit not enabled: %s -> %q (%v)", link, dst, err)
			}
			passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
			user := skiffUser(string(passwd))
			switch {
			case p.user && user == nil:
				t.Errorf("postinst made no skiff user:\n%s", passwd)
			case p.user:
				if uid, _ := strconv.Atoi(user[2]); uid >= 1000 || !strings.HasSuffix(user[6], "nologin") {
					t.Errorf("skiff is not a system user without a shell: %v", user)
				}
			case !p.user && user != nil && skiffUser(readFile(t, "/etc/passwd")) == nil:
				t.Errorf("%s's postinst made a skiff user; only the control plane's should", p.name)
			}
			postinst("configure", "0.0.1")
			again, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
			if string(again) != string(passwd) {
				t.Errorf("postinst configure (upgrade) changed /etc/passwd:\n%s", again)
			}
			if _, err := os.Readlink(link); err != nil {
				t.Errorf("after an upgrade the unit is no longer enabled: %v", err)
			}
		})
	}
}

func skiffUser(passwd string) []string {
	for _, l := range strings.Split(passwd, "\n") {
		if f := strings.Split(l, ":"); len(f) == 7 && f[0] == "skiff" {
			return f
		}
	}
	return nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
