package cqlseqgocql_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gocql/gocql"
	"github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqgocql"
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

// readItems runs q with the plain driver, with its automatic paging.
func readItems(q *gocql.Query) ([]item, error) {
	var rows []item
	var r item
	it := q.Iter()
	for it.Scan(&r.P, &r.C, &r.V) {
		rows = append(rows, r)
	}
	return rows, it.Close()
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

// Streaming a query leaves it as it was for the caller to run, the
// rangings of one sequence each read every row, and the settings that
// gocql cannot report (page size, paging state, context) are taken from
// the options and the stream's context, as the package documentation says.
func TestQueryCopied(t *testing.T) {
	s := session(t)
	table := itemsTable(t, 20)
	stmt := "SELECT p, c, v FROM " + table + " WHERE p = ?"
	ctx := context.Background()

	t.Run("CallersQueryRunsAfter", func(t *testing.T) {
		q := s.Query(stmt, 0).PageSize(6)
		collect(t, cqlseqgocql.Stream[item](ctx, q, cqlseq.WithFetchSize(3)))
		// Its automatic paging is still on, at its own page size.
		obs := new(attempts)
		rows, err := readItems(q.Observer(obs))
		if err != nil || !cmp.Equal(items(0, 0, 20), rows) {
			t.Errorf("the caller's query after streaming: %v, %v; want every row", rows, err)
		}
		if n := obs.requests.Load(); n != 4 {
			t.Errorf("the caller's query after streaming sent %d requests, want 4 (pages of 6)", n)
		}
	})

	t.Run("ConcurrentRanges", func(t *testing.T) {
		obs := new(attempts)
		seq := cqlseqgocql.Stream[item](ctx, s.Query(stmt, 0).Observer(obs), cqlseq.WithFetchSize(2), cqlseq.WithPrefetch(0))
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
		// The copies share the query's metrics, as documented: the driver
		// numbers attempts across the rangings running at once.
		t.Logf("%d page requests, highest attempt number %d", obs.requests.Load(), obs.max.Load())
		if n := obs.requests.Load(); n != ranges*11 {
			t.Errorf("%d page requests, want %d (11 pages of 2 rows, the last empty, per ranging): the observer is the query's", n, ranges*11)
		}
	})

	t.Run("Values", func(t *testing.T) {
		q := s.Query(stmt, 1)
		seq := cqlseqgocql.Stream[item](ctx, q)
		q.Values()[0] = 0 // after Stream: the stream has its own copy
		if diff := cmp.Diff(items(1, 0, 3), collect(t, seq)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("Released", func(t *testing.T) {
		// Upstream pools queries: one released after Stream is reset and
		// may be handed out again; the stream read its own copy.
		q := s.Query(stmt, 1)
		seq := cqlseqgocql.Stream[item](ctx, q)
		q.Release()
		other := s.Query(stmt, 0) // may be q again
		if diff := cmp.Diff(items(1, 0, 3), collect(t, seq)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if rows, err := readItems(other); err != nil || len(rows) != 20 {
			t.Errorf("the next query: %d rows, %v", len(rows), err)
		}
	})

	t.Run("QueryContextNotUsed", func(t *testing.T) {
		qctx, cancel := context.WithCancel(ctx)
		cancel()
		got := collect(t, cqlseqgocql.Stream[item](ctx, s.Query(stmt, 0).WithContext(qctx)))
		if diff := cmp.Diff(items(0, 0, 20), got); diff != "" {
			t.Errorf("a query with a cancelled context of its own (-want +got):\n%s", diff)
		}
		// The stream's context counts.
		sctx, scancel := context.WithCancel(ctx)
		scancel()
		for _, err := range cqlseqgocql.Stream[item](sctx, s.Query(stmt, 0)) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("stream context cancelled: got %v, want context.Canceled", err)
			}
			break
		}
	})

	t.Run("PageState", func(t *testing.T) {
		var state []byte
		for p, err := range cqlseqgocql.Pages[item](ctx, s.Query(stmt, 0).PageSize(3), cqlseq.WithFetchSize(6)) {
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rows) != 6 {
				t.Fatalf("first page at WithFetchSize(6) of a query with PageSize(3) has %d rows, want 6", len(p.Rows))
			}
			state = p.PageState
			break
		}
		q := s.Query(stmt, 0).PageSize(6).PageState(state)
		if diff := cmp.Diff(items(0, 0, 20), collect(t, cqlseqgocql.Stream[item](ctx, q))); diff != "" {
			t.Errorf("a query with a paging state of its own starts at the beginning (-want +got):\n%s", diff)
		}
		got := collect(t, cqlseqgocql.Stream[item](ctx, s.Query(stmt, 0), cqlseq.WithPageState(state), cqlseq.WithFetchSize(6)))
		if diff := cmp.Diff(items(0, 6, 20), got); diff != "" {
			t.Errorf("resumed with WithPageState (-want +got):\n%s", diff)
		}
	})

	t.Run("FetchSizeInCursor", func(t *testing.T) {
		var cursor string
		for p, err := range cqlseqgocql.Pages[item](ctx, s.Query(stmt, 0), cqlseq.WithFetchSize(4)) {
			if err != nil {
				t.Fatal(err)
			}
			cursor = p.Cursor
			break
		}
		for _, opts := range [][]cqlseq.StreamOption{{cqlseq.WithCursor(cursor), cqlseq.WithFetchSize(4)}, {cqlseq.WithCursor(cursor)}} {
			got := collect(t, cqlseqgocql.Stream[item](ctx, s.Query(stmt, 0), opts...))
			if diff := cmp.Diff(items(0, 4, 20), got); diff != "" {
				t.Errorf("resumed from the cursor (-want +got):\n%s", diff)
			}
		}
	})
}

// Concurrent rangings of one sequence on a session with a token-aware
// policy: the policy reads the query's routing information (Keyspace,
// GetRoutingKey) without the lock a request writes it under, in upstream
// gocql v1.7.0 as in the fork, and the copies of a query share it. The
// requests take turns, so -race finds nothing here (without the turns it
// does, upstream too: the default round-robin policy hides it).
func TestConcurrentRangesTokenAware(t *testing.T) {
	session(t)
	table := itemsTable(t, 20)
	c := newCluster(cqlseqtest.Hosts()...)
	c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	s, err := c.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seq := cqlseqgocql.Stream[item](context.Background(), s.Query("SELECT p, c, v FROM "+table+" WHERE p = ?", 0), cqlseq.WithFetchSize(2), cqlseq.WithPrefetch(0))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []item
			for r, err := range seq {
				if err != nil {
					t.Errorf("ranging %d: %v", i, err)
					return
				}
				got = append(got, r)
			}
			if diff := cmp.Diff(items(0, 0, 20), got); diff != "" {
				t.Errorf("ranging %d (-want +got):\n%s", i, diff)
			}
		}()
	}
	wg.Wait()
}

// WithStrict refuses both ways here, as in package cqlseq: a column
// without a field, and a field without a column (a misspelt name), before
// the first row; without it the misspelt field stays zero.
func TestStrictBothWays(t *testing.T) {
	s := session(t)
	table := itemsTable(t, 5)
	type misspelt struct {
		P, C int
		Vv   string
	}
	ctx := context.Background()
	q := func() *gocql.Query { return s.Query("SELECT p, c, v FROM "+table+" WHERE p = ?", 0) }
	var me *cqlseq.MappingError
	got, err := cqlseq.Collect(cqlseqgocql.Stream[misspelt](ctx, q(), cqlseq.WithStrict()))
	if !errors.As(err, &me) || !strings.Contains(me.Msg, "field misspelt.Vv") || len(got) != 0 {
		t.Fatalf("a field without a column under WithStrict: %d rows, %v; want a MappingError naming misspelt.Vv", len(got), err)
	}
	rows, err := cqlseq.Collect(cqlseqgocql.Stream[misspelt](ctx, q()))
	if err != nil || len(rows) != 5 || rows[0].Vv != "" {
		t.Fatalf("without WithStrict: %v rows, %v; want 5 rows with Vv zero", len(rows), err)
	}
}
