// Command parallel reads many partitions of a table at once, one stream per
// partition, at most -concurrency at a time, and sums each up; when one
// partition fails, the others are cancelled and the error is reported.
//
//	cd examples && go run ./parallel
//	cd examples && go run ./parallel -table ks.events -concurrency 8
//	cd examples && go run ./parallel -fail-bucket 3 -fail-after 100   # see a failure cancel the rest
//
// It lists the partitions with cqlseq.Stream[int] over SELECT DISTINCT
// bucket, then gives each its own cqlseq.Stream in an errgroup made with
// errgroup.WithContext and SetLimit. All the streams range over the group's
// context: the first error cancels it, every other stream ends within a row
// with context.Canceled, the partitions not yet started are skipped, and
// Wait returns the first error. Nothing needs closing: each stream releases
// its pages when its loop ends, however it ends.
//
// Without -table it reads cqlseq_examples.events, which it creates and fills
// on first use. It connects to -hosts, else to CQLSEQ_HOSTS, else to the
// local node that testing/cassandra/cassandra.sh starts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"golang.org/x/sync/errgroup"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/examples/internal/sample"
)

// Event is a row of the table.
type Event struct {
	Bucket int
	ID     int
	Kind   string
	At     time.Time
	Amount float64
	Note   *string
}

// Status tells how the work on a partition ended.
type Status string

const (
	Done       Status = "done"
	Failed     Status = "failed"
	Cancelled  Status = "cancelled"   // stopped because another partition failed (or ctx was cancelled)
	NotStarted Status = "not started" // skipped because another partition had failed
)

// Summary is what was read of one partition.
type Summary struct {
	Bucket      int
	Status      Status
	Rows        int
	Amount      float64   // sum of the amounts
	First, Last time.Time // earliest and latest at
	Err         error     // why it failed or was cancelled
}

// Config says what to read and how.
type Config struct {
	Table       string
	Buckets     []int // partitions to read; nil: all of them
	Concurrency int   // partitions read at once
	FetchSize   int
	Verbose     bool // print every partition, not only those that did not finish

	// Process, if set, is called with every row, on the partition's
	// goroutine; an error fails the partition and cancels the others.
	Process func(ctx context.Context, e Event) error

	track func(bucket int) (done func()) // tests: called when a partition starts, done when it ends
}

func main() {
	var cfg Config
	hosts := flag.String("hosts", "", "Cassandra hosts, host[:port] separated by commas (default: $CQLSEQ_HOSTS, else 127.0.0.1:9042)")
	flag.StringVar(&cfg.Table, "table", sample.DefaultTable, "table to read, keyspace.table; the default one is created and filled on first use")
	buckets := flag.String("buckets", "", "partitions to read, comma-separated (default: all)")
	flag.IntVar(&cfg.Concurrency, "concurrency", 4, "partitions read at once")
	flag.IntVar(&cfg.FetchSize, "fetch-size", 500, "rows per page")
	flag.BoolVar(&cfg.Verbose, "v", false, "print every partition, not only those that did not finish")
	failBucket := flag.Int("fail-bucket", -1, "make processing of this partition fail (to see the others cancelled)")
	failAfter := flag.Int("fail-after", 100, "with -fail-bucket: fail at this row of the partition")
	seed := flag.Int("seed-rows", 200_000, "rows to fill the default table with on first use (buckets of 1000)")
	flag.Parse()
	for _, b := range strings.FieldsFunc(*buckets, func(r rune) bool { return r == ',' }) {
		n, err := strconv.Atoi(strings.TrimSpace(b))
		if err != nil {
			fmt.Fprintln(os.Stderr, "parallel: -buckets:", err)
			os.Exit(2)
		}
		cfg.Buckets = append(cfg.Buckets, n)
	}
	if *failBucket >= 0 {
		cfg.Process = func(ctx context.Context, e Event) error {
			if e.Bucket == *failBucket && e.ID >= *failAfter {
				return fmt.Errorf("processing row %d failed (-fail-bucket)", e.ID)
			}
			return nil
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
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
		fmt.Fprintln(os.Stderr, "parallel:", err)
		os.Exit(1)
	}
}

// run reads the partitions of cfg.Table concurrently, prints a line per
// partition to out, and returns the summaries (in the order of the
// partitions) and the first error.
func run(ctx context.Context, s *gocql.Session, cfg Config, out io.Writer) ([]Summary, error) {
	if cfg.Concurrency <= 0 || cfg.FetchSize <= 0 {
		return nil, errors.New("-concurrency and -fetch-size must be > 0")
	}
	start := time.Now()
	buckets := cfg.Buckets
	if buckets == nil {
		// The partition keys, a stream of single-column rows.
		for b, err := range cqlseq.Stream[int](ctx, s, cqlseq.CQL("SELECT DISTINCT bucket FROM "+cfg.Table)) {
			if err != nil {
				return nil, fmt.Errorf("listing the partitions of %s: %w", cfg.Table, err)
			}
			buckets = append(buckets, b)
		}
	}

	sums := make([]Summary, len(buckets)) // each goroutine writes its own element
	for i, b := range buckets {
		sums[i] = Summary{Bucket: b, Status: NotStarted}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Concurrency)
	stmt := "SELECT " + sample.Columns + " FROM " + cfg.Table + " WHERE bucket = ?"
	for i, b := range buckets {
		if gctx.Err() != nil {
			break // a partition failed: start no more
		}
		g.Go(func() error { // blocks while cfg.Concurrency partitions are being read
			if gctx.Err() != nil {
				return nil // the group failed while this one waited for a slot
			}
			if cfg.track != nil {
				defer cfg.track(b)()
			}
			sum := &sums[i]
			sum.Status = Cancelled // until it ends otherwise
			for e, err := range cqlseq.Stream[Event](gctx, s, cqlseq.CQL(stmt, b), cqlseq.WithFetchSize(cfg.FetchSize)) {
				if err == nil && cfg.Process != nil {
					err = cfg.Process(gctx, e)
				}
				if err != nil {
					sum.Status, sum.Err = Failed, err
					if gctx.Err() != nil && errors.Is(err, context.Canceled) {
						sum.Status = Cancelled
					}
					return fmt.Errorf("bucket %d: %w", b, err)
				}
				if sum.Rows == 0 || e.At.Before(sum.First) {
					sum.First = e.At
				}
				if e.At.After(sum.Last) {
					sum.Last = e.At
				}
				sum.Rows++
				sum.Amount += e.Amount
			}
			sum.Status = Done
			return nil
		})
	}
	err := g.Wait() // the first error; the others were cancelled by it

	var rows, done int
	for _, sum := range sums {
		rows += sum.Rows
		if sum.Status == Done {
			done++
			if !cfg.Verbose {
				continue
			}
		}
		fmt.Fprintf(out, "bucket %4d: %-11s %6d rows, amount %12.3f", sum.Bucket, sum.Status, sum.Rows, sum.Amount)
		if sum.Rows > 0 {
			fmt.Fprintf(out, ", %s .. %s", sum.First.Format(time.DateTime), sum.Last.Format(time.DateTime))
		}
		if sum.Status == Failed {
			fmt.Fprintf(out, ": %v", sum.Err)
		}
		fmt.Fprintln(out)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "%d of %d partitions done, %d rows in %v (%.0f rows/s), at most %d at once\n",
		done, len(sums), rows, elapsed.Round(time.Millisecond), float64(rows)/elapsed.Seconds(), cfg.Concurrency)
	return sums, err
}
