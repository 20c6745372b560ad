package cqlseq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
	cursor := encodeCursor(newFingerprint("", "SELECT v FROM t", nil), DefaultFetchSize, []byte("a"), nil)
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

func TestResolve(t *testing.T) {
	cfg, err := resolveStream(nil, driver.Query{})
	if err != nil || cfg.Prefetch != DefaultPrefetch || cfg.FetchSize != DefaultFetchSize || cfg.MaxPages != 0 {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
}

func retrying(attempts int) Option {
	return WithRetry(Retry{Attempts: attempts, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
}

// A failed page request that may pass is sent again from the same state:
// every row arrives once, and the page reports its retries.
func TestRetryResumesFromTheSameState(t *testing.T) {
	for _, prefetch := range []float64{0, 1} {
		src := &fakeSource{pages: map[string]fakePage{
			"":  {rows: []int{1, 2}, state: "a", fail: 2},
			"a": {rows: []int{3, 4}, state: "b", fail: 3},
			"b": {rows: []int{5}},
		}}
		var infos []PageInfo
		cfg := testConfig(t, retrying(3), WithPrefetch(prefetch), WithPageCallback(func(p PageInfo) { infos = append(infos, p) }))
		rows, errs := drain(streamRows[int](context.Background(), src, cfg))
		if errs != nil || !cmp.Equal(rows, []int{1, 2, 3, 4, 5}) {
			t.Fatalf("prefetch %v: got %v, %v; want each row once", prefetch, rows, errs)
		}
		if got := []int{infos[0].Retries, infos[1].Retries, infos[2].Retries}; !cmp.Equal(got, []int{2, 3, 0}) {
			t.Fatalf("prefetch %v: retries per page %v, want [2 3 0]", prefetch, got)
		}
		if src.open.Load() != 0 {
			t.Fatal("pages left open")
		}
	}
}

// With Retry.MaxElapsed, a request that was never sent spends no attempt:
// the stream waits and sends it again within MaxElapsed, then gives up with
// every request listed. Without it, such a request counts as an attempt.
func TestRetryUnsentSpendsNothing(t *testing.T) {
	within := func(attempts int, elapsed time.Duration) Option {
		return WithRetry(Retry{Attempts: attempts, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxElapsed: elapsed})
	}
	src := &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, state: "a", unsent: 10}, "a": {rows: []int{2}, fail: 1, unsent: 3}}}
	var infos []PageInfo
	rows, errs := drain(streamRows[int](context.Background(), src, testConfig(t, within(1, time.Minute), WithPageCallback(func(p PageInfo) { infos = append(infos, p) }))))
	if errs != nil || !cmp.Equal(rows, []int{1, 2}) {
		t.Fatalf("10 requests not sent, 1 attempt: got %v, %v; want both rows", rows, errs)
	}
	if got := src.fetches.Load(); got != 16 || infos[0].Retries != 0 || infos[1].Retries != 1 {
		t.Fatalf("%d requests, retries %d and %d; want 11 + 5, retries 0 and 1", got, infos[0].Retries, infos[1].Retries)
	}

	src = &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, unsent: 10}}}
	_, errs = drain(streamRows[int](context.Background(), src, testConfig(t, within(3, 0))))
	if len(errs) != 1 || !errors.Is(errs[0], errUnsent) || src.fetches.Load() != 4 {
		t.Fatalf("without MaxElapsed: %v after %d requests; want the error after 1 + 3", errs, src.fetches.Load())
	}

	src = &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, unsent: math.MaxInt}}}
	_, errs = drain(streamRows[int](context.Background(), src, testConfig(t, within(1, 30*time.Millisecond))))
	var pe *PageError
	if len(errs) != 1 || !errors.As(errs[0], &pe) || pe.Retries != 0 || pe.Failed < 3 || len(pe.Requests) != min(pe.Failed, maxFailedKept) ||
		pe.Requests[0].Sent || !errors.Is(pe, errUnsent) {
		t.Fatalf("never sent: %v; want a PageError of 0 retries listing several requests not sent", errs)
	}
	if !strings.Contains(pe.Error(), "fake:9042 not sent") {
		t.Fatalf("%q does not say the requests were not sent", pe)
	}
	t.Logf("never sent, 30 ms: %v", pe)

	// A context that ends while a page fails: its error, and the page's.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	src = &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, unsent: math.MaxInt}}}
	_, errs = drain(streamRows[int](ctx, src, testConfig(t, within(1, time.Hour))))
	if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) || !errors.As(errs[0], &pe) || pe.Failed == 0 {
		t.Fatalf("deadline while failing: %v; want the deadline and the PageError", errs)
	}
}

