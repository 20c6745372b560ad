package cqlseq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// recorder is a Tracer that records every call. Each start puts a span of
// its own in the context it returns, naming its parent; ends find their
// span there.
type recorder struct {
	sync.Mutex
	spans  map[int]*span
	nextID int
	order  []string // "start stream 1", "end page 3", ...
}

type span struct {
	id, parent int
	kind       string // stream, range, page
	start, end any
	ended      int
}

type spanKey struct{}

func newRecorder() *recorder { return &recorder{spans: map[int]*span{}} }

func (r *recorder) start(ctx context.Context, kind string, data any) context.Context {
	r.Lock()
	defer r.Unlock()
	r.nextID++
	s := &span{id: r.nextID, kind: kind, start: data}
	if p, ok := ctx.Value(spanKey{}).(*span); ok {
		s.parent = p.id
	}
	r.spans[s.id] = s
	r.order = append(r.order, fmt.Sprint("start ", kind, " ", s.id))
	return context.WithValue(ctx, spanKey{}, s)
}

func (r *recorder) end(ctx context.Context, kind string, data any) {
	r.Lock()
	defer r.Unlock()
	s, ok := ctx.Value(spanKey{}).(*span)
	if !ok || s.kind != kind {
		panic(fmt.Sprintf("end of a %s with the context of %v", kind, s))
	}
	s.end = data
	s.ended++
	r.order = append(r.order, fmt.Sprint("end ", kind, " ", s.id))
}

func (r *recorder) TraceStreamStart(ctx context.Context, d TraceStreamStartData) context.Context {
	return r.start(ctx, "stream", d)
}
func (r *recorder) TraceStreamEnd(ctx context.Context, d TraceStreamEndData) { r.end(ctx, "stream", d) }
func (r *recorder) TracePageStart(ctx context.Context, d TracePageStartData) context.Context {
	return r.start(ctx, "page", d)
}
func (r *recorder) TracePageEnd(ctx context.Context, d TracePageEndData) { r.end(ctx, "page", d) }
func (r *recorder) TraceRangeStart(ctx context.Context, d TraceRangeStartData) context.Context {
	return r.start(ctx, "range", d)
}
func (r *recorder) TraceRangeEnd(ctx context.Context, d TraceRangeEndData) { r.end(ctx, "range", d) }

// check checks that every start had one end and every span its parent of
// the right kind, and returns the stream's end and the spans by kind.
func (r *recorder) check(t *testing.T) (TraceStreamEndData, map[string][]*span) {
	t.Helper()
	r.Lock()
	defer r.Unlock()
	byKind := map[string][]*span{}
	for id := 1; id <= r.nextID; id++ {
		s := r.spans[id]
		if s.ended != 1 {
			t.Fatalf("%s %d (%+v) ended %d times; calls: %v", s.kind, s.id, s.start, s.ended, r.order)
		}
		byKind[s.kind] = append(byKind[s.kind], s)
		var want []string
		switch s.kind {
		case "stream":
			want = []string{""}
		case "range":
			want = []string{"stream"}
		case "page":
			want = []string{"stream", "range"}
		}
		parent := ""
		if s.parent != 0 {
			parent = r.spans[s.parent].kind
		}
		found := false
		for _, w := range want {
			found = found || w == parent
		}
		if !found {
			t.Fatalf("%s %d has a parent %q, want one of %q", s.kind, s.id, parent, want)
		}
	}
	if len(byKind["stream"]) != 1 {
		t.Fatalf("%d streams traced", len(byKind["stream"]))
	}
	return byKind["stream"][0].end.(TraceStreamEndData), byKind
}

// fakeRows is a source of n pages of size rows each: 1, 2, 3, ...
func fakeRows(n, size int) *fakeSource {
	src := &fakeSource{pages: map[string]fakePage{}}
	v := 0
	for i := range n {
		var rows []int
		for range size {
			v++
			rows = append(rows, v)
		}
		state := ""
		if i < n-1 {
			state = fmt.Sprint("p", i+1)
		}
		key := ""
		if i > 0 {
			key = fmt.Sprint("p", i)
		}
		src.pages[key] = fakePage{rows: rows, state: state}
	}
	return src
}

