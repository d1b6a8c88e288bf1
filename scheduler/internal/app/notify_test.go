package app

import (
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/proto/component/notifytest"
)

func TestMain(m *testing.M) { notifytest.Main(m, Run) }

// TestNotifySystemd runs two skiff-scheduler processes under their own
// NOTIFY_SOCKETs, as systemd runs a Type=notify unit, against a real
// apiserver: the leader and the standby (which holds no Lease) both say
// READY=1 once their caches synced, and STOPPING=1 then exit on SIGTERM.
func TestNotifySystemd(t *testing.T) {
	srv := apiservertest.Start(t, apiservertest.Options{})
	args := []string{"--server", srv.URL, "--bind-address", "127.0.0.1", "--secure-port", "0",
		"--shutdown-timeout", "2s", "--log-format", "console"}
	var socks []*notifytest.Socket
	var procs []*notifytest.Process
	for _, role := range []string{"leader", "standby"} {
		s := notifytest.Listen(t)
		p := s.StartMain(t, args...)
		if err := s.Wait("READY=1", 2*time.Minute, p.Done()); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		socks, procs = append(socks, s), append(procs, p)
	}
	for i, p := range procs {
		if err := p.Stop(time.Minute); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		if err := socks[i].Wait("STOPPING=1", 10*time.Second, nil); err != nil {
			t.Fatal(err)
		}
	}
}
