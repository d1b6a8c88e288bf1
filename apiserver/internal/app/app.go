// Package app is skiff-apiserver's command: flags bound to viper (flag >
// SKIFF_ env > config file > default), logging, signals, and the certs
// subcommand that makes a development PKI.
package app

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"skiff.dev/apiserver/internal/pki"
	"skiff.dev/proto/component"
)

// command is skiff-apiserver's command skeleton.
var command = component.Daemon[options, *options]{
	Name:  "apiserver",
	Short: "The Skiff API server: gRPC and REST over one port, backed by etcd",
	Long: `skiff-apiserver is the cluster's only entry. It validates and stores every
object in etcd (embedded by default, or an external cluster with --etcd-servers),
serves gRPC and Kubernetes-shaped REST on one port, and streams watches.

Every flag can also be set as SKIFF_<FLAG> (e.g. SKIFF_SECURE_PORT=6443) or in
the --config file; flags win over the environment, which wins over the file.`,
	AddFlags: addFlags,
	Defaults: Defaults,
	Run:      run,
}

// Run is main: it returns the process exit code.
func Run(args []string) int {
	cmd := NewCommand()
	cmd.SetArgs(args)
	return component.ExitCode(os.Stderr, cmd.Execute())
}

// NewCommand is the skiff-apiserver command tree.
func NewCommand() *cobra.Command {
	cmd := command.Command()
	cmd.AddCommand(newCertsCommand())
	return cmd
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, lg *zap.Logger, o options) error {
	a, err := Start(ctx, lg, Config(o))
	if err != nil {
		return err
	}
	<-ctx.Done()
	lg.Info("shutting down")
	return a.Shutdown()
}

func addFlags(fs *pflag.FlagSet) {
	d := Defaults()
	fs.String("bind-address", "", "IP to serve on (default 0.0.0.0; 127.0.0.1 with --insecure)")
	fs.Int("secure-port", d["secure-port"].(int), "port serving gRPC and REST")
	fs.Bool("insecure", false, "serve plaintext HTTP/1.1 and h2c with NO authentication (local development only)")
	fs.String("tls-cert-file", "", "serving certificate (PEM)")
	fs.String("tls-private-key-file", "", "serving certificate's private key (PEM)")
	fs.String("client-ca-file", "", "CA bundle that signs client certificates; the certificate's CN is the user, O the groups")
	fs.String("token-auth-file", "", "static bearer tokens, CSV: token,user,uid[,\"group1,group2\"]")
	fs.StringSlice("service-account-key-file", nil, "PEM files of the RSA or ECDSA public keys (or private keys, or certificates) that verify service account tokens, signed by the controller-manager's --service-account-private-key-file; repeatable")
	fs.StringSlice("authorization-mode", d["authorization-mode"].([]string), "authorizers in order, comma-separated: ABAC (the --authorization-policy-file plus the built-in policy of the components), AlwaysAllow, AlwaysDeny; system:masters may always do everything; ignored with --insecure")
	fs.String("authorization-policy-file", "", "ABAC policy, one JSON object per line: {\"apiVersion\": \"abac.authorization.kubernetes.io/v1beta1\", \"kind\": \"Policy\", \"spec\": {\"user\": \"alice\", \"namespace\": \"*\", \"resource\": \"*\", \"apiGroup\": \"*\", \"readonly\": true}}")
	fs.StringSlice("etcd-servers", nil, "external etcd endpoints (comma-separated); empty runs an embedded etcd in --data-dir")
	fs.String("etcd-cafile", "", "CA that signs the etcd servers' certificates")
	fs.String("etcd-certfile", "", "client certificate for etcd")
	fs.String("etcd-keyfile", "", "client key for etcd")
	fs.String("data-dir", d["data-dir"].(string), "embedded etcd's data directory")
	fs.String("embedded-etcd-client-url", d["embedded-etcd-client-url"].(string), "where the embedded etcd serves clients (loopback only)")
	fs.String("embedded-etcd-peer-url", d["embedded-etcd-peer-url"].(string), "the embedded etcd's peer URL")
	fs.Bool("embedded-etcd-unsafe-no-fsync", false, "skip fsync in the embedded etcd (tests and benchmarks only: loses data on power failure)")
	_ = fs.MarkHidden("embedded-etcd-unsafe-no-fsync")
	fs.String("service-cluster-ip-range", d["service-cluster-ip-range"].(string), "CIDR that Service ClusterIPs are allocated from")
	fs.String("service-node-port-range", d["service-node-port-range"].(string), "port range that NodePorts are allocated from")
	fs.Duration("etcd-compaction-interval", d["etcd-compaction-interval"].(time.Duration), "how often etcd's history is compacted (0 disables)")
	fs.Int("default-watch-cache-size", d["default-watch-cache-size"].(int), "watch events kept in memory per resource")
	fs.StringSlice("kubelet-preferred-address-types", d["kubelet-preferred-address-types"].([]string), "node address types, in order, to reach a kubelet at (Hostname, InternalDNS, InternalIP, ExternalDNS, ExternalIP)")
	fs.String("kubelet-client-certificate", "", "client certificate (PEM) the apiserver presents to kubelets")
	fs.String("kubelet-client-key", "", "key of --kubelet-client-certificate (PEM)")
	fs.String("kubelet-certificate-authority", "", "CA that signs the kubelets' serving certificates; unset, they are not verified")
	fs.Bool("kubelet-insecure-http", false, "call kubelets over plain HTTP, with no TLS (development only; needs --insecure)")
	fs.Duration("kubelet-timeout", d["kubelet-timeout"].(time.Duration), "how long connecting to a kubelet and waiting for its answer to start may take")
	fs.Duration("shutdown-timeout", d["shutdown-timeout"].(time.Duration), "how long in-flight requests get on shutdown before watches are cut")
	fs.String("log-format", d["log-format"].(string), "json or console")
	fs.String("log-level", d["log-level"].(string), "debug, info, warn or error")
}

func newCertsCommand() *cobra.Command {
	var dir string
	var hosts, nodes []string
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Create a development CA and certificates for every component",
		Long: `certs writes a cluster CA (kept if it exists), the apiserver's serving
certificate and client certificates for admin, the scheduler, the
controller-manager, kube-proxy, the apiserver's kubelet client
(apiserver-kubelet-client, for --kubelet-client-certificate) and each named
kubelet. Run it again to add
hosts or nodes; valid certificates are kept.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lg, _ := component.NewLogger("console", "info")
			return pki.Generate(dir, pki.Options{Hosts: hosts, Nodes: nodes, Logger: lg})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "dev-certs", "where to write the PEM files")
	cmd.Flags().StringSliceVar(&hosts, "hosts", nil, "extra DNS names and IPs for the apiserver certificate")
	cmd.Flags().StringSliceVar(&nodes, "nodes", nil, "node names to make kubelet client certificates for")
	return cmd
}
