package cqlseqotel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqotel"
)

// These tests drive the Tracer as cqlseq does, with its Trace*Data
// values, and compare what the SDK exports with what the conventions ask:
// no Cassandra needed.

// recorder is a Tracer whose spans and metrics the test reads.
type recorder struct {
	*cqlseqotel.Tracer
	spans   *tracetest.InMemoryExporter
	metrics *sdkmetric.ManualReader
}

func newRecorder(t *testing.T, opts ...cqlseqotel.Option) recorder {
	t.Helper()
	r := recorder{spans: tracetest.NewInMemoryExporter(), metrics: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.metrics))
	t.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	r.Tracer = cqlseqotel.NewTracer(append([]cqlseqotel.Option{cqlseqotel.WithTracerProvider(tp), cqlseqotel.WithMeterProvider(mp)}, opts...)...)
	return r
}

// span is what the tests compare of an exported span.
type span struct {
	Name, Parent string // the parent's name, "" for a root
	Kind         trace.SpanKind
	Attrs        map[string]string
	Status       codes.Code
	Description  string
	Events       []string // name, then attributes, as key=value
}

// got returns the spans exported, in the order they started.
func (r recorder) got(t *testing.T) []span {
	t.Helper()
	stubs := r.spans.GetSpans()
	slices.SortStableFunc(stubs, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	names := map[trace.SpanID]string{}
	for _, s := range stubs {
		names[s.SpanContext.SpanID()] = s.Name
	}
	var spans []span
	for _, s := range stubs {
		sp := span{Name: s.Name, Parent: names[s.Parent.SpanID()], Kind: s.SpanKind, Attrs: attrs(s.Attributes), Status: s.Status.Code, Description: s.Status.Description}
		if s.EndTime.Before(s.StartTime) {
			t.Errorf("span %q ends before it starts", s.Name)
		}
		for _, e := range s.Events {
			ev := []string{e.Name}
			for _, kv := range e.Attributes {
				if kv.Key != "exception.stacktrace" {
					ev = append(ev, string(kv.Key)+"="+kv.Value.Emit())
				}
			}
			sp.Events = append(sp.Events, strings.Join(ev, " "))
		}
		spans = append(spans, sp)
	}
	return spans
}

// attrs returns attributes as a map, values as strings.
func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// point is what the tests compare of a metric's data point.
type point struct {
	Metric, Unit string
	Attrs        map[string]string
	Count        uint64
	Sum          float64
}

func (r recorder) points(t *testing.T) []point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return pointsOf(t, rm)
}

func pointsOf(t *testing.T, rm metricdata.ResourceMetrics) []point {
	t.Helper()
	var ps []point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					ps = append(ps, point{m.Name, m.Unit, attrs(p.Attributes.ToSlice()), p.Count, p.Sum})
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					ps = append(ps, point{m.Name, m.Unit, attrs(p.Attributes.ToSlice()), p.Count, float64(p.Sum)})
				}
			default:
				t.Errorf("metric %s is a %T", m.Name, m.Data)
			}
		}
	}
	slices.SortFunc(ps, func(a, b point) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return ps
}

// cassandraError stands for the driver's error for a Cassandra error
// code: the driver's own types keep the code in an unexported field, set
// only when it reads an error frame (the tests on the node get real ones).
type cassandraError struct {
	code int
	msg  string
}

func (e cassandraError) Error() string   { return e.msg }
func (e cassandraError) Code() int       { return e.code }
func (e cassandraError) Message() string { return e.msg }

const stmt = "SELECT id, v FROM ks.items WHERE k = ?"

var start = cqlseq.TraceStreamStartData{Keyspace: "ks", Statement: stmt, FetchSize: 10, Consistency: "LOCAL_QUORUM"}

