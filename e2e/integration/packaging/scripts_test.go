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
			r := newRoot(t, p.name, debs[0])
			root := r.root
			postinst := func(args ...string) string { return r.script("postinst", args...) }
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

// chrootRoot is a throwaway root holding one package: this machine's /usr
// under an overlay (writes stay in the test's folder) with the package's
// /usr (and /lib) as the layer above it, the package's /etc, a copy of the
// account files of /etc, /dev bound, the control files in /DEBIAN/x.
type chrootRoot struct {
	t                             *testing.T
	pkg, root, files, upper, work string
}

func newRoot(t *testing.T, pkg, deb string) *chrootRoot {
	t.Helper()
	dir := t.TempDir()
	r := &chrootRoot{t: t, pkg: pkg, root: filepath.Join(dir, "root"), files: filepath.Join(dir, "files"),
		upper: filepath.Join(dir, "upper"), work: filepath.Join(dir, "work")}
	root := r.root
	for _, d := range []string{root + "/usr", root + "/etc", root + "/var/lib", root + "/tmp", root + "/run", root + "/dev", root + "/DEBIAN", r.upper, r.work} {
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
	run(t, "dpkg-deb", "-e", deb, filepath.Join(root, "DEBIAN", "x"))
	r.unpack(deb)
	return r
}

// unpack puts the package's files in place as dpkg's unpack does: /usr
// into the overlay's top layer (/lib is /usr/lib, as on Debian), /etc into
// the root.
func (r *chrootRoot) unpack(deb string) {
	r.t.Helper()
	run(r.t, "dpkg-deb", "-x", deb, r.files)
	run(r.t, "cp", "-a", r.files+"/lib/.", r.files+"/usr/lib/")
	run(r.t, "cp", "-a", r.files+"/etc/.", r.root+"/etc/")
}

// remove deletes the package's files as dpkg's remove does (not the
// conffiles in /etc: purge deletes those).
func (r *chrootRoot) remove() {
	r.t.Helper()
	if err := os.RemoveAll(r.files); err != nil {
		r.t.Fatal(err)
	}
	if err := os.MkdirAll(r.files+"/usr", 0o755); err != nil {
		r.t.Fatal(err)
	}
}

// script runs the package's maintainer script name (postinst, prerm,
// postrm) with args in the root, entered with chroot in a private mount
// namespace, so the mounts end with the command.
func (r *chrootRoot) script(name string, args ...string) string {
	r.t.Helper()
	sh := "mount -t overlay overlay -o lowerdir=" + r.files + "/usr:/usr,upperdir=" + r.upper + ",workdir=" + r.work + " " + r.root + "/usr && " +
		"mount --bind /dev " + r.root + "/dev && " +
		"exec chroot " + r.root + " /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin DPKG_MAINTSCRIPT_PACKAGE=" + r.pkg +
		" /bin/sh /DEBIAN/x/" + name + " " + strings.Join(args, " ")
	b, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", sh).CombinedOutput()
	if err != nil {
		r.t.Fatalf("%s %v: %v\n%s", name, args, err, b)
	}
	return string(b)
}

// TestMaintainerScriptsRemove goes through a package's life as dpkg drives
// it, in the throwaway root of TestMaintainerScripts: install (postinst
// configure); remove (prerm remove, the files go, postrm remove): the unit
// is masked, its enablement kept for a reinstall, the conffile kept;
// install again (postinst configure with the old version, as dpkg calls it
// for a package whose conffiles remain): unmasked and enabled again;
// remove and purge (postrm purge after dpkg deleted the conffiles): no
// enablement link, mask or deb-systemd-helper state of the unit is left,
// while the skiff user and its data in /var/lib/skiff stay (Debian policy
// leaves system users in place, and the cluster's data is the operator's);
// install after the purge: enabled again.
//
// prerm stops the unit only when systemd runs (/run/systemd/system), and
// only on remove (an upgrade's postinst restarts it). systemd cannot be
// PID 1 in the root, so a systemctl earlier in PATH records the calls made
// to a running systemd (offline --root= calls, which deb-systemd-helper
// makes to enable units, go to the real systemctl): without
// /run/systemd/system no script calls it; with it, prerm remove stops the
// unit and prerm upgrade does not.
const systemctlShim = `#!/bin/sh
case "$1" in
--root=*) exec /usr/bin/systemctl "$@" ;;
esac
echo "$*" >>/tmp/systemctl.log
`

func TestMaintainerScriptsRemove(t *testing.T) {
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
			r := newRoot(t, p.name, debs[0])
			unit := p.name + ".service"
			wants := filepath.Join(r.root, "etc/systemd/system/multi-user.target.wants", unit)
			mask := filepath.Join(r.root, "etc/systemd/system", unit)
			conffile := filepath.Join(r.root, "etc/skiff", p.component+".yaml")
			log := filepath.Join(r.root, "tmp/systemctl.log")
			shim := filepath.Join(r.upper, "local/bin/systemctl")
			if err := os.MkdirAll(filepath.Dir(shim), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(shim, []byte(systemctlShim), 0o755); err != nil {
				t.Fatal(err)
			}
			exists := func(path string) bool { _, err := os.Lstat(path); return err == nil }
			enabled := func(when string) {
				t.Helper()
				if dst, err := os.Readlink(wants); err != nil || dst != "/lib/systemd/system/"+unit {
					t.Errorf("%s: unit not enabled: %s -> %q (%v)", when, wants, dst, err)
				}
				if exists(mask) {
					t.Errorf("%s: unit still masked (%s)", when, mask)
				}
			}
			remove := func() {
				t.Helper()
				r.script("prerm", "remove")
				r.remove()
				r.script("postrm", "remove")
			}
			install := func(args ...string) {
				t.Helper()
				r.unpack(debs[0])
				r.script("postinst", args...)
			}

			r.script("postinst", "configure")
			enabled("installed")
			// The skiff user's data, as the daemons leave it.
			data := filepath.Join(r.root, "var/lib/skiff/apiserver/etcd/member")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			passwd := readFile(t, filepath.Join(r.root, "etc/passwd"))

			remove()
			if dst, err := os.Readlink(mask); err != nil || dst != "/dev/null" {
				t.Errorf("removed: unit not masked: %s -> %q (%v)", mask, dst, err)
			}
			if !exists(wants) {
				t.Errorf("removed: the enablement %s is gone; a reinstall would not enable the unit again", wants)
			}
			if !exists(conffile) {
				t.Errorf("removed: conffile %s deleted (only purge does)", conffile)
			}

			install("configure", "0.0.1")
			enabled("installed again after remove")

			remove()
			// dpkg --purge deletes the conffiles, then runs postrm purge.
			if err := os.Remove(conffile); err != nil {
				t.Fatal(err)
			}
			r.script("postrm", "purge")
			for _, left := range []string{wants, mask, filepath.Join(r.root, "var/lib/systemd/deb-systemd-helper-enabled", unit+".dsh-also")} {
				if exists(left) {
					t.Errorf("purged: %s is left", left)
				}
			}
			if !exists(data) {
				t.Errorf("purged: the skiff user's data %s was deleted", data)
			}
			if got := readFile(t, filepath.Join(r.root, "etc/passwd")); got != passwd {
				t.Errorf("purged: /etc/passwd changed (the skiff user stays):\n%s", got)
			}

			install("configure")
			enabled("installed after purge")
			if b, _ := os.ReadFile(log); len(b) != 0 {
				t.Errorf("without systemd running the scripts called systemctl:\n%s", b)
			}

			// With systemd running.
			if err := os.MkdirAll(filepath.Join(r.root, "run/systemd/system"), 0o755); err != nil {
				t.Fatal(err)
			}
			r.script("prerm", "upgrade", "0.0.2")
			if b, _ := os.ReadFile(log); strings.Contains(string(b), "stop") {
				t.Errorf("prerm upgrade stopped the unit (postinst restarts it):\n%s", b)
			}
			r.script("prerm", "remove")
			if b, _ := os.ReadFile(log); !strings.Contains(string(b), "stop "+unit+"\n") {
				t.Errorf("prerm remove with systemd running did not run systemctl stop %s; systemctl calls:\n%s", unit, b)
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
