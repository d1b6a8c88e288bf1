// Package systemd tests the units in systemd/ and their example configs:
// systemd-analyze verify, what each unit declares, and that every
// ExecStart= line really starts its daemon.
package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"skiff.dev/e2e/internal/repo"
	"skiff.dev/e2e/internal/unit"
)

// controlPlane run as the skiff user; the node agents run as root.
var controlPlane = []string{"apiserver", "scheduler", "controller-manager"}

func loadUnits(t *testing.T) map[string]*unit.Unit {
	t.Helper()
	units := map[string]*unit.Unit{}
	for _, d := range repo.Daemons {
		u, err := unit.Load(filepath.Join(repo.Root(t), "systemd", "skiff-"+d+".service"))
		if err != nil {
			t.Fatal(err)
		}
		units[d] = u
	}
	paths, _ := filepath.Glob(filepath.Join(repo.Root(t), "systemd", "*.service"))
	if len(paths) != len(repo.Daemons) {
		t.Fatalf("systemd/ holds %d units, want one per daemon (%v): %v", len(paths), repo.Daemons, paths)
	}
	return units
}

// TestUnitsDeclare checks what every unit must say: Type=notify, the
// config file and the optional environment file, restart with back-off,
// limits, and each daemon's privileges.
func TestUnitsDeclare(t *testing.T) {
	for d, u := range loadUnits(t) {
		t.Run(d, func(t *testing.T) {
			want := map[string]string{
				"Service.Type":               "notify",
				"Service.EnvironmentFile":    "-/etc/default/skiff-" + d,
				"Service.Restart":            "always",
				"Service.RestartSec":         "5s",
				"Service.LimitNOFILE":        "1048576",
				"Unit.StartLimitBurst":       "10",
				"Unit.StartLimitIntervalSec": "600",
				"Install.WantedBy":           "multi-user.target",
			}
			if slices.Contains(controlPlane, d) {
				for k, v := range map[string]string{"User": "skiff", "Group": "skiff", "ProtectSystem": "strict",
					"NoNewPrivileges": "yes", "PrivateTmp": "yes", "ProtectHome": "yes", "CapabilityBoundingSet": ""} {
					want["Service."+k] = v
				}
			}
			switch d {
			case "apiserver":
				want["Service.StateDirectory"] = "skiff/apiserver"
			case "kubelet":
				want["Service.Delegate"] = "yes"
				want["Service.KillMode"] = "process"
				want["Unit.Requires"] = "containerd.service"
			case "kube-proxy":
				want["Service.CapabilityBoundingSet"] = "CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_MODULE"
			}
			for k, v := range want {
				section, key, _ := strings.Cut(k, ".")
				if _, set := u.Sections[section][key]; !set {
					t.Errorf("%s: [%s] %s= is missing, want %q", u.Name, section, key, v)
				} else if got := u.Get(section, key); got != v {
					t.Errorf("%s: [%s] %s=%s, want %q", u.Name, section, key, got, v)
				}
			}
			if slices.Contains(controlPlane, d) == (u.Get("Service", "User") == "") {
				t.Errorf("%s: User=%q: the control plane runs as skiff, the node agents as root", u.Name, u.Get("Service", "User"))
			}
			if d == "kubelet" && !strings.Contains(u.Get("Unit", "After"), "containerd.service") {
				t.Errorf("%s: After=%s, want it after containerd.service", u.Name, u.Get("Unit", "After"))
			}
			for _, k := range []string{"TimeoutStartSec", "TimeoutStopSec"} {
				if _, err := u.Duration("Service", k); err != nil {
					t.Error(err)
				}
			}
			argv, err := u.Exec()
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"/usr/bin/skiff-" + d, "--config", "/etc/skiff/" + d + ".yaml"}; !slices.Equal(argv, want) {
				t.Errorf("%s: ExecStart=%v, want %v", u.Name, argv, want)
			}
		})
	}
}

// TestSystemdAnalyzeVerify runs `systemd-analyze verify` on every unit in
// a root holding this machine's systemd units (containerd.service among
// them) and the built binaries in /usr/bin; any message about our units
// fails. A daemon not merged yet gets /bin/true as a stand-in binary, so
// only its unit file is checked.
func TestSystemdAnalyzeVerify(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"usr/bin", "usr/lib", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "-a", "/usr/lib/systemd", filepath.Join(root, "usr/lib/")).CombinedOutput(); err != nil {
		t.Fatalf("copy this machine's units: %v\n%s", err, out)
	}
	if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	_, bins := repo.Binaries(t)
	var units []string
	for d, u := range loadUnits(t) {
		bin := "skiff-" + d
		src := bins[bin]
		if !repo.CheckBinary(t, bins, bin) {
			src = "/bin/true"
		}
		if out, err := exec.Command("cp", src, filepath.Join(root, "usr/bin", bin)).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		dst := filepath.Join(root, "usr/lib/systemd/system", u.Name)
		if out, err := exec.Command("cp", u.Path, dst).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		units = append(units, dst)
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify", "--root=" + root}, units...)...).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(line, "skiff-") {
			t.Errorf("systemd-analyze verify: %s", line)
		} else if line != "" {
			t.Logf("systemd-analyze verify (not about our units): %s", line)
		}
	}
}

var flagName = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`)

// configKey: a key, or a commented-out key with a one-word value.
var configKey = regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):|^# ([a-z][a-z0-9-]*): \S+$`)

// TestExampleConfigs: every key of systemd/config/<daemon>.yaml, also
// those commented out, is a flag of the built daemon (--help), so a typo
// cannot silently be ignored.
func TestExampleConfigs(t *testing.T) {
	_, bins := repo.Binaries(t)
	for _, d := range repo.Daemons {
		t.Run(d, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(repo.Root(t), "systemd", "config", d+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !repo.CheckBinary(t, bins, "skiff-"+d) {
				return
			}
			help, err := exec.Command(bins["skiff-"+d], "--help").CombinedOutput()
			if err != nil {
				t.Fatalf("skiff-%s --help: %v\n%s", d, err, help)
			}
			flags := map[string]bool{}
			for _, m := range flagName.FindAllStringSubmatch(string(help), -1) {
				flags[m[1]] = true
			}
			keys := configKey.FindAllStringSubmatch(string(data), -1)
			if len(keys) < 5 {
				t.Fatalf("%s.yaml: only %d keys found", d, len(keys))
			}
			for _, m := range keys {
				if k := m[1] + m[2]; !flags[k] {
					t.Errorf("%s.yaml: key %q is not a flag of skiff-%s", d, k, d)
				}
			}
		})
	}
}