// The tracer and meter are the instrumentation's: its name, its version,
// the schema URL of the conventions followed.
func TestScope(t *testing.T) {
	r := newRecorder(t)
	ctx := r.TraceStreamStart(context.Background(), start)
	pctx := r.TracePageStart(ctx, cqlseq.TracePageStartData{Page: 1})
	r.TracePageEnd(pctx, cqlseq.TracePageEndData{Page: 1, Rows: 3, Latency: time.Millisecond, Host: "10.0.0.1:9042"})
	r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Rows: 3, Pages: 1, Reason: cqlseq.EndComplete})
	want := instrumentation.Scope{Name: "github.com/cqlseq/cqlseq/cqlseqotel", Version: cqlseqotel.Version, SchemaURL: "https://opentelemetry.io/schemas/1.39.0"}
	spans := r.spans.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, s := range spans {
		if diff := cmp.Diff(want, s.InstrumentationScope, cmp.AllowUnexported(attribute.Set{})); diff != "" {
			t.Errorf("span %q's scope (-want +got)\n%s", s.Name, diff)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := r.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if len(rm.ScopeMetrics) != 1 {
		t.Fatalf("%d metric scopes", len(rm.ScopeMetrics))
	}
	if diff := cmp.Diff(want, rm.ScopeMetrics[0].Scope, cmp.AllowUnexported(attribute.Set{})); diff != "" {
		t.Errorf("metrics' scope (-want +got)\n%s", diff)
	}
	if want.SchemaURL != semconv.SchemaURL {
		t.Errorf("the test's schema URL %s is not semconv's %s", want.SchemaURL, semconv.SchemaURL)
	}
}

// A stream that stops in its second page: the stream's span is internal
// and holds no db.system.name; each request is a client span, named by the
// conventions' rule, with the database attributes at its start, its node
// and rows at its end, Cassandra's warnings as events; the prefetched page
// the stream never used ends abandoned, with no error. Only the used pages
// are measured, with the same attributes as their spans' outcome.
func TestStreamGolden(t *testing.T) {
	r := newRecorder(t)
	ctx := r.TraceStreamStart(context.Background(), start)
	for page := 1; page <= 3; page++ {
		pctx := r.TracePageStart(ctx, cqlseq.TracePageStartData{Page: page})
		d := cqlseq.TracePageEndData{Page: page, Rows: 10, Latency: time.Duration(page) * time.Millisecond, Host: "10.0.0.1:9042"}
		switch page {
		case 2:
			d.Host, d.Warnings = "10.0.0.2:9142", []string{"Read 10 live rows and 1001 tombstone cells"}
		case 3:
			d.Rows, d.Host, d.Err = 0, "", context.Canceled
		}
		r.TracePageEnd(pctx, d)
	}
	r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Rows: 12, Pages: 2, Reason: cqlseq.EndBreak})

	db := map[string]string{
		"db.system.name":              "cassandra",
		"db.namespace":                "ks",
		"db.collection.name":          "ks.items",
		"db.operation.name":           "SELECT",
		"db.query.summary":            "SELECT ks.items",
		"db.query.text":               stmt, // parameterized: as written
		"cassandra.page.size":         "10",
		"cassandra.consistency.level": "local_quorum",
	}
	page := func(n int, extra map[string]string) map[string]string {
		m := map[string]string{"cqlseq.page.number": fmt.Sprint(n), "cqlseq.page.attempt": "0"}
		for k, v := range db {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	want := []span{
		{Name: "stream SELECT ks.items", Kind: trace.SpanKindInternal, Attrs: map[string]string{
			"db.namespace": "ks", "db.collection.name": "ks.items", "db.operation.name": "SELECT", "db.query.summary": "SELECT ks.items",
			"cassandra.page.size": "10", "cassandra.consistency.level": "local_quorum",
			"db.response.returned_rows": "12", "cqlseq.pages": "2", "cqlseq.end_reason": "break",
		}},
		{Name: "SELECT ks.items", Parent: "stream SELECT ks.items", Kind: trace.SpanKindClient, Attrs: page(1, map[string]string{
			"db.response.returned_rows": "10", "network.peer.address": "10.0.0.1", "network.peer.port": "9042",
			"server.address": "10.0.0.1", "server.port": "9042",
		})},
		{Name: "SELECT ks.items", Parent: "stream SELECT ks.items", Kind: trace.SpanKindClient, Attrs: page(2, map[string]string{
			"db.response.returned_rows": "10", "network.peer.address": "10.0.0.2", "network.peer.port": "9142",
			"server.address": "10.0.0.2", "server.port": "9142",
		}), Events: []string{"cqlseq.warning cqlseq.warning.message=Read 10 live rows and 1001 tombstone cells"}},
		{Name: "SELECT ks.items", Parent: "stream SELECT ks.items", Kind: trace.SpanKindClient, Attrs: page(3, map[string]string{
			"db.response.returned_rows": "0", "cqlseq.page.abandoned": "true",
		})},
	}
	if diff := cmp.Diff(want, r.got(t)); diff != "" {
		t.Errorf("spans (-want +got)\n%s", diff)
	}

	measured := func(host, port string) map[string]string {
		return map[string]string{
			"db.system.name": "cassandra", "db.namespace": "ks", "db.collection.name": "ks.items", "db.operation.name": "SELECT",
			"db.query.summary": "SELECT ks.items", "server.address": host, "server.port": port,
		}
	}
	wantPoints := []point{
		{"db.client.operation.duration", "s", measured("10.0.0.1", "9042"), 1, 0.001},
		{"db.client.operation.duration", "s", measured("10.0.0.2", "9142"), 1, 0.002},
		{"db.client.response.returned_rows", "{row}", measured("10.0.0.1", "9042"), 1, 10},
		{"db.client.response.returned_rows", "{row}", measured("10.0.0.2", "9142"), 1, 10},
	}
	slices.SortFunc(wantPoints, func(a, b point) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	var rm metricdata.ResourceMetrics
	if err := r.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPoints, pointsOf(t, rm)); diff != "" {
		t.Errorf("metrics (-want +got)\n%s", diff)
	}
	// The duration's histogram has the conventions' buckets.
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "db.client.operation.duration" {
			if want := []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}; !slices.Equal(h.DataPoints[0].Bounds, want) {
				t.Errorf("%s's buckets %v, want %v", m.Name, h.DataPoints[0].Bounds, want)
			}
			b, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s as exported:\n%s", m.Name, b)
		}
	}

	// A page's span lasts its request's latency, the duration measured.
	for _, s := range r.spans.GetSpans() {
		if s.SpanKind == trace.SpanKindClient && attrs(s.Attributes)["cqlseq.page.number"] == "2" {
			if d := s.EndTime.Sub(s.StartTime); d != 2*time.Millisecond {
				t.Errorf("page 2's span lasts %v, its request 2ms", d)
			}
			b, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("page 2's span as exported:\n%s", b)
		}
	}
}

