package cqlseq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	gocmp "github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/ring"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

type scanRow struct {
	P int
	C int
	V string
}

func compareScanRows(a, b scanRow) int {
	return cmp.Or(cmp.Compare(a.P, b.P), cmp.Compare(a.C, b.C))
}

// scanFixture creates a table of partitions×3 rows in a new keyspace and
// returns its name and its rows, read with a plain SELECT and sorted.
func scanFixture(t *testing.T, s *gocql.Session, partitions int) (string, []scanRow) {
	t.Helper()
	ks := cqlseqtest.Keyspace(t, s)
	table := ks + ".scan"
	cqlseqtest.Exec(t, s, "CREATE TABLE "+table+" (p int, c int, v text, PRIMARY KEY (p, c))")
	if err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+table+" (p, c, v) VALUES (?, ?, ?)", partitions*3, 8,
		func(i int) []any { return []any{i / 3, i % 3, fmt.Sprint("v", i%7)} }); err != nil {
		t.Fatal(err)
	}
	want := selectScanRows(t, s, table)
	if len(want) != partitions*3 {
		t.Fatalf("SELECT read %d rows, want %d", len(want), partitions*3)
	}
	return table, want
}

// selectScanRows reads table with one SELECT and a hand-written driver
// loop, and returns its rows sorted: what a scan must yield.
func selectScanRows(t *testing.T, s *gocql.Session, table string) []scanRow {
	t.Helper()
	var rows []scanRow
	it := s.Query("SELECT p, c, v FROM " + table).PageSize(1000).Iter()
	var r scanRow
	for it.Scan(&r.P, &r.C, &r.V) {
		rows = append(rows, r)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rows, compareScanRows)
	return rows
}

// scanAll reads a whole scan and returns its rows sorted.
func scanAll[T any](t *testing.T, seq func(func(T, error) bool), less func(a, b T) int) []T {
	t.Helper()
	var got []T
	for r, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	slices.SortFunc(got, less)
	return got
}

// A scan reads every row once, as a SELECT of the whole table does, at
// every parallelism.
func TestScanEqualsSelect(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, want := scanFixture(t, s, 700)
	for _, p := range []int{1, 4, 16} {
		t.Run(fmt.Sprint("parallelism ", p), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			got := scanAll(t, Scan[scanRow](context.Background(), s, table, WithParallelism(p), WithFetchSize(50)), compareScanRows)
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Fatalf("Scan differs from SELECT (-want +got):\n%s", diff)
			}
		})
	}
}

// tokensAt is a cluster whose ring has the given tokens, all on the first
// host: the splits then fall exactly on the tokens of chosen rows.
type tokensAt struct {
	v2Cluster
	tokens []int64
}

func (t tokensAt) Hosts() ([]driver.Host, error) {
	hosts, err := t.v2Cluster.Hosts()
	if err != nil {
		return nil, err
	}
	h := hosts[0]
	h.Tokens = nil
	for _, tok := range t.tokens {
		h.Tokens = append(h.Tokens, strconv.FormatInt(tok, 10))
	}
	return []driver.Host{h}, nil
}

