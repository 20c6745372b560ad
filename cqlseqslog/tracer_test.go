package cqlseqslog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqslog"
)

// These tests drive the Tracer as cqlseq does, with its Trace*Data values,
// and read what it logged through a JSON handler at DEBUG: no Cassandra
// needed.

// logged returns a Tracer logging into a buffer at DEBUG, and a function
// that returns the records logged since it was last called, without
// their time and durations.
func logged(t *testing.T, opts ...cqlseqslog.Option) (*cqlseqslog.Tracer, func() []map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&syncWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug})
	read := func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		var recs []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			for _, k := range []string{slog.TimeKey, cqlseqslog.KeyDuration, cqlseqslog.KeyLatency} {
				delete(r, k)
			}
			recs = append(recs, r)
		}
		buf.Reset()
		return recs
	}
	return cqlseqslog.NewTracer(slog.New(h), opts...), read
}

type syncWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

const stmt = "SELECT id FROM ks.items WHERE k = ?"

var start = cqlseq.TraceStreamStartData{Keyspace: "ks", Statement: stmt, FetchSize: 10, Consistency: "QUORUM"}

// A stream: its start at DEBUG, each page at DEBUG (at WARN with
// Cassandra's warnings), an abandoned prefetch marked, its end at INFO,
// every record with the stream's number.
func TestStream(t *testing.T) {
	tr, read := logged(t)
	ctx := tr.TraceStreamStart(context.Background(), start)
	for i, d := range []cqlseq.TracePageEndData{
		{Rows: 10, Host: "10.0.0.1:9042"},
		{Rows: 10, Host: "10.0.0.2:9042", Warnings: []string{"tombstones"}},
		{Err: fmt.Errorf("cqlseq: %w", context.Canceled)},
	} {
		d.Page, d.Latency = i+1, time.Millisecond
		tr.TracePageEnd(tr.TracePageStart(ctx, cqlseq.TracePageStartData{Page: d.Page}), d)
	}
	tr.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Rows: 12, Pages: 2, Reason: cqlseq.EndBreak})
	recs := read()
	want := []map[string]any{
		{"level": "DEBUG", "msg": "cqlseq: stream started", "stream": 1.0, "statement": stmt, "keyspace": "ks", "fetch_size": 10.0, "consistency": "QUORUM"},
		{"level": "DEBUG", "msg": "cqlseq: page", "stream": 1.0, "page": 1.0, "attempt": 0.0, "rows": 10.0, "host": "10.0.0.1:9042"},
		{"level": "WARN", "msg": "cqlseq: page with warnings", "stream": 1.0, "page": 2.0, "attempt": 0.0, "rows": 10.0, "host": "10.0.0.2:9042", "warnings": []any{"tombstones"}},
		{"level": "DEBUG", "msg": "cqlseq: page", "stream": 1.0, "page": 3.0, "attempt": 0.0, "abandoned": true},
		{"level": "INFO", "msg": "cqlseq: stream ended", "stream": 1.0, "statement": stmt, "rows": 12.0, "pages": 2.0, "reason": "break"},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("records (-want +got)\n%s", diff)
	}
}

// Failures: a request's at WARN with the statement and the error, the
// stream's at ERROR; a deadline at WARN; a cancel at INFO; a panic at
// ERROR.
func TestFailures(t *testing.T) {
	tr, read := logged(t)
	refused := errors.New("table items does not exist")
	ctx := tr.TraceStreamStart(context.Background(), start)
	tr.TracePageEnd(tr.TracePageStart(ctx, cqlseq.TracePageStartData{Page: 1, Attempt: 2}), cqlseq.TracePageEndData{Page: 1, Attempt: 2, Host: "10.0.0.1:9042", Err: refused})
	failed := &cqlseq.PageError{Page: 1, Retries: 2, Err: refused}
	tr.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndError, Err: failed})
	recs := read()
	want := []map[string]any{
		{"level": "DEBUG", "msg": "cqlseq: stream started", "stream": 1.0, "statement": stmt, "keyspace": "ks", "fetch_size": 10.0, "consistency": "QUORUM"},
		{"level": "WARN", "msg": "cqlseq: page request failed", "stream": 1.0, "page": 1.0, "attempt": 2.0, "host": "10.0.0.1:9042", "statement": stmt, "err": "table items does not exist"},
		{"level": "ERROR", "msg": "cqlseq: stream failed", "stream": 1.0, "statement": stmt, "rows": 0.0, "pages": 0.0, "reason": "error", "err": failed.Error()},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("records (-want +got)\n%s", diff)
	}

	for _, c := range []struct {
		d     cqlseq.TraceStreamEndData
		level string
		msg   string
	}{
		{cqlseq.TraceStreamEndData{Reason: cqlseq.EndCanceled, Err: fmt.Errorf("cqlseq: %w", context.Canceled)}, "INFO", "cqlseq: stream ended"},
		{cqlseq.TraceStreamEndData{Reason: cqlseq.EndCanceled, Err: fmt.Errorf("cqlseq: %w", context.DeadlineExceeded)}, "WARN", "cqlseq: stream ended"},
		{cqlseq.TraceStreamEndData{Reason: cqlseq.EndPanic}, "ERROR", "cqlseq: stream failed"},
		{cqlseq.TraceStreamEndData{Reason: cqlseq.EndComplete}, "INFO", "cqlseq: stream ended"},
	} {
		tr.TraceStreamEnd(tr.TraceStreamStart(context.Background(), start), c.d)
		recs := read()
		end := recs[len(recs)-1]
		_, hasErr := end["err"]
		if len(recs) != 2 || end["level"] != c.level || end["msg"] != c.msg || end["reason"] != c.d.Reason.String() || hasErr != (c.d.Err != nil) {
			t.Errorf("%v, %v: %v", c.d.Reason, c.d.Err, recs)
		}
	}
}

