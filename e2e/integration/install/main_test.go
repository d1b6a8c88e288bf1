package install

import (
	"testing"

	"skiff.dev/e2e/internal/repo"
)

func TestMain(m *testing.M) { repo.Main(m) }
