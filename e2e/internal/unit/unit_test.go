package unit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name, text string
		wantExec   []string
		wantStop   time.Duration
		wantErr    string
	}{
		{"plain", "[Unit]\nDescription=x\n# comment\n[Service]\nExecStart=/usr/bin/x --config /etc/x.yaml\nTimeoutStopSec=30s\n",
			[]string{"/usr/bin/x", "--config", "/etc/x.yaml"}, 30 * time.Second, ""},
		{"prefix and minutes", "[Service]\nExecStart=-/usr/bin/x\nTimeoutStopSec=2min\n", []string{"/usr/bin/x"}, 2 * time.Minute, ""},
		{"bare seconds", "[Service]\nExecStart=/usr/bin/x\nTimeoutStopSec=90\n", []string{"/usr/bin/x"}, 90 * time.Second, ""},
		{"key outside a section", "ExecStart=/usr/bin/x\n", nil, 0, "want Key=Value inside a [Section]"},
		{"continuation", "[Service]\nExecStart=/usr/bin/x \\\n  --y\n", nil, 0, "continuation lines are not supported"},
		{"variables", "[Service]\nExecStart=/usr/bin/x $ARGS\nTimeoutStopSec=1s\n", nil, 0, "quoting, variables and specifiers are not supported"},
		{"two ExecStart", "[Service]\nExecStart=/a\nExecStart=/b\nTimeoutStopSec=1s\n", nil, 0, "want one ExecStart="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.service")
			if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			u, err := Load(path)
			if err == nil {
				var argv []string
				argv, err = u.Exec()
				if err == nil {
					if !slices.Equal(argv, tt.wantExec) {
						t.Errorf("Exec() = %v, want %v", argv, tt.wantExec)
					}
					var d time.Duration
					d, err = u.Duration("Service", "TimeoutStopSec")
					if err == nil && d != tt.wantStop {
						t.Errorf("TimeoutStopSec = %v, want %v", d, tt.wantStop)
					}
				}
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}
