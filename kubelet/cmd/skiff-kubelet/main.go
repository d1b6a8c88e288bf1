// Command skiff-kubelet is the node agent: it registers its Node, runs the
// pods bound to it on containerd, each in its own network namespace, and
// serves their logs.
package main

import (
	"os"

	"skiff.dev/kubelet/internal/app"
)

func main() { os.Exit(app.Run(os.Args[1:])) }