// Rows whose token is a range's end are read with that range, once; rows
// whose token is a range's start with the range before. The ring's tokens
// are put on rows' tokens, at parallelism 1 (every vnode range whole) and
// 64 (cut further).
func TestScanRowsOnRangeBoundaries(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, want := scanFixture(t, s, 300)
	var tokens []int64
	it := s.Query("SELECT DISTINCT token(p) FROM " + table).Iter()
	var tok int64
	for i := 0; it.Scan(&tok); i++ {
		if i%5 == 0 {
			tokens = append(tokens, tok)
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	tokens = append(tokens, ring.MinToken, ring.MaxToken)
	tbl := tokensAt{v2Cluster{s}, tokens}
	for _, p := range []int{1, 64} {
		var pages atomic.Int64
		got := scanAll(t, scanRows(context.Background(), scanPages[scanRow](context.Background(), tbl, table,
			[]ScanOption{WithParallelism(p), WithFetchSize(7), WithPageCallback(func(PageInfo) { pages.Add(1) })})), compareScanRows)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("parallelism %d, splits at rows' tokens: (-want +got):\n%s", p, diff)
		}
		t.Logf("parallelism %d: %d rows in %d pages, %d ring tokens on rows", p, len(got), pages.Load(), len(tokens))
	}
}

// WithColumns and WithFilter narrow what a scan reads.
func TestScanColumnsAndFilter(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, all := scanFixture(t, s, 200)
	type key struct{ P, C int }
	var want []key
	for _, r := range all {
		if r.V == "v3" {
			want = append(want, key{r.P, r.C})
		}
	}
	got := scanAll(t, Scan[key](context.Background(), s, table, WithColumns("p", "c"), WithFilter("v = ?", "v3"), WithParallelism(3)),
		func(a, b key) int { return cmp.Or(cmp.Compare(a.P, b.P), cmp.Compare(a.C, b.C)) })
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// WithStrict refuses a column with no field: the scan reads "v" too.
	for _, err := range Scan[key](context.Background(), s, table, WithStrict()) {
		// The row type's fault, found before any row: a *MappingError as
		// Stream reports it, not a failure of the range it was found in.
		var me *MappingError
		var re *RangeError
		if !errors.As(err, &me) || errors.As(err, &re) {
			t.Fatalf("strict scan of a column without a field: %v, want a *MappingError not wrapped in a RangeError", err)
		}
		break
	}
}

// However a scan's loop ends with every worker busy, every goroutine is
// gone when the range statement completes.
func TestScanStopsEveryWorker(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, _ := scanFixture(t, s, 500)
	opts := []ScanOption{WithParallelism(16), WithFetchSize(5)}
	t.Run("break", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		n := 0
		for _, err := range Scan[scanRow](context.Background(), s, table, opts...) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 20 {
				break
			}
		}
	})
	t.Run("cancel", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		var got error
		for _, err := range Scan[scanRow](ctx, s, table, opts...) {
			if err != nil {
				got = err
				break
			}
			if n++; n == 22 { // in the middle of a page of 5
				cancel()
			}
		}
		// Within a row: the rest of the page in hand is not yielded.
		if !errors.Is(got, context.Canceled) || n != 22 {
			t.Fatalf("after cancel at row 22: %d rows, then %v", n, got)
		}
	})
	t.Run("panic", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Fatalf("recovered %v, want the loop's own panic", r)
				}
			}()
			for range Scan[scanRow](context.Background(), s, table, opts...) {
				panic("boom")
			}
		}()
	})
	t.Run("error", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		type bad struct{ P []int } // an int column into a slice
		var got error
		for _, err := range Scan[bad](context.Background(), s, table, append(opts, WithColumns("p"))...) {
			got = err
		}
		if !errors.Is(got, ErrMapping) {
			t.Fatalf("int column into a slice: %v, want ErrMapping", got)
		}
	})
	t.Run("a range fails mid-scan", func(t *testing.T) {
		// Every worker busy when the 40th page request fails for good: the
		// scan ends with that range's error, and every worker, request and
		// trace span has ended before the loop returns.
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		rec := newRecorder()
		c := &failAfter{v2Cluster: v2Cluster{s}, after: 40}
		var got error
		n := 0
		for _, err := range scanFrom[scanRow](context.Background(), c, table, append(opts, WithTracer(rec), WithRetry(Retry{Attempts: 1, MinBackoff: time.Millisecond}))...) {
			if err != nil {
				got = err
				break
			}
			n++
		}
		var re *RangeError
		if !errors.As(got, &re) || !errors.Is(got, errFailAfter) || len(re.Replicas) == 0 {
			t.Fatalf("after %d rows: %v, want a *RangeError wrapping the request's error", n, got)
		}
		end, spans := rec.check(t) // every start ended once
		if end.Reason != EndError || !errors.Is(end.Err, errFailAfter) || end.Rows != int64(n) {
			t.Fatalf("stream end %+v after %d rows", end, n)
		}
		t.Logf("%d rows, then %v; %d ranges and %d page requests traced", n, got, len(spans["range"]), len(spans["page"]))
	})
	t.Run("1000 scans broken off", func(t *testing.T) {
		before := runtime.NumGoroutine()
		for range 1000 {
			for range Scan[scanRow](context.Background(), s, table, WithParallelism(8), WithFetchSize(5)) {
				break
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if after := runtime.NumGoroutine(); after > before+2 {
			t.Fatalf("goroutines: %d before, %d after", before, after)
		}
	})
}

// Bad input is refused before any query.
func TestScanBadInput(t *testing.T) {
	s := cqlseqtest.Session(t)
	for name, seq := range map[string]func(func(scanRow, error) bool){
		"nil session":           Scan[scanRow](context.Background(), nil, "ks.t"),
		"no keyspace":           Scan[scanRow](context.Background(), s, "t"),
		"not a name":            Scan[scanRow](context.Background(), s, "ks.t; DROP TABLE x"),
		"zero parallelism":      Scan[scanRow](context.Background(), s, "ks.t", WithParallelism(0)),
		"no columns":            Scan[scanRow](context.Background(), s, "ks.t", WithColumns()),
		"empty filter":          Scan[scanRow](context.Background(), s, "ks.t", WithFilter(" ")),
		"parallelism 1025":      Scan[scanRow](context.Background(), s, "ks.t", WithParallelism(1025)),
		"a ; in a column":       Scan[scanRow](context.Background(), s, "ks.t", WithColumns("p; DROP TABLE x")),
		"a comment in a column": Scan[scanRow](context.Background(), s, "ks.t", WithColumns("p FROM ks.other --")),
		"a comment in a filter": Scan[scanRow](context.Background(), s, "ks.t", WithFilter("v = ? /* x */", 1)),
		"a ; in a filter":       Scan[scanRow](context.Background(), s, "ks.t", WithFilter("v = 1; DROP TABLE x")),
	} {
		n := 0
		for _, err := range seq {
			n++
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
			}
		}
		if n != 1 {
			t.Errorf("%s: %d elements, want 1", name, n)
		}
	}
}

