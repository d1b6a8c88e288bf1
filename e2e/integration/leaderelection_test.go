package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"skiff.dev/apiserver/apiservertest"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	"skiff.dev/proto/leaderelection"
	metav1 "skiff.dev/proto/meta/v1"
)

// leadership is one candidate's term: from OnStartedLeading to the end of its context.
type leadership struct {
	id         string
	start, end time.Time
}

// TestLeaderElectionThreeCandidates runs three candidates against a real
// apiserver: exactly one leads at any time; when the leader is killed
// (without releasing the lease) another takes over after the lease expires,
// and the Lease's history shows each holder change exactly once.
func TestLeaderElectionThreeCandidates(t *testing.T) {
	srv := apiservertest.Start(t, apiservertest.Options{})
	const (
		leaseDuration = 3 * time.Second
		renewDeadline = 2 * time.Second
		retryPeriod   = 500 * time.Millisecond
	)

	// Watch the Lease from the start: the holder history.
	watchConn := dial(t, srv.Address)
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	stream, err := coordinationv1.NewLeaseServiceClient(watchConn).Watch(wctx, &metav1.ListOptions{
		Namespace: "kube-system", FieldSelector: "metadata.name=test-election"})
	if err != nil {
		t.Fatal(err)
	}
	var histMu sync.Mutex
	var holders []string
	var transitions []int32
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			spec := ev.GetObject().GetSpec()
			histMu.Lock()
			if h := spec.GetHolderIdentity(); h != "" && (len(holders) == 0 || holders[len(holders)-1] != h) {
				holders = append(holders, h)
				transitions = append(transitions, spec.GetLeaseTransitions())
			}
			histMu.Unlock()
		}
	}()

	var mu sync.Mutex
	var terms []*leadership
	leading := map[string]bool{}
	cancels := map[string]context.CancelFunc{}
	done := map[string]chan struct{}{}
	for i := range 3 {
		id := fmt.Sprintf("candidate-%d", i)
		conn := dial(t, srv.Address)
		ctx, cancel := context.WithCancel(context.Background())
		cancels[id] = cancel
		finished := make(chan struct{})
		done[id] = finished
		le, err := leaderelection.New(leaderelection.Config{
			Lock: leaderelection.LeaseLock{Namespace: "kube-system", Name: "test-election", Identity: id,
				Client: coordinationv1.NewLeaseServiceClient(conn)},
			LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
			Name: "test", Logger: zaptest.NewLogger(t).Named(id),
			Callbacks: leaderelection.Callbacks{
				OnStartedLeading: func(ctx context.Context) {
					mu.Lock()
					for other, on := range leading {
						if on {
							t.Errorf("%s started leading while %s leads", id, other)
						}
					}
					leading[id] = true
					term := &leadership{id: id, start: time.Now()}
					terms = append(terms, term)
					mu.Unlock()
					<-ctx.Done()
					mu.Lock()
					leading[id] = false
					term.end = time.Now()
					mu.Unlock()
				},
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		go func() { defer close(finished); le.Run(ctx) }()
	}
	defer func() {
		for id, c := range cancels {
			c()
			<-done[id]
		}
	}()

	first := waitLeader(t, &mu, &terms, 1, 2*leaseDuration)
	// Let the leader renew a few times: nobody else may take over meanwhile.
	time.Sleep(2 * leaseDuration)
	mu.Lock()
	if len(terms) != 1 {
		t.Fatalf("leadership changed without a failure: %d terms", len(terms))
	}
	mu.Unlock()

	// Kill the leader: it stops renewing and does not release the lease.
	killed := time.Now()
	cancels[first.id]()
	<-done[first.id]
	second := waitLeader(t, &mu, &terms, 2, 3*leaseDuration)
	took := second.start.Sub(killed)
	if second.id == first.id {
		t.Fatalf("the killed candidate %s leads again", first.id)
	}
	if took > leaseDuration+2*retryPeriod+2*time.Second {
		t.Errorf("new leader after %v; want within lease duration (%v) + retry period", took, leaseDuration)
	}
	mu.Lock()
	for i := 1; i < len(terms); i++ {
		if terms[i].start.Before(terms[i-1].end) {
			t.Errorf("%s started at %v before %s ended at %v", terms[i].id, terms[i].start, terms[i-1].id, terms[i-1].end)
		}
	}
	mu.Unlock()

	// The Lease's history: two holders, the transition counted once.
	deadline := time.Now().Add(5 * time.Second)
	for {
		histMu.Lock()
		h, tr := append([]string(nil), holders...), append([]int32(nil), transitions...)
		histMu.Unlock()
		if len(h) >= 2 {
			if len(h) != 2 || h[0] != first.id || h[1] != second.id {
				t.Fatalf("lease holders = %v; want [%s %s]", h, first.id, second.id)
			}
			if tr[1] != tr[0]+1 {
				t.Fatalf("leaseTransitions went %d -> %d across one takeover", tr[0], tr[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease history %v never showed the takeover", h)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitLeader(t *testing.T, mu *sync.Mutex, terms *[]*leadership, n int, within time.Duration) *leadership {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		mu.Lock()
		if len(*terms) >= n {
			l := (*terms)[n-1]
			mu.Unlock()
			return l
		}
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no leader #%d within %v", n, within)
	return nil
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
