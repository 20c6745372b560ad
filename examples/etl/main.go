// Command etl copies a Cassandra table into another, transforming each row
// on the way, with bounded concurrency and batched writes, and reports what
// it did: rows processed, written and failed (with the reasons), the time it
// took and the rate.
//
//	cd examples && go run ./etl
//	cd examples && go run ./etl -source ks.events -dest ks.events_clean -workers 16 -batch 100
//
// It reads the source with cqlseq.Pages, a page at a time. Rows of a
// partition come out of a table scan together, so each page is cut into
// unlogged batches of rows of one partition (one request, one mutation on
// one replica set, no batch log); an errgroup with SetLimit runs at most
// -workers batches at once, and blocks the reading loop while they are all
// busy, so memory stays bounded by a page plus -workers batches however
// large the table is.
//
// A row the transformation rejects, or that is in a batch that fails after
// the driver's retries, counts as failed, with its reason; the job goes on.
// After -max-failures failed rows it stops: the errgroup's context is
// cancelled, which ends the read and the writes in flight.
//
// Without -source it reads cqlseq_examples.events, which it creates and
// fills on first use; the destination table is created if it does not
// exist. It connects to -hosts, else to CQLSEQ_HOSTS, else to the local node
// that testing/cassandra/cassandra.sh starts.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"golang.org/x/sync/errgroup"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/examples/internal/sample"
)

// Event is a row of the source table.
type Event struct {
	Bucket int
	ID     int
	Kind   string
	At     time.Time
	Amount float64
	Note   *string
}

// Clean is a row of the destination table.
type Clean struct {
	Bucket      int
	ID          int
	Kind        string    // upper case
	At          time.Time //
	Day         time.Time // the date of At, UTC
	AmountCents int64     // Amount in cents
	Note        *string   // on one line
}

// DestSchema is the destination table's columns, for CREATE TABLE.
const DestSchema = "(bucket int, id int, kind text, at timestamp, day date, amount_cents bigint, note text, PRIMARY KEY (bucket, id))"

const insert = "INSERT INTO %s (bucket, id, kind, at, day, amount_cents, note) VALUES (?, ?, ?, ?, ?, ?, ?)"

// errNegative is the reason a row with a negative amount is rejected.
var errNegative = errors.New("negative amount")

// transform turns a source row into a destination row, or says why it
// cannot.
func transform(e Event) (Clean, error) {
	if e.Amount < 0 {
		return Clean{}, errNegative
	}
	c := Clean{
		Bucket:      e.Bucket,
		ID:          e.ID,
		Kind:        strings.ToUpper(e.Kind),
		At:          e.At,
		Day:         e.At.UTC().Truncate(24 * time.Hour),
		AmountCents: int64(math.Round(e.Amount * 100)),
	}
	if e.Note != nil {
		n := strings.Join(strings.Fields(*e.Note), " ")
		c.Note = &n
	}
	return c, nil
}

// Config says what to copy where, and how.
type Config struct {
	Source, Dest string // keyspace.table
	FetchSize    int    // rows per page read
	Workers      int    // batches written at once
	Batch        int    // rows per batch, all of one partition
	MaxFailures  int64  // stop after this many failed rows
}

// Report is what a run did.
type Report struct {
	Processed, Written, Failed int64
	Reasons                    map[string]int64  // failed rows by reason
	Example                    map[string]string // reason -> the first row that failed for it
	Duration                   time.Duration
}

// Rate is the rows processed per second.
func (r Report) Rate() float64 { return float64(r.Processed) / max(r.Duration.Seconds(), 1e-9) }

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "processed %d rows in %v (%.0f rows/s): %d written, %d failed\n",
		r.Processed, r.Duration.Round(time.Millisecond), r.Rate(), r.Written, r.Failed)
	reasons := make([]string, 0, len(r.Reasons))
	for reason := range r.Reasons {
		reasons = append(reasons, reason)
	}
	slices.SortFunc(reasons, func(a, b string) int { return cmp.Compare(r.Reasons[b], r.Reasons[a]) })
	for _, reason := range reasons {
		fmt.Fprintf(&b, "  %8d failed: %s (first: %s)\n", r.Reasons[reason], reason, r.Example[reason])
	}
	return b.String()
}

func main() {
	var cfg Config
	hosts := flag.String("hosts", "", "Cassandra hosts, host[:port] separated by commas (default: $CQLSEQ_HOSTS, else 127.0.0.1:9042)")
	flag.StringVar(&cfg.Source, "source", sample.DefaultTable, "table to read, keyspace.table; the default one is created and filled on first use")
	flag.StringVar(&cfg.Dest, "dest", "cqlseq_examples.events_clean", "table to write, keyspace.table; created if it does not exist")
	flag.IntVar(&cfg.FetchSize, "fetch-size", 1000, "rows per page read")
	flag.IntVar(&cfg.Workers, "workers", 8, "batches written at once")
	flag.IntVar(&cfg.Batch, "batch", 50, "rows per unlogged batch (all of one partition)")
	flag.Int64Var(&cfg.MaxFailures, "max-failures", 1000, "stop after this many failed rows")
	seed := flag.Int("seed-rows", 200_000, "rows to fill the default source table with on first use (buckets of 1000)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := func() error {
		s, err := sample.Connect(ctx, *hosts)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := sample.Ensure(ctx, s, os.Stderr, cfg.Source, max(*seed/1000, 1), 1000); err != nil {
			return err
		}
		if err := s.Query("CREATE TABLE IF NOT EXISTS " + cfg.Dest + " " + DestSchema).ExecContext(ctx); err != nil {
			return err
		}
		_, err = run(ctx, s, cfg, os.Stdout)
		return err
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "etl:", err)
		os.Exit(1)
	}
}

