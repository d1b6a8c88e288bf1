package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// TestIntegrationClusterControllers runs the daemon with every controller
// and the service account key: a new namespace gets its default service
// account and token; deleting the namespace deletes a ReplicaSet's pods
// and everything else in it, then the namespace.
func TestIntegrationClusterControllers(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs a real apiserver")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.ConfigEnv, "")
	srv := apiservertest.Start(t, apiservertest.Options{})
	cs, err := client.New(client.Options{Server: []string{srv.URL}, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(key)
	keyFile, caFile := filepath.Join(dir, "sa.key"), filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, []byte("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig([]string{"--server=" + srv.URL, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0",
		"--log-format=console", "--shutdown-timeout=5s", "--service-account-private-key-file=" + keyFile, "--root-ca-file=" + caFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- RunDaemon(dctx, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), cfg) }()
	t.Cleanup(func() { stop(); <-done })

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the default service account with a token secret", func() bool {
		sa, err := cs.CoreV1().ServiceAccounts("team").Get(ctx, "default")
		if err != nil || len(sa.GetSecrets()) == 0 {
			return false
		}
		s, err := cs.CoreV1().Secrets("team").Get(ctx, sa.GetSecrets()[0].GetName())
		return err == nil && len(s.GetData()["token"]) > 0 && len(s.GetData()["ca.crt"]) > 0
	})
	replicas := int32(2)
	rs := &appsv1.ReplicaSet{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec: &appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "nginx"}}}}}}
	if _, err := cs.AppsV1().ReplicaSets("team").Create(ctx, rs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2 pods", func() bool {
		l, err := cs.CoreV1().Pods("team").List(ctx, client.ListOptions{})
		return err == nil && len(l.GetItems()) == 2
	})
	if err := cs.CoreV1().Namespaces().Delete(ctx, "team", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the namespace emptied and removed", func() bool {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "team")
		return client.IsNotFound(err)
	})
}
