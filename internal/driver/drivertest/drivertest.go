// Package drivertest holds the behavioural tests that every cqlseq front end
// must pass against a real Cassandra: written once, run by the tests of each
// front end (package cqlseq's over the v2 driver, cqlseqgocql's over gocql
// v1, upstream and the fork, cqlseqx's over gocqlx), as testing/fstest
// serves implementations of fs.FS. The fixtures are created
// with the v2 driver, through package cqlseqtest.
package drivertest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// Query is a statement for a front end to run. A front end counts in
// Requests every page request its driver sends for the query (with the
// driver's query observer), so tests can see what was asked of Cassandra.
type Query struct {
	Stmt     string
	Values   []any
	Requests *atomic.Int64
}

// Q returns a Query for stmt with its own request counter.
func Q(stmt string, values ...any) Query {
	return Query{Stmt: stmt, Values: values, Requests: new(atomic.Int64)}
}

// Row is a row of the fixture table.
type Row struct {
	ID    int
	Name  string
	Score int64
}

// Small has a field too narrow for some values: decoding errors mid-stream.
type Small struct {
	ID int
	V  int8
}

// Partial maps only some of the fixture's columns.
type Partial struct {
	ID   int
	Name string
}

// Nullable has a pointer field, a slice and a string for NULL handling.
type Nullable struct {
	ID int
	T  *string
	I  *int32
	L  []int
	S  string
}

// FrontEnd runs queries through one front end, one function per row type
// of the suite (Go has no generic methods): each calls the front end's
// Stream, or its Pages, for its type, on a query built from Query, with the
// options given. Run needs every function; RunSchemaChanges needs Schema
// and SchemaPages.
type FrontEnd struct {
	Name string // names the front end in test names

	Rows      func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[Row, error]              // Stream of Row
	Pages     func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[Row], error] // Pages of Row
	Smalls    func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[Small, error]            // Stream of Small
	Partials  func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[Partial, error]          // Stream of Partial
	Nullables func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[Nullable, error]         // Stream of Nullable
	Ints      func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[int, error]              // Stream of int
	IntPages  func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[int], error] // Pages of int

	Schema      func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[SchemaRow, error]              // Stream of SchemaRow
	SchemaPages func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[SchemaRow], error] // Pages of SchemaRow
	Skips       func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[SkipRow, error]                // Stream of SkipRow
	Anys        func(context.Context, Query, ...cqlseq.StreamOption) iter.Seq2[AnyRow, error]                 // Stream of AnyRow

	// IsDecodeError and IsRequestError tell whether an error unwraps to the
	// driver's error for an undecodable value and for a failed request.
	IsDecodeError  func(error) bool
	IsRequestError func(error) bool
}

// FixtureRows is the number of rows in the fixture table.
const FixtureRows = 10_000

// WantRow is the fixture's row with id i.
func WantRow(i int) Row { return Row{ID: i, Name: fmt.Sprint("name-", i), Score: int64(i) * 10} }

// WantRows returns the fixture's rows with ids [0, n).
func WantRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = WantRow(i)
	}
	return rows
}

var fx struct {
	once  sync.Once
	table string
	err   error
}

// Fixture returns the shared session and a table of FixtureRows rows,
// seeded once per process. Its keyspace is dropped by Main.
func Fixture(t *testing.T) (*gocql.Session, string) {
	t.Helper()
	s := cqlseqtest.Session(t)
	fx.once.Do(func() {
		ctx := context.Background()
		ks, err := cqlseqtest.CreateKeyspace(ctx, s, "suite")
		if err != nil {
			fx.err = err
			return
		}
		fx.table = ks + ".rows"
		if fx.err = s.Query("CREATE TABLE " + fx.table + " (id int PRIMARY KEY, name text, score bigint)").Exec(); fx.err != nil {
			return
		}
		fx.err = cqlseqtest.Seed(ctx, s, "INSERT INTO "+fx.table+" (id, name, score) VALUES (?, ?, ?)", FixtureRows, 0,
			func(i int) []any { r := WantRow(i); return []any{r.ID, r.Name, r.Score} })
	})
	if fx.err != nil {
		t.Fatalf("fixture: %v", fx.err)
	}
	return s, fx.table
}