// A scan's range routes each request of a page: the primary first; after
// a failure that reached a node, the replica that failed the page fewest
// times, after a wait; after one that was not sent, the next at once, for
// no attempt. The first request of the next page (a prefetch) goes to the
// primary again.
func TestRetryRoutesScanRequests(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{
		"":  {rows: []int{1}, state: "a", fail: 1, unsent: 2},
		"a": {rows: []int{2}, unsent: 1},
	}}
	var infos []PageInfo
	cfg := testConfig(t, WithRetry(Retry{Attempts: 1, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}), WithPrefetch(1),
		WithPageCallback(func(p PageInfo) { infos = append(infos, p) }))
	rows, errs := drain(routedRows(src, cfg))
	if errs != nil || !cmp.Equal(rows, []int{1, 2}) {
		t.Fatalf("got %v, %v; want both rows", rows, errs)
	}
	// Page 1: a fails (a wait, the one retry), b and c not sent (at once),
	// a again. Page 2 (prefetched): a not sent; b and c could not be sent
	// a moment ago either, so the driver's own routing ("").
	if want := []string{"a", "b", "c", "a", "a", ""}; !cmp.Equal(src.hostIDs(), want) {
		t.Fatalf("requests went to %v, want %v", src.hostIDs(), want)
	}
	if infos[0].Retries != 1 || infos[1].Retries != 0 {
		t.Fatalf("retries %d and %d, want 1 and 0", infos[0].Retries, infos[1].Retries)
	}

	// With Retry{}, a request that was not sent still goes to the next
	// replica: that is routing, not retrying.
	src = &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, unsent: 3}}}
	cfg = testConfig(t, WithRetry(Retry{}))
	rows, errs = drain(routedRows(src, cfg))
	if errs != nil || !cmp.Equal(rows, []int{1}) || !cmp.Equal(src.hostIDs(), []string{"a", "b", "c", ""}) {
		t.Fatalf("Retry{}: got %v, %v after requests to %v; want the row from the driver's routing after the 3 replicas", rows, errs, src.hostIDs())
	}
}

func TestRetryGivesUp(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{
		"":  {rows: []int{1}, state: "a"},
		"a": {rows: []int{2}, fail: 5},
	}}
	rows, errs := drain(streamRows[int](context.Background(), src, testConfig(t, retrying(2))))
	if !cmp.Equal(rows, []int{1}) || len(errs) != 1 || !errors.Is(errs[0], errTransient) {
		t.Fatalf("got %v, %v; want row 1, then the transient error", rows, errs)
	}
	if got := src.fetches.Load(); got != 4 {
		t.Fatalf("%d requests, want 1 + 1 + 2 retries", got)
	}
	var pe *PageError
	msg := regexp.MustCompile(`^cqlseq: fetching page 2, 2 retries: fetching "a": transient \(3 failed requests over \S+: fake:9042 3x at \+0s to \+\S+: fetching "a": transient\)$`)
	if !errors.As(errs[0], &pe) || pe.Page != 2 || pe.Retries != 2 || !msg.MatchString(errs[0].Error()) {
		t.Fatalf("error %q: PageError %+v, want page 2 after 2 retries: %q", errs[0], pe, msg)
	}
	if pe.Failed != 3 || len(pe.Requests) != 3 || !pe.Requests[2].Sent || pe.Requests[2].Host != "fake:9042" || !errors.Is(pe.Requests[0].Err, errTransient) {
		t.Fatalf("failed requests %+v, want the 3 requests sent to fake:9042", pe.Requests)
	}

	// An error the source does not call retryable ends the stream at once.
	final := errors.New("syntax error")
	src = &fakeSource{pages: map[string]fakePage{"": {err: final}}}
	if _, errs := drain(streamRows[int](context.Background(), src, testConfig(t, retrying(5)))); len(errs) != 1 || !errors.Is(errs[0], final) || src.fetches.Load() != 1 {
		t.Fatalf("got %v after %d requests; want the error after 1", errs, src.fetches.Load())
	}
}

