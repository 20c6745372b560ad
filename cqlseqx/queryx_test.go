package cqlseqx_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gocql/gocql"
	"github.com/google/go-cmp/cmp"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// item is a row of the table itemsTable makes.
type item struct {
	P int
	C int
	V string
}

// itemsTable creates, in a keyspace of the test's own, a table with n rows in
// partition 0 (c from 0 to n-1) and 3 in partition 1, and returns its name.
func itemsTable(t *testing.T, n int) string {
	t.Helper()
	vs := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, vs)
	table := ks + ".items"
	cqlseqtest.Exec(t, vs, "CREATE TABLE "+table+" (p int, c int, v text, PRIMARY KEY (p, c))")
	for p, rows := range []int{n, 3} {
		for c := range rows {
			cqlseqtest.Exec(t, vs, fmt.Sprintf("INSERT INTO %s (p, c, v) VALUES (%d, %d, 'v%d-%d')", table, p, c, p, c))
		}
	}
	return table
}

func items(p, from, to int) []item {
	var rows []item
	for c := from; c < to; c++ {
		rows = append(rows, item{p, c, fmt.Sprintf("v%d-%d", p, c)})
	}
	return rows
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var rows []T
	for r, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

// attempts records the highest attempt number the driver reported for a
// request: the count the driver's RetryPolicy budget is checked against.
type attempts struct {
	max      atomic.Int64
	requests atomic.Int64
}

func (a *attempts) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	a.requests.Add(1)
	for {
		m := a.max.Load()
		if int64(q.Attempt) <= m || a.max.CompareAndSwap(m, int64(q.Attempt)) {
			return
		}
	}
}

// Streaming a Queryx changes nothing the caller can see in it, and the
// ranges of one sequence share nothing: every page request has the driver's
// metrics of its own, as the driver's own paging gives each page.
func TestQueryxNotShared(t *testing.T) {
	s := session(t)
	table := itemsTable(t, 20)
	stmt := "SELECT p, c, v FROM " + table + " WHERE p = ?"
	ctx := context.Background()

	t.Run("Attempts", func(t *testing.T) {
		q := s.Query(stmt, nil).Bind(0).PageSize(6)
		collect(t, cqlseqx.Stream[item](ctx, q))
		if n := q.Attempts(); n != 0 {
			t.Errorf("q.Attempts() after streaming = %d, want 0 (the caller's query never ran)", n)
		}
		if ks, tbl := q.Keyspace(), q.Table(); ks != "" || tbl != "" {
			t.Errorf("q.Keyspace(), q.Table() after streaming = %q, %q; want the unrun query's \"\", \"\"", ks, tbl)
		}
	})

	t.Run("ConcurrentRanges", func(t *testing.T) {
		obs := new(attempts)
		seq := cqlseqx.Stream[item](ctx, s.Query(stmt, nil).Bind(0).PageSize(2).Observer(obs), cqlseq.WithPrefetch(0))
		const ranges = 16
		var wg sync.WaitGroup
		got := make([][]item, ranges)
		errs := make([]error, ranges)
		for i := range ranges {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r, err := range seq {
					if err != nil {
						errs[i] = err
						return
					}
					got[i] = append(got[i], r)
				}
			}()
		}
		wg.Wait()
		for i := range ranges {
			if errs[i] != nil {
				t.Fatalf("range %d: %v", i, errs[i])
			}
			if diff := cmp.Diff(items(0, 0, 20), got[i]); diff != "" {
				t.Fatalf("range %d (-want +got):\n%s", i, diff)
			}
		}
		t.Logf("%d page requests, highest attempt number %d", obs.requests.Load(), obs.max.Load())
		if m := obs.max.Load(); m != 0 {
			t.Errorf("a page request was counted as attempt %d: concurrent ranges share the driver's attempt counter (want 0 for every request)", m)
		}
	})

	t.Run("Values", func(t *testing.T) {
		q := s.Query(stmt, nil).Bind(1)
		seq := cqlseqx.Stream[item](ctx, q)
		q.Values()[0] = 0 // after Stream: the stream has its own copy
		if diff := cmp.Diff(items(1, 0, 3), collect(t, seq)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("QueryContext", func(t *testing.T) {
		qctx, cancel := context.WithCancelCause(ctx)
		stop := errors.New("the query's context is cancelled")
		cancel(stop)
		q := s.Query(stmt, nil).Bind(0).WithContext(qctx)
		var rows int
		var got error
		for _, err := range cqlseqx.Stream[item](ctx, q) {
			if err != nil {
				got = err
				break
			}
			rows++
		}
		t.Logf("rows %d, error: %v", rows, got)
		if rows != 0 || !errors.Is(got, context.Canceled) || !errors.Is(got, stop) {
			t.Errorf("query context cancelled: got %d rows and error %v, want none and context.Canceled with its cause", rows, got)
		}
		// The stream's own context still counts.
		sctx, scancel := context.WithCancel(ctx)
		scancel()
		for _, err := range cqlseqx.Stream[item](sctx, s.Query(stmt, nil).Bind(0).WithContext(context.Background())) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("stream context cancelled: got %v, want context.Canceled", err)
			}
			break
		}
	})

	t.Run("PageState", func(t *testing.T) {
		var state []byte
		for p, err := range cqlseqx.Pages[item](ctx, s.Query(stmt, nil).Bind(0).PageSize(6)) {
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rows) != 6 {
				t.Fatalf("first page of a query with PageSize(6) has %d rows, want 6", len(p.Rows))
			}
			state = p.PageState
			break
		}
		q := s.Query(stmt, nil).Bind(0).PageSize(6)
		q.PageState(state)
		got := collect(t, cqlseqx.Stream[item](ctx, q))
		if diff := cmp.Diff(items(0, 6, 20), got); diff != "" {
			t.Errorf("resumed with q.PageState (-want +got):\n%s", diff)
		}
		// WithCursor and WithPageState replace the query's own state.
		var cursor string
		for p, err := range cqlseqx.Pages[item](ctx, s.Query(stmt, nil).Bind(0).PageSize(3)) {
			if err != nil {
				t.Fatal(err)
			}
			cursor = p.Cursor
			break
		}
		got = collect(t, cqlseqx.Stream[item](ctx, q, cqlseq.WithCursor(cursor), cqlseq.WithFetchSize(3)))
		if diff := cmp.Diff(items(0, 3, 20), got); diff != "" {
			t.Errorf("a Queryx with a paging state, resumed from a cursor (-want +got):\n%s", diff)
		}
	})

	t.Run("PageSizeInCursor", func(t *testing.T) {
		q := s.Query(stmt, nil).Bind(0).PageSize(4)
		var cursor string
		for p, err := range cqlseqx.Pages[item](ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			cursor = p.Cursor
			break
		}
		// The same query, resumed: the cursor holds the query's page size,
		// so asking for that size explicitly is no conflict; and running
		// the query did not change what the cursor is checked against.
		for _, resume := range []*gocqlx.Queryx{q, s.Query(stmt, nil).Bind(0).PageSize(4)} {
			got := collect(t, cqlseqx.Stream[item](ctx, resume, cqlseq.WithCursor(cursor), cqlseq.WithFetchSize(4)))
			if diff := cmp.Diff(items(0, 4, 20), got); diff != "" {
				t.Errorf("resumed from the cursor (-want +got):\n%s", diff)
			}
		}
	})
}