type dropping struct{ m cqlseqtest.M }

func (d dropping) Run() int {
	code := d.m.Run()
	if fx.table != "" {
		if s, err := cqlseqtest.Connect(context.Background()); err == nil {
			ks, _, _ := cutDot(fx.table)
			cqlseqtest.DropKeyspace(context.Background(), s, ks)
			s.Close()
		}
	}
	return code
}

func cutDot(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Main wraps m for goleak.VerifyTestMain: after the tests it drops the
// fixture and closes the shared session.
func Main(m cqlseqtest.M) cqlseqtest.M { return cqlseqtest.Main(dropping{m}) }

// Ordered returns the fixture's rows in the order Cassandra returns them,
// read with the plain driver.
func Ordered(t *testing.T, s *gocql.Session, table string) []Row {
	t.Helper()
	var rows []Row
	it := s.Query("SELECT id, name, score FROM " + table).PageSize(5000).Iter()
	var r Row
	for it.Scan(&r.ID, &r.Name, &r.Score) {
		rows = append(rows, r)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rows) != FixtureRows {
		t.Fatalf("fixture holds %d rows, want %d", len(rows), FixtureRows)
	}
	return rows
}

// SortedByID returns a sorted copy of rows.
func SortedByID(rows []Row) []Row {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b Row) int { return a.ID - b.ID })
	return rows
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Run runs every behavioural test against fe.
func Run(t *testing.T, fe FrontEnd) {
	tests := []test{
		{"StreamFetchSizes", streamFetchSizes},
		{"PagesFetchSizes", pagesFetchSizes},
		{"OnDemandPaging", onDemandPaging},
		{"BreakEarly", breakEarly},
		{"MaxPages", maxPages},
		{"ResumeFromPageState", resume},
		{"ResumeFromCursor", resumeFromCursor},
		{"CancelMidStream", cancelMidStream},
		{"Deadline", deadline},
		{"PanicInLoopBody", panicInBody},
		{"ConcurrentStreams", concurrentStreams},
		{"RangeTwiceRunsTwice", rangeTwice},
		{"EmptyResult", emptyResult},
		{"DecodeErrorMidStream", decodeErrorMidStream},
		{"FetchErrorMidStream", fetchErrorMidStream},
		{"Nulls", nulls},
		{"StrictMode", strictMode},
	}
	tests = append(tests, integrityTests()...)
	for _, tt := range tests {
		t.Run(fe.Name+"/"+tt.name, func(t *testing.T) { tt.fn(t, fe) })
	}
}

// RunSchemaChanges runs only the schema-change tests: for a front end on
// a session of other settings (another protocol version).
func RunSchemaChanges(t *testing.T, fe FrontEnd) {
	t.Run(fe.Name+"/SchemaChangeBetweenPages", func(t *testing.T) { schemaChange(t, fe) })
	t.Run(fe.Name+"/SchemaChangeStrict", func(t *testing.T) { schemaChangeStrict(t, fe) })
}

func selectAll(table string) Query { return Q("SELECT id, name, score FROM " + table) }

