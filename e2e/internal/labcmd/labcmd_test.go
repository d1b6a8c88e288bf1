package labcmd

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestChownToSudoUser: under sudo, the config written in the invoking
// user's home (and the folder made for it) becomes theirs; a path outside
// that home is left alone.
func TestChownToSudoUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	home := t.TempDir()
	cfg := filepath.Join(home, ".skiff", "config")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "config")
	for _, p := range []string{cfg, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SUDO_UID", "4242")
	t.Setenv("SUDO_GID", "4343")
	t.Setenv("SKIFF_SUDO_HOME", home)
	for _, p := range []string{cfg, other} {
		if err := chownToSudoUser(p); err != nil {
			t.Fatal(err)
		}
	}
	owner := func(p string) (uint32, uint32) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		s := st.Sys().(*syscall.Stat_t)
		return s.Uid, s.Gid
	}
	for _, p := range []string{cfg, filepath.Dir(cfg)} {
		if u, g := owner(p); u != 4242 || g != 4343 {
			t.Errorf("%s owned by %d:%d, want 4242:4343", p, u, g)
		}
	}
	if u, _ := owner(home); u != 0 {
		t.Errorf("the home itself was chowned to %d", u)
	}
	if u, _ := owner(other); u != 0 {
		t.Errorf("a file outside the sudo user's home was chowned to %d", u)
	}
}
