package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// ev is a watch event as a user reads it: type, name, and a data value.
type ev struct {
	typ, name, val, rv string
	err                error
}

func (e ev) String() string {
	if e.err != nil {
		return "error: " + e.err.Error()
	}
	return e.typ + " " + e.name + "=" + e.val
}

// watchGRPC watches ConfigMaps over gRPC and pumps the events into a channel
// that is closed when the stream ends (the last item carries the error).
func watchGRPC(t *testing.T, e *env, opts *metav1.ListOptions) <-chan ev {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	stream, err := corev1.NewConfigMapServiceClient(e.conn).Watch(ctx, opts)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	ch := make(chan ev, 100)
	go func() {
		defer close(ch)
		for {
			m, err := stream.Recv()
			if err != nil {
				ch <- ev{err: err}
				return
			}
			o := m.GetObject()
			ch <- ev{typ: m.GetType().String(), name: o.GetMetadata().GetName(), val: o.GetData()["v"], rv: o.GetMetadata().GetResourceVersion()}
		}
	}()
	return ch
}

// watchREST watches over REST (one JSON event per line) the same way; a
// non-200 answer is delivered as an event with the body in err.
func watchREST(t *testing.T, e *env, path string) <-chan ev {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	ch := make(chan ev, 100)
	go readWatchEvents(resp, ch)
	return ch
}

