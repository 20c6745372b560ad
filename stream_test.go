package cqlseq_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
)

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func TestStreamFetchSizes(t *testing.T) {
	s, table := fixture(t)
	for _, size := range []int{1, 7, 100, 5000} {
		t.Run(fmt.Sprint("fetch size ", size), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			var infos []cqlseq.PageInfo
			reqs, q := observed(s, "SELECT id, name, score FROM "+table)
			var got []Row
			for r, err := range cqlseq.Stream[Row](context.Background(), nil, cqlseq.FromQuery(q),
				cqlseq.WithFetchSize(size),
				cqlseq.WithPageCallback(func(p cqlseq.PageInfo) { infos = append(infos, p) })) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r)
			}
			if diff := cmp.Diff(wantRows(fixtureRows), sortedByID(got)); diff != "" {
				t.Fatalf("rows (-want +got):\n%s", diff)
			}
			pages := ceilDiv(fixtureRows, size)
			if len(infos) != pages {
				t.Fatalf("page callback ran %d times, want %d pages", len(infos), pages)
			}
			var total int64
			for i, p := range infos {
				total += int64(p.Rows)
				want := cqlseq.PageInfo{Number: i + 1, Rows: min(size, fixtureRows-i*size), TotalRows: total}
				if p != want {
					t.Fatalf("page %d: got %+v, want %+v", i+1, p, want)
				}
			}
			// When n is a multiple of the size, Cassandra may answer one
			// more, empty, request: never more than that.
			if r := reqs.Load(); r < pages || r > pages+1 {
				t.Errorf("sent %d page requests for %d pages", r, pages)
			}
		})
	}
}