// A request Cassandra refused: its span and its measurement carry
// error.type and db.response.status_code, the protocol's code; its span an
// error status with the message, and the error as an exception, once: the
// stream's span, which ends with the stream's PageError, has the same
// error.type and status code and no second exception event.
func TestFailedPage(t *testing.T) {
	r := newRecorder(t)
	refused := cassandraError{gocql.ErrCodeInvalid, "table items does not exist"}
	ctx := r.TraceStreamStart(context.Background(), start)
	pctx := r.TracePageStart(ctx, cqlseq.TracePageStartData{Page: 1})
	r.TracePageEnd(pctx, cqlseq.TracePageEndData{Page: 1, Latency: time.Millisecond, Host: "10.0.0.1:9042", Err: refused})
	r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndError, Err: &cqlseq.PageError{Page: 1, Failed: 1, Err: refused}})

	spans := r.got(t)
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	stream, page := spans[0], spans[1]
	if page.Attrs["error.type"] != "2200" || page.Attrs["db.response.status_code"] != "2200" ||
		page.Status != codes.Error || page.Description != refused.msg ||
		!slices.Equal(page.Events, []string{"exception exception.type=github.com/cqlseq/cqlseq/cqlseqotel_test.cassandraError exception.message=" + refused.msg}) {
		t.Errorf("failed page's span: %+v", page)
	}
	if stream.Attrs["error.type"] != "2200" || stream.Attrs["db.response.status_code"] != "2200" || stream.Attrs["cqlseq.end_reason"] != "error" ||
		stream.Status != codes.Error || !strings.Contains(stream.Description, refused.msg) || len(stream.Events) != 0 {
		t.Errorf("the stream's span after a failed page: %+v", stream)
	}
	points := r.points(t)
	if len(points) != 1 || points[0].Metric != "db.client.operation.duration" ||
		points[0].Attrs["error.type"] != "2200" || points[0].Attrs["db.response.status_code"] != "2200" {
		t.Errorf("a failed request's measurement (and no rows): %+v", points)
	}

	// An error of no page (a value that did not decode) is the stream's
	// exception, with the driver's type as error.type and no status code.
	r.spans.Reset()
	ctx = r.TraceStreamStart(context.Background(), start)
	r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndError, Err: &cqlseq.DecodeError{Page: 1, Row: 1, Err: gocql.UnmarshalError("can not unmarshal")}})
	spans = r.got(t)
	if len(spans) != 1 || spans[0].Attrs["error.type"] != "github.com/apache/cassandra-gocql-driver/v2.UnmarshalError" ||
		spans[0].Attrs["db.response.status_code"] != "" || len(spans[0].Events) != 1 || spans[0].Status != codes.Error {
		t.Errorf("a stream that failed to decode: %+v", spans)
	}
}

