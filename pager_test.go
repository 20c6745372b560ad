package cqlseq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

// These tests drive the engine with a scripted driver.Source, for what a real node
// cannot do on cue: pages without rows in the middle of a result, a failure
// that only Close reports, a prefetch that never completes. The same
// behaviours are tested against a real Cassandra in the cqlseq package.

type fakePage struct {
	rows  []int
	state string // paging state that follows; "" on the last page
	err   error  // reported by Close only, as the drivers do
	block bool   // Fetch blocks until its context is done
	fail  int    // the first fail requests for this page fail with errTransient
	// unsent: the first unsent requests (after those that fail) fail
	// with errUnsent, as one the driver had no connection to send on
	unsent int
	warn   []string
	wait   chan struct{} // Fetch waits for it to close, if set
	panic  any           // Fetch panics with it, if set
}

type fakeSource struct {
	pages     map[string]fakePage // by the state that requests them ("" = first)
	failed    map[string]int      // failures served so far, by state
	unsent    map[string]int      // requests not sent so far, by state
	mu        sync.Mutex
	hosts     []string // the HostID of every request
	fetches   atomic.Int32
	cancelled atomic.Int32
	open      atomic.Int32 // pages fetched and not closed
}

func (s *fakeSource) Query() driver.Query {
	return driver.Query{CQL: "SELECT v FROM t", Idempotent: true}
}

func (s *fakeSource) Fetch(ctx context.Context, r driver.Request) driver.Iter {
	state := r.State
	s.fetches.Add(1)
	s.mu.Lock()
	s.hosts = append(s.hosts, r.HostID)
	s.mu.Unlock()
	p := s.pages[string(state)]
	if p.wait != nil {
		<-p.wait
	}
	if p.panic != nil {
		panic(p.panic)
	}
	if p.fail > 0 {
		if s.failed == nil {
			s.failed = map[string]int{}
		}
		if s.failed[string(state)] < p.fail {
			s.failed[string(state)]++
			p = fakePage{err: fmt.Errorf("fetching %q: %w", state, errTransient)}
		}
	}
	if p.unsent > 0 && p.err == nil {
		if s.unsent == nil {
			s.unsent = map[string]int{}
		}
		if s.unsent[string(state)] < p.unsent {
			s.unsent[string(state)]++
			p = fakePage{err: fmt.Errorf("fetching %q: %w", state, errUnsent)}
		}
	}
	if p.block {
		<-ctx.Done()
		s.cancelled.Add(1)
		p = fakePage{err: ctx.Err()}
	}
	s.open.Add(1)
	return &fakeIter{src: s, page: p}
}

func (s *fakeSource) Columns(driver.Iter) []driver.Column {
	return []driver.Column{{Name: "v", Type: "int"}}
}

func (s *fakeSource) Decode(_ driver.Column, _ int, _ []byte, dst any) error {
	if _, ok := dst.(*int); !ok {
		return errors.New("not an *int")
	}
	return nil
}

func (s *fakeSource) Sample(driver.Column, int) []byte { return nil }

func (s *fakeSource) Scannable(reflect.Type) bool { return false }

func (s *fakeSource) Dest(d *driver.Dest) any { return d.Ptr }

func (s *fakeSource) Discard(*driver.Dest) any { return new(int) }

func (s *fakeSource) Host(driver.Iter) string { return "fake:9042" }

func (s *fakeSource) hostIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hosts)
}

func (s *fakeSource) Retryable(err error) driver.Retryability {
	switch {
	case errors.Is(err, errTransient):
		return driver.MaybeSent
	case errors.Is(err, errUnsent):
		return driver.NotSent
	}
	return driver.Final
}

var (
	errTransient = errors.New("transient")
	errUnsent    = errors.New("no connection to send it on")
)

type fakeIter struct {
	src    *fakeSource
	page   fakePage
	pos    int
	closed bool
}

func (it *fakeIter) Scan(dest ...any) bool {
	if it.page.err != nil || it.pos >= len(it.page.rows) {
		return false
	}
	*dest[0].(*int) = it.page.rows[it.pos]
	it.pos++
	return true
}
func (it *fakeIter) MapScan(map[string]any) bool { return false }
func (it *fakeIter) PageState() []byte           { return []byte(it.page.state) }
func (it *fakeIter) NumRows() int                { return len(it.page.rows) }
func (it *fakeIter) Warnings() []string {
	if it.closed {
		return nil // as the drivers: the frame is gone
	}
	return it.page.warn
}
func (it *fakeIter) Close() error {
	if !it.closed {
		it.closed = true
		it.src.open.Add(-1)
	}
	return it.page.err
}

