// Package cqlseqotel traces cqlseq streams and scans with OpenTelemetry and
// measures their page requests, on OpenTelemetry's database conventions.
//
//	tracer := cqlseqotel.NewTracer()
//	for u, err := range cqlseq.Stream[User](ctx, session, q, cqlseq.WithTracer(tracer)) {
//
// A stream (or a scan) is a span named for its operation and table
// ("SELECT users"), of kind client, with a child span for every page
// request ("SELECT users page"), and for a scan a span per token range
// between them ("SELECT users range"). The stream's span ends when the
// loop ends, however it ends, on the goroutine that ranges: a loop that
// stops early leaves no span open. A page's span ends at the time its page
// arrived, also when the stream took it later (a prefetched page).
//
// Spans carry db.system.name ("cassandra"), db.namespace (the keyspace),
// db.collection.name (the table, from the statement's FROM for Stream and
// Pages; unquoted names lower-cased, as Cassandra folds them),
// db.operation.name, db.query.text (the statement as written: bound values
// are not recorded, literals written into the CQL are), cassandra.page.size
// and cassandra.consistency.level when known; the stream's span ends with
// db.response.returned_rows, cqlseq.pages and cqlseq.end_reason
// (complete, break, canceled, error, panic), and an error status on error or
// panic. A page's span carries db.response.returned_rows, server.address,
// server.port, cqlseq.page.number and cqlseq.page.attempt, Cassandra's
// warnings as events, and error.type and db.response.status_code on
// failure (see below); a prefetched page the
// stream no longer wanted ends with cqlseq.page.abandoned, no error, and is
// not measured.
//
// Both the stream's span and its pages' are of kind client: a backend that
// counts database calls by client spans counts the stream and each of its
// page requests (and retries). A deadline that ends a stream is an error
// (error.type "timeout"); a cancel by the caller is not.
//
// error.type is the class the conventions ask for: for an error Cassandra
// answered, its protocol error code in four hexadecimal digits ("2200" for
// Invalid), which db.response.status_code holds too; "timeout" for a
// passed deadline, the driver's ErrTimeoutNoResponse or a network timeout;
// else the import path and name of the innermost error with an exported
// type of its own ("github.com/apache/cassandra-gocql-driver/v2.UnmarshalError"),
// or "_OTHER".
//
// Two metrics record every page request: db.client.operation.duration (a
// histogram, in seconds) and db.client.response.returned_rows (a histogram
// of rows), with db.system.name, db.namespace, db.collection.name,
// db.operation.name, server.address and server.port, and error.type and
// db.response.status_code on failure.
//
// The package is a module of its own, so that the core keeps no
// OpenTelemetry dependency.
package cqlseqotel

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/cqlseq/cqlseq"
)

// ScopeName is the instrumentation scope of the spans and metrics.
const ScopeName = "github.com/cqlseq/cqlseq/cqlseqotel"

// Tracer is a [cqlseq.Tracer] and [cqlseq.RangeTracer] that records
// OpenTelemetry spans and metrics. Make one with [NewTracer]; it is safe
// for concurrent use by any number of streams. A nil *Tracer records
// nothing.
type Tracer struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	rows     metric.Int64Histogram
}

// Option configures a [Tracer].
type Option func(*options)

type options struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets the provider of the tracer; the global one
// (otel.GetTracerProvider) by default.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// WithMeterProvider sets the provider of the meter; the global one
// (otel.GetMeterProvider) by default.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// NewTracer returns a Tracer of the given providers.
func NewTracer(opts ...Option) *Tracer {
	o := options{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider()}
	for _, opt := range opts {
		opt(&o)
	}
	m := o.mp.Meter(ScopeName)
	t := &Tracer{tracer: o.tp.Tracer(ScopeName)}
	var err error
	// The conventions' bucket boundaries for db.client.operation.duration.
	t.duration, err = m.Float64Histogram("db.client.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of database client operations (cqlseq: page requests)."),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10))
	if err != nil {
		otel.Handle(err)
	}
	t.rows, err = m.Int64Histogram("db.client.response.returned_rows", metric.WithUnit("{row}"),
		metric.WithDescription("The number of rows returned by a page request."),
		metric.WithExplicitBucketBoundaries(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000))
	if err != nil {
		otel.Handle(err)
	}
	return t
}

