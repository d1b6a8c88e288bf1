package packaging

import (
	"os"
	"testing"

	"skiff.dev/e2e/internal/repo"
)

func TestMain(m *testing.M) {
	repo.Main(m, func() {
		if pkgDir != "" {
			_ = os.RemoveAll(pkgDir)
		}
	})
}
