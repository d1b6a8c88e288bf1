package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{Prefix: "skl", Masters: 1, Nodes: 2, BinDir: "/bin", StateDir: "/tmp/s"}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"valid", func(*Config) {}, ""},
		{"prefix too long for link names", func(c *Config) { c.Prefix = "skiffla" }, "prefix"},
		{"prefix with a dash", func(c *Config) { c.Prefix = "sk-l" }, "prefix"},
		{"no master", func(c *Config) { c.Masters = 0 }, "--masters 0"},
		{"negative nodes", func(c *Config) { c.Nodes = -1 }, "--nodes -1"},
		{"relative bin", func(c *Config) { c.BinDir = "bin" }, "--bin"},
		{"relative state", func(c *Config) { c.StateDir = "state" }, "--state"},
		{"relative images", func(c *Config) { c.ImageDir = "_output/images" }, "--images"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			c.setDefaults()
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func TestHostsLayout(t *testing.T) {
	c := Config{Prefix: "skx", Masters: 3, Nodes: 2, MastersSchedulable: true, StateDir: "/s"}
	c.setDefaults()
	var got []string
	for _, h := range c.hosts() {
		got = append(got, h.Name+"="+h.IP+"@"+h.NetNS)
	}
	want := "lb=10.77.0.2@skx-lb reg=10.77.0.3@skx-reg m1=10.77.0.11@skx-m1 m2=10.77.0.12@skx-m2 m3=10.77.0.13@skx-m3 n1=10.77.0.101@skx-n1 n2=10.77.0.102@skx-n2"
	if strings.Join(got, " ") != want {
		t.Errorf("hosts = %s\nwant    %s", strings.Join(got, " "), want)
	}
	l := newLab(c)
	if n := len(l.hostsWith(RoleNode)); n != 5 {
		t.Errorf("schedulable masters: %d node hosts, want 5", n)
	}
	if got, want := l.APIServerURL(), "https://10.77.0.2:6443"; got != want {
		t.Errorf("APIServerURL with 3 masters = %s, want the load balancer %s", got, want)
	}
}

func TestHAProxyConfigAndEtcdCluster(t *testing.T) {
	c := Config{Prefix: "skx", Masters: 3, StateDir: t.TempDir()}
	c.setDefaults()
	l := newLab(c)
	lb, err := l.Host("lb")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeHAProxyConfig(l, lb); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(c.StateDir, "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"mode tcp", "bind 10.77.0.2:6443", "option httpchk GET /readyz",
		"server m1 10.77.0.11:6443 check check-ssl verify required ca-file " + l.pkiPath("ca.crt"),
		"server m3 10.77.0.13:6443 check",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("haproxy.cfg lacks %q:\n%s", want, b)
		}
	}
	m2, err := l.Host("m2")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(etcdArgs(l, m2), " ")
	for _, want := range []string{
		"--name m2", "--initial-cluster m1=http://10.77.0.11:2380,m2=http://10.77.0.12:2380,m3=http://10.77.0.13:2380",
		"--advertise-client-urls https://10.77.0.12:2379", "--client-cert-auth",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("etcd args lack %q: %s", want, args)
		}
	}
	api := strings.Join(apiserverArgs(l, m2), " ")
	if !strings.Contains(api, "--etcd-servers https://10.77.0.11:2379,https://10.77.0.12:2379,https://10.77.0.13:2379 --etcd-cafile") {
		t.Errorf("apiserver args do not name the etcd cluster: %s", api)
	}
}

func TestProcAliveChecksStartTime(t *testing.T) {
	st, ok := procStartTime(os.Getpid())
	if !ok {
		t.Fatal("procStartTime of this process: not found")
	}
	if !(Proc{PID: os.Getpid(), StartTime: st}).Alive() {
		t.Error("this process is not Alive")
	}
	if (Proc{PID: os.Getpid(), StartTime: st + 1}).Alive() {
		t.Error("a recorded process with another start time (a reused PID) is Alive")
	}
}

func TestUnescapeMountPath(t *testing.T) {
	if got := unescapeMountPath(`/tmp/a\040b/c`); got != "/tmp/a b/c" {
		t.Errorf("unescape = %q", got)
	}
}

func TestExtraArgsAndRestartCommand(t *testing.T) {
	c := Config{Prefix: "skx", Masters: 1, Nodes: 1, StateDir: "/s",
		ExtraArgs: map[string][]string{"controller-manager": {"--pod-eviction-timeout", "10s"}}}
	l := newLab(c)
	m1, err := l.Host("m1")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range daemonTable() {
		if d.role != RoleMaster || d.enabled != nil {
			continue
		}
		argv := l.argv("/bin/"+d.binary, d, m1)
		got := strings.Join(argv, " ")
		extra := strings.HasSuffix(got, " --pod-eviction-timeout 10s")
		if extra != (d.name == "controller-manager") {
			t.Errorf("%s: command line %q: extra flags there = %v", d.name, got, extra)
		}
		// Restart runs again what the lab recorded after nsenter's "--".
		recorded := append([]string{"nsenter", "--net=/run/netns/skx-m1", "--uts=/s/uts/m1", "--"}, argv...)
		if again := strings.Join(commandAfterNSEnter(recorded), " "); again != got {
			t.Errorf("%s: restart would run %q, want %q", d.name, again, got)
		}
	}
}
