// Command trace reads a table with cqlseq.Stream traced by cqlseqotel and
// prints the spans with OpenTelemetry's stdout exporter: the stream's span
// and a span for each page request, with the conventions' db.* attributes,
// the rows, the node that served each page and why the stream ended.
//
//	cd examples && go run ./trace                 # stops after 2 pages
//	cd examples && go run ./trace -pages 0        # reads the whole table
//
// The loop stops after -pages pages (a break, as a program that has what it
// needs does): the stream's span still ends, with cqlseq.end_reason
// "break", and the page the stream had prefetched ends too. Without -table
// it reads cqlseq_examples.events, which it creates and fills on first use.
// It connects to -hosts, else to CQLSEQ_HOSTS, else to the local node that
// testing/cassandra/cassandra.sh starts.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqotel"
	"github.com/cqlseq/cqlseq/examples/internal/sample"
)

// Config says what to read.
type Config struct {
	Table     string // keyspace.table
	FetchSize int
	Pages     int // stop after this many pages; 0: read them all
}

func main() {
	var cfg Config
	hosts := flag.String("hosts", "", "Cassandra hosts, host[:port] separated by commas (default: $CQLSEQ_HOSTS, else 127.0.0.1:9042)")
	flag.StringVar(&cfg.Table, "table", sample.DefaultTable, "table to read, keyspace.table, with the example table's columns")
	flag.IntVar(&cfg.FetchSize, "fetch-size", 100, "rows per page")
	flag.IntVar(&cfg.Pages, "pages", 2, "stop after this many pages (0: read the whole table)")
	seed := flag.Int("seed-rows", 200_000, "rows to fill the default table with on first use (buckets of 1000)")
	flag.Parse()

	ctx := context.Background()
	err := func() error {
		s, err := sample.Connect(ctx, *hosts)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := sample.Ensure(ctx, s, os.Stderr, cfg.Table, max(*seed/1000, 1), 1000); err != nil {
			return err
		}
		return run(ctx, s, cfg, os.Stdout)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "trace:", err)
		os.Exit(1)
	}
}

// run reads cfg.Table with a traced Stream and writes the spans to out as
// JSON, one object per span, as each span ends.
func run(ctx context.Context, s *gocql.Session, cfg Config, out io.Writer) error {
	exp, err := stdouttrace.New(stdouttrace.WithWriter(out), stdouttrace.WithPrettyPrint())
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(ctx)
	tracer := cqlseqotel.NewTracer(cqlseqotel.WithTracerProvider(tp))

	type event struct {
		Bucket int
		ID     int
		Kind   string
	}
	rows, pages := 0, 0
	for _, err := range cqlseq.Stream[event](ctx, s, cqlseq.CQL("SELECT bucket, id, kind FROM "+cfg.Table),
		cqlseq.WithFetchSize(cfg.FetchSize), cqlseq.WithTracer(tracer),
		cqlseq.WithPageCallback(func(cqlseq.PageInfo) { pages++ })) {
		if err != nil {
			return err
		}
		if rows++; cfg.Pages > 0 && rows == cfg.Pages*cfg.FetchSize {
			break // the stream's span ends here, with cqlseq.end_reason "break"
		}
	}
	fmt.Fprintf(os.Stderr, "trace: read %d rows; %d pages read to their end\n", rows, pages)
	return nil
}
