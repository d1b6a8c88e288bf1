package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"skiff.dev/proto/client"
)

// stateFile is the record of a running lab inside its state directory.
const stateFile = "lab.json"

// Lab is a running lab: its hosts and the daemons it started.
type Lab struct {
	cfg    Config
	hosts  []Host
	lg     *zap.Logger
	system map[string]string

	mu    sync.Mutex
	procs []Proc
	logStreams
}

// record is what the state file holds.
type record struct {
	Config struct {
		Prefix             string `json:"prefix"`
		Masters            int    `json:"masters"`
		Nodes              int    `json:"nodes"`
		MastersSchedulable bool   `json:"mastersSchedulable"`
		BinDir             string `json:"binDir"`
		StateDir           string `json:"stateDir"`
		ImageDir           string `json:"imageDir"`
		PKIDir             string `json:"pkiDir"`
		Insecure           bool   `json:"insecure"`
	} `json:"config"`
	Hosts []Host `json:"hosts"`
	Procs []Proc `json:"procs"`
}

func newLab(cfg Config) *Lab {
	cfg.setDefaults()
	return &Lab{
		cfg: cfg, hosts: cfg.hosts(), lg: cfg.Logger.Named("lab"),
		system:     map[string]string{"etcd": cfg.EtcdBinary, "haproxy": cfg.HAProxyBinary, "containerd": "containerd"},
		logStreams: logStreams{closed: make(chan struct{})},
	}
}

// Up builds the lab of cfg and starts its daemons, phase by phase, each
// healthy before the next. On failure it removes everything it made and
// returns an error holding the log of the daemon that failed.
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	l := newLab(cfg)
	if err := l.cfg.Validate(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("lab: needs root (it creates network namespaces and runs daemons inside them)")
	}
	if _, err := os.Stat(l.path(stateFile)); err == nil {
		return nil, fmt.Errorf("lab: %s exists: lab %q is up (skiff-lab down --state %s)", l.path(stateFile), l.cfg.Prefix, l.cfg.StateDir)
	}
	if left := labNetNSNames(l.cfg.Prefix); len(left) > 0 {
		return nil, fmt.Errorf("lab: network namespaces %v exist: another lab uses prefix %q (skiff-lab down --prefix %s, or pick another --prefix)", left, l.cfg.Prefix, l.cfg.Prefix)
	}
	if err := l.up(ctx); err != nil {
		if derr := l.Down(); derr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", derr))
		}
		return nil, err
	}
	return l, nil
}

