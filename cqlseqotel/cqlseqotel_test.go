package cqlseqotel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqotel"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(m))
}

// These tests run streams on the node (cqlseqtest.Session skips them under
// go test -short).

// table returns a session and a table of n rows (id int PRIMARY KEY, v
// text), "keyspace.items".
func table(t *testing.T, n int) (*gocql.Session, string) {
	t.Helper()
	s := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, s)
	cqlseqtest.Exec(t, s, "CREATE TABLE "+ks+".items (id int PRIMARY KEY, v text)")
	if err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+ks+".items (id, v) VALUES (?, ?)", n, 4,
		func(i int) []any { return []any{i, fmt.Sprint("v", i)} }); err != nil {
		t.Fatal(err)
	}
	return s, ks + ".items"
}

// A stream broken off in its second page, on the node: an internal span
// with the rows the loop got, a client span per request with the node
// that served it; the prefetched third page abandoned; the two requests
// used measured.
func TestStreamSpans(t *testing.T) {
	s, items := table(t, 25)
	r := newRecorder(t)
	stmt := "SELECT id, v FROM " + items
	n := 0
	for _, err := range cqlseq.Stream[struct {
		ID int
		V  string
	}](context.Background(), s, cqlseq.CQL(stmt), cqlseq.WithFetchSize(10), cqlseq.WithConsistency(cqlseq.One), cqlseq.WithTracer(r.Tracer)) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 12 {
			break
		}
	}
	spans := r.got(t)
	if len(spans) < 3 || len(spans) > 4 {
		t.Fatalf("%d spans: %+v", len(spans), spans)
	}
	ks := strings.Split(items, ".")[0]
	wantStream := span{Name: "stream SELECT " + items, Kind: trace.SpanKindInternal, Attrs: map[string]string{
		"db.namespace": ks, "db.collection.name": items, "db.operation.name": "SELECT", "db.query.summary": "SELECT " + items,
		"cassandra.page.size": "10", "cassandra.consistency.level": "one",
		"db.response.returned_rows": "12", "cqlseq.pages": "2", "cqlseq.end_reason": "break",
	}}
	if diff := cmp.Diff(wantStream, spans[0]); diff != "" {
		t.Errorf("stream span (-want +got)\n%s", diff)
	}
	// Pages 1 and 2, and the prefetched page 3, ended unused (if it was
	// requested before the break).
	for i, p := range spans[1:] {
		a := p.Attrs
		if p.Parent != wantStream.Name || p.Name != "SELECT "+items || p.Kind != trace.SpanKindClient ||
			a["cqlseq.page.number"] != fmt.Sprint(i+1) || a["network.peer.address"] == "" || a["network.peer.port"] != "9042" ||
			a["db.system.name"] != "cassandra" || a["db.query.text"] != stmt || p.Status != codes.Unset {
			t.Errorf("page span %d: %+v", i+1, p)
		}
		if abandoned := a["cqlseq.page.abandoned"] == "true"; abandoned != (i == 2) || i < 2 && a["db.response.returned_rows"] != "10" {
			t.Errorf("page span %d: %v", i+1, a)
		}
	}
	var requests, rows uint64
	var rowSum float64
	for _, p := range r.points(t) {
		switch p.Metric {
		case "db.client.operation.duration":
			requests += p.Count
		case "db.client.response.returned_rows":
			rows += p.Count
			rowSum += p.Sum
		}
		if p.Attrs["server.address"] == "" || p.Attrs["db.collection.name"] != items {
			t.Errorf("measured %s with %v", p.Metric, p.Attrs)
		}
	}
	if requests != 2 || rows != 2 || rowSum != 20 {
		t.Errorf("measured %d requests, %d with %v rows", requests, rows, rowSum)
	}
}