// However a stream ends, its end is traced once, before the range statement
// completes, with why; every page request's start has one end, a prefetched
// page the stream never used too; pages are children of the stream.
func TestTracePairsAndReasons(t *testing.T) {
	type run struct {
		name   string
		src    func() *fakeSource
		opts   []StreamOption
		loop   func(seq func(func(int, error) bool)) // ranges over the stream
		reason EndReason
		rows   int64
		pages  int
	}
	stopAt := func(n int, panics bool) func(func(func(int, error) bool)) {
		return func(seq func(func(int, error) bool)) {
			defer func() {
				if r := recover(); r != nil && r != "boom" {
					panic(r)
				}
			}()
			i := 0
			for range seq {
				if i++; i == n {
					if panics {
						panic("boom")
					}
					break
				}
			}
		}
	}
	all := func(seq func(func(int, error) bool)) {
		for range seq {
		}
	}
	runs := []run{
		{"complete", func() *fakeSource { return fakeRows(4, 10) }, nil, all, EndComplete, 40, 4},
		{"max pages", func() *fakeSource { return fakeRows(4, 10) }, []StreamOption{WithMaxPages(2)}, all, EndComplete, 20, 2},
		{"break mid-page", func() *fakeSource { return fakeRows(4, 10) }, nil, stopAt(15, false), EndBreak, 15, 2},
		{"break, no prefetch", func() *fakeSource { return fakeRows(4, 10) }, []StreamOption{WithPrefetch(0)}, stopAt(15, false), EndBreak, 15, 2},
		{"break at a page's end", func() *fakeSource { return fakeRows(4, 10) }, nil, stopAt(20, false), EndBreak, 20, 2},
		{"panic in the body", func() *fakeSource { return fakeRows(4, 10) }, nil, stopAt(5, true), EndPanic, 5, 1},
		{"failed request", func() *fakeSource {
			src := fakeRows(3, 10)
			p := src.pages["p1"]
			p.err = errors.New("the node said no")
			p.rows = nil
			src.pages["p1"] = p
			return src
		}, nil, all, EndError, 10, 1},
		{"retried request", func() *fakeSource {
			src := fakeRows(3, 10)
			p := src.pages["p1"]
			p.fail = 2
			src.pages["p1"] = p
			return src
		}, []StreamOption{WithRetry(Retry{Attempts: 3, MinBackoff: 1})}, all, EndComplete, 30, 3},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			rec := newRecorder()
			r.loop(streamRows[int](context.Background(), r.src(), testConfig(t, append(r.opts, WithTracer(rec))...)))
			// The stream's end was traced before the loop returned.
			end, spans := rec.check(t)
			if end.Reason != r.reason || end.Rows != r.rows || end.Pages != r.pages {
				t.Fatalf("stream end %+v, want reason %v, %d rows, %d pages", end, r.reason, r.rows, r.pages)
			}
			attempts := 0
			for _, p := range spans["page"] {
				attempts = max(attempts, p.end.(TracePageEndData).Attempt)
			}
			t.Logf("%s: %d page requests (up to attempt %d), end %+v; calls %s", r.name, len(spans["page"]), attempts, end, strings.Join(rec.order, ", "))
		})
	}
	for _, prefetch := range []float64{0, 1} {
		t.Run(fmt.Sprint("request panics, prefetch ", prefetch), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			rec := newRecorder()
			src := fakeRows(3, 10)
			p := src.pages["p1"]
			p.panic = "observer boom"
			src.pages["p1"] = p
			func() {
				defer func() {
					if r := recover(); r != "observer boom" {
						t.Fatalf("recovered %v", r)
					}
				}()
				for range streamRows[int](context.Background(), src, testConfig(t, WithPrefetch(prefetch), WithTracer(rec))) {
				}
			}()
			end, spans := rec.check(t)
			last := spans["page"][len(spans["page"])-1].end.(TracePageEndData)
			if end.Reason != EndPanic || last.Err == nil || !strings.Contains(last.Err.Error(), "observer boom") {
				t.Fatalf("stream end %+v, last page %+v", end, last)
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		rec := newRecorder()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var got error
		for _, err := range streamRows[int](ctx, fakeRows(4, 10), testConfig(t, WithTracer(rec))) {
			if err != nil {
				got = err
				break
			}
			cancel()
		}
		end, _ := rec.check(t)
		if end.Reason != EndCanceled || !errors.Is(end.Err, context.Canceled) || !errors.Is(got, context.Canceled) {
			t.Fatalf("stream end %+v after cancel (yielded %v)", end, got)
		}
	})
	t.Run("Pages", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		rec := newRecorder()
		for range streamPages[int](context.Background(), fakeRows(4, 10), testConfig(t, WithTracer(rec)), nil) {
			break
		}
		end, _ := rec.check(t)
		if end.Reason != EndBreak || end.Rows != 10 || end.Pages != 1 {
			t.Fatalf("stream end %+v", end)
		}
	})
}

