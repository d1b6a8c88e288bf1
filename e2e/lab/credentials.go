package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"skiff.dev/proto/client"
)

// componentUsers are the client certificates `skiff-apiserver certs` makes
// (besides one kubelet-<node> per node), each the user of one kubeconfig.
var componentUsers = []string{"admin", "scheduler", "controller-manager", "kube-proxy"}

// writeCredentials makes the lab's CA and certificates with the
// apiserver's own `certs` command (the apiserver certificate names every
// master's and the load balancer's address), then a kubeconfig per
// component that points at APIServerURL.
func (l *Lab) writeCredentials(ctx context.Context) error {
	users := append([]string(nil), componentUsers...)
	var nodes []string
	for _, h := range l.hostsWith(RoleNode) {
		nodes = append(nodes, h.Name)
		users = append(users, "kubelet-"+h.Name)
	}
	if !l.cfg.Insecure {
		var sans []string
		for _, h := range l.hosts {
			if h.Has(RoleMaster) || h.Has(RoleLB) {
				sans = append(sans, h.IP)
			}
		}
		args := []string{"certs", "--dir", l.cfg.PKIDir, "--hosts", strings.Join(sans, ",")}
		if len(nodes) > 0 {
			args = append(args, "--nodes", strings.Join(nodes, ","))
		}
		bin, ok := l.binaryPath("skiff-apiserver", false)
		if !ok {
			return fmt.Errorf("lab: %s: no skiff-apiserver binary (make build)", bin)
		}
		if err := run(ctx, bin, args...); err != nil {
			return fmt.Errorf("lab certificates: %w", err)
		}
		for _, h := range l.hostsWith(RoleNode) {
			crt, key := l.kubeletServingCert(h)
			if err := writeServingCert(l.pkiPath("ca.crt"), l.pkiPath("ca.key"), h.Name, []string{h.IP}, crt, key); err != nil {
				return err
			}
		}
	}
	for _, u := range users {
		if err := l.WriteKubeconfig(l.kubeconfigPath(u), l.APIServerURL(), u, false); err != nil {
			return err
		}
	}
	return nil
}

// WriteKubeconfig writes a config file for user (admin, scheduler,
// kubelet-n1, ...) of the lab, reaching the apiservers at server. With
// embed, certificates are copied into the file, so it stays valid on its
// own; otherwise it names the lab's files.
func (l *Lab) WriteKubeconfig(path, server, user string, embed bool) error {
	f, err := client.LoadOrNewConfigFile(path)
	if err != nil {
		return fmt.Errorf("lab kubeconfig: %w", err)
	}
	cluster := client.Cluster{Server: server}
	var creds client.User
	if !l.cfg.Insecure {
		cluster.CertificateAuthority = l.pkiPath("ca.crt")
		creds = client.User{ClientCertificate: l.pkiPath(user + ".crt"), ClientKey: l.pkiPath(user + ".key")}
		if embed {
			read := func(p string) []byte {
				if err != nil {
					return nil
				}
				var b []byte
				b, err = os.ReadFile(p)
				return b
			}
			cluster.CertificateAuthorityData = read(cluster.CertificateAuthority)
			creds.ClientCertificateData = read(creds.ClientCertificate)
			creds.ClientKeyData = read(creds.ClientKey)
			if err != nil {
				return fmt.Errorf("lab kubeconfig for %s: %w", user, err)
			}
			cluster.CertificateAuthority, creds.ClientCertificate, creds.ClientKey = "", "", ""
		}
	}
	name := "skiff-lab-" + l.cfg.Prefix
	f.SetCluster(name, cluster)
	f.SetCredentials(user, creds)
	f.SetContext(name, client.Context{Cluster: name, User: user, Namespace: "default"})
	if err := f.UseContext(name); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := f.Save(path); err != nil {
		return fmt.Errorf("lab kubeconfig %s: %w", path, err)
	}
	return nil
}

// kubeletServingCert is the certificate and key of host's kubelet API.
func (l *Lab) kubeletServingCert(h Host) (cert, key string) {
	return l.pkiPath("kubelet-" + h.Name + "-serving.crt"), l.pkiPath("kubelet-" + h.Name + "-serving.key")
}
