// Command skiff-apiserver is the cluster's only entry: gRPC and REST over
// one port, validation, authentication, and the only client of etcd.
package main

func main() {}
