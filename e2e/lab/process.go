package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Proc is a daemon the lab started: enough to stop exactly it later, from
// another process (skiff-lab down) too.
type Proc struct {
	Host   string `json:"host"`
	Daemon string `json:"daemon"`
	PID    int    `json:"pid"`
	// StartTime is the process's start time in clock ticks since boot
	// (/proc/PID/stat field 22): a PID reused by another process has
	// another, so Stop never signals a stranger.
	StartTime uint64   `json:"startTime"`
	Phase     int      `json:"phase"`
	Log       string   `json:"log"`
	Command   []string `json:"command"`
}

// Name is "host/daemon", the prefix of its log lines.
func (p Proc) Name() string { return p.Host + "/" + p.Daemon }

// procStartTime reads field 22 of /proc/PID/stat, and whether the process
// exists and is not a zombie.
func procStartTime(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	// The command name (field 2) may hold spaces; fields restart after ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, false
	}
	return t, true
}

// Alive says whether the recorded process is still running.
func (p Proc) Alive() bool {
	t, ok := procStartTime(p.PID)
	return ok && t == p.StartTime
}

// signal sends sig to the recorded process if it is still that process.
func (p Proc) signal(sig syscall.Signal) error {
	if !p.Alive() {
		return nil
	}
	if err := unix.Kill(p.PID, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %s (pid %d): %w", p.Name(), p.PID, err)
	}
	return nil
}

// start runs argv inside host h's network and UTS namespaces with nsenter
// (which execs the daemon, so the PID is the daemon's), output to logFile,
// in a process group of its own so a Ctrl-C at the terminal reaches only
// the lab, which then stops the daemons in order.
func (l *Lab) start(h Host, d daemon, argv []string) (Proc, error) {
	logFile := l.path("logs", h.Name+"-"+d.name+".log")
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Proc{}, fmt.Errorf("log of %s/%s: %w", h.Name, d.name, err)
	}
	defer func() { _ = f.Close() }()
	full := append([]string{"nsenter", "--net=" + h.NetNSPath(), "--uts=" + h.UTS, "--"}, argv...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = l.hostPath(h)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return Proc{}, fmt.Errorf("start %s/%s: %w", h.Name, d.name, err)
	}
	st, _ := procStartTime(cmd.Process.Pid)
	p := Proc{Host: h.Name, Daemon: d.name, PID: cmd.Process.Pid, StartTime: st, Phase: d.phase, Log: logFile, Command: full}
	// Reap it when it ends, so it does not linger as a zombie of ours.
	go func() { _ = cmd.Wait() }()
	l.lg.Info("started", zap.String("daemon", p.Name()), zap.Int("pid", p.PID), zap.String("log", logFile))
	if l.cfg.LogStream != nil {
		l.tail(p)
	}
	return p, nil
}

// stopProcs stops procs, latest phase first: SIGTERM to a whole phase,
// up to grace for them to exit, then SIGKILL.
func stopProcs(lg *zap.Logger, procs []Proc, grace time.Duration) error {
	maxPhase := 0
	for _, p := range procs {
		maxPhase = max(maxPhase, p.Phase)
	}
	var errs []error
	for phase := maxPhase; phase >= 0; phase-- {
		var group []Proc
		for _, p := range procs {
			if p.Phase == phase && p.Alive() {
				group = append(group, p)
			}
		}
		for _, p := range group {
			errs = append(errs, p.signal(syscall.SIGTERM))
		}
		deadline := time.Now().Add(grace)
		for _, p := range group {
			for p.Alive() && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if p.Alive() {
				lg.Warn("did not stop in time: killing", zap.String("daemon", p.Name()), zap.Int("pid", p.PID))
				errs = append(errs, p.signal(syscall.SIGKILL))
			}
		}
	}
	return errors.Join(errs...)
}

// killInNetNS SIGKILLs every process whose network namespace is one of
// the lab's: what the daemons left behind (containerd shims, pod
// processes). Each is found by its namespace, not its name.
func killInNetNS(lg *zap.Logger, nsPaths []string) {
	inodes := map[uint64]bool{}
	for _, p := range nsPaths {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err == nil {
			inodes[st.Ino] = true
		}
	}
	if len(inodes) == 0 {
		return
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) != nil || !inodes[st.Ino] {
			continue
		}
		lg.Info("killing leftover process in a lab namespace", zap.Int("pid", pid))
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// tail streams p's log file to the LogStream, each line prefixed with
// "host/daemon | ", until the lab closes.
func (l *Lab) tail(p Proc) {
	l.tails.Add(1)
	go func() {
		defer l.tails.Done()
		f, err := os.Open(p.Log)
		if err != nil {
			return
		}
		defer func() { _ = f.Close() }()
		r := bufio.NewReader(f)
		prefix := fmt.Sprintf("%-22s | ", p.Name())
		var partial string
		for {
			line, err := r.ReadString('\n')
			partial += line
			if err == nil {
				l.streamMu.Lock()
				_, _ = io.WriteString(l.cfg.LogStream, prefix+partial)
				l.streamMu.Unlock()
				partial = ""
				continue
			}
			select {
			case <-l.closed:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
}

// LogTail returns the last n lines of a log file, for error messages.
func LogTail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logStreams are the tails of Lab's logs, declared here with the code that
// uses them.
type logStreams struct {
	tails     sync.WaitGroup
	streamMu  sync.Mutex
	closed    chan struct{}
	closeOnce sync.Once
}

// stopTails ends every tail once it has copied what the logs hold.
func (s *logStreams) stopTails() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.tails.Wait()
}

// binaryPath finds a daemon's binary: in BinDir for Skiff's own, in PATH
// for system ones.
func (l *Lab) binaryPath(name string, system bool) (string, bool) {
	if system {
		if filepath.IsAbs(name) {
			_, err := os.Stat(name)
			return name, err == nil
		}
		p, err := exec.LookPath(name)
		return p, err == nil
	}
	p := filepath.Join(l.cfg.BinDir, name)
	st, err := os.Stat(p)
	return p, err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func (l *Lab) hasBinary(name string, system bool) bool {
	_, ok := l.binaryPath(name, system)
	return ok
}