// A statement on a table that does not exist: Cassandra refuses it with
// Invalid (0x2200); the driver's error reaches the page's span and the
// stream's as db.response.status_code and error.type "2200".
func TestCassandraErrorOnNode(t *testing.T) {
	s, items := table(t, 0)
	r := newRecorder(t)
	var got error
	for _, err := range cqlseq.Stream[int](context.Background(), s, cqlseq.CQL("SELECT id FROM "+items+"_missing"), cqlseq.WithTracer(r.Tracer)) {
		got = err
	}
	var invalid *gocql.RequestErrInvalid
	if !errors.As(got, &invalid) || invalid.Code() != gocql.ErrCodeInvalid {
		t.Fatalf("a missing table: %v (%T), want the driver's RequestErrInvalid", got, got)
	}
	spans := r.got(t)
	if len(spans) != 2 {
		t.Fatalf("%d spans: %+v", len(spans), spans)
	}
	for _, sp := range spans {
		if sp.Attrs["error.type"] != "2200" || sp.Attrs["db.response.status_code"] != "2200" || sp.Status != codes.Error {
			t.Errorf("span %q (%v): status %v, attributes %v", sp.Name, sp.Kind, sp.Status, sp.Attrs)
		}
	}
	points := r.points(t)
	if len(points) != 1 || points[0].Attrs["error.type"] != "2200" || points[0].Attrs["db.response.status_code"] != "2200" {
		t.Errorf("measured %+v", points)
	}
}

// A stream that fails to decode ends its span with an error status and
// the driver's error type, by its canonical name.
func TestStreamSpanOnError(t *testing.T) {
	s, items := table(t, 5)
	r := newRecorder(t)
	var got error
	for _, err := range cqlseq.Stream[struct{ ID []int }](context.Background(), s, cqlseq.CQL("SELECT id FROM "+items), cqlseq.WithTracer(r.Tracer)) {
		got = err
	}
	if got == nil {
		t.Fatal("no error for an int column into a slice")
	}
	spans := r.got(t)
	if len(spans) == 0 {
		t.Fatal("no spans")
	}
	a := spans[0].Attrs
	if spans[0].Status != codes.Error || a["cqlseq.end_reason"] != "error" || a["error.type"] != "github.com/apache/cassandra-gocql-driver/v2.UnmarshalError" {
		t.Fatalf("stream span after %v: %+v", got, spans[0])
	}
}

// A scan is a span with a child span per token range read, and the pages
// of a range are children of the range's span.
func TestScanSpans(t *testing.T) {
	s, items := table(t, 200)
	r := newRecorder(t)
	n := 0
	for _, err := range cqlseq.Scan[struct{ ID int }](context.Background(), s, items, cqlseq.WithColumns("id"),
		cqlseq.WithParallelism(4), cqlseq.WithFetchSize(20), cqlseq.WithTracer(r.Tracer)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	kinds := map[string]int{}
	for _, sp := range r.got(t) {
		switch {
		case sp.Name == "scan SELECT "+items && sp.Parent == "" && sp.Kind == trace.SpanKindInternal:
			if a := sp.Attrs; a["db.response.returned_rows"] != "200" || a["cqlseq.scan.parallelism"] != "4" || a["db.collection.name"] != items {
				t.Errorf("scan span: %v", a)
			}
			kinds["scan"]++
		case sp.Name == "range SELECT "+items && sp.Parent == "scan SELECT "+items && sp.Kind == trace.SpanKindInternal:
			kinds["range"]++
		case sp.Name == "SELECT "+items && sp.Parent == "range SELECT "+items && sp.Kind == trace.SpanKindClient:
			kinds["page"]++
		default:
			t.Errorf("span %q under %q (%v)", sp.Name, sp.Parent, sp.Kind)
		}
	}
	if kinds["scan"] != 1 || kinds["range"] < 16 || kinds["page"] < 10 || n != 200 {
		t.Fatalf("spans %v, %d rows", kinds, n)
	}

	// A scan refused before its statement is known (no such table) is an
	// error span with no db.query.text rather than an empty one.
	r.spans.Reset()
	var got error
	for _, err := range cqlseq.Scan[struct{ ID int }](context.Background(), s, items+"_missing", cqlseq.WithTracer(r.Tracer)) {
		got = err
	}
	spans := r.got(t)
	if got == nil || len(spans) != 1 {
		t.Fatalf("scan of a missing table: %v, %d spans", got, len(spans))
	}
	if _, ok := spans[0].Attrs["db.query.text"]; ok || spans[0].Status != codes.Error || spans[0].Attrs["db.collection.name"] != items+"_missing" {
		t.Fatalf("scan of a missing table: %+v", spans[0])
	}
	_ = cqlseqotel.Version
}
