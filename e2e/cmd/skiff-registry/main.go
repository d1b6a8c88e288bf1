// Command skiff-registry is a small OCI distribution registry for the lab,
// seeded from OCI image-layout archives.
package main

import (
	"os"

	"skiff.dev/e2e/internal/registry"
)

func main() { os.Exit(registry.Run(os.Args[1:])) }
