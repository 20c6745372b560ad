package cqlseqotel_test

import (
	"context"
	"fmt"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqotel"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// BenchmarkStream reads 20,000 rows at fetch size 1000 from the node with
// no tracer, with a tracer that does nothing, and with cqlseqotel recording
// every span (into an in-memory exporter) and both metrics: the cost of
// tracing, per row and per page.
//
//	go test -run '^$' -bench Stream -benchmem ./cqlseqotel
func BenchmarkStream(b *testing.B) {
	s := cqlseqtest.Session(b)
	ks := cqlseqtest.Keyspace(b, s)
	const rows = 20_000
	cqlseqtest.Exec(b, s, "CREATE TABLE "+ks+".items (id int PRIMARY KEY, v text)")
	if err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+ks+".items (id, v) VALUES (?, ?)", rows, 8,
		func(i int) []any { return []any{i, fmt.Sprint("value ", i)} }); err != nil {
		b.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	type item struct {
		ID int
		V  string
	}
	for _, c := range []struct {
		name string
		opts []cqlseq.StreamOption
	}{
		{"tracer=none", nil},
		{"tracer=nop", []cqlseq.StreamOption{cqlseq.WithTracer(nopTracer{})}},
		{"tracer=otel", []cqlseq.StreamOption{cqlseq.WithTracer(cqlseqotel.NewTracer(cqlseqotel.WithTracerProvider(tp), cqlseqotel.WithMeterProvider(mp)))}},
	} {
		b.Run(c.name, func(b *testing.B) {
			opts := append([]cqlseq.StreamOption{cqlseq.WithFetchSize(1000)}, c.opts...)
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, err := range cqlseq.Stream[item](context.Background(), s, cqlseq.CQL("SELECT id, v FROM "+ks+".items"), opts...) {
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != rows {
					b.Fatalf("%d rows", n)
				}
				exp.Reset()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}

type nopTracer struct{}

func (nopTracer) TraceStreamStart(ctx context.Context, _ cqlseq.TraceStreamStartData) context.Context {
	return ctx
}
func (nopTracer) TraceStreamEnd(context.Context, cqlseq.TraceStreamEndData) {}
func (nopTracer) TracePageStart(ctx context.Context, _ cqlseq.TracePageStartData) context.Context {
	return ctx
}
func (nopTracer) TracePageEnd(context.Context, cqlseq.TracePageEndData) {}
