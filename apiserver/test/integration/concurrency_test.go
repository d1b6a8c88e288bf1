package integration

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/apiserver/apiservertest"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// TestConcurrentUpdates: compare-and-swap updates never lose a write, and
// unconditional updates of distinct keys all land.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "cas")
	// 20 writers racing on one key make ~10,000 compare-and-swap attempts:
	// seconds on an idle machine, far more while other test packages run.
	ctx := ctxFor(t, 5*time.Minute)
	cms := corev1.NewConfigMapServiceClient(e.conn)
	for _, n := range []string{"counter", "keys"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMapRequest{Namespace: ns, Object: &corev1.ConfigMap{
			Metadata: om(n), Data: map[string]string{"n": "0"}}}); err != nil {
			t.Fatal(err)
		}
	}
	const workers, increments = 20, 25

	t.Run("read-modify-write counter", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		conflicts := make(chan int, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				seen := 0
				for i := 0; i < increments; {
					cm, err := cms.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: "counter"})
					if err != nil {
						errs <- err
						return
					}
					n, _ := strconv.Atoi(cm.Data["n"])
					cm.Data["n"] = strconv.Itoa(n + 1)
					_, err = cms.Update(ctx, &corev1.ConfigMapRequest{Namespace: ns, Name: "counter", Object: cm})
					if status.Code(err) == codes.Aborted {
						seen++
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					i++
				}
				conflicts <- seen
			}()
		}
		wg.Wait()
		close(errs)
		close(conflicts)
		for err := range errs {
			t.Fatalf("worker: %v", err)
		}
		total := 0
		for c := range conflicts {
			total += c
		}
		cm, err := cms.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: "counter"})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data["n"] != strconv.Itoa(workers*increments) {
			t.Errorf("counter = %s, want %d (lost updates); %d conflicts were retried", cm.Data["n"], workers*increments, total)
		}
		t.Logf("%d conflicts retried", total)
	})

	t.Run("unconditional updates of distinct objects", func(t *testing.T) {
		// Each worker owns one ConfigMap and writes it 25 times without a
		// resourceVersion, racing the others: no write fails, none is lost.
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				name := fmt.Sprintf("key-%02d", w)
				if _, err := cms.Create(ctx, &corev1.ConfigMapRequest{Namespace: ns, Object: &corev1.ConfigMap{Metadata: om(name)}}); err != nil {
					errs <- err
					return
				}
				for i := 1; i <= increments; i++ {
					_, err := cms.Update(ctx, &corev1.ConfigMapRequest{Namespace: ns, Name: name, Object: &corev1.ConfigMap{
						Metadata: om(name), Data: map[string]string{"worker": strconv.Itoa(w), "n": strconv.Itoa(i)}}})
					if err != nil {
						errs <- fmt.Errorf("%s update %d: %w", name, i, err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("worker: %v", err)
		}
		for w := 0; w < workers; w++ {
			name := fmt.Sprintf("key-%02d", w)
			cm, err := cms.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: name})
			if err != nil {
				t.Fatalf("get %s: %v", name, err)
			}
			if cm.Data["worker"] != strconv.Itoa(w) || cm.Data["n"] != strconv.Itoa(increments) {
				t.Errorf("%s data = %v, want worker=%d n=%d", name, cm.Data, w, increments)
			}
		}
	})

	t.Run("unconditional updates of one object never conflict", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 5; i++ {
					_, err := cms.Update(ctx, &corev1.ConfigMapRequest{Namespace: ns, Name: "keys", Object: &corev1.ConfigMap{
						Metadata: om("keys"), Data: map[string]string{"writer": strconv.Itoa(w), "i": strconv.Itoa(i)}}})
					if err != nil {
						errs <- fmt.Errorf("worker %d: %w", w, err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("unconditional update failed: %v", err)
		}
		cm, err := cms.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: "keys"})
		if err != nil {
			t.Fatal(err)
		}
		if len(cm.Data) != 2 || cm.Data["i"] != "4" {
			t.Errorf("final data %v: want one writer's last write, whole", cm.Data)
		}
	})
}