// A scan stopped after a random page and resumed from that page's Cursor
// yields every row exactly once, over several stops; signed checkpoints
// too, and a checkpoint of another table or filter is refused.
func TestScanResumesFromCheckpoint(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, want := scanFixture(t, s, 400)
	r := rand.New(rand.NewPCG(7, 7))
	// Round 2 resumes each time at another fetch size, which a scan allows.
	for round, key := range [][]byte{nil, []byte("secret"), nil} {
		opts := []ScanOption{WithParallelism(6), WithFetchSize(9)}
		if key != nil {
			opts = append(opts, WithCursorKey(key))
		}
		got, stops := scanWithStops(t, r, 15, func(cursor string) iter.Seq2[Page[scanRow], error] {
			if round == 2 {
				opts[1] = WithFetchSize(3 + r.IntN(18))
			}
			return ScanPages[scanRow](context.Background(), s, table, append(opts, WithCursor(cursor))...)
		})
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("round %d, %d stops and resumptions: (-want +got):\n%s", round, stops, diff)
		}
		t.Logf("round %d: every row once over %d stops", round, stops)
		if stops < 5 {
			t.Fatalf("only %d stops: the test proves little", stops)
		}
	}
	// Scan (rows): the checkpoint of the page callback, after the page's
	// last row; a loop stopped mid-page gets that page again.
	var cursor string
	var first []scanRow
	var done int64 // rows of the pages whose callback ran
	for row, err := range Scan[scanRow](context.Background(), s, table, WithFetchSize(9), WithPageCallback(func(p PageInfo) {
		cursor, done = p.Cursor, p.TotalRows
		if p.Scan.Ranges == 0 || p.Scan.RowsPerSecond <= 0 {
			t.Errorf("progress %+v", p.Scan)
		}
	})) {
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, row)
		if len(first) == 40 {
			break
		}
	}
	rest := scanAll(t, Scan[scanRow](context.Background(), s, table, WithFetchSize(9), WithCursor(cursor)), compareScanRows)
	if len(rest) != len(want)-int(done) || len(first) != 40 || done >= 40 || done == 0 {
		t.Fatalf("read %d rows (%d in pages whose callback ran), then %d after resuming from that callback's checkpoint; want %d", len(first), done, len(rest), len(want)-int(done))
	}
	// The rows after the checkpoint are the ones not yet yielded, and those
	// of the page the loop stopped in.
	seen := map[scanRow]int{}
	for _, r := range append(first[:done], rest...) {
		seen[r]++
	}
	for _, r := range want {
		if seen[r] != 1 {
			t.Fatalf("row %+v read %d times across the stop", r, seen[r])
		}
	}
	// The last page's checkpoint resumes to no rows.
	last := ""
	for p, err := range ScanPages[scanRow](context.Background(), s, table, WithFetchSize(50)) {
		if err != nil {
			t.Fatal(err)
		}
		last = p.Cursor
	}
	if after := scanAll(t, Scan[scanRow](context.Background(), s, table, WithCursor(last)), compareScanRows); len(after) != 0 {
		t.Fatalf("resumed from the last page's checkpoint: %d rows, want none", len(after))
	}
	// Refused before any query: another filter, altered, unsigned under a key.
	for name, o := range map[string][]ScanOption{
		"another filter":  {WithCursor(cursor), WithFilter("v = ?", "x")},
		"altered":         {WithCursor(cursor[:len(cursor)-2] + "AA")},
		"key set":         {WithCursor(cursor), WithCursorKey([]byte("k"))},
		"a Stream cursor": {WithCursor("AgAAAAAAAAAAAAAAAAAAAAAACgFhAAAAAA")},
	} {
		for _, err := range Scan[scanRow](context.Background(), s, table, o...) {
			if !errors.Is(err, ErrInvalidCursor) {
				t.Errorf("%s: %v, want ErrInvalidCursor", name, err)
			}
			break
		}
	}
}

