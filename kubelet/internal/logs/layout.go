// Package logs reads container logs in the layout and line format of the
// Container Runtime Interface, which containerd writes and Kubernetes'
// kubelet reads:
//
//	<root>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log
//
// Every line of a file is one record,
//
//	<RFC 3339 timestamp> <stdout|stderr> <P|F>[:<more tags>] <content>
//
// where P marks a partial line that the next record of the same stream
// continues and F a full one. The log of the running (or last) container is
// the file with the highest restart count; the previous container's is the
// one before it.
//
// Following a log: files rotated in place (0.log renamed to 0.log.<time>
// and a new 0.log opened) are followed across the rotation, but a read
// starts in the current file only, as Kubernetes' does. There is no
// container runtime to ask whether the container still runs, so a followed
// log ends when a file of a later run appears (the container restarted, as
// kubectl logs -f ends when its container exits), or when the reader's
// context ends; it never moves on to the new run's file.
//
// Lines that are not CRI records are skipped; with Timestamps, a line joined
// from partial records carries the time of its first record.
package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// DefaultRoot is where container logs live on a node, as in Kubernetes.
const DefaultRoot = "/var/log/pods"

// ErrNotFound is what errors about a pod, container or log file that does
// not exist match with errors.Is.
var ErrNotFound = errors.New("not found")

// notFound is an ErrNotFound with a message for the user.
type notFound string

func (e notFound) Error() string        { return string(e) }
func (e notFound) Is(target error) bool { return target == ErrNotFound }

// PodNotFound is the ErrNotFound of a pod that has no logs on this node.
func PodNotFound(namespace, pod string) error {
	return notFound(fmt.Sprintf("pod %q in namespace %q not found on this node", pod, namespace))
}

// PodDir is the folder of one pod's logs: <root>/<namespace>_<pod>_<uid>.
func PodDir(root, namespace, pod, uid string) string {
	return filepath.Join(root, namespace+"_"+pod+"_"+uid)
}

// Path is the log file of one run of a container:
// <root>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log.
func Path(root, namespace, pod, uid, container string, restartCount int) string {
	return filepath.Join(PodDir(root, namespace, pod, uid), container, strconv.Itoa(restartCount)+".log")
}

// FindPodUID finds the uid of a pod from its log folder. When a pod of that
// name was deleted and created again, the most recently changed folder wins.
func FindPodUID(root, namespace, pod string) (string, error) {
	prefix := namespace + "_" + pod + "_"
	matches, err := filepath.Glob(filepath.Join(root, prefix+"*"))
	if err != nil {
		return "", fmt.Errorf("find logs of pod %s/%s: %w", namespace, pod, err)
	}
	var uid string
	var newest int64
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil || !fi.IsDir() {
			continue
		}
		if t := fi.ModTime().UnixNano(); uid == "" || t > newest {
			uid, newest = strings.TrimPrefix(filepath.Base(m), prefix), t
		}
	}
	if uid == "" {
		return "", PodNotFound(namespace, pod)
	}
	return uid, nil
}

// Container names one container of a pod whose logs are under Root.
type Container struct {
	Root      string
	Namespace string
	Pod       string
	UID       string
	Name      string
}

// Dir is the container's log folder.
func (c Container) Dir() string {
	return filepath.Join(PodDir(c.Root, c.Namespace, c.Pod, c.UID), c.Name)
}

// Log is one log file of a container: the log of one of its runs.
type Log struct {
	Container
	RestartCount int
	Path         string
}

// Current is the log of the container's latest run.
func (c Container) Current() (*Log, error) {
	runs, err := c.runs()
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, notFound(fmt.Sprintf("container %q in pod %q is waiting to start: no log yet", c.Name, c.Pod))
	}
	return c.log(runs[len(runs)-1]), nil
}

// Previous is the log of the run before the latest: the previous,
// terminated container.
func (c Container) Previous() (*Log, error) {
	runs, err := c.runs()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if len(runs) < 2 {
		return nil, notFound(fmt.Sprintf("previous terminated container %q in pod %q not found", c.Name, c.Pod))
	}
	return c.log(runs[len(runs)-2]), nil
}

func (c Container) log(restart int) *Log {
	return &Log{Container: c, RestartCount: restart, Path: Path(c.Root, c.Namespace, c.Pod, c.UID, c.Name, restart)}
}

// runs are the restart counts that have a log file, in increasing order.
func (c Container) runs() ([]int, error) {
	entries, err := os.ReadDir(c.Dir())
	if errors.Is(err, fs.ErrNotExist) {
		if _, perr := os.Stat(PodDir(c.Root, c.Namespace, c.Pod, c.UID)); errors.Is(perr, fs.ErrNotExist) {
			return nil, PodNotFound(c.Namespace, c.Pod)
		}
		return nil, notFound(fmt.Sprintf("container %q in pod %q not found", c.Name, c.Pod))
	}
	if err != nil {
		return nil, fmt.Errorf("list logs of container %q in pod %q: %w", c.Name, c.Pod, err)
	}
	var runs []int
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || e.IsDir() {
			continue // also rotated files: 0.log.20240101-000000
		}
		if n, err := strconv.Atoi(name); err == nil && n >= 0 && strconv.Itoa(n) == name {
			runs = append(runs, n)
		}
	}
	slices.Sort(runs)
	return runs, nil
}

// newerRun reports whether the container has a run after l's: l's
// container has then terminated and its log will not grow.
func (l *Log) newerRun() bool {
	runs, err := l.runs()
	return err == nil && len(runs) > 0 && runs[len(runs)-1] > l.RestartCount
}
