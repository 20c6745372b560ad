package faults_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
)

// The node is frozen (SIGSTOP) mid-stream for longer than the retry budget:
// the stream gives up with a clear error once the budget is spent, neither
// hanging nor leaving a goroutine behind, and it delivered exactly the rows
// before the freeze. The node is thawed (SIGCONT) however the test ends.
func TestNodeFrozenMidStream(t *testing.T) {
	n := need(t)
	want := fixture(t)
	base := goleak.IgnoreCurrent()
	pid := n.pid(t)
	frozen := false
	thaw := func() {
		if frozen {
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT to the node (pid %d): %v", pid, err)
			}
			frozen = false
		}
	}
	// Always, even when the test fails or panics; registered before the
	// session, so it runs after the session is closed (see below).
	t.Cleanup(thaw)
	s, obs, _ := direct(t, n)
	cfg := cluster()
	const (
		size     = 100
		freezeAt = 2050 // mid page 21, before the prefetch of page 22 (at row 75 of the page) is sent
	)
	retry := cqlseq.Retry{Attempts: 2, MinBackoff: 500 * time.Millisecond, MaxBackoff: time.Second}
	// Each attempt waits at most the driver's Timeout; then the backoffs.
	budget := time.Duration(retry.Attempts+1)*cfg.Timeout + retry.MinBackoff + retry.MaxBackoff
	// The context is the test's bound on "returned in time": if cqlseq hung
	// past the budget, the stream would end with this deadline instead.
	bound := budget + cfg.Timeout + 10*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()

	var froze time.Time
	var got []Row
	var errs []error
	// A second guard, in case the stream ignores its context too: the node
	// is thawed, so the stream can end and the test fail, not hang.
	done, hung := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(bound + 30*time.Second):
			close(hung)
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	for r, err := range cqlseq.Stream[Row](ctx, s, cqlseq.CQL(selectAll),
		cqlseq.WithFetchSize(size), cqlseq.WithPrefetch(0.25), cqlseq.WithRetry(retry)) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, r)
		if len(got) == freezeAt {
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatalf("SIGSTOP to the node (pid %d): %v", pid, err)
			}
			frozen, froze = true, time.Now()
		}
	}
	close(done)
	took := time.Since(froze)
	select {
	case <-hung:
		t.Fatalf("the stream did not return within %v of the freeze, although its context ended after %v", took, bound)
	default:
	}
	if froze.IsZero() {
		t.Fatalf("the stream ended after %d rows, before the freeze: %v", len(got), errs)
	}
	// Still frozen: nothing of the stream may be left running.
	if g := streamGoroutines(); len(g) > 0 {
		t.Errorf("%d goroutines of cqlseq still run after the stream returned:\n%s", len(g), strings.Join(g, "\n\n"))
	}
	t.Logf("stream returned %v after the freeze (retry budget %v, bound %v); driver: %s",
		took.Round(time.Millisecond), budget, bound, obs)
	if len(errs) != 1 {
		t.Fatalf("got %d errors %v, want one", len(errs), errs)
	}
	err := errs[0]
	t.Logf("error after %d rows: %v", len(got), err)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the stream ran into the test's bound of %v: it did not give up after its retry budget of %v", bound, budget)
	}
	if !retryable(err) || !strings.HasPrefix(err.Error(), "cqlseq: fetching page 22, 2 retries: ") {
		t.Errorf("got %v; want the driver's error for page 22 after 2 retries", err)
	}
	// Page 21 was in hand when the node froze: all of it, and nothing after it.
	exactlyOnce(t, "node frozen", want[:21*size], got)

	// The session is closed while the node is still frozen: its control
	// connection cannot reconnect then, which is when the driver's Close
	// can deadlock (see settle).
	t0 := time.Now()
	s.Close()
	t.Logf("session closed in %v while the node was frozen", time.Since(t0).Round(time.Millisecond))
	thaw()
	if err := waitNoLeaks(15*time.Second, base); err != nil {
		t.Errorf("goroutines left after the stream and the session were closed: %v", err)
	}
}
