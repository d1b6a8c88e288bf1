// Command skiff-kube-proxy is the per-node network proxy: it watches
// Services and Endpoints and renders the iptables rules that send a
// ClusterIP or NodePort to one of the Service's ready pods.
package main

import (
	"os"

	"skiff.dev/kube-proxy/internal/app"
)

func main() { os.Exit(app.Run(os.Args[1:])) }