// WithRateLimit holds a scan's workers, together, to the rate: the
// measured rate is reported (a benchmark's business, not a test's), the
// rows checked.
func TestScanRateLimit(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, want := scanFixture(t, s, 500)
	const limit = 1000.0
	start := time.Now()
	got := scanAll(t, Scan[scanRow](context.Background(), s, table, WithParallelism(8), WithFetchSize(20), WithRateLimit(limit)), compareScanRows)
	elapsed := time.Since(start)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	rate := float64(len(got)) / elapsed.Seconds()
	t.Logf("%d rows in %v: %.0f rows/s against a limit of %.0f (%.1f%% of it)", len(got), elapsed.Round(time.Millisecond), rate, limit, 100*rate/limit)
	for _, bad := range []float64{0, -1, math.Inf(1), math.NaN()} {
		for _, err := range Scan[scanRow](context.Background(), s, table, WithRateLimit(bad)) {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("WithRateLimit(%v): %v", bad, err)
			}
		}
	}
}

// One Scan sequence ranged by two goroutines at once: each ranging is a
// scan of its own (run with -race: they share nothing), and a break in one
// leaves the other whole.
func TestScanRangedTwiceAtOnce(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, want := scanFixture(t, s, 300)
	rec := newRecorder()
	seq := Scan[scanRow](context.Background(), s, table, WithParallelism(4), WithFetchSize(10), WithTracer(rec))
	var wg sync.WaitGroup
	var full []scanRow
	broke := 0
	wg.Add(2)
	go func() {
		defer wg.Done()
		for r, err := range seq {
			if err != nil {
				t.Error(err)
				return
			}
			full = append(full, r)
		}
		slices.SortFunc(full, compareScanRows)
	}()
	go func() {
		defer wg.Done()
		for _, err := range seq {
			if err != nil {
				t.Error(err)
				return
			}
			if broke++; broke == 7 {
				break
			}
		}
	}()
	wg.Wait()
	if diff := gocmp.Diff(want, full); diff != "" || broke != 7 {
		t.Fatalf("the ranging to the end (-want +got):\n%s; the other broke at row %d", diff, broke)
	}
	// Each ranging's trace counts its own rows.
	ends := map[EndReason]int64{}
	for _, sp := range rec.spans {
		if sp.kind == "stream" {
			d := sp.end.(TraceStreamEndData)
			ends[d.Reason] = d.Rows
		}
	}
	if wantEnds := map[EndReason]int64{EndComplete: int64(len(want)), EndBreak: 7}; !maps.Equal(ends, wantEnds) {
		t.Fatalf("stream ends (reason: rows) %v, want %v", ends, wantEnds)
	}
}