// How a stream ends: a passed deadline is an error ("timeout"), a cancel
// is not, a panic is.
func TestStreamEnds(t *testing.T) {
	for _, c := range []struct {
		d                cqlseq.TraceStreamEndData
		status           codes.Code
		errorType, cause string
	}{
		{cqlseq.TraceStreamEndData{Reason: cqlseq.EndComplete}, codes.Unset, "", ""},
		{cqlseq.TraceStreamEndData{Reason: cqlseq.EndCanceled, Err: fmt.Errorf("cqlseq: %w", context.Canceled)}, codes.Unset, "", "canceled"},
		{cqlseq.TraceStreamEndData{Reason: cqlseq.EndCanceled, Err: fmt.Errorf("cqlseq: %w", context.DeadlineExceeded)}, codes.Error, "timeout", "canceled"},
		{cqlseq.TraceStreamEndData{Reason: cqlseq.EndPanic}, codes.Error, "panic", "panic"},
	} {
		r := newRecorder(t)
		r.TraceStreamEnd(r.TraceStreamStart(context.Background(), start), c.d)
		spans := r.got(t)
		if len(spans) != 1 || spans[0].Status != c.status || spans[0].Attrs["error.type"] != c.errorType || spans[0].Attrs["cqlseq.end_reason"] != c.d.Reason.String() {
			t.Errorf("%v, %v: %+v", c.d.Reason, c.d.Err, spans)
		}
	}
}

