// Command skiff-scheduler watches unscheduled pods and nodes, filters then
// scores the nodes for each pod, and binds it to the best one.
package main

import (
	"os"

	"skiff.dev/scheduler/internal/app"
)

func main() { os.Exit(app.Run(os.Args[1:])) }
