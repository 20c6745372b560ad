package cqlseqotel_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqotel"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(m))
}

// setup returns a tracer recording into an in-memory exporter and a
// manual metric reader, and a table of n rows (id int PRIMARY KEY, v text).
func setup(t *testing.T, n int) (*cqlseqotel.Tracer, *tracetest.InMemoryExporter, *sdkmetric.ManualReader, *gocql.Session, string, string) {
	t.Helper()
	s := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, s)
	cqlseqtest.Exec(t, s, "CREATE TABLE "+ks+".items (id int PRIMARY KEY, v text)")
	if err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+ks+".items (id, v) VALUES (?, ?)", n, 4,
		func(i int) []any { return []any{i, fmt.Sprint("v", i)} }); err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	return cqlseqotel.NewTracer(cqlseqotel.WithTracerProvider(tp), cqlseqotel.WithMeterProvider(mp)), exp, reader, s, ks, "items"
}

// attrs returns a span's attributes as a map, values as strings.
func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// A stream broken off in its second page is a client span named for its
// operation and table, with the conventions' attributes, 12 rows in 2
// pages and the reason "break"; each page request a child span with its
// rows and server; the metrics count every request.
func TestStreamSpans(t *testing.T) {
	tracer, exp, reader, s, ks, table := setup(t, 25)
	stmt := "SELECT id, v FROM " + ks + "." + table
	n := 0
	for _, err := range cqlseq.Stream[struct {
		ID int
		V  string
	}](context.Background(), s, cqlseq.CQL(stmt), cqlseq.WithFetchSize(10), cqlseq.WithConsistency(cqlseq.One), cqlseq.WithTracer(tracer)) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 12 {
			break
		}
	}
	spans := exp.GetSpans()
	var streamSpan tracetest.SpanStub
	var pages []tracetest.SpanStub
	for _, sp := range spans {
		if strings.HasSuffix(sp.Name, " page") {
			pages = append(pages, sp)
		} else {
			streamSpan = sp
		}
	}
	want := map[string]string{
		"db.system.name":              "cassandra",
		"db.namespace":                ks,
		"db.collection.name":          table,
		"db.operation.name":           "SELECT",
		"db.query.text":               stmt,
		"cassandra.page.size":         "10",
		"cassandra.consistency.level": "one",
		"db.response.returned_rows":   "12", // the rows the loop got
		"cqlseq.pages":                "2",
		"cqlseq.end_reason":           "break",
	}
	if diff := cmp.Diff(want, attrs(streamSpan.Attributes)); diff != "" || streamSpan.Name != "SELECT items" || streamSpan.SpanKind != trace.SpanKindClient {
		t.Fatalf("stream span %q (%v): attributes (-want +got):\n%s", streamSpan.Name, streamSpan.SpanKind, diff)
	}
	if streamSpan.Status.Code != codes.Unset {
		t.Fatalf("stream span status %v", streamSpan.Status)
	}
	// Pages 1 and 2, and the prefetched page 3, ended unused.
	slices.SortFunc(pages, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	if len(pages) < 2 || len(pages) > 3 {
		t.Fatalf("%d page spans", len(pages))
	}
	for i, p := range pages {
		if p.Parent.SpanID() != streamSpan.SpanContext.SpanID() || p.Name != "SELECT items page" {
			t.Fatalf("page span %d %q is not a child of the stream's", i, p.Name)
		}
		a := attrs(p.Attributes)
		if a["cqlseq.page.number"] != fmt.Sprint(i+1) || a["server.address"] == "" || a["server.port"] == "" || a["db.system.name"] != "cassandra" {
			t.Fatalf("page span %d: %v", i, a)
		}
		if i < 2 && (a["db.response.returned_rows"] != "10" || p.Status.Code != codes.Unset || a["cqlseq.page.abandoned"] != "") {
			t.Fatalf("page span %d: %v, status %v", i, a, p.Status)
		}
		// The prefetched page the loop never reached: abandoned, no error.
		if i == 2 && (a["cqlseq.page.abandoned"] != "true" || p.Status.Code != codes.Unset || a["error.type"] != "") {
			t.Fatalf("page span %d, after the break: %v, status %v", i, a, p.Status)
		}
		if p.EndTime.Before(p.StartTime) {
			t.Fatalf("page span %d ends before it starts", i)
		}
	}
	// The metrics: the two requests whose pages the stream used.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	var rows int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[m.Name] += p.Count
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					got[m.Name] += p.Count
					rows += p.Sum
				}
			}
		}
	}
	if got["db.client.operation.duration"] != 2 || got["db.client.response.returned_rows"] != 2 || rows != 20 {
		t.Fatalf("metrics %v, %d rows, for %d page spans", got, rows, len(pages))
	}
	t.Logf("stream span %q with %d page spans; metrics %v, %d rows", streamSpan.Name, len(pages), got, rows)
}