func (l *Lab) up(ctx context.Context) error {
	for _, dir := range []string{"logs", "kubeconfig", "uts", "hosts"} {
		if err := os.MkdirAll(l.path(dir), 0o755); err != nil {
			return fmt.Errorf("lab: state dir: %w", err)
		}
	}
	if err := l.save(); err != nil {
		return err
	}
	if err := buildNetwork(ctx, &l.cfg, l.hosts); err != nil {
		return fmt.Errorf("lab network: %w", err)
	}
	for _, h := range l.hosts {
		if err := os.MkdirAll(l.hostPath(h), 0o755); err != nil {
			return err
		}
		if err := makeUTS(ctx, h.UTS, h.Name); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	if err := l.writeCredentials(ctx); err != nil {
		return err
	}
	table := daemonTable()
	for phase := 0; ; phase++ {
		var started []struct {
			p Proc
			d daemon
			h Host
		}
		more := false
		for _, d := range table {
			if d.phase > phase {
				more = true
			}
			if d.phase != phase || (d.enabled != nil && !d.enabled(l)) {
				continue
			}
			bin, ok := l.binaryPath(l.binaryName(d), d.system)
			if !ok {
				l.lg.Info("binary missing: daemon not part of this lab", zap.String("daemon", d.name), zap.String("binary", bin))
				continue
			}
			for _, h := range l.hostsWith(d.role) {
				if d.files != nil {
					if err := d.files(l, h); err != nil {
						return fmt.Errorf("%s/%s config: %w", h.Name, d.name, err)
					}
				}
				p, err := l.start(h, d, l.argv(bin, d, h))
				if err != nil {
					return err
				}
				l.mu.Lock()
				l.procs = append(l.procs, p)
				l.mu.Unlock()
				if err := l.save(); err != nil {
					return err
				}
				started = append(started, struct {
					p Proc
					d daemon
					h Host
				}{p, d, h})
			}
		}
		for _, s := range started {
			if err := l.waitHealthy(ctx, s.p, s.d.health(l, s.h)); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// argv is the command line of daemon d on host h: its binary, its flags
// from the table, then Config.ExtraArgs for it.
func (l *Lab) argv(bin string, d daemon, h Host) []string {
	a := append([]string{bin}, d.args(l, h)...)
	return append(a, l.cfg.ExtraArgs[d.name]...)
}

// Restart stops daemon name on host (SIGTERM, SIGKILL after grace) and starts it
// again with the same command line, waiting until it is healthy, as an
// operator restarting a unit does. What the daemon started (pods, shims)
// is left alone.
func (l *Lab) Restart(ctx context.Context, host, name string) (Proc, error) {
	old, err := l.Proc(host, name)
	if err != nil {
		return Proc{}, err
	}
	h, err := l.Host(host)
	if err != nil {
		return Proc{}, err
	}
	var row *daemon
	for _, d := range daemonTable() {
		if d.name == name {
			row = &d
			break
		}
	}
	if row == nil {
		return Proc{}, fmt.Errorf("lab: no daemon %q in the table", name)
	}
	if err := stopProcs(l.lg, []Proc{old}, 10*time.Second); err != nil {
		return Proc{}, fmt.Errorf("lab: stop %s: %w", old.Name(), err)
	}
	argv := commandAfterNSEnter(old.Command)
	if len(argv) == 0 {
		return Proc{}, fmt.Errorf("lab: %s has no recorded command", old.Name())
	}
	p, err := l.start(h, *row, argv)
	if err != nil {
		return Proc{}, err
	}
	l.mu.Lock()
	for i := range l.procs {
		if l.procs[i].Host == host && l.procs[i].Daemon == name {
			l.procs[i] = p
		}
	}
	l.mu.Unlock()
	if err := l.save(); err != nil {
		return p, err
	}
	return p, l.waitHealthy(ctx, p, row.health(l, h))
}

// commandAfterNSEnter is the daemon's own argv inside a recorded
// "nsenter ... -- argv" command line.
func commandAfterNSEnter(cmd []string) []string {
	for i, a := range cmd {
		if a == "--" {
			return cmd[i+1:]
		}
	}
	return cmd
}

// binaryName maps a system daemon to the binary Config names for it.
func (l *Lab) binaryName(d daemon) string {
	if b, ok := l.system[d.binary]; ok && d.system {
		return b
	}
	return d.binary
}

// waitHealthy polls p's probe until it passes, the process dies, or
// ReadyTimeout passes.
func (l *Lab) waitHealthy(ctx context.Context, p Proc, pr probe) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.ReadyTimeout)
	defer cancel()
	var last error
	for {
		if !p.Alive() {
			return fmt.Errorf("%s exited during start-up; its log (%s) ends:\n%s", p.Name(), p.Log, LogTail(p.Log, 30))
		}
		cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
		last = l.check(cctx, pr)
		ccancel()
		if last == nil {
			l.lg.Info("healthy", zap.String("daemon", p.Name()), zap.String("probe", pr.String()))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %s (%s: %v); its log (%s) ends:\n%s", p.Name(), l.cfg.ReadyTimeout, pr, last, p.Log, LogTail(p.Log, 30))
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Load reads the lab recorded in stateDir, to stop it, enter its hosts or
// report on it from another process.
func Load(stateDir string, lg *zap.Logger) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("lab: no lab in %s: %w", stateDir, err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", filepath.Join(stateDir, stateFile), err)
	}
	c := r.Config
	l := newLab(Config{
		Prefix: c.Prefix, Masters: c.Masters, Nodes: c.Nodes, MastersSchedulable: c.MastersSchedulable,
		BinDir: c.BinDir, StateDir: c.StateDir, ImageDir: c.ImageDir, PKIDir: c.PKIDir, Insecure: c.Insecure, Logger: lg,
	})
	l.hosts, l.procs = r.Hosts, r.Procs
	return l, nil
}

func (l *Lab) save() error {
	var r record
	c := &r.Config
	c.Prefix, c.Masters, c.Nodes, c.MastersSchedulable = l.cfg.Prefix, l.cfg.Masters, l.cfg.Nodes, l.cfg.MastersSchedulable
	c.BinDir, c.StateDir, c.ImageDir, c.Insecure = l.cfg.BinDir, l.cfg.StateDir, l.cfg.ImageDir, l.cfg.Insecure
	c.PKIDir = l.cfg.PKIDir
	l.mu.Lock()
	r.Hosts, r.Procs = l.hosts, append([]Proc(nil), l.procs...)
	l.mu.Unlock()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := l.path(stateFile + ".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("lab: state file: %w", err)
	}
	return os.Rename(tmp, l.path(stateFile))
}

// Down stops every recorded daemon (by PID, checked against its start
// time), kills what is left in the lab's namespaces, unmounts what was
// mounted in the state directory, deletes the namespaces (which takes
// their links and rules with them) and removes the state directory.
func (l *Lab) Down() error {
	l.mu.Lock()
	procs := append([]Proc(nil), l.procs...)
	l.mu.Unlock()
	errs := []error{stopProcs(l.lg, procs, 10*time.Second)}
	names := append(labNetNSNames(l.cfg.Prefix), l.cfg.labNetNS())
	var paths []string
	for _, n := range names {
		paths = append(paths, netnsPath(n))
	}
	killInNetNS(l.lg, paths)
	l.stopTails()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, n := range names {
		errs = append(errs, deleteNetNS(ctx, n))
	}
	for _, h := range l.hostsWith(RoleNode) {
		errs = append(errs, removeRuncLeftovers(l.containerdNamespace(h)))
	}
	errs = append(errs, unmountUnder(l.cfg.StateDir))
	if err := os.RemoveAll(l.cfg.StateDir); err != nil {
		errs = append(errs, fmt.Errorf("remove state dir: %w", err))
	}
	return errors.Join(errs...)
}

// KeepLogs copies the daemons' logs to dir before a Down removes them.
func (l *Lab) KeepLogs(dir string) error {
	entries, err := os.ReadDir(l.path("logs"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(l.path("logs", e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Logs returns every daemon's log, each headed by its name.
func (l *Lab) Logs() string {
	var b strings.Builder
	for _, p := range l.Procs() {
		data, err := os.ReadFile(p.Log)
		fmt.Fprintf(&b, "===== %s (pid %d, %s) =====\n", p.Name(), p.PID, p.Log)
		if err != nil {
			fmt.Fprintf(&b, "(unreadable: %v)\n", err)
			continue
		}
		b.Write(data)
	}
	return b.String()
}

// Command returns a command that runs argv on host: inside its network
// and UTS namespaces (nsenter), with the lab's binaries first in PATH and
// SKIFF_CONFIG naming the lab's admin config, so skiffctl just works.
func (l *Lab) Command(ctx context.Context, host string, argv ...string) (*exec.Cmd, error) {
	h, err := l.Host(host)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("lab: exec: no command")
	}
	full := append([]string{"--net=" + h.NetNSPath(), "--uts=" + h.UTS, "--"}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	cmd.Env = append(os.Environ(),
		"PATH="+l.cfg.BinDir+":"+os.Getenv("PATH"),
		client.ConfigEnv+"="+l.kubeconfigPath("admin"))
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
	return cmd, nil
}

// Exec runs argv on host and returns its combined output.
func (l *Lab) Exec(ctx context.Context, host string, argv ...string) (string, error) {
	cmd, err := l.Command(ctx, host, argv...)
	if err != nil {
		return "", err
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("on %s: %s: %w: %s", host, strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Host returns the host called name.
func (l *Lab) Host(name string) (Host, error) {
	for _, h := range l.hosts {
		if h.Name == name {
			return h, nil
		}
	}
	var names []string
	for _, h := range l.hosts {
		names = append(names, h.Name)
	}
	return Host{}, fmt.Errorf("lab: no host %q (hosts: %s)", name, strings.Join(names, ", "))
}

// Hosts lists the lab's hosts.
func (l *Lab) Hosts() []Host { return append([]Host(nil), l.hosts...) }

func (l *Lab) hostsWith(r Role) []Host {
	var hs []Host
	for _, h := range l.hosts {
		if h.Has(r) {
			hs = append(hs, h)
		}
	}
	return hs
}

// Procs lists the daemons the lab started.
func (l *Lab) Procs() []Proc {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Proc(nil), l.procs...)
}

// Proc returns the daemon called daemon on host.
func (l *Lab) Proc(host, daemon string) (Proc, error) {
	for _, p := range l.Procs() {
		if p.Host == host && p.Daemon == daemon {
			return p, nil
		}
	}
	return Proc{}, fmt.Errorf("lab: no daemon %s on %s", daemon, host)
}

// KillHost SIGKILLs every daemon of host, as if the machine died.
func (l *Lab) KillHost(host string) error {
	if _, err := l.Host(host); err != nil {
		return err
	}
	var errs []error
	for _, p := range l.Procs() {
		if p.Host == host {
			errs = append(errs, p.signal(syscall.SIGKILL))
		}
	}
	return errors.Join(errs...)
}

// APIServerURL is where the lab's components reach the apiservers: the load
// balancer with several masters, the only master otherwise.
func (l *Lab) APIServerURL() string {
	scheme := "https"
	if l.cfg.Insecure {
		scheme = "http"
	}
	h := l.hostsWith(RoleMaster)[0]
	if l.cfg.Masters > 1 {
		h = l.hostsWith(RoleLB)[0]
	}
	return fmt.Sprintf("%s://%s:%d", scheme, h.IP, APIServerPort)
}

// AdminKubeconfig is the config file of the lab's admin user.
func (l *Lab) AdminKubeconfig() string { return l.kubeconfigPath("admin") }

// Config returns the lab's configuration.
func (l *Lab) Config() Config { return l.cfg }

// Status is a line per host and daemon: addresses, PIDs, liveness and
// health.
func (l *Lab) Status(ctx context.Context) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lab %s (state %s), apiserver %s\n", l.cfg.Prefix, l.cfg.StateDir, l.APIServerURL())
	table := daemonTable()
	for _, h := range l.hosts {
		roles := make([]string, len(h.Roles))
		for i, r := range h.Roles {
			roles[i] = string(r)
		}
		sort.Strings(roles)
		fmt.Fprintf(&b, "%-4s %-12s netns %-10s %s\n", h.Name, h.IP, h.NetNS, strings.Join(roles, ","))
		for _, p := range l.Procs() {
			if p.Host != h.Name {
				continue
			}
			health := "stopped"
			if p.Alive() {
				health = "healthy"
				for _, d := range table {
					if d.name == p.Daemon {
						cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
						if err := l.check(cctx, d.health(l, h)); err != nil {
							health = "unhealthy: " + err.Error()
						}
						cancel()
					}
				}
			}
			fmt.Fprintf(&b, "     %-20s pid %-8d %s\n", p.Daemon, p.PID, health)
		}
	}
	return b.String()
}

func (l *Lab) path(elem ...string) string {
	return filepath.Join(append([]string{l.cfg.StateDir}, elem...)...)
}

func (l *Lab) hostPath(h Host, elem ...string) string {
	return l.path(append([]string{"hosts", h.Name}, elem...)...)
}

func (l *Lab) pkiPath(name string) string { return filepath.Join(l.cfg.PKIDir, name) }

func (l *Lab) kubeconfigPath(user string) string { return l.path("kubeconfig", user+".conf") }

// Cleanup removes what a lab with prefix left when no state file records
// it (an up that crashed): processes inside its namespaces, the
// namespaces, mounts and stateDir.
func Cleanup(prefix, stateDir string, lg *zap.Logger) error {
	if lg == nil {
		lg = zap.NewNop()
	}
	return newLab(Config{Prefix: prefix, StateDir: stateDir, Logger: lg}).Down()
}

// CAFile is the lab CA's certificate (for curl --cacert on a lab host).
func (l *Lab) CAFile() string { return l.pkiPath("ca.crt") }

// Unplug cuts host's link to the lab bridge (its port in the lab namespace
// goes down), as if its cable were pulled; Plug restores it.
func (l *Lab) Unplug(ctx context.Context, host string) error { return l.setLink(ctx, host, "down") }

// Plug restores the link Unplug cut.
func (l *Lab) Plug(ctx context.Context, host string) error { return l.setLink(ctx, host, "up") }

func (l *Lab) setLink(ctx context.Context, host, state string) error {
	if _, err := l.Host(host); err != nil {
		return err
	}
	return ip(ctx, "-n", l.cfg.labNetNS(), "link", "set", l.cfg.Prefix+"-"+host, state)
}

// Follow writes every daemon's log to w, each line prefixed with
// "host/daemon | ", from the start and then as it grows, until ctx ends.
func (l *Lab) Follow(ctx context.Context, w io.Writer) {
	l.cfg.LogStream = w
	for _, p := range l.Procs() {
		l.tail(p)
	}
	<-ctx.Done()
	l.stopTails()
}