// A scan: its table and parallelism at the start; each range's start and
// end at DEBUG, a range the scan stopped marked, a failed range at WARN.
func TestScan(t *testing.T) {
	tr, read := logged(t)
	ctx := tr.TraceStreamStart(context.Background(), cqlseq.TraceStreamStartData{Keyspace: "ks", Table: "items", Statement: "SELECT ...", FetchSize: 100, Parallelism: 4})
	failed := &cqlseq.RangeError{Start: 10, End: 20, Err: errors.New("read failure")}
	for _, d := range []cqlseq.TraceRangeEndData{
		{Rows: 5, Pages: 1, Done: true},
		{Rows: 2, Pages: 1, Err: context.Canceled},
		{Err: failed},
	} {
		rctx := tr.TraceRangeStart(ctx, cqlseq.TraceRangeStartData{Start: 10, End: 20, Replicas: []string{"h1", "h2"}, Resumed: true})
		tr.TraceRangeEnd(rctx, d)
	}
	tr.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Rows: 7, Pages: 2, Reason: cqlseq.EndComplete})
	recs := read()
	started := map[string]any{"level": "DEBUG", "msg": "cqlseq: range started", "stream": 1.0, "range_start": 10.0, "range_end": 20.0, "replicas": []any{"h1", "h2"}, "resumed": true}
	want := []map[string]any{
		{"level": "DEBUG", "msg": "cqlseq: stream started", "stream": 1.0, "statement": "SELECT ...", "keyspace": "ks", "table": "items", "fetch_size": 100.0, "parallelism": 4.0},
		started,
		{"level": "DEBUG", "msg": "cqlseq: range ended", "stream": 1.0, "rows": 5.0, "pages": 1.0, "done": true},
		started,
		{"level": "DEBUG", "msg": "cqlseq: range ended", "stream": 1.0, "rows": 2.0, "pages": 1.0, "done": false, "stopped": true},
		started,
		{"level": "WARN", "msg": "cqlseq: range failed", "stream": 1.0, "rows": 0.0, "pages": 0.0, "done": false,
			"err": failed.Error()},
		{"level": "INFO", "msg": "cqlseq: stream ended", "stream": 1.0, "statement": "SELECT ...", "rows": 7.0, "pages": 2.0, "reason": "complete"},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("records (-want +got)\n%s", diff)
	}
}

// The statement: left out with WithQueryText(false), rewritten by
// WithQuerySanitizer (once per stream), left out when that gives "".
func TestQueryText(t *testing.T) {
	calls := 0
	upper := func(s string) string { calls++; return strings.ToUpper(s) }
	for _, c := range []struct {
		name string
		opts []cqlseqslog.Option
		want any // nil for no statement
	}{
		{"default", nil, stmt},
		{"omitted", []cqlseqslog.Option{cqlseqslog.WithQueryText(false)}, nil},
		{"sanitized", []cqlseqslog.Option{cqlseqslog.WithQuerySanitizer(upper)}, strings.ToUpper(stmt)},
		{"sanitized to nothing", []cqlseqslog.Option{cqlseqslog.WithQuerySanitizer(func(string) string { return "" })}, nil},
		{"omitted over a sanitizer", []cqlseqslog.Option{cqlseqslog.WithQuerySanitizer(upper), cqlseqslog.WithQueryText(false)}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, read := logged(t, c.opts...)
			calls = 0
			ctx := tr.TraceStreamStart(context.Background(), start)
			tr.TracePageEnd(ctx, cqlseq.TracePageEndData{Page: 1, Err: errors.New("x")})
			tr.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndError, Err: errors.New("x")})
			recs := read()
			if len(recs) != 3 {
				t.Fatalf("%d records", len(recs))
			}
			for _, r := range recs {
				if got := r["statement"]; got != c.want {
					t.Errorf("%s: statement %v, want %v", r["msg"], got, c.want)
				}
			}
			if c.name == "sanitized" && calls != 1 {
				t.Errorf("the sanitizer ran %d times for one stream", calls)
			}
		})
	}
}

