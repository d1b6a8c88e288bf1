package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/spf13/pflag"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// A program binds kubectl's connection flags and makes one Clientset.
func Example() {
	var opts client.Options
	fs := pflag.NewFlagSet("skiffctl", pflag.ExitOnError)
	opts.BindFlags(fs)
	_ = fs.Parse(os.Args[1:]) // e.g. -s https://10.0.0.1:6443,https://10.0.0.2:6443 --token ...

	cs, err := client.New(opts)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()

	ctx := context.Background()
	cms := cs.CoreV1().ConfigMaps(cs.Namespace())
	cm, err := cms.Get(ctx, "settings")
	switch {
	case client.IsNotFound(err):
		cm, err = cms.Create(ctx, &corev1.ConfigMap{
			Metadata: &metav1.ObjectMeta{Name: "settings"},
			Data:     map[string]string{"mode": "fast"},
		})
	case err == nil:
		cm.Data["mode"] = "fast"
		cm, err = cms.Update(ctx, cm) // IsConflict(err): read again and retry
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cm.GetMetadata().GetResourceVersion())
}

// skiffctl config set-credentials / use-context.
func ExampleFile_SetCredentials() {
	path := client.ConfigPath("") // $SKIFF_CONFIG or ~/.skiff/config
	f, err := client.LoadOrNewConfigFile(path)
	if err != nil {
		log.Fatal(err)
	}
	f.SetCluster("lab", client.Cluster{Servers: []string{"https://10.0.0.1:6443", "https://10.0.0.2:6443"}, CertificateAuthority: "ca.crt"})
	f.SetCredentials("admin", client.User{ClientCertificate: "admin.crt", ClientKey: "admin.key"})
	f.SetContext("lab", client.Context{Cluster: "lab", User: "admin", Namespace: "default"})
	if err := f.UseContext("lab"); err != nil {
		log.Fatal(err) // ~/.skiff/config: context "lab" not found
	}
	if err := f.Save(""); err != nil {
		log.Fatal(err)
	}
}

// Components record what they did to objects.
func ExampleNewRecorder() {
	cs, err := client.New(client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rec := client.NewRecorder(cs, "scheduler", "master-1")
	defer rec.Shutdown(context.Background())

	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "default", Name: "web-0"}}
	rec.Event(pod, client.EventTypeNormal, "Scheduled", "Successfully assigned %s to %s", "default/web-0", "node-1")
}
