package component

import (
	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
)

// NotifyReady tells systemd (a Type=notify unit) that the daemon is ready:
// it serves, its caches have synced, or it waits as a standby. Without
// $NOTIFY_SOCKET (not started by systemd) it does nothing.
func NotifyReady(lg *zap.Logger) {
	notify(lg, daemon.SdNotifyReady)
}

// NotifyStopping tells systemd that the daemon is shutting down.
func NotifyStopping(lg *zap.Logger) {
	notify(lg, daemon.SdNotifyStopping)
}

func notify(lg *zap.Logger, state string) {
	if lg == nil {
		lg = zap.NewNop()
	}
	sent, err := daemon.SdNotify(false, state)
	switch {
	case err != nil:
		lg.Warn("sd_notify failed", zap.String("state", state), zap.Error(err))
	case sent:
		lg.Debug("sd_notify sent", zap.String("state", state))
	}
}
