// Package integration holds the tests that run the client library, the
// controllers and the CLI against a real in-process apiserver on real etcd.
package integration
