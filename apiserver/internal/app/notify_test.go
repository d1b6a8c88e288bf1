package app

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"skiff.dev/proto/component/notifytest"
)

func TestMain(m *testing.M) { notifytest.Main(m, Run) }

// TestNotifySystemd runs skiff-apiserver as its own process under a
// NOTIFY_SOCKET, as systemd runs a Type=notify unit: READY=1 comes once it
// serves (/readyz answers 200 at once), STOPPING=1 and a clean exit follow
// SIGTERM.
func TestNotifySystemd(t *testing.T) {
	s := notifytest.Listen(t)
	port := freePort(t)
	p := s.StartMain(t, "--insecure", "--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
		"--data-dir", filepath.Join(t.TempDir(), "etcd"), "--embedded-etcd-unsafe-no-fsync",
		"--embedded-etcd-client-url", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
		"--embedded-etcd-peer-url", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
		"--shutdown-timeout", "2s", "--log-format", "console")
	if err := s.Wait("READY=1", 2*time.Minute, p.Done()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
	if err != nil {
		t.Fatalf("/readyz after READY=1: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after READY=1: %s, want 200", resp.Status)
	}
	if err := p.Stop(time.Minute); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if err := s.Wait("STOPPING=1", 10*time.Second, nil); err != nil {
		t.Fatal(err)
	}
}