// ctxHandler records the contexts it is given and the levels it is asked
// about.
type ctxHandler struct {
	slog.Handler
	mu   sync.Mutex
	seen []any
}

type ctxKey struct{}

func (h *ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	h.seen = append(h.seen, ctx.Value(ctxKey{}))
	h.mu.Unlock()
	return nil
}

func (h *ctxHandler) WithAttrs(attrs []slog.Attr) slog.Handler { return h }

// Records are logged with the hook's context, which a handler reads (a
// trace ID); a logger above DEBUG gets only the records at its level; a
// nil logger means slog.Default(); a nil *Tracer logs nothing.
func TestLoggerAndContext(t *testing.T) {
	h := &ctxHandler{Handler: slog.NewTextHandler(nil, &slog.HandlerOptions{Level: slog.LevelInfo})}
	tr := cqlseqslog.NewTracer(slog.New(h))
	ctx := tr.TraceStreamStart(context.WithValue(context.Background(), ctxKey{}, "caller's"), start)
	tr.TracePageEnd(tr.TracePageStart(ctx, cqlseq.TracePageStartData{Page: 1}), cqlseq.TracePageEndData{Page: 1, Rows: 1})
	tr.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndComplete})
	if want := []any{"caller's"}; !cmp.Equal(want, h.seen) {
		t.Errorf("contexts handled: %v, want %v (the stream's end only, at INFO)", h.seen, want)
	}

	var buf bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	tr = cqlseqslog.NewTracer(nil)
	tr.TraceStreamEnd(tr.TraceStreamStart(context.Background(), start), cqlseq.TraceStreamEndData{Reason: cqlseq.EndComplete})
	if !strings.Contains(buf.String(), "cqlseq: stream ended") {
		t.Errorf("a nil logger: slog.Default() got %q", buf.String())
	}

	var nilTracer *cqlseqslog.Tracer
	bg := context.Background()
	if nilTracer.TraceStreamStart(bg, start) != bg || nilTracer.TracePageStart(bg, cqlseq.TracePageStartData{}) != bg || nilTracer.TraceRangeStart(bg, cqlseq.TraceRangeStartData{}) != bg {
		t.Error("a nil *Tracer changed the context")
	}
	nilTracer.TracePageEnd(bg, cqlseq.TracePageEndData{})
	nilTracer.TraceRangeEnd(bg, cqlseq.TraceRangeEndData{})
	nilTracer.TraceStreamEnd(bg, cqlseq.TraceStreamEndData{})
}

// Streams are numbered from 1, each its own, also when they run at once;
// hooks given a context of no stream log nothing.
func TestStreamNumbers(t *testing.T) {
	tr, read := logged(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := tr.TraceStreamStart(context.Background(), start)
			for page := 1; page <= 3; page++ {
				tr.TracePageEnd(tr.TracePageStart(ctx, cqlseq.TracePageStartData{Page: page}), cqlseq.TracePageEndData{Page: page, Rows: 1})
			}
			tr.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Rows: 3, Pages: 3, Reason: cqlseq.EndComplete})
		}()
	}
	wg.Wait()
	tr.TracePageEnd(context.Background(), cqlseq.TracePageEndData{Page: 1})
	tr.TraceRangeEnd(context.Background(), cqlseq.TraceRangeEndData{})
	tr.TraceStreamEnd(context.Background(), cqlseq.TraceStreamEndData{})
	perStream := map[float64]int{}
	for _, r := range read() {
		n, _ := r["stream"].(float64)
		perStream[n]++
	}
	want := map[float64]int{}
	for n := 1; n <= 8; n++ {
		want[float64(n)] = 5
	}
	if diff := cmp.Diff(want, perStream); diff != "" {
		t.Errorf("records per stream (-want +got)\n%s", diff)
	}
}