// A scan: its span, a span per token range under it, the range's
// requests under the range's; a range that failed is an error, one the
// scan stopped is not.
func TestScanGolden(t *testing.T) {
	r := newRecorder(t)
	scan := cqlseq.TraceStreamStartData{Keyspace: "ks", Table: "items", Statement: `SELECT * FROM "ks"."items" WHERE token("id") > ? AND token("id") <= ?`, FetchSize: 100, Parallelism: 2}
	ctx := r.TraceStreamStart(context.Background(), scan)
	for i, end := range []error{nil, context.Canceled, cassandraError{gocql.ErrCodeReadTimeout, "read timeout"}} {
		rctx := r.TraceRangeStart(ctx, cqlseq.TraceRangeStartData{Start: int64(i * 10), End: int64(i*10 + 10), Replicas: []string{"h1", "h2"}, Resumed: i == 1})
		pctx := r.TracePageStart(rctx, cqlseq.TracePageStartData{Page: 1})
		r.TracePageEnd(pctx, cqlseq.TracePageEndData{Page: 1, Rows: 5, Host: "10.0.0.1:9042", Err: end})
		r.TraceRangeEnd(rctx, cqlseq.TraceRangeEndData{Rows: 5, Pages: 1, Done: end == nil, Err: end})
		time.Sleep(time.Millisecond) // distinct start times, to sort by
	}
	r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Rows: 15, Pages: 3, Reason: cqlseq.EndComplete})
	spans := r.got(t)
	var got []string
	for _, s := range spans {
		got = append(got, fmt.Sprintf("%s < %s (%v) %s %s %s %s", s.Name, s.Parent, s.Kind, s.Status,
			s.Attrs["cqlseq.range.done"], s.Attrs["cqlseq.range.stopped"], s.Attrs["error.type"]))
	}
	want := []string{
		"scan SELECT ks.items <  (internal) Unset   ",
		"range SELECT ks.items < scan SELECT ks.items (internal) Unset true  ",
		"SELECT ks.items < range SELECT ks.items (client) Unset   ",
		"range SELECT ks.items < scan SELECT ks.items (internal) Unset false true ",
		"SELECT ks.items < range SELECT ks.items (client) Unset   ",
		"range SELECT ks.items < scan SELECT ks.items (internal) Error false  1200",
		"SELECT ks.items < range SELECT ks.items (client) Error   1200",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if a := spans[0].Attrs; a["cqlseq.scan.parallelism"] != "2" || a["db.collection.name"] != "ks.items" || a["db.response.returned_rows"] != "15" {
		t.Errorf("scan span: %v", a)
	}
	if a := spans[3].Attrs; a["cqlseq.range.start"] != "10" || a["cqlseq.range.end"] != "20" || a["cqlseq.range.replicas"] != `["h1","h2"]` || a["cqlseq.range.resumed"] != "true" {
		t.Errorf("range span: %v", a)
	}
}

// db.query.text: as written with bind markers; sanitized without; absent
// with WithQueryText(false); the sanitizer's with WithQuerySanitizer.
func TestQueryTextOptions(t *testing.T) {
	const literal = "SELECT v FROM ks.items WHERE k = 'secret' AND n = 42"
	for _, c := range []struct {
		name      string
		opts      []cqlseqotel.Option
		statement string
		want      string // "" for no attribute
	}{
		{"parameterized", nil, stmt, stmt},
		{"literals", nil, literal, "SELECT v FROM ks.items WHERE k = ? AND n = ?"},
		{"omitted", []cqlseqotel.Option{cqlseqotel.WithQueryText(false)}, stmt, ""},
		{"sanitizer", []cqlseqotel.Option{cqlseqotel.WithQuerySanitizer(func(s string) string { return strings.ToLower(s) })}, literal, strings.ToLower(literal)},
		{"sanitizer omits", []cqlseqotel.Option{cqlseqotel.WithQuerySanitizer(func(string) string { return "" })}, literal, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRecorder(t, c.opts...)
			ctx := r.TraceStreamStart(context.Background(), cqlseq.TraceStreamStartData{Statement: c.statement})
			r.TracePageEnd(r.TracePageStart(ctx, cqlseq.TracePageStartData{Page: 1}), cqlseq.TracePageEndData{Page: 1})
			r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndComplete})
			for _, s := range r.got(t) {
				got, ok := s.Attrs["db.query.text"]
				switch {
				case s.Kind == trace.SpanKindInternal && ok:
					t.Errorf("the stream's span has db.query.text %q", got)
				case s.Kind == trace.SpanKindClient && (got != c.want || ok != (c.want != "")):
					t.Errorf("db.query.text %q (%v), want %q", got, ok, c.want)
				}
			}
		})
	}
}