// readWatchEvents sends the events of a REST watch answer to ch, then
// closes it; a refusal is one event carrying the status and its reason.
func readWatchEvents(resp *http.Response, ch chan<- ev) {
	defer close(ch)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var st map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&st)
		ch <- ev{typ: fmt.Sprint(resp.StatusCode), err: fmt.Errorf("HTTP %d reason %v: %v", resp.StatusCode, st["reason"], st["message"]), val: fmt.Sprint(st["reason"])}
		return
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		var m struct {
			Type   string         `json:"type"`
			Object map[string]any `json:"object"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			ch <- ev{err: fmt.Errorf("line %q is not a JSON event: %v", sc.Text(), err)}
			return
		}
		if m.Type == "ERROR" {
			ch <- ev{typ: "ERROR", val: fmt.Sprint(m.Object["reason"]), err: fmt.Errorf("ERROR event: %v", m.Object)}
			continue
		}
		name, _ := dig(m.Object, "metadata", "name").(string)
		val, _ := dig(m.Object, "data", "v").(string)
		rv, _ := dig(m.Object, "metadata", "resourceVersion").(string)
		ch <- ev{typ: m.Type, name: name, val: val, rv: rv}
	}
	ch <- ev{err: fmt.Errorf("stream ended: %v", sc.Err())}
}

// expectEvents reads len(want) events (skipping bookmarks) and compares them.
func expectEvents(t *testing.T, ch <-chan ev, want ...string) {
	t.Helper()
	for i, w := range want {
		for {
			select {
			case got, ok := <-ch:
				if !ok {
					t.Fatalf("event %d: watch closed, want %q", i, w)
				}
				if got.typ == "BOOKMARK" {
					continue
				}
				if got.String() != w {
					t.Fatalf("event %d = %q, want %q", i, got, w)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("event %d: none within 30s, want %q", i, w)
			}
			break
		}
	}
}

type cmClient struct {
	t  *testing.T
	c  corev1.ConfigMapServiceClient
	ns string
}

func (c cmClient) put(name, v string, labels map[string]string) *corev1.ConfigMap {
	c.t.Helper()
	ctx := ctxT(c.t)
	obj := &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: name, Labels: labels}, Data: map[string]string{"v": v}}
	out, err := c.c.Update(ctx, &corev1.ConfigMapRequest{Namespace: c.ns, Name: name, Object: obj})
	if err == nil {
		return out
	}
	out, err = c.c.Create(ctx, &corev1.ConfigMapRequest{Namespace: c.ns, Object: obj})
	if err != nil {
		c.t.Fatalf("put %s: %v", name, err)
	}
	return out
}

func (c cmClient) del(name string) {
	c.t.Helper()
	if _, err := c.c.Delete(ctxT(c.t), &metav1.DeleteOptions{Namespace: c.ns, Name: name}); err != nil {
		c.t.Fatalf("delete %s: %v", name, err)
	}
}

func newCM(t *testing.T, e *env, prefix string) cmClient {
	return cmClient{t: t, c: corev1.NewConfigMapServiceClient(e.conn), ns: e.newNamespace(t, prefix)}
}

// TestWatch: watches from a resourceVersion, from now, through selectors,
// and with bookmarks, over gRPC and REST.
func TestWatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})

	for _, transport := range []string{"grpc", "rest"} {
		t.Run("from resourceVersion "+transport, func(t *testing.T) {
			t.Parallel()
			c := newCM(t, e, "watchrv")
			first := c.put("a", "1", nil)
			c.put("a", "2", nil)
			c.put("b", "1", nil)
			c.del("a")
			rv := first.GetMetadata().GetResourceVersion()
			var ch <-chan ev
			if transport == "grpc" {
				ch = watchGRPC(t, e, &metav1.ListOptions{Namespace: c.ns, ResourceVersion: rv})
			} else {
				ch = watchREST(t, e, "/api/v1/namespaces/"+c.ns+"/configmaps?watch=true&resourceVersion="+rv)
			}
			// Exactly the later events, in order: the sentinel comes next.
			c.put("sentinel", "x", nil)
			expectEvents(t, ch, "MODIFIED a=2", "ADDED b=1", "DELETED a=2", "ADDED sentinel=x")
		})
	}

	t.Run("without resourceVersion lists first", func(t *testing.T) {
		t.Parallel()
		c := newCM(t, e, "watchnow")
		c.put("a", "1", nil)
		c.put("b", "1", nil)
		ch := watchREST(t, e, "/api/v1/namespaces/"+c.ns+"/configmaps?watch=true")
		expectEvents(t, ch, "ADDED a=1", "ADDED b=1")
		c.put("a", "2", nil)
		expectEvents(t, ch, "MODIFIED a=2")
	})

	t.Run("label selector", func(t *testing.T) {
		t.Parallel()
		c := newCM(t, e, "watchsel")
		c.put("other", "1", map[string]string{"app": "db"})
		ch := watchGRPC(t, e, &metav1.ListOptions{Namespace: c.ns, LabelSelector: "app=web"})
		c.put("x", "1", map[string]string{"app": "web"})
		expectEvents(t, ch, "ADDED x=1")
		out := c.put("x", "2", map[string]string{"app": "db"}) // relabelled out
		// As in Kubernetes: the last content that matched, at the change's resourceVersion.
		select {
		case got := <-ch:
			if got.String() != "DELETED x=1" || got.rv != out.Metadata.ResourceVersion {
				t.Fatalf("relabelled out: got %s at rv %s, want DELETED x=1 at rv %s", got, got.rv, out.Metadata.ResourceVersion)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("relabelled out: no event within 30s")
		}
		c.put("x", "3", map[string]string{"app": "db"}) // out of the selector: nothing
		c.put("other", "2", map[string]string{"app": "db"})
		c.put("x", "4", map[string]string{"app": "web"}) // relabelled in
		expectEvents(t, ch, "ADDED x=4")
	})

	t.Run("bookmarks", func(t *testing.T) {
		t.Parallel()
		c := newCM(t, e, "watchbm")
		last := c.put("a", "1", nil)
		ch := watchGRPC(t, e, &metav1.ListOptions{Namespace: c.ns, ResourceVersion: last.Metadata.ResourceVersion, AllowWatchBookmarks: true})
		deadline := time.After(40 * time.Second)
		for {
			select {
			case got := <-ch:
				if got.err != nil {
					t.Fatalf("watch: %v", got.err)
				}
				if got.typ != "BOOKMARK" {
					t.Fatalf("got %s, want only a BOOKMARK", got)
				}
				if rvInt(t, got.rv) < rvInt(t, last.Metadata.ResourceVersion) {
					t.Errorf("bookmark resourceVersion %s is before the watch's %s", got.rv, last.Metadata.ResourceVersion)
				}
				return
			case <-deadline:
				t.Fatal("no bookmark within 40s")
			}
		}
	})
}