// Without a tracer a stream allocates nothing per row; with one, nothing
// either: the tracer is called per page.
func TestTraceAllocsPerRow(t *testing.T) {
	allocs := func(rows int, opts ...StreamOption) float64 {
		cfg := testConfig(t, append(opts, WithFetchSize(rows))...)
		src := fakeRows(1, rows)
		// AllocsPerRun counts what every goroutine allocates, and the
		// sessions of the tests before this one have goroutines that wake
		// now and then (one more allocation for 3,000 rows than for 1,000
		// failed a full run under -race): the fewest of a few counts is the
		// stream's. An allocation per row is in every count.
		least := math.Inf(1)
		for range 5 {
			least = min(least, testing.AllocsPerRun(20, func() {
				for range streamRows[int](context.Background(), src, cfg) {
				}
			}))
		}
		return least
	}
	for _, opts := range [][]StreamOption{nil, {WithTracer(nopTracer{})}} {
		small, large := allocs(1000, opts...), allocs(3000, opts...)
		if perRow := (large - small) / 2000; perRow > 0 {
			t.Fatalf("tracer %v: %.0f allocations for 1000 rows, %.0f for 3000: %.3f a row", len(opts) > 0, small, large, perRow)
		}
		t.Logf("tracer %v: %.0f allocations for a page of 1000 rows, %.0f for 3000", len(opts) > 0, small, large)
	}
}

type nopTracer struct{}

func (nopTracer) TraceStreamStart(ctx context.Context, _ TraceStreamStartData) context.Context {
	return ctx
}
func (nopTracer) TraceStreamEnd(context.Context, TraceStreamEndData) {}
func (nopTracer) TracePageStart(ctx context.Context, _ TracePageStartData) context.Context {
	return ctx
}
func (nopTracer) TracePageEnd(context.Context, TracePageEndData) {}

