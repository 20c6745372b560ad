package faults_test

import (
	"context"
	"errors"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
)

// direct connects straight to the package's node and checks, when the test
// ends, that every connection went there.
func direct(t *testing.T, n *node) (*gocql.Session, *attempts, *driverLog) {
	t.Helper()
	dials, obs, log := &dialLog{}, &attempts{}, &driverLog{}
	cfg := cluster(n.addr())
	cfg.Dialer = dials
	cfg.QueryObserver = obs
	cfg.Logger = log
	s := connect(t, cfg)
	t.Cleanup(func() {
		for _, d := range dials.all() {
			if d != n.addr() {
				t.Errorf("the driver connected to %s, not to the node on %s", d, n.addr())
			}
		}
	})
	return s, obs, log
}

// The node is stopped (SIGTERM: it drains and flushes) mid-stream and
// started again while the stream waits: the driver finds it again, and with
// a retry budget that covers the restart the stream resumes from its paging
// state and delivers every row exactly once.
func TestNodeRestartMidStream(t *testing.T) {
	n := need(t)
	want := fixture(t)
	leakCheck(t)
	s, obs, log := direct(t, n)
	const (
		size   = 100
		stopAt = 3050 // mid page 31, before the prefetch of page 32 (at row 75 of the page) is sent
	)
	// Up to ~3 minutes of retries: a start takes 7 s on an idle machine and
	// can take 40 s on a loaded one.
	retry := cqlseq.Retry{Attempts: 100, MinBackoff: 250 * time.Millisecond, MaxBackoff: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var pi infos
	pidBefore := n.pid(t)
	type result struct {
		out string
		err error
		at  time.Time
	}
	started := make(chan result, 1)
	var stopped time.Time
	var got []Row
	var errs []error
	for r, err := range cqlseq.Stream[Row](ctx, s, cqlseq.CQL(selectAll),
		cqlseq.WithFetchSize(size), cqlseq.WithPrefetch(0.25), cqlseq.WithRetry(retry), cqlseq.WithPageCallback(pi.add)) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, r)
		if len(got) == stopAt {
			// Stopped before the loop goes on, so the next page request
			// finds the node down whatever the timing; started again
			// while the stream retries.
			out, err := n.run(ctx, "stop")
			if err != nil {
				t.Fatalf("cassandra.sh stop: %v\n%s", err, out)
			}
			stopped = time.Now()
			t.Logf("node stopped after %d rows:\n%s", len(got), out)
			go func() {
				out, err := n.run(ctx, "start")
				started <- result{out, err, time.Now()}
			}()
		}
	}
	if stopped.IsZero() {
		t.Fatalf("the stream ended after %d rows, before the restart: %v", len(got), errs)
	}
	st := <-started
	if st.err != nil {
		t.Fatalf("cassandra.sh start: %v\n%s", st.err, st.out)
	}
	t.Logf("node started again %v after the stop:\n%s", st.at.Sub(stopped).Round(time.Millisecond), st.out)
	if len(errs) != 0 {
		t.Fatalf("after %d rows: %v", len(got), errors.Join(errs...))
	}
	exactlyOnce(t, "node restarted", want, got)
	pages, total := pi.retried()
	t.Logf("retries per page %v (total %d), stream ended %v after the stop; driver: %s",
		pages, total, time.Since(stopped).Round(time.Millisecond), obs)
	if pages[32] == 0 {
		t.Fatalf("page 32 reports no retries (%v): the restart did not hit the stream, the test proves nothing", pages)
	}
	if pidAfter := n.pid(t); pidAfter == pidBefore {
		t.Fatalf("the node's pid is still %d: it was not restarted", pidAfter)
	}
	settle(t, log, stopped)
}