func streamFetchSizes(t *testing.T, fe FrontEnd) {
	s, table := Fixture(t)
	nodes := map[string]bool{} // the nodes' addresses, host:port
	for _, h := range s.GetHosts() {
		nodes[h.ConnectAddressAndPort()] = true
	}
	for _, size := range []int{1, 7, 100, 5000} {
		t.Run(fmt.Sprint("fetch size ", size), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			var infos []cqlseq.PageInfo
			q := selectAll(table)
			opts := []cqlseq.StreamOption{cqlseq.WithFetchSize(size), cqlseq.WithPageCallback(func(p cqlseq.PageInfo) { infos = append(infos, p) })}
			// Fetch size 1 reads the first 500 pages only: 10,000 requests
			// took a minute under -race, and the other sizes read every row.
			rows, pages := FixtureRows, ceilDiv(FixtureRows, size)
			if size == 1 {
				rows, pages = 500, 500
				opts = append(opts, cqlseq.WithMaxPages(pages))
			}
			var got []Row
			for r, err := range fe.Rows(context.Background(), q, opts...) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r)
			}
			if rows == FixtureRows {
				if diff := cmp.Diff(WantRows(FixtureRows), SortedByID(got)); diff != "" {
					t.Fatalf("rows (-want +got):\n%s", diff)
				}
			} else if err := distinctFixtureRows(got, rows); err != nil {
				t.Fatal(err)
			}
			if len(infos) != pages {
				t.Fatalf("page callback ran %d times, want %d pages", len(infos), pages)
			}
			var total int64
			for i, p := range infos {
				total += int64(p.RowCount)
				want := cqlseq.PageInfo{Number: i + 1, RowCount: min(size, rows-i*size), TotalRows: total}
				if p.Number != want.Number || p.RowCount != want.RowCount || p.TotalRows != want.TotalRows {
					t.Fatalf("page %d: got %+v, want %+v", i+1, p, want)
				}
				if !nodes[p.Host] || p.Latency <= 0 {
					t.Fatalf("page %d: served by %q in %v; the nodes are %v", i+1, p.Host, p.Latency, nodes)
				}
			}
			// When the rows end on a page boundary, Cassandra may answer one
			// more, empty, request: never more than that.
			if r := int(q.Requests.Load()); r < pages || r > pages+1 || rows < FixtureRows && r != pages {
				t.Errorf("sent %d page requests for %d pages", r, pages)
			}
			t.Logf("%d rows in %d pages of %d, %d requests", len(got), len(infos), size, q.Requests.Load())
		})
	}
}

// distinctFixtureRows checks that got holds n distinct rows of the fixture.
func distinctFixtureRows(got []Row, n int) error {
	want := map[int]Row{}
	for _, r := range WantRows(FixtureRows) {
		want[r.ID] = r
	}
	seen := map[int]bool{}
	for _, r := range got {
		if w, ok := want[r.ID]; !ok || !cmp.Equal(w, r) || seen[r.ID] {
			return fmt.Errorf("row %+v: not a row of the fixture, or read twice", r)
		}
		seen[r.ID] = true
	}
	if len(got) != n {
		return fmt.Errorf("%d rows, want %d", len(got), n)
	}
	return nil
}

