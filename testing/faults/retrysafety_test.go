package faults_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// The tables of the retry-safety tests, in the package's keyspace.
const (
	lwtTable  = keyspace + ".lwt"
	tombTable = keyspace + ".tombstones"
)

// observed records every attempt the driver makes to run one query: it is
// that query's own observer (Query.Observer), so no other request counts.
type observed struct {
	mu   sync.Mutex
	errs []error // one per attempt, nil for one that succeeded
}

func (o *observed) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, q.Err)
}

// attempts returns the outcome of each attempt so far, in order.
func (o *observed) attempts() []error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.errs)
}

// collect ranges over seq to its end.
func collect[T any](seq iter.Seq2[T, error]) (rows []T, errs []error) {
	for r, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rows = append(rows, r)
	}
	return rows, errs
}

// written is what the node holds for one row of lwtTable.
type written struct {
	rows int
	val  string
	at   time.Time // writetime(val)
}

func readWritten(s *gocql.Session, id gocql.UUID) (written, error) {
	var w written
	it := s.Query("SELECT val, writetime(val) FROM "+lwtTable+" WHERE id = ?", id).Iter()
	var val string
	var micros int64
	for it.Scan(&val, &micros) {
		w.rows++
		w.val, w.at = val, time.UnixMicro(micros)
	}
	return w, it.Close()
}

