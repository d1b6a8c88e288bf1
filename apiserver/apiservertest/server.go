// Package apiservertest runs a real skiff-apiserver in-process, on real
// embedded etcd and a loopback port, for integration tests of the apiserver
// and of every client of it.
package apiservertest

import "testing"

// Options configures a test apiserver; the zero value runs an insecure
// apiserver on an ephemeral loopback port over embedded etcd in a temp dir.
type Options struct {
	EtcdServers    []string // external etcd endpoints; empty runs embedded etcd in DataDir
	DataDir        string   // embedded etcd data dir; empty is t.TempDir()
	Port           int      // 0 picks a free loopback port
	WatchCacheSize int      // events kept per resource; 0 is the default
}

// Server is a running apiserver.
type Server struct {
	Address       string   // 127.0.0.1:PORT, serving gRPC and REST
	URL           string   // http://127.0.0.1:PORT
	EtcdEndpoints []string // the etcd it uses (embedded or external)
	DataDir       string
}

// Start runs an apiserver until Stop or the test's cleanup.
func Start(t testing.TB, opts Options) *Server { t.Fatal("apiservertest: not implemented yet"); return nil }

// Stop shuts the apiserver down; it is safe to call twice.
func (s *Server) Stop() {}

// Restart stops the apiserver and starts it again on the same port and data.
func (s *Server) Restart(t testing.TB) { t.Fatal("apiservertest: not implemented yet") }

// StartEtcd runs a standalone embedded etcd on loopback, for several
// apiservers to share; it stops at the test's cleanup.
func StartEtcd(t testing.TB) []string { t.Fatal("apiservertest: not implemented yet"); return nil }