// WithRateLimit's limit is each ranging's, counted from when the ranging
// starts: a sequence ranged long after it was made is still held to the
// rate from its first row. Only a lower bound on time is asserted, which
// a slow machine cannot break: at 2000 rows/s, starting with no rows in
// hand, n rows take at least n/2000 s (asserted with a fifth to spare).
func TestRateLimitFromRanging(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, want := scanFixture(t, s, 600)
	for name, seq := range map[string]iter.Seq2[scanRow, error]{
		"Stream": Stream[scanRow](context.Background(), s, CQL("SELECT p, c, v FROM "+table), WithFetchSize(100), WithRateLimit(2000)),
		"Scan":   Scan[scanRow](context.Background(), s, table, WithParallelism(4), WithFetchSize(100), WithRateLimit(2000)),
	} {
		time.Sleep(1100 * time.Millisecond) // a limiter made with the sequence would now hold a second's rows
		for round := range 2 {
			start := time.Now()
			got := scanAll(t, seq, compareScanRows)
			elapsed := time.Since(start)
			if len(got) != len(want) {
				t.Fatalf("%s: %d rows, want %d", name, len(got), len(want))
			}
			if least := time.Duration(float64(len(want)) / 2000 * 0.8 * float64(time.Second)); elapsed < least {
				t.Fatalf("%s, ranging %d: %d rows in %v at a limit of 2000 rows/s", name, round+1, len(got), elapsed)
			}
			t.Logf("%s, ranging %d: %d rows in %v at a limit of 2000 rows/s", name, round+1, len(got), elapsed.Round(time.Millisecond))
		}
	}
}

// scanWithStops reads a scan to its end in pieces: scan(cursor) resumes it
// from the checkpoint of the last page read (from the start at ""), and
// each piece stops after 1 to most pages, at random. It returns the rows
// read, sorted, and the number of stops.
func scanWithStops(t *testing.T, r *rand.Rand, most int, scan func(cursor string) iter.Seq2[Page[scanRow], error]) ([]scanRow, int) {
	t.Helper()
	var got []scanRow
	cursor, stops := "", 0
	for {
		stop := 1 + r.IntN(most) // pages to read before stopping
		n, last := 0, ""
		for p, err := range scan(cursor) {
			if err != nil {
				t.Fatalf("after %d stops: %v", stops, err)
			}
			got = append(got, p.Rows...)
			last = p.Cursor
			if n++; n == stop {
				break
			}
		}
		if n < stop { // the scan ended
			break
		}
		cursor, stops = last, stops+1
	}
	slices.SortFunc(got, compareScanRows)
	return got, stops
}

// upHosts is a cluster whose hosts are up or not as told.
type upHosts map[string]bool

func (u upHosts) Hosts() ([]driver.Host, error) {
	var hs []driver.Host
	for id, up := range u {
		hs = append(hs, driver.Host{ID: id, Up: up})
	}
	return hs, nil
}

func (u upHosts) Query(string, []any) driver.Source { return nil }

// A scan's WithDataCenter must name a data center of the cluster.
func TestScanDataCenter(t *testing.T) {
	for _, err := range Scan[int](context.Background(), cqlseqtest.Session(t), "ks.t", WithDataCenter(" ")) {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("WithDataCenter(\" \"): %v", err)
		}
	}
	// A data center the cluster does not have is an error, not a scan that
	// quietly routes anywhere.
	s2 := cqlseqtest.Session(t)
	table, _ := scanFixture(t, s2, 10)
	for _, err := range Scan[scanRow](context.Background(), s2, table, WithDataCenter("nowhere")) {
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "nowhere") {
			t.Errorf("WithDataCenter(\"nowhere\"): %v", err)
		}
	}
	var n int
	for _, err := range Scan[scanRow](context.Background(), s2, table, WithDataCenter("datacenter1")) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 30 {
		t.Fatalf("WithDataCenter(\"datacenter1\"): %d rows, want 30", n)
	}
}