func pagesFetchSizes(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	for _, size := range []int{1, 7, 100, 5000} {
		t.Run(fmt.Sprint("fetch size ", size), func(t *testing.T) {
			var got []Row
			n := 0
			// Fetch size 1 reads the first 500 pages only, as in
			// streamFetchSizes.
			rows, pages := FixtureRows, ceilDiv(FixtureRows, size)
			opts := []cqlseq.StreamOption{cqlseq.WithFetchSize(size)}
			if size == 1 {
				rows, pages = 500, 500
				opts = append(opts, cqlseq.WithMaxPages(pages))
			}
			for p, err := range fe.Pages(context.Background(), selectAll(table), opts...) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				got = append(got, p.Rows...)
				if p.Number != n || p.TotalRows != int64(len(got)) || len(p.Rows) != min(size, FixtureRows-(n-1)*size) {
					t.Fatalf("page %d: Number %d, %d rows, TotalRows %d; read %d rows so far", n, p.Number, len(p.Rows), p.TotalRows, len(got))
				}
				if n < pages && p.PageState == nil {
					t.Fatalf("page %d of %d has no paging state", n, pages)
				}
				// On the last page a state may remain only when the rows end
				// exactly on a page boundary: Cassandra cannot know yet.
				if n == pages && rows == FixtureRows && FixtureRows%size != 0 && p.PageState != nil {
					t.Fatalf("last page %d has paging state %x", n, p.PageState)
				}
			}
			if n != pages {
				t.Fatalf("got %d pages, want %d", n, pages)
			}
			if rows < FixtureRows {
				if err := distinctFixtureRows(got, rows); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(WantRows(FixtureRows), SortedByID(got)); diff != "" {
				t.Fatalf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// Pages are requested only as the loop needs them: without prefetch, never
// more than the pages the loop has reached; with it, at most one more.
func onDemandPaging(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	for _, prefetch := range []float64{0, 0.25, 1} {
		t.Run(fmt.Sprint("prefetch ", prefetch), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			q := selectAll(table)
			n := 0
			for _, err := range fe.Rows(context.Background(), q, cqlseq.WithFetchSize(100), cqlseq.WithPrefetch(prefetch)) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				reached := ceilDiv(n, 100)
				allowed := reached
				if prefetch > 0 {
					allowed++
				}
				if r := int(q.Requests.Load()); r > allowed {
					t.Fatalf("at row %d (page %d) the stream had sent %d requests, want <= %d", n, reached, r, allowed)
				}
				if n == 250 {
					break
				}
			}
			if r := q.Requests.Load(); prefetch == 0 && r != 3 {
				t.Fatalf("breaking at row 250 of pages of 100 sent %d requests, want 3", r)
			}
		})
	}
}

func breakEarly(t *testing.T, fe FrontEnd) {
	s, table := Fixture(t)
	all := Ordered(t, s, table)
	for _, k := range []int{1, 99, 100, 101, 2500} {
		t.Run(fmt.Sprint("after ", k), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			var got []Row
			for r, err := range fe.Rows(context.Background(), selectAll(table), cqlseq.WithFetchSize(100), cqlseq.WithPrefetch(1)) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r)
				if len(got) == k {
					break
				}
			}
			if diff := cmp.Diff(all[:k], got); diff != "" {
				t.Fatalf("rows (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("Pages", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		for p, err := range fe.Pages(context.Background(), selectAll(table), cqlseq.WithFetchSize(100), cqlseq.WithPrefetch(1)) {
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(all[:100], p.Rows); diff != "" {
				t.Fatalf("first page (-want +got):\n%s", diff)
			}
			break
		}
	})
}

func maxPages(t *testing.T, fe FrontEnd) {
	s, table := Fixture(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	q := selectAll(table)
	var got []Row
	for r, err := range fe.Rows(context.Background(), q, cqlseq.WithFetchSize(70), cqlseq.WithMaxPages(3), cqlseq.WithPrefetch(1)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if diff := cmp.Diff(Ordered(t, s, table)[:3*70], got); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
	if r := q.Requests.Load(); r != 3 {
		t.Fatalf("WithMaxPages(3) sent %d page requests, want 3 even with prefetch", r)
	}
}

func resume(t *testing.T, fe FrontEnd) {
	s, table := Fixture(t)
	all := Ordered(t, s, table)
	for _, after := range []int{1, 3, 99} {
		t.Run(fmt.Sprint("after page ", after), func(t *testing.T) {
			var state []byte
			for p, err := range fe.Pages(context.Background(), selectAll(table), cqlseq.WithFetchSize(100)) {
				if err != nil {
					t.Fatal(err)
				}
				if p.Number == after {
					state = p.PageState
					break
				}
			}
			var got []Row
			for r, err := range fe.Rows(context.Background(), selectAll(table), cqlseq.WithFetchSize(100), cqlseq.WithPageState(state)) {
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

// A cursor saved from a page (or from the page callback of Stream) resumes
// right after that page, also when signed; it is refused for other bound
// values, before anything is sent.
func resumeFromCursor(t *testing.T, fe FrontEnd) {
	s, table := Fixture(t)
	all := Ordered(t, s, table)
	stmt := "SELECT id, name, score FROM " + table + " WHERE id >= ? ALLOW FILTERING"
	key := []byte("a key of the service")
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprint("signed ", keyed), func(t *testing.T) {
			opts := []cqlseq.StreamOption{cqlseq.WithFetchSize(100)}
			if keyed {
				opts = append(opts, cqlseq.WithCursorKey(key))
			}
			// Stream: the callback's cursor after page 2, as a job would save it.
			var saved string
			for _, err := range fe.Rows(context.Background(), Q(stmt, 0), append(opts, cqlseq.WithPageCallback(func(p cqlseq.PageInfo) {
				if p.Number == 2 {
					saved = p.Cursor
				}
			}))...) {
				if err != nil {
					t.Fatal(err)
				}
				if saved != "" {
					break
				}
			}
			var got []Row
			for p, err := range fe.Pages(context.Background(), Q(stmt, 0), append(opts, cqlseq.WithCursor(saved))...) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p.Rows...)
				if (p.Cursor == "") != (p.PageState == nil) {
					t.Fatalf("page %d: cursor %q but paging state %x", p.Number, p.Cursor, p.PageState)
				}
			}
			if diff := cmp.Diff(all[200:], got); diff != "" {
				t.Fatalf("resumed rows (-want +got):\n%s", diff)
			}
			other := Q(stmt, 1)
			for _, err := range fe.Rows(context.Background(), other, append(opts, cqlseq.WithCursor(saved))...) {
				if !errors.Is(err, cqlseq.ErrInvalidCursor) || !strings.Contains(err.Error(), "another statement or other bound values") {
					t.Fatalf("cursor used with other values: got %v, want ErrInvalidCursor", err)
				}
			}
			if n := other.Requests.Load(); n != 0 {
				t.Fatalf("a refused cursor sent %d requests", n)
			}
		})
	}
}

func cancelMidStream(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	for _, prefetch := range []float64{0, 1} {
		t.Run(fmt.Sprint("prefetch ", prefetch), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n, errs := 0, 0
			var got error
			for _, err := range fe.Rows(ctx, selectAll(table), cqlseq.WithFetchSize(100), cqlseq.WithPrefetch(prefetch)) {
				if err != nil {
					got = err
					errs++
					continue // the sequence must end by itself after an error
				}
				n++
				if n == 150 {
					cancel()
				}
			}
			if !errors.Is(got, context.Canceled) || errs != 1 {
				t.Fatalf("after cancel: got %d errors, the last %v; want one context.Canceled", errs, got)
			}
			if n != 150 {
				t.Fatalf("got %d rows, want the 150 read before cancel", n)
			}
		})
	}
}

func deadline(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var got error
	for _, err := range fe.Rows(ctx, selectAll(table), cqlseq.WithFetchSize(10)) {
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

func panicInBody(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	type boom struct{ row int }
	defer func() {
		if r := recover(); r != (boom{row: 42}) {
			t.Fatalf("recovered %v, want the loop body's own panic value", r)
		}
	}()
	n := 0
	for _, err := range fe.Rows(context.Background(), selectAll(table), cqlseq.WithFetchSize(50), cqlseq.WithPrefetch(1)) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 42 {
			panic(boom{row: 42})
		}
	}
	t.Fatal("the panic did not propagate")
}

func concurrentStreams(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	seq := fe.Rows(context.Background(), selectAll(table), cqlseq.WithFetchSize(500))
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
			if diff := cmp.Diff(WantRows(FixtureRows), SortedByID(got)); diff != "" {
				errs[g] = fmt.Errorf("stream %d rows (-want +got):\n%s", g, diff)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func rangeTwice(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	q := Q("SELECT id, name, score FROM " + table + " WHERE id IN (1, 2, 3)")
	seq := fe.Rows(context.Background(), q)
	for run := 1; run <= 2; run++ {
		var got []Row
		for r, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		if diff := cmp.Diff(WantRows(4)[1:], SortedByID(got)); diff != "" {
			t.Fatalf("run %d (-want +got):\n%s", run, diff)
		}
		if r := q.Requests.Load(); r != int64(run) {
			t.Fatalf("after run %d: %d requests sent, want %d", run, r, run)
		}
	}
}

func emptyResult(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	q := Q("SELECT id, name, score FROM "+table+" WHERE id = ?", -1)
	for r, err := range fe.Rows(context.Background(), q) {
		t.Fatalf("empty result yielded (%v, %v)", r, err)
	}
	for p, err := range fe.Pages(context.Background(), q) {
		t.Fatalf("empty result yielded a page (%v, %v)", p, err)
	}
}

// setup returns the shared session and a new keyspace, in which it runs
// each of stmts with {ks} replaced by the keyspace's name.
func setup(t *testing.T, stmts ...string) (*gocql.Session, string) {
	t.Helper()
	s, _ := Fixture(t)
	ks := cqlseqtest.Keyspace(t, s)
	for _, stmt := range stmts {
		exec(t, s, strings.ReplaceAll(stmt, "{ks}", ks))
	}
	return s, ks
}

func exec(t *testing.T, s *gocql.Session, stmt string, values ...any) {
	t.Helper()
	if err := s.Query(stmt, values...).Exec(); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// A row that cannot be decoded mid-stream ends the stream with the driver's
// error after the rows before it.
func decodeErrorMidStream(t *testing.T, fe FrontEnd) {
	s, ks := setup(t,
		"CREATE TABLE {ks}.small (id int PRIMARY KEY, v int)")
	for i := range 300 {
		v := i
		if i == 200 {
			v = 1000 // does not fit Small.V, an int8
		}
		exec(t, s, "INSERT INTO "+ks+".small (id, v) VALUES (?, ?)", i, v)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	n, errs := 0, 0
	var got error
	for r, err := range fe.Smalls(context.Background(), Q("SELECT id, v FROM "+ks+".small"), cqlseq.WithFetchSize(50)) {
		if err != nil {
			got = err
			errs++
			continue
		}
		if int(r.V) != r.ID {
			t.Fatalf("row %+v", r)
		}
		n++
	}
	if got == nil || errs != 1 {
		t.Fatalf("%d errors for a value out of the field's range, want 1", errs)
	}
	if n == 0 || n >= 300 {
		t.Fatalf("read %d rows before the error", n)
	}
	if !fe.IsDecodeError(got) {
		t.Fatalf("error %v (%T) does not unwrap to the driver's decoding error", got, got)
	}
	t.Logf("after %d rows: %v", n, got)
}

// A page request that fails mid-stream (the table was dropped after the
// first page) is reported, never taken for the end of the data.
func fetchErrorMidStream(t *testing.T, fe FrontEnd) {
	s, ks := setup(t,
		"CREATE TABLE {ks}.doomed (id int PRIMARY KEY)")
	for i := range 100 {
		exec(t, s, "INSERT INTO "+ks+".doomed (id) VALUES (?)", i)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	n := 0
	var got error
	for _, err := range fe.Ints(context.Background(), Q("SELECT id FROM "+ks+".doomed"), cqlseq.WithFetchSize(10), cqlseq.WithPrefetch(0)) {
		if err != nil {
			got = err
			continue
		}
		if n++; n == 10 {
			exec(t, s, "DROP TABLE "+ks+".doomed")
		}
	}
	if n != 10 || got == nil {
		t.Fatalf("read %d rows then error %v; want 10 rows, then an error", n, got)
	}
	if !fe.IsRequestError(got) {
		t.Fatalf("error %v (%T) does not unwrap to the driver's request error", got, got)
	}
	var pe *cqlseq.PageError
	if !errors.As(got, &pe) || pe.Page != 2 || pe.Retries != 0 {
		t.Fatalf("error %v: PageError %+v, want page 2 after no retries", got, pe)
	}
	t.Logf("after %d rows: %v", n, got)
}

// NULLs give zero values and nil pointers, also right after a row with
// values, whose destinations are the same.
func nulls(t *testing.T, fe FrontEnd) {
	s, ks := setup(t,
		"CREATE TABLE {ks}.n (id int PRIMARY KEY, t text, i int, l list<int>, s text)")
	str, i32 := "x", int32(5)
	want := map[int]Nullable{}
	for id := range 30 {
		if id%2 == 0 {
			exec(t, s, "INSERT INTO "+ks+".n (id, t, i, l, s) VALUES (?, ?, ?, ?, ?)", id, str, i32, []int{id}, "s")
			want[id] = Nullable{ID: id, T: &str, I: &i32, L: []int{id}, S: "s"}
		} else {
			exec(t, s, "INSERT INTO "+ks+".n (id) VALUES (?)", id)
			want[id] = Nullable{ID: id}
		}
	}
	got := map[int]Nullable{}
	var prev *string
	afterFull := 0
	lastFull := false
	for r, err := range fe.Nullables(context.Background(), Q("SELECT id, t, i, l, s FROM "+ks+".n"), cqlseq.WithFetchSize(4)) {
		if err != nil {
			t.Fatal(err)
		}
		if r.T != nil && r.T == prev {
			t.Fatalf("row %d shares its *string with the previous row", r.ID)
		}
		if r.T != nil {
			prev = r.T
		}
		if lastFull && r.ID%2 == 1 {
			afterFull++
		}
		lastFull = r.ID%2 == 0
		got[r.ID] = r
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if afterFull == 0 {
		t.Fatal("no NULL row followed a full row in stream order; the test proves nothing")
	}
}

func strictMode(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	q := Q("SELECT id, name, score FROM " + table + " WHERE id = 1")
	var got []Partial
	for r, err := range fe.Partials(context.Background(), q) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if diff := cmp.Diff([]Partial{{1, "name-1"}}, got); diff != "" {
		t.Fatalf("lenient: unmapped column not ignored (-want +got):\n%s", diff)
	}
	var strictErr error
	for r, err := range fe.Partials(context.Background(), q, cqlseq.WithStrict()) {
		if err != nil {
			strictErr = err
			continue
		}
		t.Fatalf("strict mode yielded a row %v before the mapping error", r)
	}
	if !errors.Is(strictErr, cqlseq.ErrMapping) || !strings.Contains(strictErr.Error(), `"score"`) || !strings.Contains(strictErr.Error(), "Partial") {
		t.Fatalf("strict: got %v; want an ErrMapping naming column \"score\" and the struct", strictErr)
	}
}

// Destinations checks that what a front end's Dest and Discard return (for
// a field, an empty-interface field and a skipped tuple element) implements
// unmarshaler, the driver's Unmarshaler interface: a [driver.Codec]
// instantiated with another TypeInfo type would compile and silently lose
// it.
func Destinations(t *testing.T, c interface {
	Dest(*driver.Dest) any
	Discard(*driver.Dest) any
}, unmarshaler reflect.Type) {
	t.Helper()
	var at, v int
	var a any
	for name, d := range map[string]any{
		"Dest":        c.Dest(&driver.Dest{Ptr: &v, At: &at}),
		"Dest of any": c.Dest(&driver.Dest{Ptr: &a, Any: &a, At: &at}),
		"Discard":     c.Discard(&driver.Dest{At: &at}),
	} {
		if !reflect.TypeOf(d).Implements(unmarshaler) {
			t.Errorf("%s returns %T, which is not a %v", name, d, unmarshaler)
		}
	}
}
