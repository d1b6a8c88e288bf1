// Package test holds the end-to-end suites: real Skiff binaries as
// separate processes on the hosts of a lab (network namespaces on this
// machine), driven with skiffctl and curl from lab hosts. They need root.
package test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"skiff.dev/e2e/framework"
)

// binDir holds the binaries TestMain built; imageDir the test images
// (skiff.dev/pause:3.9, skiff.dev/testserver:1.0) as OCI archives.
var binDir, imageDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "the end-to-end suite needs root (network namespaces)")
		return 1
	}
	dir, err := os.MkdirTemp("", "skiff-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	names, err := framework.BuildBinaries(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("e2e: built %v\n", names)
	binDir = dir
	imageDir = filepath.Join(dir, "images")
	images, err := framework.BuildImages(imageDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("e2e: images %v\n", images)
	return m.Run()
}