func testConfig(t *testing.T, opts ...StreamOption) *config {
	t.Helper()
	cfg, err := resolveStream(opts, driver.Query{CQL: "SELECT v FROM t", Idempotent: true})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func drain(seq func(func(int, error) bool)) (rows []int, errs []error) {
	for v, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rows = append(rows, v)
	}
	return rows, errs
}

func TestEmptyPagesDoNotEndTheStream(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{
		"":  {rows: []int{1, 2}, state: "a"},
		"a": {state: "b"}, // no rows, more to come
		"b": {state: "c"},
		"c": {rows: []int{3}},
	}}
	var infos []PageInfo
	cfg := testConfig(t, streamOption(func(c *config) {
		c.PageCallback = func(p PageInfo) { infos = append(infos, p) }
	}))
	rows, errs := drain(streamRows[int](context.Background(), src, cfg))
	if errs != nil || !cmp.Equal(rows, []int{1, 2, 3}) {
		t.Fatalf("got %v, %v; want [1 2 3]", rows, errs)
	}
	// Page 1's cursor resumes after it: at state "a", past the empty pages' states.
	cursor := cursor.Encode(cursor.NewFingerprint("", "SELECT v FROM t", nil), DefaultFetchSize, []byte("a"), nil)
	want := []PageInfo{{Number: 1, RowCount: 2, TotalRows: 2, Cursor: cursor, PageState: []byte("a"), Host: "fake:9042"}, {Number: 2, RowCount: 1, TotalRows: 3, Host: "fake:9042"}}
	for i := range infos {
		infos[i].Latency = 0 // measured; the conformance suite checks it on the node
	}
	if diff := cmp.Diff(want, infos); diff != "" {
		t.Fatalf("pages (-want +got):\n%s", diff)
	}
	if n := src.open.Load(); n != 0 {
		t.Fatalf("%d pages left open", n)
	}
	var pages []Page[int]
	for p, err := range streamPages[int](context.Background(), src, testConfig(t), nil) {
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	wantPages := []Page[int]{
		{Rows: []int{1, 2}, PageInfo: PageInfo{Number: 1, RowCount: 2, TotalRows: 2, PageState: []byte("a"), Cursor: cursor, Host: "fake:9042"}},
		{Rows: []int{3}, PageInfo: PageInfo{Number: 2, RowCount: 1, TotalRows: 3, Host: "fake:9042"}},
	}
	for i := range pages {
		pages[i].Latency = 0 // measured
	}
	if diff := cmp.Diff(wantPages, pages); diff != "" {
		t.Fatalf("pages (-want +got):\n%s", diff)
	}
}

// A page request that fails is reported by the driver only on Close, with
// Scan returning false as at the end of the data: the error must arrive.
func TestErrorOnlyOnClose(t *testing.T) {
	timeout := errors.New("read timeout")
	for _, prefetch := range []float64{0, 0.25, 1} {
		src := &fakeSource{pages: map[string]fakePage{
			"":  {rows: []int{1, 2}, state: "a"},
			"a": {err: timeout},
		}}
		rows, errs := drain(streamRows[int](context.Background(), src, testConfig(t, streamOption(func(c *config) { c.Prefetch = prefetch }))))
		if !cmp.Equal(rows, []int{1, 2}) || len(errs) != 1 || !errors.Is(errs[0], timeout) {
			t.Fatalf("prefetch %v: got %v, %v; want rows [1 2] then the timeout", prefetch, rows, errs)
		}
		if src.open.Load() != 0 {
			t.Fatal("pages left open")
		}
	}
	// The same when the failure is on the first page.
	src := &fakeSource{pages: map[string]fakePage{"": {err: timeout}}}
	if rows, errs := drain(streamRows[int](context.Background(), src, testConfig(t))); rows != nil || len(errs) != 1 || !errors.Is(errs[0], timeout) {
		t.Fatalf("first page: got %v, %v", rows, errs)
	}
}

// Leaving the loop cancels a prefetch in flight and waits for it: no
// goroutine and no page outlive the loop.
func TestBreakCancelsPrefetch(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{
		"":  {rows: []int{1, 2, 3, 4}, state: "a"},
		"a": {block: true},
	}}
	cfg := testConfig(t, streamOption(func(c *config) { c.Prefetch = 1 }))
	for v, err := range streamRows[int](context.Background(), src, cfg) {
		if err != nil || v != 1 {
			t.Fatal(v, err)
		}
		break
	}
	if src.cancelled.Load() != 1 || src.open.Load() != 0 {
		t.Fatalf("after break: %d prefetches cancelled (want 1), %d pages open (want 0)", src.cancelled.Load(), src.open.Load())
	}
	goleak.VerifyNone(t)

	// The same when the loop body panics.
	src.cancelled.Store(0)
	func() {
		defer func() { recover() }()
		for range streamPages[int](context.Background(), src, cfg, nil) {
			panic("body")
		}
	}()
	if src.cancelled.Load() != 1 || src.open.Load() != 0 {
		t.Fatalf("after panic: %d prefetches cancelled (want 1), %d pages open (want 0)", src.cancelled.Load(), src.open.Load())
	}
	goleak.VerifyNone(t)
}