// A stream that fails ends its span with an error status and error.type.
func TestStreamSpanOnError(t *testing.T) {
	tracer, exp, _, s, ks, table := setup(t, 5)
	var got error
	for _, err := range cqlseq.Stream[struct{ ID []int }](context.Background(), s, cqlseq.CQL("SELECT id FROM "+ks+"."+table), cqlseq.WithTracer(tracer)) {
		got = err
	}
	if got == nil {
		t.Fatal("no error for an int column into a slice")
	}
	for _, sp := range exp.GetSpans() {
		if sp.Name != "SELECT items" {
			continue
		}
		a := attrs(sp.Attributes)
		if sp.Status.Code != codes.Error || a["cqlseq.end_reason"] != "error" || a["error.type"] != "github.com/apache/cassandra-gocql-driver/v2.UnmarshalError" {
			t.Fatalf("stream span after %v: status %v, attributes %v", got, sp.Status, a)
		}
		t.Logf("status %v, error.type %s", sp.Status, a["error.type"])
		return
	}
	t.Fatal("no stream span")
}

// A scan is a span with a child span per token range read, and the pages
// of a range are children of the range's span.
func TestScanSpans(t *testing.T) {
	tracer, exp, _, s, ks, table := setup(t, 200)
	n := 0
	for _, err := range cqlseq.Scan[struct{ ID int }](context.Background(), s, ks+"."+table, cqlseq.WithColumns("id"),
		cqlseq.WithParallelism(4), cqlseq.WithFetchSize(20), cqlseq.WithTracer(tracer)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	kinds := map[string]int{}
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, sp := range exp.GetSpans() {
		byID[sp.SpanContext.SpanID()] = sp
	}
	for _, sp := range exp.GetSpans() {
		kind := "stream"
		switch {
		case strings.HasSuffix(sp.Name, " range"):
			kind = "range"
			if byID[sp.Parent.SpanID()].Name != "SELECT items" {
				t.Fatalf("range span's parent is %q", byID[sp.Parent.SpanID()].Name)
			}
		case strings.HasSuffix(sp.Name, " page"):
			kind = "page"
			if !strings.HasSuffix(byID[sp.Parent.SpanID()].Name, " range") {
				t.Fatalf("a scan's page span's parent is %q", byID[sp.Parent.SpanID()].Name)
			}
		default:
			a := attrs(sp.Attributes)
			if sp.Name != "SELECT items" || a["db.response.returned_rows"] != "200" || a["cqlseq.scan.parallelism"] != "4" || a["db.collection.name"] != table {
				t.Fatalf("scan span %q: %v", sp.Name, a)
			}
		}
		kinds[kind]++
	}
	if kinds["stream"] != 1 || kinds["range"] < 16 || kinds["page"] < 10 || n != 200 {
		t.Fatalf("spans %v, %d rows", kinds, n)
	}
	t.Logf("spans %v", kinds)

	// A scan refused before its statement is known (no such table) is an
	// error span with no db.query.text rather than an empty one.
	exp.Reset()
	var got error
	for _, err := range cqlseq.Scan[struct{ ID int }](context.Background(), s, ks+".no_such_table", cqlseq.WithTracer(tracer)) {
		got = err
	}
	spans := exp.GetSpans()
	if got == nil || len(spans) != 1 {
		t.Fatalf("scan of a missing table: %v, %d spans", got, len(spans))
	}
	a := attrs(spans[0].Attributes)
	if _, ok := a["db.query.text"]; ok || spans[0].Status.Code != codes.Error || a["db.collection.name"] != "no_such_table" {
		t.Fatalf("scan of a missing table: span %q, status %v, attributes %v", spans[0].Name, spans[0].Status, a)
	}
}