// failAfter is a cluster whose range requests fail for good, with
// errFailAfter, from the after-th on.
type failAfter struct {
	v2Cluster
	after int64
	n     atomic.Int64
}

var errFailAfter = errors.New("failAfter: the node went away")

func (f *failAfter) Query(cql string, values []any) driver.Source {
	if !strings.Contains(cql, "token(") { // the topology's queries
		return f.v2Cluster.Query(cql, values)
	}
	return &failAfterSource{Source: f.v2Cluster.Query(cql, values), f: f}
}

type failAfterSource struct {
	driver.Source
	f *failAfter
}

func (s *failAfterSource) Fetch(ctx context.Context, r driver.Request) driver.Iter {
	if s.f.n.Add(1) >= s.f.after {
		return failedIter{errFailAfter}
	}
	return s.Source.Fetch(ctx, r)
}

// otherPartitioner is a cluster whose nodes say they use the
// RandomPartitioner, and that counts the range queries made of it.
type otherPartitioner struct {
	v2Cluster
	queries atomic.Int64
}

func (o *otherPartitioner) Hosts() ([]driver.Host, error) {
	hosts, err := o.v2Cluster.Hosts()
	for i := range hosts {
		hosts[i].Partitioner = "org.apache.cassandra.dht.RandomPartitioner"
	}
	return hosts, err
}

func (o *otherPartitioner) Query(cql string, values []any) driver.Source {
	if strings.Contains(cql, "token(") {
		o.queries.Add(1)
	}
	return o.v2Cluster.Query(cql, values)
}

// A cluster on another partitioner than Murmur3 is refused, by name,
// before any range is queried.
func TestScanRefusesOtherPartitioners(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, _ := scanFixture(t, s, 10)
	c := &otherPartitioner{v2Cluster: v2Cluster{s}}
	var got error
	for _, err := range scanFrom[scanRow](context.Background(), c, table) {
		got = err
	}
	if got == nil || !strings.Contains(got.Error(), "RandomPartitioner") || c.queries.Load() != 0 {
		t.Fatalf("scan on the RandomPartitioner: %v, after %d range queries", got, c.queries.Load())
	}
	t.Log(got)
}

// flaky is a cluster whose page requests each fail once, with an error its
// sources call NotSent, before they are sent to the node; and whose pages
// without rows each carry a warning naming the request.
type flaky struct {
	v2Cluster
	empty atomic.Int64 // pages without rows served
}

var errFlaky = errors.New("flaky: not sent")

func (f *flaky) Query(cql string, values []any) driver.Source {
	if !strings.Contains(cql, "token(") { // the topology's queries
		return f.v2Cluster.Query(cql, values)
	}
	return &flakySource{Source: f.v2Cluster.Query(cql, values), f: f, rng: fmt.Sprint(values[:2])}
}

type flakySource struct {
	driver.Source
	f   *flaky
	rng string
	n   int
}

func (s *flakySource) Fetch(ctx context.Context, r driver.Request) driver.Iter {
	if r.Attempt == 0 {
		return failedIter{errFlaky}
	}
	it := s.Source.Fetch(ctx, r)
	if it.NumRows() > 0 {
		return it
	}
	s.n++
	s.f.empty.Add(1)
	return warnIter{it, fmt.Sprintf("range %s, page without rows %d", s.rng, s.n)}
}

func (s *flakySource) Columns(it driver.Iter) []driver.Column {
	if w, ok := it.(warnIter); ok {
		it = w.Iter
	}
	return s.Source.Columns(it)
}

func (s *flakySource) Host(it driver.Iter) string {
	if w, ok := it.(warnIter); ok {
		it = w.Iter
	}
	return s.Source.Host(it)
}

