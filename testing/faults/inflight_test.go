package faults_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cqlseq/cqlseq"
)

// A stream that ends while a prefetch is in flight cancels that request,
// waits for it and leaves nothing behind: when the context's deadline passes
// mid-page under a slow consumer, and when the loop body panics. The proxy
// drops the node's responses from row 140 on, so the prefetch of page 2
// (sent at half of page 1, row 150) is certainly still waiting at row 160,
// where the loop body waits for the deadline or panics.
func TestEndWithPrefetchInFlight(t *testing.T) {
	n := need(t)
	want := fixture(t)
	const (
		size   = 200
		holdAt = 140
		endAt  = 160
	)
	opts := []cqlseq.StreamOption{cqlseq.WithFetchSize(size), cqlseq.WithPrefetch(0.25)}

	t.Run("DeadlineSlowConsumer", func(t *testing.T) {
		leakCheck(t)
		p := newProxied(t, n)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var got []Row
		var errs []error
		for r, err := range cqlseq.Stream[Row](ctx, p.s, cqlseq.CQL(selectAll), opts...) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got = append(got, r)
			switch len(got) {
			case holdAt:
				p.blackhole(t)
			case endAt:
				<-ctx.Done() // a consumer slower than the deadline
			}
		}
		t.Logf("driver: %s", p.obs)
		if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) {
			t.Fatalf("got errors %v, want one that matches context.DeadlineExceeded", errs)
		}
		t.Logf("error after %d rows: %v", len(got), errs[0])
		exactlyOnce(t, "deadline mid-page", want[:endAt], got)
		if p.obs.count("context deadline exceeded") != 1 {
			t.Errorf("the prefetch in flight did not end with the deadline: %s", p.obs)
		}
	})

	t.Run("PanicInLoopBody", func(t *testing.T) {
		leakCheck(t)
		p := newProxied(t, n)
		type boom struct{ row int }
		var got []Row
		var unwound time.Duration
		func() {
			var panicked time.Time
			defer func() {
				unwound = time.Since(panicked)
				if r := recover(); r != (boom{endAt}) {
					t.Fatalf("recovered %v, want the loop body's own panic value %v", r, boom{endAt})
				}
			}()
			for r, err := range cqlseq.Stream[Row](context.Background(), p.s, cqlseq.CQL(selectAll), opts...) {
				if err != nil {
					t.Fatalf("after %d rows: %v", len(got), err)
				}
				got = append(got, r)
				switch len(got) {
				case holdAt:
					p.blackhole(t)
				case endAt:
					panicked = time.Now()
					panic(boom{endAt})
				}
			}
			t.Fatal("the panic did not propagate")
		}()
		t.Logf("panic reached the caller %v after it was raised; driver: %s", unwound.Round(time.Microsecond), p.obs)
		exactlyOnce(t, "panic in loop body", want[:endAt], got)
		if p.obs.count("context canceled") != 1 {
			t.Errorf("the prefetch in flight was not cancelled: %s", p.obs)
		}
	})
}
