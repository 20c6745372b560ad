package cqlseq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

// firstPage returns what Pages yields over src with opts and
// WithMaxPages(1), the fetches it made, and the tracer that saw it.
func firstPage(t *testing.T, src func() *fakeSource, opts ...StreamOption) (Page[int], int32, *recorder, error) {
	t.Helper()
	s, r := src(), newRecorder()
	opts = append(opts, WithMaxPages(1), WithTracer(r))
	var page Page[int]
	var err error
	n := 0
	for p, e := range Pages[int](context.Background(), nil, Statement{src: s}, opts...) {
		page, err = p, e
		n++
	}
	if n > 1 {
		t.Fatalf("Pages with WithMaxPages(1) yielded %d times", n)
	}
	return page, s.fetches.Load(), r, err
}

// traced returns the calls r saw, and the stream's end as text.
func traced(t *testing.T, r *recorder) ([]string, string) {
	t.Helper()
	if len(r.order) == 0 {
		return nil, ""
	}
	end, _ := r.check(t)
	return r.order, fmt.Sprintf("%+v", end)
}

// ReadPage returns the page Pages yields first with WithMaxPages(1), or its
// error, after the same requests and with the same tracing; it sends no
// request for the page after it, whatever the prefetch, and leaves no page
// open and no goroutine behind.
func TestReadPageIsPagesFirstPage(t *testing.T) {
	failed := errors.New("the node said no")
	tests := []struct {
		name    string
		src     func() *fakeSource
		opts    []StreamOption
		fetches int32 // by ReadPage
		rows    []int
		last    bool // the page's Cursor is empty
	}{
		{"first of many", func() *fakeSource { return fakeRows(4, 10) }, nil, 1, seq(1, 10), false},
		{"first of many, prefetch 0.25", func() *fakeSource { return fakeRows(4, 10) }, []StreamOption{WithPrefetch(0.25)}, 1, seq(1, 10), false},
		{"first of many, max pages 3", func() *fakeSource { return fakeRows(4, 10) }, []StreamOption{WithMaxPages(3)}, 1, seq(1, 10), false},
		{"only page", func() *fakeSource { return fakeRows(1, 3) }, nil, 1, seq(1, 3), true},
		{"empty pages first", func() *fakeSource {
			return &fakeSource{pages: map[string]fakePage{
				"":  {state: "a", warn: []string{"w1"}},
				"a": {state: "b", warn: []string{"w2"}},
				"b": {rows: []int{7, 8}, state: "c"},
				"c": {rows: []int{9}},
			}}
		}, nil, 3, []int{7, 8}, false},
		{"no rows", func() *fakeSource {
			return &fakeSource{pages: map[string]fakePage{
				"":  {state: "a", warn: []string{"w1"}},
				"a": {warn: []string{"w2"}},
			}}
		}, nil, 2, nil, true},
		{"failed request", func() *fakeSource {
			return &fakeSource{pages: map[string]fakePage{"": {err: failed}}}
		}, nil, 1, nil, true},
		{"retried request", func() *fakeSource {
			src := fakeRows(2, 5)
			p := src.pages[""]
			p.fail = 2
			src.pages[""] = p
			return src
		}, []StreamOption{WithRetry(Retry{Attempts: 3, MinBackoff: 1})}, 3, seq(1, 5), false},
		{"bad option", func() *fakeSource { return fakeRows(2, 5) }, []StreamOption{WithPrefetch(2)}, 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, pagesFetches, wantTrace, wantErr := firstPage(t, tt.src, tt.opts...)
			src, r := tt.src(), newRecorder()
			var infos []PageInfo
			opts := append(tt.opts, WithTracer(r), WithPageCallback(func(p PageInfo) { infos = append(infos, p) }))
			got, err := ReadPage[int](context.Background(), nil, Statement{src: src}, opts...)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("error %v, want Pages' %v", err, wantErr)
			}
			if err == nil {
				// Pages yields no page without rows: the one ReadPage
				// returns then is what the callback was told.
				if len(want.Rows) == 0 {
					want.Warnings = infos[len(infos)-1].Warnings
				}
				got.Latency, want.Latency = 0, 0 // measured
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("the page (-Pages' first +ReadPage's):\n%s", diff)
				}
			} else if diff := cmp.Diff(Page[int]{}, got); diff != "" {
				t.Errorf("the page with an error is not zero (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.rows, got.Rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if (got.Cursor == "") != tt.last {
				t.Errorf("cursor %q; want it empty: %v", got.Cursor, tt.last)
			}
			if n := src.fetches.Load(); n != tt.fetches || n > pagesFetches {
				t.Errorf("%d fetches, want %d (Pages with WithMaxPages(1): %d)", n, tt.fetches, pagesFetches)
			}
			wantCalls, wantEnd := traced(t, wantTrace)
			calls, end := traced(t, r)
			if diff := cmp.Diff(wantCalls, calls); diff != "" {
				t.Errorf("tracer calls (-Pages' +ReadPage's):\n%s", diff)
			}
			if end != wantEnd {
				t.Errorf("the stream's end traced as %s, Pages' as %s", end, wantEnd)
			}
			if wantReason := map[bool]string{true: "Reason:complete", false: "Reason:error"}[err == nil]; calls != nil && !strings.Contains(end, wantReason) {
				t.Errorf("the stream's end traced as %s, want %s", end, wantReason)
			}
			if n := src.open.Load(); n != 0 {
				t.Errorf("%d pages left open", n)
			}
			goleak.VerifyNone(t)
		})
	}
}

// Pages read one ReadPage at a time, each from the cursor of the one
// before, are Pages' pages; the last one has no cursor. When the rows end
// exactly at a page's end, the cursor of that page reads a page without
// rows and without a cursor.
func TestReadPageFollowsCursors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		src   func() *fakeSource
		extra bool // a last page without rows
	}{
		{"last page short", func() *fakeSource {
			src := fakeRows(3, 4)
			p := src.pages["p2"]
			p.rows = p.rows[:2]
			src.pages["p2"] = p
			return src
		}, false},
		{"last page full", func() *fakeSource {
			src := fakeRows(3, 4)
			p := src.pages["p2"]
			p.state = "end"
			src.pages["p2"] = p
			src.pages["end"] = fakePage{}
			return src
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want []Page[int]
			for p, err := range Pages[int](context.Background(), nil, Statement{src: tt.src()}) {
				if err != nil {
					t.Fatal(err)
				}
				p.Latency = 0
				p.Number, p.TotalRows = 1, int64(p.RowCount) // as a read of its own counts them
				want = append(want, p)
			}
			if tt.extra {
				want = append(want, Page[int]{})
			}
			var got []Page[int]
			src, cursor := tt.src(), ""
			for range 10 {
				p, err := ReadPage[int](context.Background(), nil, Statement{src: src}, WithCursor(cursor))
				if err != nil {
					t.Fatal(err)
				}
				p.Latency = 0
				got = append(got, p)
				if cursor = p.Cursor; cursor == "" {
					break
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("pages (-Pages' +ReadPage's):\n%s", diff)
			}
			if n, want := src.fetches.Load(), int32(len(want)); n != want {
				t.Fatalf("%d fetches for %d pages", n, want)
			}
		})
	}
}

// seq returns the ints from a to b.
func seq(a, b int) []int {
	var s []int
	for i := a; i <= b; i++ {
		s = append(s, i)
	}
	return s
}