// On the node, a traced Stream and a traced Scan describe themselves (the
// statement, the keyspace, the table, the page size, the consistency) and
// their pages (rows, host, latency), a scan's pages as children of its
// ranges; the ends pair when a scan is broken off with every worker busy.
func TestTraceOnTheNode(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, want := scanFixture(t, s, 100)
	ks, name, _ := strings.Cut(table, ".")

	rec := newRecorder()
	n := 0
	for _, err := range Stream[scanRow](context.Background(), s, CQL("SELECT p, c, v FROM "+table), WithFetchSize(50),
		WithConsistency(One), WithTracer(rec)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	end, spans := rec.check(t)
	start := spans["stream"][0].start.(TraceStreamStartData)
	if start.Statement != "SELECT p, c, v FROM "+table || start.FetchSize != 50 || start.Consistency != "ONE" || end.Reason != EndComplete || end.Rows != int64(len(want)) {
		t.Fatalf("stream %+v, end %+v", start, end)
	}
	rows := 0
	for _, p := range spans["page"] {
		d := p.end.(TracePageEndData)
		if d.Err != nil || d.Host == "" || d.Latency <= 0 {
			t.Fatalf("page %+v", d)
		}
		rows += d.Rows
	}
	if rows != len(want) {
		t.Fatalf("pages traced with %d rows, %d read", rows, len(want))
	}

	// A scan cancelled in the middle of a page ends as cancelled, with the
	// rows the loop got.
	{
		rec := newRecorder()
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		var got error
		for _, err := range Scan[scanRow](ctx, s, table, WithParallelism(4), WithFetchSize(5), WithTracer(rec)) {
			if err != nil {
				got = err
				break
			}
			if n++; n == 3 {
				cancel()
			}
		}
		cancel()
		end, _ := rec.check(t)
		if end.Reason != EndCanceled || end.Rows != 3 || end.Pages != 1 || !errors.Is(got, context.Canceled) {
			t.Fatalf("scan cancelled after 3 rows: %+v (yielded %v)", end, got)
		}
	}
	// A scan whose loop body panics ends as a panic, with the rows the
	// loop got, the panicking one included, as Stream counts them.
	{
		rec := newRecorder()
		func() {
			defer func() {
				if r := recover(); r != "row 3" {
					t.Fatalf("recovered %v, want the loop body's panic", r)
				}
			}()
			n := 0
			for _, err := range Scan[scanRow](context.Background(), s, table, WithParallelism(4), WithFetchSize(5), WithTracer(rec)) {
				if err != nil {
					t.Fatal(err)
				}
				if n++; n == 3 {
					panic("row 3")
				}
			}
		}()
		end, _ := rec.check(t)
		if end.Reason != EndPanic || end.Rows != 3 || end.Pages != 1 {
			t.Fatalf("scan whose loop panicked at row 3: %+v", end)
		}
	}
	// A scan that fails before reading a range is traced too.
	{
		rec := newRecorder()
		for range scanPages[scanRow](context.Background(), noHosts{v2Cluster{s}}, table, []ScanOption{WithTracer(rec)})(nil) {
		}
		end, _ := rec.check(t)
		if end.Reason != EndError || end.Err == nil {
			t.Fatalf("scan without hosts: %+v", end)
		}
	}

	for _, stop := range []int{0, 7} { // to the end, and broken off
		rec := newRecorder()
		func() {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			n := 0
			for _, err := range Scan[scanRow](context.Background(), s, table, WithParallelism(8), WithFetchSize(5), WithTracer(rec)) {
				if err != nil {
					t.Fatal(err)
				}
				if n++; n == stop {
					break
				}
			}
		}()
		end, spans := rec.check(t)
		start := spans["stream"][0].start.(TraceStreamStartData)
		if start.Keyspace != ks || start.Table != name || start.Parallelism != 8 || !strings.Contains(start.Statement, "token(") {
			t.Fatalf("scan %+v", start)
		}
		done := 0
		for _, r := range spans["range"] {
			if r.end.(TraceRangeEndData).Done {
				done++
			}
		}
		for _, p := range spans["page"] {
			if rec.spans[p.parent].kind != "range" {
				t.Fatalf("a scan's page is a child of a %s", rec.spans[p.parent].kind)
			}
		}
		t.Logf("scan stopped at row %d: %+v; %d ranges started, %d read to the end, %d page requests", stop, end, len(spans["range"]), done, len(spans["page"]))
		if stop == 0 && (end.Reason != EndComplete || end.Rows != int64(len(want)) || done != len(spans["range"])) {
			t.Fatalf("scan to the end: %+v, %d of %d ranges done", end, done, len(spans["range"]))
		}
		if stop > 0 && (end.Reason != EndBreak || end.Rows != int64(stop)) {
			t.Fatalf("scan broken off: %+v", end)
		}
	}
}

// noHosts is a cluster whose driver cannot list its hosts.
type noHosts struct{ v2Cluster }

func (noHosts) Hosts() ([]driver.Host, error) { return nil, errors.New("no hosts: connection refused") }

// A tracer is told the keyspace a stream's query runs in, as a name: the
// session's, the query's own (SetKeyspace, which protocol 5 honours), or
// none. (Cursors are tied to both the session's and the query's; tracers
// are not told that encoding.)
func TestTraceKeyspace(t *testing.T) {
	s := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, s)
	cqlseqtest.Exec(t, s, "CREATE TABLE "+ks+".t (k int PRIMARY KEY)", "INSERT INTO "+ks+".t (k) VALUES (1)")
	c := cqlseqtest.Cluster()
	c.Keyspace = ks
	inKs, err := c.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer inKs.Close()
	other := cqlseqtest.Keyspace(t, s)
	cqlseqtest.Exec(t, s, "CREATE TABLE "+other+".t (k int PRIMARY KEY)", "INSERT INTO "+other+".t (k) VALUES (2)")

	for _, tc := range []struct {
		name string
		stmt Statement
		want string
		k    int
	}{
		{"session without a keyspace, qualified table", CQL("SELECT k FROM " + ks + ".t"), "", 1},
		{"session in a keyspace", CQL("SELECT k FROM t"), ks, 1},
		{"query's own keyspace", FromQuery(inKs.Query("SELECT k FROM t").SetKeyspace(other)), other, 2},
	} {
		session := inKs
		if tc.want == "" {
			session = s
		}
		rec := newRecorder()
		var got []int
		for k, err := range Stream[int](context.Background(), session, tc.stmt, WithTracer(rec)) {
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got = append(got, k)
		}
		_, spans := rec.check(t)
		start := spans["stream"][0].start.(TraceStreamStartData)
		if start.Keyspace != tc.want || !slices.Equal(got, []int{tc.k}) {
			t.Errorf("%s: tracer told keyspace %q, want %q; rows %v, want [%d]", tc.name, start.Keyspace, tc.want, got, tc.k)
		}
	}
}
