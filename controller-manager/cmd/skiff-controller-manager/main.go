// Command skiff-controller-manager runs Skiff's reconcile loops: ReplicaSet,
// Deployment, Endpoints, node IPAM and the rest, each converging the cluster
// toward what its objects declare.
package main

import (
	"os"

	"skiff.dev/controller-manager/internal/app"
)

func main() { os.Exit(app.Run(os.Args[1:])) }
