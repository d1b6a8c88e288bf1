// Package integration tests the apiserver end to end: a real in-process
// apiserver (apiservertest) on real embedded etcd, driven over gRPC with the
// generated clients and over REST with net/http, asserting what a user sees.
package integration
