package install

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/internal/repo"
)

// TestInstallDocEtcd runs the guide's external etcd cluster: its etcd-certs
// block makes the etcd CA and certificates; each of the three members gets
// the files the guide says to copy and its etcd-default block (master-1's,
// with master-2's and master-3's names and addresses, as the guide says);
// the block is /etc/default/etcd, which Debian's etcd.service reads as its
// EnvironmentFile before running /usr/bin/etcd, so the test runs
// /usr/bin/etcd (Debian's etcd-server) with those variables, as the unit
// does without systemd. The masters 10.0.0.11-13 become the loopback
// addresses 127.0.0.11-13 (ports free on each), each member's own
// 127.0.0.1:2379 a free port. Then skiff-apiserver runs with the example
// config whose etcd-servers: [] is replaced by the guide's
// apiserver-etcd.yaml block, and must be ready (the guide's curl /readyz),
// serve skiffctl, and have written into the three-member cluster.
func TestInstallDocEtcd(t *testing.T) {
	blocks := docBlocks(t, "certs", "etcd-certs", "etcd-default", "apiserver-etcd.yaml")
	binDir, bins := repo.Binaries(t)
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	apiPort := freePort(t)

	type member struct {
		name, guideIP, ip   string
		client, peer, local int
	}
	var members []member
	for i := 1; i <= 3; i++ {
		ip := "127.0.0.1" + strconv.Itoa(i)
		members = append(members, member{
			name: "master-" + strconv.Itoa(i), guideIP: "10.0.0.1" + strconv.Itoa(i), ip: ip,
			client: freePortOn(t, ip), peer: freePortOn(t, ip), local: freePort(t),
		})
	}
	// The addresses shared by every member's view of the cluster.
	var cluster []string
	for _, m := range members {
		cluster = append(cluster,
			m.guideIP+":2379", m.ip+":"+strconv.Itoa(m.client),
			m.guideIP+":2380", m.ip+":"+strconv.Itoa(m.peer))
	}
	for _, m := range members {
		cluster = append(cluster, m.guideIP, m.ip)
	}
	moved := strings.NewReplacer(append([]string{
		"/etc/skiff/", etc + "/skiff/",
		"/etc/etcd/", etc + "/etcd/",
		"/var/lib/", root + "/var/lib/",
		"0.0.0.0", "127.0.0.1",
		"secure-port: 6443", "secure-port: " + strconv.Itoa(apiPort),
	}, cluster...)...)
	if err := os.MkdirAll(filepath.Join(etc, "skiff", "pki"), 0o755); err != nil {
		t.Fatal(err)
	}
	runBlock(t, binDir, "certs", moved.Replace(blocks["certs"]))
	// On one machine the members connect to each other from 127.0.0.1,
	// not from their own address as the masters do, and etcd checks a
	// peer's certificate against the address it connects from: the peer
	// certificates get 127.0.0.1 too.
	const peerSAN = `"DNS:$1,IP:$2"`
	if !strings.Contains(blocks["etcd-certs"], peerSAN) {
		t.Fatalf("docs/install.md etcd-certs: no peer certificate subjectAltName %s", peerSAN)
	}
	runBlock(t, binDir, "etcd-certs", moved.Replace(strings.Replace(blocks["etcd-certs"], peerSAN, `"DNS:$1,IP:$2,IP:127.0.0.1"`, 1)))

	master1 := members[0]
	for _, m := range members {
		// The guide's copy step: ca.crt, server-<m> and peer-<m> renamed.
		pki := filepath.Join(root, m.name, "etc", "etcd", "pki")
		if err := os.MkdirAll(pki, 0o700); err != nil {
			t.Fatal(err)
		}
		copyFile(t, filepath.Join(etc, "etcd", "pki", "ca.crt"), filepath.Join(pki, "ca.crt"))
		for _, kind := range []string{"server", "peer"} {
			for _, ext := range []string{".crt", ".key"} {
				copyFile(t, filepath.Join(etc, "etcd", "pki", kind+"-"+m.name+ext), filepath.Join(pki, kind+ext))
			}
		}
		// master-1's /etc/default/etcd with this member's name and
		// addresses, on its own folders.
		def := strings.NewReplacer(
			"ETCD_NAME="+master1.name, "ETCD_NAME="+m.name,
			"https://"+master1.guideIP+":", "https://"+m.guideIP+":",
		).Replace(blocks["etcd-default"])
		// ETCD_INITIAL_CLUSTER names every member: put master-1's back.
		def = regexp.MustCompile(`(?m)^ETCD_INITIAL_CLUSTER=.*$`).ReplaceAllLiteralString(def,
			regexp.MustCompile(`(?m)^ETCD_INITIAL_CLUSTER=.*$`).FindString(blocks["etcd-default"]))
		def = strings.NewReplacer(append([]string{
			"/etc/etcd/", filepath.Join(root, m.name, "etc", "etcd") + "/",
			"/var/lib/", filepath.Join(root, m.name, "var", "lib") + "/",
			"127.0.0.1:2379", "127.0.0.1:" + strconv.Itoa(m.local),
		}, cluster...)...).Replace(def)
		env := parseEnvFile(t, def)
		if got := envValue(env, "ETCD_NAME"); got != m.name {
			t.Fatalf("%s's /etc/default/etcd has ETCD_NAME=%q", m.name, got)
		}
		startEnv(t, env, "/usr/bin/etcd")
	}

	example, err := os.ReadFile(filepath.Join(repo.Root(t), "systemd", "config", "apiserver.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), "\netcd-servers: []\n") {
		t.Fatal("systemd/config/apiserver.yaml has no line etcd-servers: [] for the guide's etcd keys to replace")
	}
	withEtcd := strings.Replace(string(example), "\netcd-servers: []\n", "\n"+blocks["apiserver-etcd.yaml"]+"\n", 1)
	config := filepath.Join(etc, "skiff", "apiserver.yaml")
	if err := os.WriteFile(config, []byte(moved.Replace(withEtcd)), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, bins["skiff-apiserver"], "--config", config)

	// The guide's check: curl --cacert /etc/skiff/pki/ca.crt https://10.0.0.11:6443/readyz
	readyz := []string{"-sS", "--cacert", filepath.Join(etc, "skiff", "pki", "ca.crt"),
		"https://127.0.0.1:" + strconv.Itoa(apiPort) + "/readyz"}
	var out []byte
	deadline := time.Now().Add(2 * time.Minute)
	for err = fmt.Errorf("not tried"); time.Now().Before(deadline); time.Sleep(time.Second) {
		if out, err = exec.Command("curl", readyz...).CombinedOutput(); err == nil && strings.TrimSpace(string(out)) == "ok" {
			break
		}
	}
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("curl /readyz of the apiserver on the external etcd: %v\n%s", err, out)
	}
	kubeconfig := strings.NewReplacer("https://10.0.0.10:6443", "https://127.0.0.1:"+strconv.Itoa(apiPort)).Replace(blocks["kubeconfigs"])
	runBlock(t, binDir, "kubeconfigs", moved.Replace(kubeconfig))
	admin := filepath.Join(etc, "skiff", "admin.kubeconfig")
	if out, err := exec.Command(bins["skiffctl"], "--kubeconfig", admin, "create", "namespace", "from-the-guide").CombinedOutput(); err != nil {
		t.Fatalf("skiffctl create namespace: %v\n%s", err, out)
	}
	if out, err := exec.Command(bins["skiffctl"], "--kubeconfig", admin, "get", "namespaces").CombinedOutput(); err != nil || !strings.Contains(string(out), "from-the-guide") {
		t.Fatalf("skiffctl get namespaces: %v\n%s", err, out)
	}

	// Every member, asked with the apiserver's client certificate through
	// etcd's gRPC gateway, lists three members and holds the apiserver's
	// keys: the data is in the external cluster, replicated.
	for _, m := range members {
		members, keys := etcdState(t, etc, m.ip, m.client)
		if members != 3 || keys == 0 {
			t.Errorf("etcd %s: %d members, %d keys; want 3 members and the apiserver's keys", m.name, members, keys)
		}
	}
}

