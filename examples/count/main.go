// Command count counts the rows of a Cassandra table with cqlseq.Scan, the
// simplest whole-table read: token ranges read in parallel, the rows of all
// of them in one loop.
//
//	cd examples && go run ./count
//	cd examples && go run ./count -table ks.events -parallel 16
//
// The loop is all there is to it:
//
//	for _, err := range cqlseq.Scan[int64](ctx, session, table, cqlseq.WithColumns("token(bucket)"), cqlseq.WithParallelism(n)) {
//		if err != nil {
//			return rows, err
//		}
//		rows++
//	}
//
// Scan cuts the ring into token ranges and reads -parallel of them at once
// (by default 4 per node), each with its own paged query sent to a replica
// of the range; nothing needs closing, and an error ends the loop. Each row
// is read as one bigint, the token of its partition key (whose columns the
// program looks up in system_schema): whatever the table's columns, the
// least a row can be read as. It prints the rows, the time and the rows per
// second.
//
// SELECT COUNT(*) is one request: one coordinator reads the whole table
// and answers when it is done, so on a large table it runs into the
// driver's timeout. Scan reads a table of any size a page at a time, from
// every node at once. Without -table it counts cqlseq_examples.events, which
// it creates and fills on first use. It connects to -hosts, else to
// CQLSEQ_HOSTS, else to the local node that testing/cassandra/cassandra.sh
// starts.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/examples/internal/sample"
)

// Config says what to count and how.
type Config struct {
	Table     string // keyspace.table
	Parallel  int    // token ranges read at once; 0: cqlseq's default, 4 per node
	FetchSize int    // rows per page; 0: the driver's
}

func main() {
	var cfg Config
	hosts := flag.String("hosts", "", "Cassandra hosts, host[:port] separated by commas (default: $CQLSEQ_HOSTS, else 127.0.0.1:9042)")
	flag.StringVar(&cfg.Table, "table", sample.DefaultTable, "table to count, keyspace.table; the default one is created and filled on first use")
	flag.IntVar(&cfg.Parallel, "parallel", 0, "token ranges read at once, 1 to 1024 (0: 4 per node)")
	flag.IntVar(&cfg.FetchSize, "fetch-size", 5000, "rows per page")
	seed := flag.Int("seed-rows", 200_000, "rows to fill the default table with on first use (buckets of 1000)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := func() error {
		s, err := sample.Connect(ctx, *hosts)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := sample.Ensure(ctx, s, os.Stderr, cfg.Table, max(*seed/1000, 1), 1000); err != nil {
			return err
		}
		_, err = run(ctx, s, cfg, os.Stdout)
		return err
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "count:", err)
		os.Exit(1)
	}
}

// run counts cfg.Table and reports the count, the time and the rate to out.
func run(ctx context.Context, s *gocql.Session, cfg Config, out io.Writer) (int64, error) {
	key, err := partitionKey(ctx, s, cfg.Table)
	if err != nil {
		return 0, err
	}
	opts := []cqlseq.ScanOption{cqlseq.WithColumns("token(" + strings.Join(key, ", ") + ")")}
	parallel := "4 per node (the default)"
	if cfg.Parallel != 0 {
		opts = append(opts, cqlseq.WithParallelism(cfg.Parallel))
		parallel = fmt.Sprint(cfg.Parallel)
	}
	if cfg.FetchSize != 0 {
		opts = append(opts, cqlseq.WithFetchSize(cfg.FetchSize))
	}

	start := time.Now()
	rows, err := count(ctx, s, cfg.Table, opts...)
	took := time.Since(start)
	if err != nil {
		return rows, fmt.Errorf("after %d rows: %w", rows, err)
	}
	fmt.Fprintf(out, "%s: %d rows in %v (%.0f rows/s), parallelism %s\n",
		cfg.Table, rows, took.Round(time.Millisecond), float64(rows)/took.Seconds(), parallel)
	return rows, nil
}

// count counts the rows of table by token range, each read as the token
// (bigint) that opts' WithColumns selects.
func count(ctx context.Context, s *gocql.Session, table string, opts ...cqlseq.ScanOption) (int64, error) {
	var rows int64
	for _, err := range cqlseq.Scan[int64](ctx, s, table, opts...) {
		if err != nil {
			return rows, err
		}
		rows++
	}
	return rows, nil
}

// partitionKey returns the columns of table's partition key in order,
// quoted for CQL, from system_schema.
func partitionKey(ctx context.Context, s *gocql.Session, table string) ([]string, error) {
	ks, name, ok := strings.Cut(table, ".")
	if !ok {
		return nil, fmt.Errorf("table %q: name it keyspace.table", table)
	}
	it := s.Query("SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
		schemaName(ks), schemaName(name)).IterContext(ctx)
	var (
		key          = map[int]string{}
		column, kind string
		position     int
	)
	for it.Scan(&column, &kind, &position) {
		if kind == "partition_key" {
			key[position] = `"` + strings.ReplaceAll(column, `"`, `""`) + `"`
		}
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("table %s not found", table)
	}
	cols := make([]string, len(key))
	for i := range cols {
		cols[i] = key[i]
	}
	return cols, nil
}

// schemaName returns a CQL name as system_schema holds it: quoted names as
// written, others in lower case.
func schemaName(n string) string {
	n = strings.TrimSpace(n)
	if len(n) >= 2 && n[0] == '"' && n[len(n)-1] == '"' {
		return strings.ReplaceAll(n[1:len(n)-1], `""`, `"`)
	}
	return strings.ToLower(n)
}
