package kubectl

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"

	"skiff.dev/apiserver/apiservertest"
)

// TestAggregatedDiscovery: /api and /apis answer the aggregated form
// (apidiscovery.k8s.io/v2) that kubectl asks for first, decoded with
// Kubernetes' own types, and kubectl api-resources reads it.
func TestAggregatedDiscovery(t *testing.T) {
	srv := apiservertest.Start(t, apiservertest.Options{})
	k := apiservertest.NewKubectl(t, srv)
	get := func(path string) apidiscoveryv2.APIGroupDiscoveryList {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" {
			t.Fatalf("GET %s: %d %s\n%s", path, resp.StatusCode, ct, b)
		}
		var l apidiscoveryv2.APIGroupDiscoveryList
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, b)
		}
		return l
	}
	core := get("/api")
	if len(core.Items) != 1 || core.Items[0].Name != "" || core.Items[0].Versions[0].Version != "v1" {
		t.Fatalf("/api: %+v", core)
	}
	var pods *apidiscoveryv2.APIResourceDiscovery
	for i, r := range core.Items[0].Versions[0].Resources {
		if r.Resource == "pods" {
			pods = &core.Items[0].Versions[0].Resources[i]
		}
	}
	if pods == nil || pods.Scope != apidiscoveryv2.ScopeNamespace || pods.ResponseKind.Kind != "Pod" || len(pods.Subresources) != 3 {
		t.Fatalf("/api pods: %+v", pods)
	}
	groups := get("/apis")
	var names []string
	for _, g := range groups.Items {
		names = append(names, g.Name+"/"+g.Versions[0].Version)
		for _, r := range g.Versions[0].Resources {
			for _, sub := range r.Subresources {
				if sub.Subresource == "scale" && (sub.ResponseKind.Group != "autoscaling" || sub.ResponseKind.Kind != "Scale") {
					t.Errorf("%s/scale answers %+v, want autoscaling/v1 Scale", r.Resource, sub.ResponseKind)
				}
			}
		}
	}
	if got, _ := json.Marshal(names); string(got) != `["apps/v1","batch/v1","coordination.k8s.io/v1"]` {
		t.Fatalf("/apis groups %s", got)
	}

	applyRun(t, k, "", `NAME              SHORTNAMES   APIVERSION               NAMESPACED   KIND             VERBS                                       CATEGORIES
configmaps        cm           v1                       true         ConfigMap        create,delete,get,list,patch,update,watch   
endpoints         ep           v1                       true         Endpoints        create,delete,get,list,patch,update,watch   
events            ev           v1                       true         Event            create,delete,get,list,patch,update,watch   
namespaces        ns           v1                       false        Namespace        create,delete,get,list,patch,update,watch   
nodes             no           v1                       false        Node             create,delete,get,list,patch,update,watch   
pods              po           v1                       true         Pod              create,delete,get,list,patch,update,watch   all
secrets                        v1                       true         Secret           create,delete,get,list,patch,update,watch   
serviceaccounts   sa           v1                       true         ServiceAccount   create,delete,get,list,patch,update,watch   
services          svc          v1                       true         Service          create,delete,get,list,patch,update,watch   all
daemonsets        ds           apps/v1                  true         DaemonSet        create,delete,get,list,patch,update,watch   all
deployments       deploy       apps/v1                  true         Deployment       create,delete,get,list,patch,update,watch   all
replicasets       rs           apps/v1                  true         ReplicaSet       create,delete,get,list,patch,update,watch   all
jobs                           batch/v1                 true         Job              create,delete,get,list,patch,update,watch   all
leases                         coordination.k8s.io/v1   true         Lease            create,delete,get,list,patch,update,watch   
`, "api-resources", "-o", "wide")
}
