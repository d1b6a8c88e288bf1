package component

import (
	"bytes"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zaptest"

	"skiff.dev/proto/component/notifytest"
)

func TestNotify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		notify func(t *testing.T)
		want   string
	}{
		{"ready", func(t *testing.T) { NotifyReady(zaptest.NewLogger(t)) }, "READY=1"},
		{"stopping", func(t *testing.T) { NotifyStopping(zaptest.NewLogger(t)) }, "STOPPING=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := notifytest.Listen(t)
			t.Setenv("NOTIFY_SOCKET", s.Path)
			tc.notify(t)
			if err := s.Wait(tc.want, 10*time.Second, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNotifyWithoutSocket: outside systemd, notifying does nothing and
// does not fail.
func TestNotifyWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	NotifyReady(nil)
	NotifyStopping(zaptest.NewLogger(t))
}

func TestSetVersion(t *testing.T) {
	cmd := &cobra.Command{Use: "skiff-test", Run: func(*cobra.Command, []string) { t.Error("--version ran the command") }}
	SetVersion(cmd)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--version"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if want := "skiff-test " + Version + "\n"; out.String() != want {
		t.Fatalf("--version printed %q, want %q", out.String(), want)
	}
}
