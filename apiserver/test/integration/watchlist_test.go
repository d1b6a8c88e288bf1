package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
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

// TestWatchSendInitialEvents: the watch-list of client-go (its
// WatchListClient feature) as Kubernetes serves it: sendInitialEvents=true
// streams the current objects as ADDED, then a BOOKMARK annotated
// k8s.io/initial-events-end at the revision of that state, then the
// changes; sendInitialEvents=false without a resourceVersion streams only
// what changes from now on; the options it needs are checked.
func TestWatchSendInitialEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})

	t.Run("true", func(t *testing.T) {
		c := newCM(t, e, "watchlist")
		c.put("a", "1", nil)
		last := c.put("b", "1", nil).GetMetadata().GetResourceVersion()
		lines := watchListLines(t, e, "/api/v1/namespaces/"+c.ns+"/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
		expectLine(t, lines, `ADDED a`)
		expectLine(t, lines, `ADDED b`)
		expectLine(t, lines, `BOOKMARK rv=`+last+` k8s.io/initial-events-end=true`)
		c.put("a", "2", nil)
		expectLine(t, lines, `MODIFIED a`)
	})
	t.Run("false", func(t *testing.T) {
		c := newCM(t, e, "watchnew")
		c.put("old", "1", nil)
		lines := watchListLines(t, e, "/api/v1/namespaces/"+c.ns+"/configmaps?watch=true&sendInitialEvents=false&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
		c.put("new", "1", nil)
		expectLine(t, lines, `ADDED new`)
	})
	t.Run("checked", func(t *testing.T) {
		ns := e.newNamespace(t, "watchbad")
		for _, c := range []struct{ query, msg string }{
			{"sendInitialEvents=true&allowWatchBookmarks=true", "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"},
			{"sendInitialEvents=true&resourceVersionMatch=NotOlderThan", "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true"},
			{"resourceVersionMatch=NotOlderThan", "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"},
		} {
			r := e.do(t, "GET", "/api/v1/namespaces/"+ns+"/configmaps?watch=true&"+c.query, nil, "")
			expectStatus(t, r, 422, "Invalid", c.msg)
		}
	})
}

// watchListLines streams a REST watch as lines "TYPE name" (BOOKMARK: "BOOKMARK
// rv=RV" and its annotations as key=value).
func watchListLines(t *testing.T, e *env, path string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	ch := make(chan string, 100)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			var m struct {
				Type   string `json:"type"`
				Object struct {
					Metadata struct {
						Name            string            `json:"name"`
						ResourceVersion string            `json:"resourceVersion"`
						Annotations     map[string]string `json:"annotations"`
					} `json:"metadata"`
				} `json:"object"`
			}
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				ch <- fmt.Sprintf("unreadable line %q: %v", sc.Text(), err)
				return
			}
			md := m.Object.Metadata
			line := m.Type + " " + md.Name
			if m.Type == "BOOKMARK" {
				line = "BOOKMARK rv=" + md.ResourceVersion
				keys := slices.Sorted(maps.Keys(md.Annotations))
				for _, k := range keys {
					line += " " + k + "=" + md.Annotations[k]
				}
			}
			ch <- line
		}
	}()
	return ch
}

// expectLine reads the next line that is not a periodic bookmark (one
// without annotations) and compares it with want.
func expectLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	for {
		select {
		case got, ok := <-lines:
			if !ok {
				t.Fatalf("watch ended, want %q", want)
			}
			if strings.HasPrefix(got, "BOOKMARK") && !strings.Contains(got, "=true") && !strings.HasPrefix(want, "BOOKMARK") {
				continue
			}
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			return
		case <-time.After(time.Minute):
			t.Fatalf("nothing within a minute, want %q", want)
		}
	}
}
