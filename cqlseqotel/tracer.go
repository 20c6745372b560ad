package cqlseqotel

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/semconv/v1.39.0/dbconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/cqlseq/cqlseq"
)

// Tracer is a [cqlseq.Tracer] and [cqlseq.RangeTracer] that records
// OpenTelemetry spans and metrics. Make one with [NewTracer]; it is safe
// for concurrent use by any number of streams. A nil *Tracer records
// nothing.
type Tracer struct {
	cfg      config
	tracer   trace.Tracer
	duration dbconv.ClientOperationDuration
	rows     dbconv.ClientResponseReturnedRows
}

var (
	_ cqlseq.Tracer      = (*Tracer)(nil)
	_ cqlseq.RangeTracer = (*Tracer)(nil)
)

// NewTracer returns a Tracer configured by opts: the global providers,
// every stream traced, and the default span names and query text, unless
// opts say otherwise.
func NewTracer(opts ...Option) *Tracer {
	t := &Tracer{cfg: newConfig(opts)}
	t.tracer = t.cfg.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version), trace.WithSchemaURL(semconv.SchemaURL))
	m := t.cfg.mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version), metric.WithSchemaURL(semconv.SchemaURL))
	var err error
	// The bucket boundaries the conventions advise for each.
	if t.duration, err = dbconv.NewClientOperationDuration(m,
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10)); err != nil {
		otel.Handle(err)
	}
	if t.rows, err = dbconv.NewClientResponseReturnedRows(m,
		metric.WithExplicitBucketBoundaries(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)); err != nil {
		otel.Handle(err)
	}
	return t
}

// stream is what a stream's context carries for its end, its pages and
// its ranges. A stream the filters refused carries skipped.
type stream struct {
	span  trace.Span
	names names
	// page are the attributes of a page request's span at its start;
	// measured those of its metrics (with its server's and outcome's).
	page, measured []attribute.KeyValue
}

var skipped = &stream{}

type streamKey struct{}

// request is what a page request's context carries: its span and when it
// was sent.
type request struct {
	span trace.Span
	at   time.Time
}

type requestKey struct{}

// tokenRange is what a range's context carries.
type tokenRange struct{ span trace.Span }

type rangeKey struct{}

func streamOf(ctx context.Context) *stream {
	s, _ := ctx.Value(streamKey{}).(*stream)
	return s
}

// TraceStreamStart starts the stream's span, unless a filter refuses the
// stream.
func (t *Tracer) TraceStreamStart(ctx context.Context, d cqlseq.TraceStreamStartData) context.Context {
	if t == nil { // a nil *Tracer records nothing
		return ctx
	}
	if !t.cfg.traced(ctx, d) {
		return context.WithValue(ctx, streamKey{}, skipped)
	}
	desc := describe(d)
	s := &stream{names: spanNames(d, desc, t.cfg.names)}
	// What the stream and its requests share: the operation and its
	// target, and Cassandra's settings.
	var common []attribute.KeyValue
	if desc.namespace != "" {
		common = append(common, semconv.DBNamespace(desc.namespace))
	}
	if desc.collection != "" {
		common = append(common, semconv.DBCollectionName(desc.collection))
	}
	if desc.operation != "" {
		common = append(common, semconv.DBOperationName(desc.operation))
	}
	if desc.summary != "" {
		common = append(common, semconv.DBQuerySummary(desc.summary))
	}
	s.measured = append([]attribute.KeyValue{semconv.DBSystemNameCassandra}, common...)
	if d.FetchSize > 0 {
		common = append(common, semconv.CassandraPageSize(d.FetchSize))
	}
	if d.Consistency != "" {
		common = append(common, semconv.CassandraConsistencyLevelKey.String(strings.ToLower(d.Consistency)))
	}
	// A request's span: a call to Cassandra, with the statement.
	s.page = append(s.page, semconv.DBSystemNameCassandra)
	s.page = append(s.page, common...)
	if text := t.cfg.queryText(d.Statement); text != "" {
		s.page = append(s.page, semconv.DBQueryText(text))
	}
	s.page = append(s.page, t.cfg.attrs...)
	// The stream's span: no call to Cassandra (no db.system.name), but
	// the operation it runs.
	attrs := common
	if d.Parallelism > 0 {
		attrs = append(attrs, scanParallelismKey.Int(d.Parallelism))
	}
	attrs = append(attrs, t.cfg.attrs...)
	ctx, s.span = t.tracer.Start(ctx, s.names.stream, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, streamKey{}, s)
}

// TraceStreamEnd ends the stream's span.
func (t *Tracer) TraceStreamEnd(ctx context.Context, d cqlseq.TraceStreamEndData) {
	s := streamOf(ctx)
	if t == nil || s == nil || s == skipped {
		return
	}
	s.span.SetAttributes(
		semconv.DBResponseReturnedRowsKey.Int64(d.Rows),
		pagesKey.Int(d.Pages),
		endReasonKey.String(d.Reason.String()),
	)
	switch d.Reason {
	case cqlseq.EndError:
		failed(s.span, d.Err, pageFailed, rangeFailed)
	case cqlseq.EndCanceled:
		// The caller's cancel is no failure; a passed deadline is.
		if errors.Is(d.Err, context.DeadlineExceeded) {
			failed(s.span, d.Err, pageFailed, rangeFailed)
		}
	case cqlseq.EndPanic:
		s.span.SetAttributes(semconv.ErrorTypeKey.String("panic"))
		s.span.SetStatus(codes.Error, "panicked, in the loop body or in a request")
	}
	s.span.End()
}