// A filtered stream has no spans and no measurements, and its pages and
// ranges none either; the filters see the stream's context and data.
func TestFilter(t *testing.T) {
	type key struct{}
	var seen []string
	r := newRecorder(t,
		cqlseqotel.WithFilter(func(ctx context.Context, d cqlseq.TraceStreamStartData) bool {
			seen = append(seen, fmt.Sprint(ctx.Value(key{}), " ", d.Statement))
			return ctx.Value(key{}) != "health"
		}),
		cqlseqotel.WithFilter(nil),
		cqlseqotel.WithFilter(func(_ context.Context, d cqlseq.TraceStreamStartData) bool { return d.Table != "skipped" }))
	run := func(ctx context.Context, d cqlseq.TraceStreamStartData) {
		ctx = r.TraceStreamStart(ctx, d)
		rctx := r.TraceRangeStart(ctx, cqlseq.TraceRangeStartData{})
		r.TracePageEnd(r.TracePageStart(rctx, cqlseq.TracePageStartData{Page: 1}), cqlseq.TracePageEndData{Page: 1, Rows: 1})
		r.TraceRangeEnd(rctx, cqlseq.TraceRangeEndData{Done: true})
		r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Rows: 1, Pages: 1, Reason: cqlseq.EndComplete})
	}
	// The caller's own span, which a filtered stream must leave open.
	caller := sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	defer caller.Shutdown(context.Background())
	cctx, callerSpan := caller.Tracer("caller").Start(context.WithValue(context.Background(), key{}, "health"), "caller")
	run(cctx, cqlseq.TraceStreamStartData{Statement: "SELECT now() FROM system.local"})
	run(context.Background(), cqlseq.TraceStreamStartData{Statement: "SELECT a FROM ks.t", Keyspace: "ks", Table: "skipped", Parallelism: 1})
	if spans := r.spans.GetSpans(); len(spans) != 0 || !callerSpan.IsRecording() {
		t.Fatalf("filtered streams exported %d spans; the caller's span recording: %v", len(spans), callerSpan.IsRecording())
	}
	if points := r.points(t); len(points) != 0 {
		t.Fatalf("filtered streams measured: %+v", points)
	}
	run(context.Background(), cqlseq.TraceStreamStartData{Statement: "SELECT a FROM ks.t"})
	if spans := r.got(t); len(spans) != 3 || spans[0].Name != "stream SELECT ks.t" {
		t.Fatalf("a stream the filters accept: %+v", spans)
	}
	if want := []string{"health SELECT now() FROM system.local", "<nil> SELECT a FROM ks.t", "<nil> SELECT a FROM ks.t"}; !slices.Equal(seen, want) {
		t.Errorf("the first filter saw %q, want %q", seen, want)
	}
	callerSpan.End()
}

// WithAttributes: on every span (stream, range, page), at its start, not
// on the metrics; given twice, both.
func TestWithAttributes(t *testing.T) {
	r := newRecorder(t,
		cqlseqotel.WithAttributes(attribute.String("tenant", "acme")),
		cqlseqotel.WithAttributes(attribute.Int("shard", 7)))
	ctx := r.TraceStreamStart(context.Background(), cqlseq.TraceStreamStartData{Statement: "SELECT a FROM ks.t", Keyspace: "ks", Table: "t", Parallelism: 1})
	rctx := r.TraceRangeStart(ctx, cqlseq.TraceRangeStartData{})
	r.TracePageEnd(r.TracePageStart(rctx, cqlseq.TracePageStartData{Page: 1}), cqlseq.TracePageEndData{Page: 1, Rows: 1, Host: "10.0.0.1:9042"})
	r.TraceRangeEnd(rctx, cqlseq.TraceRangeEndData{Done: true})
	r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndComplete})
	spans := r.got(t)
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, s := range spans {
		if s.Attrs["tenant"] != "acme" || s.Attrs["shard"] != "7" {
			t.Errorf("span %q (%v): %v", s.Name, s.Kind, s.Attrs)
		}
	}
	for _, p := range r.points(t) {
		if _, ok := p.Attrs["tenant"]; ok {
			t.Errorf("metric %s has the spans' attributes: %v", p.Metric, p.Attrs)
		}
	}
}