var (
	_ cqlseq.Tracer      = (*Tracer)(nil)
	_ cqlseq.RangeTracer = (*Tracer)(nil)
)

// stream is what a stream's context carries for its pages and ranges.
type stream struct {
	name  string               // the span name: "SELECT users"
	attrs []attribute.KeyValue // db.* attributes of the metrics
}

type streamKey struct{}

// pageStart is what a page's context carries: when its request was sent.
type pageStart struct{ at time.Time }

type pageKey struct{}

// firstWord is a statement's first keyword, after any comments.
var firstWord = regexp.MustCompile(`^(?s)(?:\s|/\*.*?\*/|--[^\n]*|//[^\n]*)*([A-Za-z]+)`)

var fromTable = regexp.MustCompile(`(?is)\bFROM\s+("(?:[^"]|"")+"|[A-Za-z0-9_]+)(?:\s*\.\s*("(?:[^"]|"")+"|[A-Za-z0-9_]+))?`)

// describe returns the operation, keyspace and table of a stream.
func describe(d cqlseq.TraceStreamStartData) (op, keyspace, table string) {
	op, keyspace, table = "SELECT", d.Keyspace, d.Table
	if m := firstWord.FindStringSubmatch(d.Statement); m != nil {
		op = strings.ToUpper(m[1])
	}
	if table == "" {
		if m := fromTable.FindStringSubmatch(d.Statement); m != nil {
			table = unquote(m[1])
			if m[2] != "" {
				keyspace, table = table, unquote(m[2])
			}
		}
	}
	return op, keyspace, table
}

func unquote(s string) string {
	if strings.HasPrefix(s, `"`) {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}

// childName is the name of a span of kind ("page", "range") in the stream
// of ctx: "SELECT users page".
func childName(ctx context.Context, kind string) string {
	if s, ok := ctx.Value(streamKey{}).(*stream); ok {
		return s.name + " " + kind
	}
	return kind
}

// TraceStreamStart starts the stream's span.
func (t *Tracer) TraceStreamStart(ctx context.Context, d cqlseq.TraceStreamStartData) context.Context {
	if t == nil { // a nil *Tracer records nothing
		return ctx
	}
	op, keyspace, table := describe(d)
	name := op
	if table != "" {
		name += " " + table
	} else if keyspace != "" {
		name += " " + keyspace
	}
	common := []attribute.KeyValue{attribute.String("db.system.name", "cassandra"), attribute.String("db.operation.name", op)}
	if keyspace != "" {
		common = append(common, attribute.String("db.namespace", keyspace))
	}
	if table != "" {
		common = append(common, attribute.String("db.collection.name", table))
	}
	attrs := common[:len(common):len(common)]
	if d.Statement != "" { // a scan refused before its statement was known has none
		attrs = append(attrs, attribute.String("db.query.text", d.Statement))
	}
	if d.FetchSize > 0 {
		attrs = append(attrs, attribute.Int("cassandra.page.size", d.FetchSize))
	}
	if d.Consistency != "" {
		attrs = append(attrs, attribute.String("cassandra.consistency.level", strings.ToLower(d.Consistency)))
	}
	if d.Parallelism > 0 {
		attrs = append(attrs, attribute.Int("cqlseq.scan.parallelism", d.Parallelism))
	}
	ctx, _ = t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, streamKey{}, &stream{name: name, attrs: common})
}

// TraceStreamEnd ends the stream's span.
func (t *Tracer) TraceStreamEnd(ctx context.Context, d cqlseq.TraceStreamEndData) {
	if t == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(
		attribute.Int64("db.response.returned_rows", d.Rows),
		attribute.Int("cqlseq.pages", d.Pages),
		attribute.String("cqlseq.end_reason", d.Reason.String()),
	)
	switch d.Reason {
	case cqlseq.EndError:
		span.SetAttributes(attribute.String("error.type", errorType(d.Err)))
		if code := statusCode(d.Err); code != "" {
			span.SetAttributes(attribute.String("db.response.status_code", code))
		}
		span.RecordError(d.Err)
		span.SetStatus(codes.Error, d.Err.Error())
	case cqlseq.EndCanceled:
		// The caller's cancel is no failure; a passed deadline is.
		if errors.Is(d.Err, context.DeadlineExceeded) {
			span.SetAttributes(attribute.String("error.type", "timeout"))
			span.SetStatus(codes.Error, d.Err.Error())
		}
	case cqlseq.EndPanic:
		span.SetStatus(codes.Error, "panicked, in the loop body or in a request")
	}
	span.End()
}