// Retryable takes errFlaky for a request that reached its node (a
// timeout), which spends a retry: one that was not sent would go to the
// next replica at once, for free.
func (s *flakySource) Retryable(err error) driver.Retryability {
	if errors.Is(err, errFlaky) {
		return driver.MaybeSent
	}
	return s.Source.Retryable(err)
}

type failedIter struct{ err error }

func (failedIter) Scan(...any) bool            { return false }
func (failedIter) MapScan(map[string]any) bool { return false }
func (failedIter) PageState() []byte           { return nil }
func (failedIter) NumRows() int                { return 0 }
func (failedIter) Warnings() []string          { return nil }
func (f failedIter) Close() error              { return f.err }

type warnIter struct {
	driver.Iter
	w string
}

func (w warnIter) Warnings() []string { return append(w.Iter.Warnings(), w.w) }

// A scan's pages report the retries of their range's request, and the
// warnings of pages without rows (empty ranges, and the end of ranges whose
// rows filled their last page) reach the caller once each: with a later
// page or, at the end, the callback.
func TestScanPageRetriesAndWarnings(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, want := scanFixture(t, s, 40) // fewer partitions than ranges: some are empty
	for _, fetch := range []int{1, 3, 1000} {
		f := &flaky{v2Cluster: v2Cluster{s}}
		var infos []PageInfo
		var got []scanRow
		opts := []ScanOption{WithParallelism(8), WithFetchSize(fetch), WithRetry(Retry{Attempts: 1, MinBackoff: time.Millisecond}),
			WithPageCallback(func(i PageInfo) { infos = append(infos, i) })}
		for p, err := range scanPages[scanRow](context.Background(), f, table, opts)(nil) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.Rows...)
		}
		slices.SortFunc(got, compareScanRows)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("fetch %d: (-want +got):\n%s", fetch, diff)
		}
		warnings := map[string]int{}
		for _, i := range infos {
			if i.RowCount > 0 && i.Retries != 1 {
				t.Fatalf("fetch %d: page %d reports %d retries; every request failed once", fetch, i.Number, i.Retries)
			}
			for _, w := range i.Warnings {
				warnings[w]++
			}
		}
		for w, n := range warnings {
			if n != 1 {
				t.Fatalf("fetch %d: warning %q reported %d times", fetch, w, n)
			}
		}
		if int64(len(warnings)) != f.empty.Load() || len(warnings) == 0 {
			t.Fatalf("fetch %d: %d warnings of pages without rows reported, %d such pages served", fetch, len(warnings), f.empty.Load())
		}
		last := infos[len(infos)-1]
		t.Logf("fetch %d: %d pages, %d pages without rows, each warning reported once; the last callback: %d rows, %d warnings", fetch, len(infos), len(warnings), last.RowCount, len(last.Warnings))
	}
}

// A scan reads its ranges in token order per replica, so its checkpoints
// hold a done run, the ranges being read and a pending run, not every
// range: on one node, never more than 2 per worker and 2.
func TestScanCheckpointsStayShort(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, _ := scanFixture(t, s, 300)
	const p = 16
	fp := cursor.NewFingerprint(strings.Split(table, ".")[0], `SCAN "scan" `+" WHERE ", nil)
	most, pages := 0, 0
	for pg, err := range ScanPages[scanRow](context.Background(), s, table, WithParallelism(p), WithFetchSize(3)) {
		if err != nil {
			t.Fatal(err)
		}
		ranges, _, err := decodeCheckpoint(pg.Cursor, fp, nil)
		if err != nil {
			t.Fatal(err)
		}
		most = max(most, len(ranges))
		pages++
	}
	if most > 2*p+2 || pages < 100 {
		t.Fatalf("%d pages; their checkpoints held up to %d ranges, want at most %d", pages, most, 2*p+2)
	}
	t.Logf("%d pages of a scan split into %d ranges; checkpoints held at most %d", pages, 4*p, most)
}

// scanFrom is Scan over a cluster of the test's own.
func scanFrom[T any](ctx context.Context, c driver.Cluster, table string, opts ...ScanOption) iter.Seq2[T, error] {
	return scanRows(ctx, scanPages[T](ctx, c, table, opts))
}