// run copies cfg.Source into cfg.Dest, prints the report to out and returns
// it. It returns an error if the read failed, the context was cancelled or
// more than cfg.MaxFailures rows failed; the report then tells how far it got.
func run(ctx context.Context, s *gocql.Session, cfg Config, out io.Writer) (Report, error) {
	if cfg.FetchSize <= 0 || cfg.Workers <= 0 || cfg.Batch <= 0 {
		return Report{}, errors.New("-fetch-size, -workers and -batch must be > 0")
	}
	st := stats{reasons: map[string]int64{}, example: map[string]string{}}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Workers)
	stmt := fmt.Sprintf(insert, cfg.Dest)

	// write runs in the group: a failed batch is counted, not returned; only
	// too many failures stop the job.
	write := func(rows []Clean) error {
		if gctx.Err() != nil {
			return nil // the job is stopping: the group reports why
		}
		b := s.Batch(gocql.UnloggedBatch).RetryPolicy(&gocql.SimpleRetryPolicy{NumRetries: 2})
		for _, c := range rows {
			b.Entries = append(b.Entries, gocql.BatchEntry{Stmt: stmt, Idempotent: true,
				Args: []any{c.Bucket, c.ID, c.Kind, c.At, c.Day, c.AmountCents, c.Note}})
		}
		if err := b.ExecContext(gctx); err != nil {
			if gctx.Err() != nil {
				return nil
			}
			return st.fail(cfg.MaxFailures, fmt.Sprintf("write: %v", err), rows[0], int64(len(rows)))
		}
		st.written.Add(int64(len(rows)))
		return nil
	}

	var readErr, tooMany error
read:
	for page, err := range cqlseq.Pages[Event](gctx, s, cqlseq.CQL("SELECT "+sample.Columns+" FROM "+cfg.Source),
		cqlseq.WithFetchSize(cfg.FetchSize), cqlseq.WithRetry(cqlseq.Retry{Attempts: 5})) {
		if err != nil {
			readErr = err
			break
		}
		st.processed.Add(int64(len(page.Rows)))
		// Transform the page, then cut it into batches of one partition.
		var batch []Clean
		flush := func() {
			if len(batch) > 0 {
				rows := batch
				g.Go(func() error { return write(rows) }) // blocks while cfg.Workers batches run
				batch = nil
			}
		}
		for _, e := range page.Rows {
			c, err := transform(e)
			if err != nil {
				if tooMany = st.fail(cfg.MaxFailures, err.Error(), Clean{Bucket: e.Bucket, ID: e.ID}, 1); tooMany != nil {
					break read
				}
				continue
			}
			if len(batch) == cfg.Batch || (len(batch) > 0 && batch[0].Bucket != c.Bucket) {
				flush()
			}
			batch = append(batch, c)
		}
		flush()
	}
	groupErr := g.Wait()
	rep := st.report(time.Since(start))
	fmt.Fprint(out, rep)
	switch {
	case tooMany != nil:
		return rep, tooMany
	case groupErr != nil:
		return rep, groupErr
	case readErr != nil:
		return rep, fmt.Errorf("reading %s: %w", cfg.Source, readErr)
	}
	return rep, nil
}

// stats are the counts, shared by the reading loop and the writers.
type stats struct {
	processed, written, failed atomic.Int64

	mu      sync.Mutex
	reasons map[string]int64
	example map[string]string
}

// fail counts n failed rows, the first of which is row, and returns an error
// once more than limit rows have failed.
func (st *stats) fail(limit int64, reason string, row Clean, n int64) error {
	st.mu.Lock()
	if _, ok := st.example[reason]; !ok {
		st.example[reason] = fmt.Sprintf("bucket %d id %d", row.Bucket, row.ID)
	}
	st.reasons[reason] += n
	st.mu.Unlock()
	if failed := st.failed.Add(n); failed > limit {
		return fmt.Errorf("stopped after %d failed rows (-max-failures %d); the last: %s", failed, limit, reason)
	}
	return nil
}

func (st *stats) report(d time.Duration) Report {
	st.mu.Lock()
	defer st.mu.Unlock()
	return Report{
		Processed: st.processed.Load(), Written: st.written.Load(), Failed: st.failed.Load(),
		Reasons: maps.Clone(st.reasons), Example: maps.Clone(st.example), Duration: d,
	}
}