// failed marks span as failed with err: its error.type and
// db.response.status_code, its status, and err as an exception event
// unless a span below has it already: a page request's that failed (err
// is a PageError), or for the stream, a range's (a RangeError).
func failed(span trace.Span, err error, below ...func(error) bool) {
	span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
	if code := statusCode(err); code != "" {
		span.SetAttributes(semconv.DBResponseStatusCode(code))
	}
	if !slices.ContainsFunc(below, func(recorded func(error) bool) bool { return recorded(err) }) {
		span.RecordError(err)
	}
	span.SetStatus(codes.Error, err.Error())
}

// pageFailed and rangeFailed report whether err is a page's failure, a
// range's: recorded on its span.
func pageFailed(err error) bool  { return errors.As(err, new(*cqlseq.PageError)) }
func rangeFailed(err error) bool { return errors.As(err, new(*cqlseq.RangeError)) }

// TracePageStart starts a page request's span.
func (t *Tracer) TracePageStart(ctx context.Context, d cqlseq.TracePageStartData) context.Context {
	s := streamOf(ctx)
	if t == nil || s == nil || s == skipped {
		return ctx
	}
	r := request{at: time.Now()}
	attrs := make([]attribute.KeyValue, 0, len(s.page)+2)
	attrs = append(attrs, s.page...)
	attrs = append(attrs, pageNumberKey.Int(d.Page), pageAttemptKey.Int(d.Attempt))
	ctx, r.span = t.tracer.Start(ctx, s.names.page, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(r.at), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, requestKey{}, r)
}

// TracePageEnd ends a page request's span, at the time its page arrived,
// and records its metrics.
func (t *Tracer) TracePageEnd(ctx context.Context, d cqlseq.TracePageEndData) {
	r, ok := ctx.Value(requestKey{}).(request)
	s := streamOf(ctx)
	if t == nil || !ok || s == nil {
		return
	}
	measured := append([]attribute.KeyValue(nil), s.measured...)
	if host, port, err := net.SplitHostPort(d.Host); err == nil {
		r.span.SetAttributes(semconv.NetworkPeerAddress(host))
		measured = append(measured, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			r.span.SetAttributes(semconv.NetworkPeerPort(p))
			measured = append(measured, semconv.ServerPort(p))
		}
	}
	// A page the stream no longer wanted (it had stopped, its request
	// cancelled) is no failure: it is marked, and not measured.
	abandoned := errors.Is(d.Err, context.Canceled)
	if d.Err != nil && !abandoned {
		measured = append(measured, semconv.ErrorTypeKey.String(errorType(d.Err)))
		if code := statusCode(d.Err); code != "" {
			measured = append(measured, semconv.DBResponseStatusCode(code))
		}
	}
	r.span.SetAttributes(measured[len(s.measured):]...)
	r.span.SetAttributes(semconv.DBResponseReturnedRows(d.Rows))
	for _, w := range d.Warnings {
		r.span.AddEvent(warningEvent, trace.WithAttributes(warningMessageKey.String(w)))
	}
	switch {
	case abandoned:
		r.span.SetAttributes(pageAbandonedKey.Bool(true))
	case d.Err != nil:
		r.span.RecordError(d.Err)
		r.span.SetStatus(codes.Error, d.Err.Error())
	}
	r.span.End(trace.WithTimestamp(r.at.Add(d.Latency)))
	if abandoned {
		return
	}
	set := attribute.NewSet(measured...)
	t.duration.RecordSet(ctx, d.Latency.Seconds(), set)
	if d.Err == nil {
		t.rows.RecordSet(ctx, int64(d.Rows), set)
	}
}

// TraceRangeStart starts the span of a scan's token range.
func (t *Tracer) TraceRangeStart(ctx context.Context, d cqlseq.TraceRangeStartData) context.Context {
	s := streamOf(ctx)
	if t == nil || s == nil || s == skipped {
		return ctx
	}
	attrs := []attribute.KeyValue{
		rangeStartKey.Int64(d.Start),
		rangeEndKey.Int64(d.End),
		rangeReplicasKey.StringSlice(d.Replicas),
		rangeResumedKey.Bool(d.Resumed),
	}
	attrs = append(attrs, t.cfg.attrs...)
	var r tokenRange
	ctx, r.span = t.tracer.Start(ctx, s.names.rng, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, rangeKey{}, r)
}

// TraceRangeEnd ends the span of a scan's token range.
func (t *Tracer) TraceRangeEnd(ctx context.Context, d cqlseq.TraceRangeEndData) {
	r, ok := ctx.Value(rangeKey{}).(tokenRange)
	if t == nil || !ok {
		return
	}
	r.span.SetAttributes(
		semconv.DBResponseReturnedRowsKey.Int64(d.Rows),
		pagesKey.Int(d.Pages),
		rangeDoneKey.Bool(d.Done),
	)
	switch {
	case d.Done || d.Err == nil:
	case errors.Is(d.Err, context.Canceled):
		// The scan stopped (a break, another range's failure): no failure
		// of this range.
		r.span.SetAttributes(rangeStoppedKey.Bool(true))
	default:
		failed(r.span, d.Err, pageFailed)
	}
	r.span.End()
}