// TracePageStart starts a page request's span.
func (t *Tracer) TracePageStart(ctx context.Context, d cqlseq.TracePageStartData) context.Context {
	if t == nil {
		return ctx
	}
	at := time.Now()
	ctx, _ = t.tracer.Start(ctx, childName(ctx, "page"), trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at),
		trace.WithAttributes(attribute.Int("cqlseq.page.number", d.Page), attribute.Int("cqlseq.page.attempt", d.Attempt)))
	return context.WithValue(ctx, pageKey{}, pageStart{at})
}

// TracePageEnd ends a page request's span, at the time its page arrived,
// and records its metrics.
func (t *Tracer) TracePageEnd(ctx context.Context, d cqlseq.TracePageEndData) {
	if t == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	var attrs []attribute.KeyValue
	if s, ok := ctx.Value(streamKey{}).(*stream); ok {
		attrs = append(attrs, s.attrs...)
	}
	if host, port, err := net.SplitHostPort(d.Host); err == nil {
		attrs = append(attrs, attribute.String("server.address", host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, attribute.Int("server.port", p))
		}
	}
	// A page the stream no longer wanted (it had stopped, its request
	// cancelled) is no failure: it is marked, and not measured.
	abandoned := errors.Is(d.Err, context.Canceled)
	if d.Err != nil && !abandoned {
		attrs = append(attrs, attribute.String("error.type", errorType(d.Err)))
		if code := statusCode(d.Err); code != "" {
			attrs = append(attrs, attribute.String("db.response.status_code", code))
		}
	}
	span.SetAttributes(attrs...)
	span.SetAttributes(attribute.Int("db.response.returned_rows", d.Rows))
	for _, w := range d.Warnings {
		span.AddEvent("cassandra.warning", trace.WithAttributes(attribute.String("message", w)))
	}
	switch {
	case abandoned:
		span.SetAttributes(attribute.Bool("cqlseq.page.abandoned", true))
	case d.Err != nil:
		span.RecordError(d.Err)
		span.SetStatus(codes.Error, d.Err.Error())
	}
	end := time.Now()
	if p, ok := ctx.Value(pageKey{}).(pageStart); ok {
		end = p.at.Add(d.Latency)
	}
	span.End(trace.WithTimestamp(end))
	if abandoned {
		return
	}
	set := metric.WithAttributes(attrs...)
	t.duration.Record(ctx, d.Latency.Seconds(), set)
	if d.Err == nil {
		t.rows.Record(ctx, int64(d.Rows), set)
	}
}

// TraceRangeStart starts the span of a scan's token range.
func (t *Tracer) TraceRangeStart(ctx context.Context, d cqlseq.TraceRangeStartData) context.Context {
	if t == nil {
		return ctx
	}
	ctx, _ = t.tracer.Start(ctx, childName(ctx, "range"), trace.WithAttributes(
		attribute.Int64("cqlseq.range.start", d.Start),
		attribute.Int64("cqlseq.range.end", d.End),
		attribute.StringSlice("cqlseq.range.replicas", d.Replicas),
		attribute.Bool("cqlseq.range.resumed", d.Resumed),
	))
	return ctx
}

// TraceRangeEnd ends the span of a scan's token range.
func (t *Tracer) TraceRangeEnd(ctx context.Context, d cqlseq.TraceRangeEndData) {
	if t == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(
		attribute.Int64("db.response.returned_rows", d.Rows),
		attribute.Int("cqlseq.pages", d.Pages),
		attribute.Bool("cqlseq.range.done", d.Done),
	)
	switch {
	case d.Done || d.Err == nil:
	case errors.Is(d.Err, context.Canceled):
		// The scan stopped (a break, another range's failure): no failure
		// of this range.
		span.SetAttributes(attribute.Bool("cqlseq.range.stopped", true))
	default:
		span.SetAttributes(attribute.String("error.type", errorType(d.Err)))
		if code := statusCode(d.Err); code != "" {
			span.SetAttributes(attribute.String("db.response.status_code", code))
		}
		span.RecordError(d.Err)
		span.SetStatus(codes.Error, d.Err.Error())
	}
	span.End()
}
