// Command skiff-mkimage builds the project's container images (static Go
// binaries on an empty base) as OCI image archives, with no Docker.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"skiff.dev/kubelet/internal/images"
)

func main() {
	out := flag.String("out", "_output/images", "directory for the image archives")
	module := flag.String("module", ".", "the kubelet module's directory")
	flag.Parse()
	paths, err := images.BuildAll(context.Background(), *module, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "skiff-mkimage:", err)
		os.Exit(1)
	}
	for _, p := range paths {
		fmt.Println(p)
	}
}