// WithSpanNameFormatter names each type of span; an empty name keeps the
// default.
func TestSpanNameFormatter(t *testing.T) {
	r := newRecorder(t, cqlseqotel.WithSpanNameFormatter(func(st cqlseqotel.SpanType, name string, d cqlseq.TraceStreamStartData) string {
		if st == cqlseqotel.RangeSpan {
			return ""
		}
		return fmt.Sprintf("%v|%s|%s", st, name, d.Table)
	}))
	ctx := r.TraceStreamStart(context.Background(), cqlseq.TraceStreamStartData{Statement: "SELECT a FROM ks.t", Keyspace: "ks", Table: "t", Parallelism: 1})
	rctx := r.TraceRangeStart(ctx, cqlseq.TraceRangeStartData{})
	r.TracePageEnd(r.TracePageStart(rctx, cqlseq.TracePageStartData{Page: 1}), cqlseq.TracePageEndData{Page: 1})
	r.TraceRangeEnd(rctx, cqlseq.TraceRangeEndData{Done: true})
	r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndComplete})
	var got []string
	for _, s := range r.got(t) {
		got = append(got, s.Name)
	}
	if want := []string{"stream|scan SELECT ks.t|t", "range SELECT ks.t", "page|SELECT ks.t|t"}; !slices.Equal(got, want) {
		t.Errorf("span names %q, want %q", got, want)
	}
}

// The Tracer ends only the spans it started: ends given a context without
// its spans (the caller's span in it) change nothing.
func TestForeignContext(t *testing.T) {
	r := newRecorder(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	defer tp.Shutdown(context.Background())
	ctx, caller := tp.Tracer("caller").Start(context.Background(), "caller")
	r.TracePageEnd(ctx, cqlseq.TracePageEndData{Page: 1, Err: errors.New("x")})
	r.TraceRangeEnd(ctx, cqlseq.TraceRangeEndData{Err: errors.New("x")})
	r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndError, Err: errors.New("x")})
	if !caller.IsRecording() || len(r.spans.GetSpans()) != 0 {
		t.Fatalf("the caller's span ended (%v), %d spans exported", !caller.IsRecording(), len(r.spans.GetSpans()))
	}
	// A page started with no stream's context is not traced.
	if pctx := r.TracePageStart(ctx, cqlseq.TracePageStartData{Page: 1}); pctx != ctx {
		t.Fatal("a page outside a stream was traced")
	}
	caller.End()
}

// An error is an exception event once, on the span where it happened: a
// failed request's, else a failed range's, else the stream's.
func TestExceptionsRecordedOnce(t *testing.T) {
	refused := cassandraError{gocql.ErrCodeReadFailure, "read failure"}
	undecodable := &cqlseq.DecodeError{Page: 1, Row: 3, Err: gocql.UnmarshalError("no")}
	for _, c := range []struct {
		name     string
		pageErr  error // the request's failure, or nil
		rangeErr error
		want     map[string]int // exception events by span name
	}{
		{"a request's", refused, &cqlseq.RangeError{Err: &cqlseq.PageError{Err: refused}},
			map[string]int{"SELECT ks.t": 1}},
		{"a range's", nil, &cqlseq.RangeError{Err: undecodable},
			map[string]int{"range SELECT ks.t": 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRecorder(t)
			ctx := r.TraceStreamStart(context.Background(), cqlseq.TraceStreamStartData{Statement: "SELECT a FROM ks.t", Keyspace: "ks", Table: "t", Parallelism: 1})
			rctx := r.TraceRangeStart(ctx, cqlseq.TraceRangeStartData{})
			r.TracePageEnd(r.TracePageStart(rctx, cqlseq.TracePageStartData{Page: 1}), cqlseq.TracePageEndData{Page: 1, Err: c.pageErr})
			r.TraceRangeEnd(rctx, cqlseq.TraceRangeEndData{Err: c.rangeErr})
			r.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndError, Err: c.rangeErr})
			got := map[string]int{}
			for _, s := range r.got(t) {
				if s.Status != codes.Error && s.Name != "SELECT ks.t" {
					t.Errorf("span %q: status %v", s.Name, s.Status)
				}
				for _, e := range s.Events {
					if strings.HasPrefix(e, "exception ") {
						got[s.Name]++
					}
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("exception events (-want +got)\n%s", diff)
			}
		})
	}
}
