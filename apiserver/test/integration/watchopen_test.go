package integration

import (
	"context"
	"net/http"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
)

// TestRESTWatchOpensAtOnce: a REST watch answers 200 and its headers as
// soon as it is accepted, before any event, as Kubernetes' does: a client
// (kubectl get -w, client-go's reflector) sees its watch open while nothing
// changes, and the events follow on the same answer. A bad request is
// still refused with its status before anything streams.
func TestRESTWatchOpensAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	c := newCM(t, e, "watchopen")
	rv := c.put("a", "1", nil).GetMetadata().GetResourceVersion()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := "/api/v1/namespaces/" + c.ns + "/configmaps?watch=true&resourceVersion=" + rv
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	type answer struct {
		resp *http.Response
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		answered <- answer{resp, err}
	}()
	// Nothing changes in the namespace meanwhile: the answer must come
	// without an event to carry it.
	var a answer
	select {
	case a = <-answered:
	case <-time.After(time.Minute):
		t.Fatal("a watch with nothing to report sent no answer within a minute")
	}
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.resp.Body.Close()
	if a.resp.StatusCode != 200 || a.resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("watch answered %d %q, want 200 application/json", a.resp.StatusCode, a.resp.Header.Get("Content-Type"))
	}
	ch := make(chan ev, 10)
	go readWatchEvents(a.resp, ch)
	c.put("b", "1", nil)
	expectEvents(t, ch, "ADDED b=1")

	r := e.do(t, "GET", "/api/v1/namespaces/"+c.ns+"/configmaps?watch=true&labelSelector=a%3D%3D%3Db", nil, "")
	expectStatus(t, r, 400, "BadRequest")
}
