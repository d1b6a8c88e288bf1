// Command skiff-apiserver is the cluster's only entry: gRPC and REST over
// one port, validation, authentication, and the only client of etcd.
package main

import (
	"os"

	"skiff.dev/apiserver/internal/app"
)

func main() { os.Exit(app.Run(os.Args[1:])) }
