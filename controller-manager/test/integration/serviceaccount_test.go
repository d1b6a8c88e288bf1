package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/controller-manager/internal/controller/serviceaccount"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
	sa "skiff.dev/proto/serviceaccount"
)

// TestServiceAccountTokens: every namespace gets a "default" service
// account (again after it is deleted) with a token Secret; the token,
// sent as a bearer token to the REST API the way curl would, authenticates
// as system:serviceaccount:<ns>:default: allowed where the policy allows
// it, a 403 naming the service account elsewhere, a 401 once its Secret is
// deleted, and the controller writes a new token.
func TestServiceAccountTokens(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.ConfigEnv, "")
	srv := apiservertest.Start(t, apiservertest.Options{
		// The apiserver verifies tokens with the PKI's sa.pub; the token
		// controller signs with its sa.key, as after make certs.
		Secure: true,
		Policy: `{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "system:serviceaccount:app:default", "namespace": "app", "resource": "pods", "apiGroup": "*", "readonly": true}}` + "\n",
	})
	ca := filepath.Join(srv.PKIDir, "ca.crt")
	cs, err := client.New(client.Options{Server: []string{srv.URL}, CertificateAuthority: ca, QPS: -1,
		ClientCertificate: filepath.Join(srv.PKIDir, "admin.crt"), ClientKey: filepath.Join(srv.PKIDir, "admin.key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	signer, err := serviceaccount.LoadSigner(filepath.Join(srv.PKIDir, "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	rootCA, _ := os.ReadFile(ca)
	f := informer.NewSharedInformerFactory(cs, 0)
	lg := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	sac := serviceaccount.New(lg, cs, f, serviceaccount.Config{Common: controller.Common{Workers: 1}})
	tc, err := serviceaccount.NewTokens(lg, cs, f, serviceaccount.TokensConfig{Common: controller.Common{Workers: 2}, Signer: signer, RootCA: rootCA})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait(); f.Shutdown() })
	f.Start(runCtx)
	for _, c := range []interface{ Run(context.Context) bool }{sac, tc} {
		wg.Add(1)
		go func() { defer wg.Done(); c.Run(runCtx) }()
	}

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "app"}}); err != nil {
		t.Fatal(err)
	}
	token := func() (secret, token string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		last := ""
		for time.Now().Before(deadline) {
			acct, err := cs.CoreV1().ServiceAccounts("app").Get(ctx, "default")
			if err == nil && len(acct.GetSecrets()) > 0 {
				s, err := cs.CoreV1().Secrets("app").Get(ctx, acct.GetSecrets()[0].GetName())
				if err == nil {
					if s.GetType() != sa.SecretTypeToken || string(s.GetData()["namespace"]) != "app" || string(s.GetData()["ca.crt"]) != string(rootCA) ||
						s.GetMetadata().GetAnnotations()[sa.AnnotationUID] != acct.GetMetadata().GetUid() {
						t.Fatalf("token secret %s: type %q, data keys %d, annotations %v", s.GetMetadata().GetName(), s.GetType(), len(s.GetData()), s.GetMetadata().GetAnnotations())
					}
					return s.GetMetadata().GetName(), string(s.GetData()["token"])
				}
				last = err.Error()
			} else {
				last = fmt.Sprint(acct.GetSecrets(), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no token secret for app/default: %s", last)
		return "", ""
	}
	secret, tok := token()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(rootCA)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	curl := func(path, token string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := curl("/api/v1/namespaces/app/pods", tok); code != 200 {
		t.Errorf("GET app pods with the token: %d %s; want 200", code, body)
	}
	if code, body := curl("/api/v1/namespaces/default/pods", tok); code != 403 || !strings.Contains(body, `User \"system:serviceaccount:app:default\" cannot list resource \"pods\"`) {
		t.Errorf("GET default pods with the token: %d %s; want 403 naming system:serviceaccount:app:default", code, body)
	}

	// The token dies with its Secret; the controller makes a new one.
	if err := cs.CoreV1().Secrets("app").Delete(ctx, secret, client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, body := curl("/api/v1/namespaces/app/pods", tok); code != 401 {
		t.Errorf("GET with the token of a deleted secret: %d %s; want 401", code, body)
	}
	var secret2, tok2 string
	for range 600 {
		if secret2, tok2 = token(); secret2 != secret {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if secret2 == secret {
		t.Fatalf("no new token secret after %s was deleted", secret)
	}
	if code, body := curl("/api/v1/namespaces/app/pods", tok2); code != 200 {
		t.Errorf("GET app pods with the new token: %d %s; want 200", code, body)
	}

	// A deleted default service account comes back, and its old token dies.
	if err := cs.CoreV1().ServiceAccounts("app").Delete(ctx, "default", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, body := curl("/api/v1/namespaces/app/pods", tok2); code != 401 {
		t.Errorf("GET with the token of a deleted service account: %d %s; want 401", code, body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, err := cs.CoreV1().Secrets("app").Get(ctx, secret2)
		acct, aerr := cs.CoreV1().ServiceAccounts("app").Get(ctx, "default")
		if client.IsNotFound(err) && aerr == nil && len(acct.GetSecrets()) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want the old token secret deleted (%v %v) and default recreated with a token (%v %v)", s.GetMetadata(), err, acct, aerr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, tok3 := token(); tok3 == tok2 {
		t.Error("the recreated service account got the old token")
	} else if code, body := curl("/api/v1/namespaces/app/pods", tok3); code != 200 {
		t.Errorf("GET app pods with the recreated account's token: %d %s; want 200", code, body)
	}
}