func TestPagesFetchSizes(t *testing.T) {
	s, table := fixture(t)
	for _, size := range []int{1, 7, 100, 5000} {
		t.Run(fmt.Sprint("fetch size ", size), func(t *testing.T) {
			var got []Row
			n := 0
			pages := ceilDiv(fixtureRows, size)
			for p, err := range cqlseq.Pages[Row](context.Background(), s, cqlseq.CQL("SELECT id, name, score FROM "+table),
				cqlseq.WithFetchSize(size)) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				got = append(got, p.Rows...)
				if p.Number != n || p.TotalRows != int64(len(got)) || len(p.Rows) != min(size, fixtureRows-(n-1)*size) {
					t.Fatalf("page %d: Number %d, %d rows, TotalRows %d; read %d rows so far", n, p.Number, len(p.Rows), p.TotalRows, len(got))
				}
				if n < pages && p.PageState == nil {
					t.Fatalf("page %d of %d has no paging state", n, pages)
				}
				// On the last page a state may remain only when the rows end
				// exactly on a page boundary: Cassandra cannot know yet.
				if n == pages && fixtureRows%size != 0 && p.PageState != nil {
					t.Fatalf("last page %d has paging state %x", n, p.PageState)
				}
			}
			if n != pages {
				t.Fatalf("got %d pages, want %d", n, pages)
			}
			if diff := cmp.Diff(wantRows(fixtureRows), sortedByID(got)); diff != "" {
				t.Fatalf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// Pages are requested only as the loop needs them: without prefetch, never
// more than the pages the loop has reached; with it, at most one more.
func TestOnDemandPaging(t *testing.T) {
	s, table := fixture(t)
	for _, prefetch := range []float64{0, 0.25, 1} {
		t.Run(fmt.Sprint("prefetch ", prefetch), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			reqs, q := observed(s, "SELECT id, name, score FROM "+table)
			n := 0
			for _, err := range cqlseq.Stream[Row](context.Background(), nil, cqlseq.FromQuery(q),
				cqlseq.WithFetchSize(100), cqlseq.WithPrefetch(prefetch)) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				reached := ceilDiv(n, 100)
				allowed := reached
				if prefetch > 0 {
					allowed++
				}
				if r := reqs.Load(); r > allowed {
					t.Fatalf("at row %d (page %d) the stream had sent %d requests, want <= %d", n, reached, r, allowed)
				}
				if n == 250 {
					break
				}
			}
			if r := reqs.Load(); prefetch == 0 && r != 3 {
				t.Fatalf("breaking at row 250 of pages of 100 sent %d requests, want 3", r)
			}
		})
	}
}

func TestBreakEarly(t *testing.T) {
	s, table := fixture(t)
	for _, k := range []int{1, 99, 100, 101, 2500} {
		t.Run(fmt.Sprint("after ", k), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			want := allRows(t, s, table)[:k]
			var got []Row
			for r, err := range cqlseq.Stream[Row](context.Background(), s, cqlseq.CQL("SELECT id, name, score FROM "+table),
				cqlseq.WithFetchSize(100), cqlseq.WithPrefetch(1)) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r)
				if len(got) == k {
					break
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaxPages(t *testing.T) {
	s, table := fixture(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	reqs, q := observed(s, "SELECT id, name, score FROM "+table)
	want := allRows(t, s, table)[:3*70]
	var got []Row
	for r, err := range cqlseq.Stream[Row](context.Background(), nil, cqlseq.FromQuery(q),
		cqlseq.WithFetchSize(70), cqlseq.WithMaxPages(3), cqlseq.WithPrefetch(1)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
	if r := reqs.Load(); r != 3 {
		t.Fatalf("WithMaxPages(3) sent %d page requests, want 3 even with prefetch", r)
	}
}

func TestResumeFromPageState(t *testing.T) {
	s, table := fixture(t)
	all := allRows(t, s, table)
	stmt := cqlseq.CQL("SELECT id, name, score FROM " + table)
	for _, after := range []int{1, 3, 99} {
		t.Run(fmt.Sprint("after page ", after), func(t *testing.T) {
			var state []byte
			for p, err := range cqlseq.Pages[Row](context.Background(), s, stmt, cqlseq.WithFetchSize(100)) {
				if err != nil {
					t.Fatal(err)
				}
				if p.Number == after {
					state = p.PageState
					break
				}
			}
			var got []Row
			for r, err := range cqlseq.Stream[Row](context.Background(), s, stmt,
				cqlseq.WithFetchSize(100), cqlseq.WithPageState(state)) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r)
			}
			if diff := cmp.Diff(all[after*100:], got); diff != "" {
				t.Fatalf("resumed rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCancelMidStream(t *testing.T) {
	s, table := fixture(t)
	for _, prefetch := range []float64{0, 1} {
		t.Run(fmt.Sprint("prefetch ", prefetch), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := 0
			var got error
			for _, err := range cqlseq.Stream[Row](ctx, s, cqlseq.CQL("SELECT id, name, score FROM "+table),
				cqlseq.WithFetchSize(100), cqlseq.WithPrefetch(prefetch)) {
				if err != nil {
					got = err
					continue // the sequence must end by itself after an error
				}
				n++
				if n == 150 {
					cancel()
				}
			}
			if !errors.Is(got, context.Canceled) {
				t.Fatalf("after cancel: got error %v, want context.Canceled", got)
			}
			if n != 150 {
				t.Fatalf("got %d rows, want the 150 read before cancel", n)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	s, table := fixture(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var got error
	for _, err := range cqlseq.Stream[Row](ctx, s, cqlseq.CQL("SELECT id, name, score FROM "+table), cqlseq.WithFetchSize(10)) {
		if err != nil {
			got = err
			continue
		}
		<-time.After(time.Millisecond) // a slow consumer: the deadline passes mid-stream
	}
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", got)
	}
}

func TestPanicInLoopBody(t *testing.T) {
	s, table := fixture(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	type boom struct{ row int }
	defer func() {
		if r := recover(); r != (boom{row: 42}) {
			t.Fatalf("recovered %v, want the loop body's own panic value", r)
		}
	}()
	n := 0
	for _, err := range cqlseq.Stream[Row](context.Background(), s, cqlseq.CQL("SELECT id, name, score FROM "+table),
		cqlseq.WithFetchSize(50), cqlseq.WithPrefetch(1)) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 42 {
			panic(boom{row: 42})
		}
	}
	t.Fatal("the panic did not propagate")
}

func TestConcurrentStreams(t *testing.T) {
	s, table := fixture(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	seq := cqlseq.Stream[Row](context.Background(), s, cqlseq.CQL("SELECT id, name, score FROM "+table), cqlseq.WithFetchSize(500))
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []Row
			for r, err := range seq { // one sequence, ranged by 20 goroutines at once
				if err != nil {
					errs[g] = err
					return
				}
				got = append(got, r)
			}
			if diff := cmp.Diff(wantRows(fixtureRows), sortedByID(got)); diff != "" {
				errs[g] = fmt.Errorf("stream %d rows (-want +got):\n%s", g, diff)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func TestRangeTwiceRunsTwice(t *testing.T) {
	s, table := fixture(t)
	reqs, q := observed(s, "SELECT id, name, score FROM "+table+" WHERE id IN (1, 2, 3)")
	seq := cqlseq.Stream[Row](context.Background(), nil, cqlseq.FromQuery(q))
	for run := 1; run <= 2; run++ {
		var got []Row
		for r, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		if diff := cmp.Diff(wantRows(4)[1:], sortedByID(got)); diff != "" {
			t.Fatalf("run %d (-want +got):\n%s", run, diff)
		}
		if r := reqs.Load(); r != run {
			t.Fatalf("after run %d: %d requests sent, want %d", run, r, run)
		}
	}
}

func TestEmptyResult(t *testing.T) {
	s, table := fixture(t)
	stmt := cqlseq.CQL("SELECT id, name, score FROM "+table+" WHERE id = ?", -1)
	for r, err := range cqlseq.Stream[Row](context.Background(), s, stmt) {
		t.Fatalf("empty result yielded (%v, %v)", r, err)
	}
	for p, err := range cqlseq.Pages[Row](context.Background(), s, stmt) {
		t.Fatalf("empty result yielded a page (%v, %v)", p, err)
	}
}

// A row that cannot be decoded mid-stream ends the stream with the driver's
// error after the rows before it.
func TestDecodeErrorMidStream(t *testing.T) {
	s, _ := fixture(t)
	ks := newTable(t, s, "CREATE TABLE %s.small (id int PRIMARY KEY, v int)")
	for i := range 300 {
		v := i
		if i == 200 {
			v = 1000 // does not fit the int8 field below
		}
		execCQL(t, s, "INSERT INTO "+ks+".small (id, v) VALUES (?, ?)", i, v)
	}
	type Small struct {
		ID int
		V  int8
	}
	n := 0
	var got error
	for r, err := range cqlseq.Stream[Small](context.Background(), s, cqlseq.CQL("SELECT id, v FROM "+ks+".small"), cqlseq.WithFetchSize(50)) {
		if err != nil {
			got = err
			continue
		}
		if int(r.V) != r.ID {
			t.Fatalf("row %+v", r)
		}
		n++
	}
	if got == nil {
		t.Fatal("no error for a value out of the field's range")
	}
	var me gocql.UnmarshalError
	if !errors.As(got, &me) {
		t.Fatalf("error %v (%T) does not unwrap to the driver's gocql.UnmarshalError", got, got)
	}
	if n == 0 || n >= 300 {
		t.Fatalf("read %d rows before the error", n)
	}
	t.Logf("after %d rows: %v", n, got)
}

// A page request that fails mid-stream (here: the table was dropped after
// the first page) is reported, never taken for the end of the data.
func TestFetchErrorMidStream(t *testing.T) {
	s, _ := fixture(t)
	ks := newTable(t, s, "CREATE TABLE %s.doomed (id int PRIMARY KEY)")
	for i := range 100 {
		execCQL(t, s, "INSERT INTO "+ks+".doomed (id) VALUES (?)", i)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	n := 0
	var got error
	for _, err := range cqlseq.Stream[int](context.Background(), s, cqlseq.CQL("SELECT id FROM "+ks+".doomed"),
		cqlseq.WithFetchSize(10), cqlseq.WithPrefetch(0)) {
		if err != nil {
			got = err
			continue
		}
		if n++; n == 10 {
			execCQL(t, s, "DROP TABLE "+ks+".doomed")
		}
	}
	if n != 10 || got == nil {
		t.Fatalf("read %d rows then error %v; want 10 rows, then an error", n, got)
	}
	var re gocql.RequestError
	if !errors.As(got, &re) {
		t.Fatalf("error %v (%T) does not unwrap to the driver's RequestError", got, got)
	}
	t.Logf("after %d rows: %v", n, got)
}

// The caller's query keeps its own settings after being streamed with
// others, and can still be run by itself.
func TestCallerQueryUnchanged(t *testing.T) {
	s, table := fixture(t)
	q := s.Query("SELECT id, name, score FROM " + table).PageSize(7).Consistency(gocql.One)
	for _, err := range cqlseq.Stream[Row](context.Background(), nil, cqlseq.FromQuery(q),
		cqlseq.WithFetchSize(1000), cqlseq.WithConsistency(gocql.All), cqlseq.WithPageState([]byte{1})) {
		_ = err // the bogus paging state fails this stream; only q matters here
		break
	}
	if c := q.GetConsistency(); c != gocql.One {
		t.Errorf("consistency of the caller's query became %v", c)
	}
	it := q.Iter()
	if n := it.NumRows(); n != 7 {
		t.Errorf("the caller's query now returns pages of %d rows, want its own 7", n)
	}
	n := 0
	for it.Scan(nil, nil, nil) {
		n++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if n != fixtureRows {
		t.Errorf("the caller's query read %d rows by itself, want %d (automatic paging still on)", n, fixtureRows)
	}
}
