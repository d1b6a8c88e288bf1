// Command skiff-lab builds a small Skiff data centre out of network
// namespaces on one machine, and takes it down again.
package main

import (
	"os"

	"skiff.dev/e2e/internal/labcmd"
)

func main() { os.Exit(labcmd.Run(os.Args[1:])) }
