package cqlseqslog

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cqlseq/cqlseq"
)

// Tracer is a [cqlseq.Tracer] and [cqlseq.RangeTracer] that logs with
// log/slog. Make one with [NewTracer]; it is safe for concurrent use by any
// number of streams. A nil *Tracer logs nothing.
type Tracer struct {
	logger    *slog.Logger
	queryText bool
	sanitize  func(string) string
	streams   atomic.Uint64 // the streams started, to number them
}

var (
	_ cqlseq.Tracer      = (*Tracer)(nil)
	_ cqlseq.RangeTracer = (*Tracer)(nil)
)

// NewTracer returns a Tracer that logs with logger (slog.Default(), when
// the Tracer logs, if logger is nil), configured by opts.
func NewTracer(logger *slog.Logger, opts ...Option) *Tracer {
	t := &Tracer{logger: logger, queryText: true}
	for _, o := range opts {
		if o != nil {
			o.apply(t)
		}
	}
	return t
}

// stream is what a stream's context carries for its end, its pages and
// its ranges: its logger (with its number), its statement as logged ("" for
// none) and when it started.
type stream struct {
	logger    *slog.Logger
	statement string
	start     time.Time
}

type streamKey struct{}

func streamOf(ctx context.Context) *stream {
	s, _ := ctx.Value(streamKey{}).(*stream)
	return s
}

// statement returns the statement to log, "" for none.
func (t *Tracer) statement(d cqlseq.TraceStreamStartData) string {
	switch {
	case !t.queryText:
		return ""
	case t.sanitize != nil:
		return t.sanitize(d.Statement)
	}
	return d.Statement
}

// TraceStreamStart logs the stream's start, at DEBUG.
func (t *Tracer) TraceStreamStart(ctx context.Context, d cqlseq.TraceStreamStartData) context.Context {
	if t == nil { // a nil *Tracer logs nothing
		return ctx
	}
	logger := t.logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &stream{logger: logger.With(slog.Uint64(KeyStream, t.streams.Add(1))), statement: t.statement(d), start: time.Now()}
	if s.logger.Enabled(ctx, slog.LevelDebug) {
		attrs := make([]slog.Attr, 0, 6)
		if s.statement != "" {
			attrs = append(attrs, slog.String(KeyStatement, s.statement))
		}
		if d.Keyspace != "" {
			attrs = append(attrs, slog.String(KeyKeyspace, d.Keyspace))
		}
		if d.Table != "" {
			attrs = append(attrs, slog.String(KeyTable, d.Table))
		}
		attrs = append(attrs, slog.Int(KeyFetchSize, d.FetchSize))
		if d.Consistency != "" {
			attrs = append(attrs, slog.String(KeyConsistency, d.Consistency))
		}
		if d.Parallelism > 0 {
			attrs = append(attrs, slog.Int(KeyParallelism, d.Parallelism))
		}
		s.logger.LogAttrs(ctx, slog.LevelDebug, "cqlseq: stream started", attrs...)
	}
	return context.WithValue(ctx, streamKey{}, s)
}

// TraceStreamEnd logs the stream's end: at INFO, at WARN when a deadline
// passed, at ERROR when it failed or the loop body panicked.
func (t *Tracer) TraceStreamEnd(ctx context.Context, d cqlseq.TraceStreamEndData) {
	s := streamOf(ctx)
	if t == nil || s == nil {
		return
	}
	level, msg := slog.LevelInfo, "cqlseq: stream ended"
	switch {
	case d.Reason == cqlseq.EndError || d.Reason == cqlseq.EndPanic:
		level, msg = slog.LevelError, "cqlseq: stream failed"
	case d.Reason == cqlseq.EndCanceled && errors.Is(d.Err, context.DeadlineExceeded):
		level = slog.LevelWarn
	}
	if !s.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	if s.statement != "" {
		attrs = append(attrs, slog.String(KeyStatement, s.statement))
	}
	attrs = append(attrs,
		slog.Int64(KeyRows, d.Rows),
		slog.Int(KeyPages, d.Pages),
		slog.String(KeyReason, d.Reason.String()),
		slog.Duration(KeyDuration, time.Since(s.start)),
	)
	if d.Err != nil {
		attrs = append(attrs, slog.Any(KeyError, d.Err))
	}
	s.logger.LogAttrs(ctx, level, msg, attrs...)
}