func TestMaxPagesStopsPrefetch(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{
		"":  {rows: []int{1}, state: "a"},
		"a": {rows: []int{2}, state: "b"},
		"b": {rows: []int{3}},
	}}
	cfg := testConfig(t, streamOption(func(c *config) { c.Prefetch, c.MaxPages = 1, 2 }))
	rows, errs := drain(streamRows[int](context.Background(), src, cfg))
	if errs != nil || !cmp.Equal(rows, []int{1, 2}) || src.fetches.Load() != 2 {
		t.Fatalf("got %v, %v after %d fetches; want [1 2] after 2", rows, errs, src.fetches.Load())
	}
}

func retrying(attempts int) Option {
	return WithRetry(Retry{Attempts: attempts, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
}

type coded int

func (c coded) Error() string { return fmt.Sprintf("code %#x", int(c)) }
func (c coded) Code() int     { return int(c) }

func TestClassify(t *testing.T) {
	noConn := errors.New("no connections")
	closed := errors.New("connection closed")
	for _, tt := range []struct {
		err  error
		want driver.Retryability
	}{
		{coded(0x1200), driver.MaybeSent},                              // read timeout
		{coded(0x1100), driver.MaybeSent},                              // write timeout
		{coded(0x0000), driver.MaybeSent},                              // server error (shutting down)
		{fmt.Errorf("page 3: %w", coded(0x1002)), driver.NotSent},      // bootstrapping, wrapped
		{coded(0x1300), driver.Final},                                  // read failure: tombstones, size limits
		{coded(0x1003), driver.Final},                                  // truncate error
		{coded(0x2000), driver.Final},                                  // syntax
		{coded(0x2200), driver.Final},                                  // invalid
		{coded(0x2100), driver.Final},                                  // unauthorized
		{fmt.Errorf("x: %w", noConn), driver.NotSent},                  // the driver's own, as listed
		{fmt.Errorf("x: %w", closed), driver.MaybeSent},                // the driver's own, as listed
		{fmt.Errorf("read: %w", io.EOF), driver.MaybeSent},             // a connection closed mid-response
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), driver.NotSent}, // never connected
		{errors.New("something else"), driver.Final},
	} {
		if got := driver.Classify(tt.err, []error{noConn}, []error{closed}); got != tt.want {
			t.Errorf("driver.Classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// Warnings of pages without rows go with the next page that has rows, in
// Pages and in the page callback; those of trailing pages without rows
// reach the callback alone.
func TestWarningsOfEmptyPages(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{
		"":  {rows: []int{1}, state: "a", warn: []string{"w1"}},
		"a": {state: "b", warn: []string{"w2"}},
		"b": {rows: []int{2}, state: "c", warn: []string{"w3"}},
		"c": {warn: []string{"w4"}},
	}}
	var infos [][]string
	cfg := testConfig(t, WithPageCallback(func(p PageInfo) { infos = append(infos, p.Warnings) }))
	var pages [][]string
	for p, err := range streamPages[int](context.Background(), src, cfg, nil) {
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p.Warnings)
	}
	if diff := cmp.Diff([][]string{{"w1"}, {"w2", "w3"}}, pages); diff != "" {
		t.Errorf("Page.Warnings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"w1"}, {"w2", "w3"}, {"w4"}}, infos); diff != "" {
		t.Errorf("PageInfo.Warnings (-want +got):\n%s", diff)
	}
}

// With WithMaxPages(2) and prefetching, the second page is requested while
// the first is in the loop body, in Pages as in Stream, and no third.
func TestMaxPagesPrefetchesTheLastAllowedPage(t *testing.T) {
	for _, pages := range []bool{false, true} {
		src := &fakeSource{pages: map[string]fakePage{
			"":  {rows: []int{1}, state: "a"},
			"a": {rows: []int{2}, state: "b"},
			"b": {rows: []int{3}},
		}}
		cfg := testConfig(t, WithPrefetch(1), WithMaxPages(2))
		inBody := func() {
			deadline := time.Now().Add(5 * time.Second)
			for src.fetches.Load() < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		var during int32 = -1
		var rows []int
		if pages {
			for p, err := range streamPages[int](context.Background(), src, cfg, nil) {
				if err != nil {
					t.Fatal(err)
				}
				if during < 0 {
					inBody()
					during = src.fetches.Load()
				}
				rows = append(rows, p.Rows...)
			}
		} else {
			for v, err := range streamRows[int](context.Background(), src, cfg) {
				if err != nil {
					t.Fatal(err)
				}
				if during < 0 {
					inBody()
					during = src.fetches.Load()
				}
				rows = append(rows, v)
			}
		}
		if during != 2 || src.fetches.Load() != 2 || !cmp.Equal(rows, []int{1, 2}) {
			t.Errorf("pages %v: %d requests during page 1, %d in all, rows %v; want 2, 2, [1 2]", pages, during, src.fetches.Load(), rows)
		}
	}
}

// A panic in a prefetched request reaches the goroutine that ranges, with
// its value, as it would without prefetching; nothing leaks.
func TestPanicInPrefetch(t *testing.T) {
	for _, prefetch := range []float64{0, 1} {
		src := &fakeSource{pages: map[string]fakePage{
			"":  {rows: []int{1, 2}, state: "a"},
			"a": {panic: "observer"},
		}}
		got := func() (v any) {
			defer func() { v = recover() }()
			for range streamRows[int](context.Background(), src, testConfig(t, WithPrefetch(prefetch))) {
			}
			return nil
		}()
		if got != "observer" {
			t.Errorf("prefetch %v: recovered %v, want the request's panic", prefetch, got)
		}
		goleak.VerifyNone(t)
	}
}

// counted is a bound value whose canonical form (fmt's, for a channel
// type) counts how often a fingerprint was computed.
type counted chan int

var fingerprints atomic.Int32

func (counted) String() string { fingerprints.Add(1); return "counted" }

// The fingerprint of the statement and its values is computed only when a
// cursor is made (Pages, the page callback) or read (WithCursor), and then
// once per range, however many pages.
func TestFingerprintOnlyForCursors(t *testing.T) {
	pages := map[string]fakePage{"": {rows: []int{1}, state: "a"}, "a": {rows: []int{2}, state: "b"}, "b": {rows: []int{3}}}
	q := driver.Query{CQL: "SELECT v FROM t WHERE k = ?", Values: []any{counted(nil)}}
	resolve := func(opts ...StreamOption) *config {
		cfg, err := resolveStream(opts, q)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	fingerprints.Store(0)
	if rows, errs := drain(streamRows[int](context.Background(), &fakeSource{pages: pages}, resolve())); errs != nil || len(rows) != 3 {
		t.Fatal(rows, errs)
	}
	if n := fingerprints.Load(); n != 0 {
		t.Fatalf("a stream without cursors computed the fingerprint %d times", n)
	}
	var cursor string
	for p, err := range streamPages[int](context.Background(), &fakeSource{pages: pages}, resolve(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if cursor == "" {
			cursor = p.Cursor
		}
	}
	if n := fingerprints.Load(); n != 1 {
		t.Fatalf("Pages over 3 pages computed the fingerprint %d times, want 1", n)
	}
	resolve(WithCursor(cursor))
	if n := fingerprints.Load(); n != 2 {
		t.Fatalf("reading a cursor: %d fingerprints in all, want 2", n)
	}
}

// A context cancelled in the body of the last row does not spoil a
// complete read, also when the rows end exactly on a page boundary and the
// prefetched last page (no rows, no paging state) is the only proof.
func TestCancelAfterLastRowOnPageBoundary(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{
		"":  {rows: []int{1, 2}, state: "a"},
		"a": {}, // the end
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rows []int
	for v, err := range streamRows[int](ctx, src, testConfig(t, WithPrefetch(1))) {
		if err != nil {
			t.Fatalf("after rows %v: %v", rows, err)
		}
		rows = append(rows, v)
		if v == 2 {
			for src.fetches.Load() < 2 {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(10 * time.Millisecond) // the prefetch has returned
			cancel()
		}
	}
	if !cmp.Equal(rows, []int{1, 2}) || src.open.Load() != 0 {
		t.Fatalf("rows %v, %d pages open", rows, src.open.Load())
	}
}

// routedRows reads src's rows as a scan's range does, its requests routed
// to replicas a, b and c in that order.
func routedRows(src driver.Source, cfg *config) iter.Seq2[int, error] {
	link := &rangeLink{route: newReplicaRoute(newLiveness(upHosts{"a": true, "b": true, "c": true}), []string{"a", "b", "c"}, map[string]bool{"a": true, "b": true, "c": true})}
	return func(yield func(int, error) bool) {
		for p, err := range streamPages[int](context.Background(), src, cfg, link) {
			if err != nil {
				yield(0, err)
				return
			}
			for _, v := range p.Rows {
				if !yield(v, nil) {
					return
				}
			}
		}
	}
}
