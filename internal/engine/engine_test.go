package engine_test

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/internal/engine"
)

// These tests drive the engine with a scripted Source, for what a real node
// cannot do on cue: pages without rows in the middle of a result, a failure
// that only Close reports, a prefetch that never completes. The same
// behaviours are tested against a real Cassandra in the cqlseq package.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakePage struct {
	rows  []int
	state string // paging state that follows; "" on the last page
	err   error  // reported by Close only, as the drivers do
	block bool   // Fetch blocks until its context is done
}

type fakeSource struct {
	pages     map[string]fakePage // by the state that requests them ("" = first)
	fetches   atomic.Int32
	cancelled atomic.Int32
	open      atomic.Int32 // pages fetched and not closed
}

func (s *fakeSource) Fetch(ctx context.Context, state []byte) engine.Iter {
	s.fetches.Add(1)
	p := s.pages[string(state)]
	if p.block {
		<-ctx.Done()
		s.cancelled.Add(1)
		p = fakePage{err: ctx.Err()}
	}
	s.open.Add(1)
	return &fakeIter{src: s, page: p}
}

func (s *fakeSource) Columns(engine.Iter) []engine.Column {
	return []engine.Column{{Name: "v", Type: "int", Decode: func(_ int, _ []byte, dst any) error {
		if _, ok := dst.(*int); !ok {
			return errors.New("not an *int")
		}
		return nil
	}}}
}

func (s *fakeSource) Scannable(reflect.Type) bool { return false }

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
func (it *fakeIter) Warnings() []string          { return nil }
func (it *fakeIter) Close() error {
	if !it.closed {
		it.closed = true
		it.src.open.Add(-1)
	}
	return it.page.err
}

func config(t *testing.T, opts ...engine.Option) engine.Config {
	t.Helper()
	cfg, err := engine.Resolve(opts)
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
	var infos []engine.PageInfo
	cfg := config(t, engine.Func(func(c *engine.Config) {
		c.PageCallback = func(p engine.PageInfo) { infos = append(infos, p) }
	}))
	rows, errs := drain(engine.Stream[int](context.Background(), src, cfg))
	if errs != nil || !cmp.Equal(rows, []int{1, 2, 3}) {
		t.Fatalf("got %v, %v; want [1 2 3]", rows, errs)
	}
	want := []engine.PageInfo{{Number: 1, Rows: 2, TotalRows: 2}, {Number: 2, Rows: 1, TotalRows: 3}}
	if diff := cmp.Diff(want, infos); diff != "" {
		t.Fatalf("pages (-want +got):\n%s", diff)
	}
	if n := src.open.Load(); n != 0 {
		t.Fatalf("%d pages left open", n)
	}
	var pages []engine.Page[int]
	for p, err := range engine.Pages[int](context.Background(), src, config(t)) {
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	wantPages := []engine.Page[int]{
		{Rows: []int{1, 2}, Number: 1, TotalRows: 2, PageState: []byte("a")},
		{Rows: []int{3}, Number: 2, TotalRows: 3},
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
		rows, errs := drain(engine.Stream[int](context.Background(), src, config(t, engine.Func(func(c *engine.Config) { c.Prefetch = prefetch }))))
		if !cmp.Equal(rows, []int{1, 2}) || len(errs) != 1 || !errors.Is(errs[0], timeout) {
			t.Fatalf("prefetch %v: got %v, %v; want rows [1 2] then the timeout", prefetch, rows, errs)
		}
		if src.open.Load() != 0 {
			t.Fatal("pages left open")
		}
	}
	// The same when the failure is on the first page.
	src := &fakeSource{pages: map[string]fakePage{"": {err: timeout}}}
	if rows, errs := drain(engine.Stream[int](context.Background(), src, config(t))); rows != nil || len(errs) != 1 || !errors.Is(errs[0], timeout) {
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
	cfg := config(t, engine.Func(func(c *engine.Config) { c.Prefetch = 1 }))
	for v, err := range engine.Stream[int](context.Background(), src, cfg) {
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
		for range engine.Pages[int](context.Background(), src, cfg) {
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
	cfg := config(t, engine.Func(func(c *engine.Config) { c.Prefetch, c.MaxPages = 1, 2 }))
	rows, errs := drain(engine.Stream[int](context.Background(), src, cfg))
	if errs != nil || !cmp.Equal(rows, []int{1, 2}) || src.fetches.Load() != 2 {
		t.Fatalf("got %v, %v after %d fetches; want [1 2] after 2", rows, errs, src.fetches.Load())
	}
}

func TestResolve(t *testing.T) {
	cfg, err := engine.Resolve(nil)
	if err != nil || cfg.Prefetch != engine.DefaultPrefetch || cfg.FetchSize != 0 || cfg.MaxPages != 0 {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
}