// The response to a request that reached Cassandra and ran there is lost:
// the proxy drops everything the node sends, then either every connection
// is cut (the driver sees the connection end mid-request) or nothing
// happens until the driver's timeout (5 s) gives up on the request. The
// statement may have run, so WithRetry sends it again only when running it
// twice is harmless:
//
//   - LWT, an INSERT ... IF NOT EXISTS marked idempotent: never re-sent.
//     The stream yields the driver's error of its one attempt, and the row
//     is there once, written by that attempt, before the response was
//     lost. (A second attempt would have answered [applied] = false: the
//     caller would believe someone else had written the row.)
//   - IdempotentInsert, the same INSERT without IF: re-sent, and it ran
//     again after the response was lost (the row's writetime says so).
//     Then, as for any statement that returns no columns, the stream ends
//     with a MappingError (ErrMapping): there are no rows to stream.
//   - Select, the fixture's SELECT (not marked idempotent: a SELECT always
//     is): re-sent from the same paging state, every row exactly once.
//
// The fault hits a write only once the node shows its row, so the request
// certainly ran; it hits the SELECT half a second after it was sent. Each
// statement was run once on the session beforehand, so that the request
// caught by the fault is the statement's EXECUTE, not its PREPARE.
func TestRetrySafetyLostResponse(t *testing.T) {
	n := need(t)
	want := fixture(t)
	check, _, _ := direct(t, n)
	cqlseqtest.Exec(t, check, "CREATE TABLE IF NOT EXISTS "+lwtTable+" (id uuid PRIMARY KEY, val text)")

	const (
		size   = 1000
		hold   = 500 * time.Millisecond // from the SELECT's request to the fault
		outage = time.Second            // the proxy stays down this long after a cut
	)
	retry := cqlseq.Retry{Attempts: 20, MinBackoff: 250 * time.Millisecond, MaxBackoff: time.Second}
	kinds := []struct {
		name    string
		cql     string
		marked  bool // Query.Idempotent(true)
		write   bool // inserts a row of lwtTable; else reads the fixture
		retried bool
	}{
		{"LWT", "INSERT INTO " + lwtTable + " (id, val) VALUES (?, ?) IF NOT EXISTS", true, true, false},
		{"IdempotentInsert", "INSERT INTO " + lwtTable + " (id, val) VALUES (?, ?)", true, true, true},
		{"Select", selectAll, false, false, true},
	}
	for _, fault := range []string{"ConnectionCut", "NoResponse"} {
		for _, k := range kinds {
			t.Run(fault+"/"+k.name, func(t *testing.T) {
				leakCheck(t)
				p := newProxied(t, n)
				id := gocql.MustRandomUUID()
				val := "first attempt " + id.String()
				var values []any
				if k.write {
					values = []any{id, val}
					if err := p.s.Query(k.cql, gocql.MustRandomUUID(), "warm-up").Exec(); err != nil {
						t.Fatalf("warm-up: %v", err)
					}
				} else if err := p.s.Query(k.cql).PageSize(1).Iter().Close(); err != nil {
					t.Fatalf("warm-up: %v", err)
				}
				obs := &observed{}
				q := p.s.Query(k.cql, values...).Observer(obs)
				if k.marked {
					q = q.Idempotent(true)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()

				// The fault runs beside the stream and reports when the
				// response was lost for good, and whether the node held
				// the row then.
				type result struct {
					lost, cut time.Time
					before    written
					err       error
				}
				faulted := make(chan result, 1)
				p.blackhole(t)
				go func() {
					var r result
					defer func() { faulted <- r }()
					deadline := time.Now().Add(30 * time.Second)
					switch {
					case fault == "NoResponse":
						for len(obs.attempts()) == 0 && time.Now().Before(deadline) {
							time.Sleep(10 * time.Millisecond)
						}
					case k.write:
						for r.before.rows == 0 && time.Now().Before(deadline) {
							if r.before, r.err = readWritten(check, id); r.err != nil {
								break
							}
							time.Sleep(10 * time.Millisecond)
						}
					default:
						time.Sleep(hold)
					}
					r.lost = time.Now()
					if k.write && fault == "NoResponse" && r.err == nil {
						r.before, r.err = readWritten(check, id)
					}
					// A fresh proxy without the blackhole; after a cut,
					// once the outage is over.
					r.cut = time.Now()
					p.cut()
					if fault == "ConnectionCut" {
						time.Sleep(outage)
					}
					if err := p.restore(); r.err == nil {
						r.err = err
					}
				}()

				t0 := time.Now()
				var got []Row
				var applied []map[string]any
				var errs []error
				var pi infos
				opts := []cqlseq.StreamOption{cqlseq.WithRetry(retry), cqlseq.WithPageCallback(pi.add)}
				if k.write {
					applied, errs = collect(cqlseq.Stream[map[string]any](ctx, p.s, cqlseq.FromQuery(q), opts...))
				} else {
					got, errs = collect(cqlseq.Stream[Row](ctx, p.s, cqlseq.FromQuery(q), append(opts, cqlseq.WithFetchSize(size))...))
				}
				took := time.Since(t0)
				r := <-faulted
				if r.err != nil {
					t.Fatalf("fault: %v", r.err)
				}
				settle(t, p.log, r.cut)
				atts := obs.attempts()
				pages, retries := pi.retried()
				t.Logf("stream took %v; %d attempts %v; retries per page %v (total %d); stream errors %v; [applied] rows %v",
					took.Round(time.Millisecond), len(atts), atts, pages, retries, errs, applied)
				if len(atts) == 0 || atts[0] == nil {
					t.Fatalf("the first attempt did not fail (%v): the fault did not hit the request, the test proves nothing", atts)
				}
				t.Logf("the driver's error for the lost response: %T %v", atts[0], atts[0])

				if k.write {
					if r.before.rows != 1 || r.before.val != val {
						t.Fatalf("when the response was lost, the node held %+v, want the row %q: the request did not run", r.before, val)
					}
					after, err := readWritten(check, id)
					if err != nil {
						t.Fatalf("reading the row back: %v", err)
					}
					t.Logf("row %q, %d of it; its writetime, from the lost response: %v when it was lost, %v after the stream",
						after.val, after.rows, r.before.at.Sub(r.lost).Round(time.Microsecond), after.at.Sub(r.lost).Round(time.Microsecond))
					if after.rows != 1 || after.val != val {
						t.Fatalf("after the stream the node holds %+v, want the row %q once", after, val)
					}
					if !k.retried {
						if !after.at.Equal(r.before.at) {
							t.Errorf("the row was written again (writetime %v, then %v)", r.before.at, after.at)
						}
					} else if !after.at.After(r.lost) {
						t.Errorf("the row's writetime %v is not after the lost response (%v): the retry did not run", after.at, r.lost)
					}
				}

				if !k.retried {
					if len(atts) != 1 {
						t.Errorf("the driver saw %d attempts %v, want exactly one: cqlseq re-sent a lightweight transaction", len(atts), atts)
					}
					if len(errs) != 1 || len(applied) != 0 {
						t.Fatalf("got errors %v and rows %v, want one error and no row", errs, applied)
					}
					if !errors.Is(errs[0], atts[0]) {
						t.Errorf("the stream's error %v does not match the driver's %v", errs[0], atts[0])
					}
					t.Logf("stream error: %v", errs[0])
					return
				}
				if k.write {
					if len(errs) != 1 || !errors.Is(errs[0], cqlseq.ErrMapping) {
						t.Fatalf("got errors %v, want one that matches ErrMapping: an INSERT returns no columns", errs)
					}
				} else if len(errs) != 0 {
					t.Fatalf("after %d rows: %v", len(got), errors.Join(errs...))
				}
				if len(atts) < 2 || atts[len(atts)-1] != nil {
					t.Errorf("the driver saw attempts %v, want failures, then a success", atts)
				}
				if !k.write {
					exactlyOnce(t, fault, want, got)
					if pages[1] == 0 {
						t.Errorf("page 1 reports no retries (%v)", pages)
					}
				}
			})
		}
	}
}

// A read failure is final: Cassandra refuses a read that meets more than
// tombstone_failure_threshold tombstones (its default, 100,000, which
// testing/cassandra/cassandra.sh leaves alone) with READ_FAILURE (0x1300),
// and does so on every attempt. With WithRetry{Attempts: 5} the stream
// sends the request once and yields the driver's *RequestErrReadFailure.
//
// The tombstones: one UPDATE that removes 100,001 elements from a set
// writes a cell tombstone for each (less than a second; the node keeps them
// for gc_grace_seconds, 10 days, and later runs write them again).
func TestRetrySafetyReadFailure(t *testing.T) {
	n := need(t)
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setup, _, _ := direct(t, n)
	if err := cqlseqtest.CreateNamedKeyspace(ctx, setup, keyspace); err != nil {
		t.Fatal(err)
	}
	cqlseqtest.Exec(t, setup, "CREATE TABLE IF NOT EXISTS "+tombTable+" (k int PRIMARY KEY, s set<int>)")
	const tombstones = 100_001
	elems := make([]int, tombstones)
	for i := range elems {
		elems[i] = i
	}
	t0 := time.Now()
	if err := setup.Query("UPDATE "+tombTable+" SET s = s - ? WHERE k = 0", elems).ExecContext(ctx); err != nil {
		t.Fatalf("writing %d tombstones: %v", tombstones, err)
	}
	t.Logf("wrote %d tombstones in %v", tombstones, time.Since(t0).Round(time.Millisecond))

	p := newProxied(t, n)
	obs := &observed{}
	q := p.s.Query("SELECT k, s FROM " + tombTable + " WHERE k = 0").Observer(obs)
	t0 = time.Now()
	rows, errs := collect(cqlseq.Stream[map[string]any](ctx, p.s, cqlseq.FromQuery(q), cqlseq.WithRetry(cqlseq.Retry{Attempts: 5})))
	atts := obs.attempts()
	t.Logf("stream took %v; %d attempts; rows %v; errors %v", time.Since(t0).Round(time.Millisecond), len(atts), rows, errs)
	if len(atts) != 1 {
		t.Errorf("the driver saw %d attempts %v, want exactly one", len(atts), atts)
	}
	if len(errs) != 1 || len(rows) != 0 {
		t.Fatalf("got errors %v and rows %v, want one error and no row", errs, rows)
	}
	var rf *gocql.RequestErrReadFailure
	if !errors.As(errs[0], &rf) {
		t.Fatalf("got %T %v, want an error that unwraps to *gocql.RequestErrReadFailure", errs[0], errs[0])
	}
	t.Logf("read failure: code %#x, consistency %v, received %d of %d, failures %d, reasons %v",
		rf.Code(), rf.Consistency, rf.Received, rf.BlockFor, rf.NumFailures, rf.ErrorMap)
	if rf.Code() != gocql.ErrCodeReadFailure {
		t.Errorf("code %#x, want %#x", rf.Code(), gocql.ErrCodeReadFailure)
	}
}