// A cancelled context ends the wait between retries at once.
func TestRetryBackoffHonoursContext(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, fail: 100}}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	cfg := testConfig(t, WithRetry(Retry{Attempts: 100, MinBackoff: time.Hour}))
	_, errs := drain(streamRows[int](ctx, src, cfg))
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", errs)
	}
}

func TestResolveRejects(t *testing.T) {
	q := driver.Query{CQL: "SELECT 1"}
	fp := newFingerprint("", "SELECT 1", nil)
	tests := []struct {
		name string
		opts []StreamOption
		msg  string
	}{
		{"negative retries", []StreamOption{WithRetry(Retry{Attempts: -1})}, "retry attempts, backoffs and MaxElapsed must be >= 0"},
		{"negative MaxElapsed", []StreamOption{WithRetry(Retry{Attempts: 1, MaxElapsed: -time.Second})}, "MaxElapsed must be >= 0"},
		{"min above max", []StreamOption{WithRetry(Retry{Attempts: 1, MinBackoff: time.Second, MaxBackoff: time.Millisecond})}, "MinBackoff 1s is above MaxBackoff 1ms"},
		{"cursor and state", []StreamOption{WithCursor(encodeCursor(fp, 0, []byte("x"), nil)), WithPageState([]byte("x"))}, "both a cursor and a paging state"},
	}
	for _, tt := range tests {
		_, err := resolveStream(tt.opts, q)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, want ErrInvalidArgument with %q", tt.name, err, tt.msg)
		}
	}
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

// A failure that may have reached Cassandra is retried only for statements
// that may run twice; one that cannot have reached it, always.
func TestRetryOnlyWhatIsSafe(t *testing.T) {
	for _, tt := range []struct {
		idempotent bool
		fails      int
		want       int // requests
	}{
		{true, 2, 3},
		{false, 2, 1},
	} {
		src := &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, fail: tt.fails}}}
		cfg, err := resolveStream([]StreamOption{retrying(5)}, driver.Query{CQL: "x", Idempotent: tt.idempotent})
		if err != nil {
			t.Fatal(err)
		}
		rows, errs := drain(streamRows[int](context.Background(), src, cfg))
		if got := int(src.fetches.Load()); got != tt.want {
			t.Errorf("idempotent %v: %d requests (rows %v, errors %v), want %d", tt.idempotent, got, rows, errs, tt.want)
		}
		if !tt.idempotent && (len(errs) != 1 || !errors.Is(errs[0], errTransient)) {
			t.Errorf("not idempotent: errors %v, want the transient error", errs)
		}
	}
}

func TestIdempotent(t *testing.T) {
	for _, tt := range []struct {
		stmt   string
		marked bool
		want   bool
	}{
		{"SELECT * FROM t", false, true},
		{"  /* hint */ -- x\n select a FROM t WHERE b = 'IF'", false, true},
		{"INSERT INTO t (a) VALUES (1)", false, false},
		{"INSERT INTO t (a) VALUES (1)", true, true},
		{"INSERT INTO t (a) VALUES (1) IF NOT EXISTS", true, false},
		{"UPDATE t SET a = 1 WHERE k = 1 if a = 0", true, false},
		{"DELETE FROM t WHERE k = 1 IF EXISTS", true, false},
		{`UPDATE t SET "IF" = 'IF' WHERE k = $$ IF $$`, true, true},
		{"INSERT INTO t (a) VALUES ('it''s IF')", true, true},
		{"", true, false},
		{"UPDATE t SET v = 1 WHERE k = 1 -- note\rIF v = 0", true, false}, // a line comment ends at \r
		{"UPDATE t SET v = 2 WHERE k = 1IF v = 1", true, false},           // a number, then IF
		{"UPDATE t SET v = 2 WHERE k = 0x01IF v = 1", true, false},
		{"UPDATE t SET v = 2 WHERE k = 1e5IF v = 1", true, false},
		{"BEGIN BATCH INSERT INTO t (k) VALUES (1) IF NOT EXISTS APPLY BATCH", true, false},
		{"INSERT INTO t (k, diff) VALUES (1, 2)", true, true}, // "if" inside a word is no keyword
		{"\n\tselect json * FROM t", false, true},
	} {
		if got := idempotent(tt.stmt, tt.marked); got != tt.want {
			t.Errorf("idempotent(%q, %v) = %v, want %v", tt.stmt, tt.marked, got, tt.want)
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