// TracePageStart returns ctx: a page's record is its end's.
func (t *Tracer) TracePageStart(ctx context.Context, _ cqlseq.TracePageStartData) context.Context {
	return ctx
}

// TracePageEnd logs a page request's outcome: at DEBUG, at WARN when
// Cassandra sent warnings with the page or the request failed.
func (t *Tracer) TracePageEnd(ctx context.Context, d cqlseq.TracePageEndData) {
	s := streamOf(ctx)
	if t == nil || s == nil {
		return
	}
	// A page the stream no longer wanted (it had stopped, its request
	// cancelled) is no failure.
	abandoned := errors.Is(d.Err, context.Canceled)
	level, msg := slog.LevelDebug, "cqlseq: page"
	switch {
	case d.Err != nil && !abandoned:
		level, msg = slog.LevelWarn, "cqlseq: page request failed"
	case len(d.Warnings) > 0:
		level, msg = slog.LevelWarn, "cqlseq: page with warnings"
	}
	if !s.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.Int(KeyPage, d.Page), slog.Int(KeyAttempt, d.Attempt))
	if d.Err == nil {
		attrs = append(attrs, slog.Int(KeyRows, d.Rows))
	}
	attrs = append(attrs, slog.Duration(KeyLatency, d.Latency))
	if d.Host != "" {
		attrs = append(attrs, slog.String(KeyHost, d.Host))
	}
	if len(d.Warnings) > 0 {
		attrs = append(attrs, slog.Any(KeyWarnings, d.Warnings))
	}
	switch {
	case abandoned:
		attrs = append(attrs, slog.Bool(KeyAbandoned, true))
	case d.Err != nil:
		if s.statement != "" {
			attrs = append(attrs, slog.String(KeyStatement, s.statement))
		}
		attrs = append(attrs, slog.Any(KeyError, d.Err))
	}
	s.logger.LogAttrs(ctx, level, msg, attrs...)
}

// TraceRangeStart logs the start of a scan's token range, at DEBUG.
func (t *Tracer) TraceRangeStart(ctx context.Context, d cqlseq.TraceRangeStartData) context.Context {
	s := streamOf(ctx)
	if t == nil || s == nil || !s.logger.Enabled(ctx, slog.LevelDebug) {
		return ctx
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "cqlseq: range started",
		slog.Int64(KeyRangeStart, d.Start),
		slog.Int64(KeyRangeEnd, d.End),
		slog.Any(KeyReplicas, d.Replicas),
		slog.Bool(KeyResumed, d.Resumed),
	)
	return ctx
}

// TraceRangeEnd logs the end of a scan's token range: at DEBUG, at WARN
// when it failed.
func (t *Tracer) TraceRangeEnd(ctx context.Context, d cqlseq.TraceRangeEndData) {
	s := streamOf(ctx)
	if t == nil || s == nil {
		return
	}
	level, msg := slog.LevelDebug, "cqlseq: range ended"
	stopped := !d.Done && errors.Is(d.Err, context.Canceled)
	if !d.Done && d.Err != nil && !stopped {
		level, msg = slog.LevelWarn, "cqlseq: range failed"
	}
	if !s.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.Int64(KeyRows, d.Rows), slog.Int(KeyPages, d.Pages), slog.Bool(KeyDone, d.Done)}
	switch {
	case stopped:
		attrs = append(attrs, slog.Bool(KeyStopped, true))
	case level == slog.LevelWarn:
		attrs = append(attrs, slog.Any(KeyError, d.Err))
	}
	s.logger.LogAttrs(ctx, level, msg, attrs...)
}