// etcdState asks the etcd member at ip:port, over TLS with the guide's
// apiserver-etcd-client certificate, how many members its cluster has and
// how many keys it holds (a linearizable read: the member must be in the
// quorum).
func etcdState(t *testing.T, etc, ip string, port int) (members, keys int) {
	t.Helper()
	pki := filepath.Join(etc, "skiff", "pki", "etcd")
	post := func(path, body string, into any) {
		url := "https://" + ip + ":" + strconv.Itoa(port) + path
		out, err := exec.Command("curl", "-sS", "--fail", "--max-time", "30",
			"--cacert", filepath.Join(pki, "ca.crt"),
			"--cert", filepath.Join(pki, "apiserver-etcd-client.crt"),
			"--key", filepath.Join(pki, "apiserver-etcd-client.key"),
			"-X", "POST", "-d", body, url).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", url, err, out)
		}
		if err := json.Unmarshal(out, into); err != nil {
			t.Fatalf("%s: %v\n%s", url, err, out)
		}
	}
	var list struct{ Members []json.RawMessage }
	post("/v3/cluster/member/list", "{}", &list)
	var count struct{ Count string }
	// every key: from "\x00" to the end ("\x00" as range_end)
	post("/v3/kv/range", `{"key":"AA==","range_end":"AA==","count_only":true}`, &count)
	n, _ := strconv.Atoi(count.Count)
	return len(list.Members), n
}

// parseEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile= does
// for the guide's plain lines (no quotes, # comments).
func parseEnvFile(t *testing.T, content string) []string {
	t.Helper()
	var env []string
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !strings.Contains(l, "=") {
			t.Fatalf("etcd-default: %q is not KEY=VALUE", l)
		}
		env = append(env, l)
	}
	return env
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}
