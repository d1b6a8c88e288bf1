// Package client is the Go client of the Skiff API, modelled on client-go:
// one Clientset per process that talks gRPC to a list of apiservers, fails
// over between them, carries the credentials and rate-limits its calls, with
// typed helpers per kind:
//
//	cs, err := client.New(opts)
//	pod, err := cs.CoreV1().Pods("default").Get(ctx, "web-0")
//	if client.IsNotFound(err) { ... }
//
// Where a Clientset connects, and with which credentials, comes from Options
// (usually bound to command-line flags with Options.BindFlags) layered over
// the shared config file, a kubeconfig-like YAML at ~/.skiff/config (or the
// path in $SKIFF_CONFIG).
//
// Objects returned by the client belong to the caller; objects handed to
// Create and Update are not modified.
package client
