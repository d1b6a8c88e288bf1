package app

import (
	"strings"
	"testing"

	"skiff.dev/proto/client"
)

// TestDeleteWaits: delete waits until the object is gone, so a pod on a
// node holds it until its kubelet confirms; --wait=false returns at once,
// leaving the pod Terminating; --timeout bounds the wait.
func TestDeleteWaits(t *testing.T) {
	e := newEnv(t)
	e.createNode("n1")
	e.createPods(podOn("default", "a", "n1", "ReplicaSet", "web"), podOn("default", "b", "n1", "ReplicaSet", "web"),
		podOn("default", "c", "n1", "ReplicaSet", "web"))

	if out := e.must("delete", "pod", "b", "--wait=false"); out != "pod \"b\" deleted\n" {
		t.Errorf("delete --wait=false: %q", out)
	}
	if out := e.must("get", "pod", "b"); !strings.Contains(out, "Terminating") {
		t.Errorf("after delete --wait=false the pod should be Terminating:\n%s", out)
	}

	_, errOut, code := e.run("delete", "pod", "c", "--timeout=1s")
	if code != 1 || errOut != "error: timed out waiting for the condition on pods/c\n" {
		t.Errorf("delete --timeout=1s with no kubelet: code %d stderr %q", code, errOut)
	}

	r := e.start("delete", "pod", "a")
	r.waitFor("pod \"a\" deleted\n")
	if r.exited() {
		out, errOut := r.output()
		t.Fatalf("delete returned while its pod was still terminating:\n%s\n%s", out, errOut)
	}
	// The kubelet confirms.
	if err := e.client().CoreV1().Pods("default").Delete(e.ctx(), "a", client.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != 0 {
		out, errOut := r.output()
		t.Fatalf("delete exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, _ := e.run("get", "pod", "a"); errOut != "Error from server (NotFound): pods \"a\" not found\n" {
		t.Errorf("pod a after delete: %q", errOut)
	}
}
