// Command demo streams a table of a million rows from Cassandra with live
// progress, and shows that the memory in use stays flat while it runs.
//
// It seeds the table cqlseq_demo.events once (later runs reuse it), then
// ranges over cqlseq.Stream with a page callback that prints rows, pages,
// rows/s and heap in use. It connects to CQLSEQ_HOSTS, else to the local
// node that testing/cassandra/cassandra.sh starts (examples/demo.sh does both).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// Event is one row of cqlseq_demo.events.
type Event struct {
	Bucket  int
	ID      int
	Kind    string
	At      time.Time
	Payload string
}

const perBucket = 1000

func main() {
	rows := flag.Int("rows", 1_000_000, "rows in the demo table (a multiple of 1000)")
	fetch := flag.Int("fetch-size", 1000, "page size")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *rows, *fetch); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, rows, fetch int) error {
	s, err := cqlseqtest.Connect(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	table := fmt.Sprintf("cqlseq_demo.events_%d", rows)
	if err := seed(ctx, out, s, table, rows); err != nil {
		return err
	}

	fmt.Fprintf(out, "streaming %s with fetch size %d\n", table, fetch)
	runtime.GC()
	var (
		start    = time.Now()
		last     time.Time
		peak     uint64
		lo       uint64 = ^uint64(0)
		ms       runtime.MemStats
		progress = func(p cqlseq.PageInfo) {
			if now := time.Now(); now.Sub(last) >= 250*time.Millisecond || p.TotalRows == int64(rows) {
				last = now
				runtime.ReadMemStats(&ms)
				peak, lo = max(peak, ms.HeapInuse), min(lo, ms.HeapInuse)
				fmt.Fprintf(out, "\r%9d rows  %5d pages  %8.0f rows/s  heap in use %6.1f MiB  (peak %.1f MiB)  last page %5.1f ms from %s",
					p.TotalRows, p.Number, float64(p.TotalRows)/now.Sub(start).Seconds(), mib(ms.HeapInuse), mib(peak),
					float64(p.Latency.Microseconds())/1000, p.Host)
			}
		}
		n     int64
		bytes int64
	)
	for e, err := range cqlseq.Stream[Event](ctx, s, cqlseq.CQL("SELECT bucket, id, kind, at, payload FROM "+table),
		cqlseq.WithFetchSize(fetch), cqlseq.WithPageCallback(progress)) {
		if err != nil {
			return err
		}
		n++
		bytes += int64(len(e.Payload) + len(e.Kind))
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "\nstreamed %d rows (%.1f MiB of text) in %v: %.0f rows/s\n",
		n, float64(bytes)/(1<<20), elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	fmt.Fprintf(out, "heap in use while streaming: %.1f to %.1f MiB; the table holds %.1f MiB of text\n",
		mib(lo), mib(peak), float64(bytes)/(1<<20))
	if n != int64(rows) {
		return fmt.Errorf("streamed %d rows, the table holds %d", n, rows)
	}
	return nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// seed fills table with rows rows, unless an earlier run did: a row in
// cqlseq_demo.seeded records a finished seeding.
func seed(ctx context.Context, out io.Writer, s *gocql.Session, table string, rows int) error {
	if rows <= 0 || rows%perBucket != 0 {
		return fmt.Errorf("-rows must be a positive multiple of %d", perBucket)
	}
	for _, stmt := range []string{
		"CREATE KEYSPACE IF NOT EXISTS cqlseq_demo WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE IF NOT EXISTS cqlseq_demo.seeded (name text PRIMARY KEY, rows int)",
		"CREATE TABLE IF NOT EXISTS " + table + " (bucket int, id int, kind text, at timestamp, payload text, PRIMARY KEY (bucket, id))",
	} {
		if err := s.Query(stmt).ExecContext(ctx); err != nil {
			return err
		}
	}
	var done int
	err := s.Query("SELECT rows FROM cqlseq_demo.seeded WHERE name = ?", table).ScanContext(ctx, &done)
	if err == nil && done == rows {
		fmt.Fprintf(out, "reusing %s (%d rows, seeded by an earlier run)\n", table, rows)
		return nil
	}
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return err
	}
	fmt.Fprintf(out, "seeding %s with %d rows (once; later runs reuse it)\n", table, rows)
	start := time.Now()
	buckets := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	written := 0
	payload := strings.Repeat("x", 64)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range buckets {
				// Unlogged batches of rows of one partition: one request,
				// one mutation on the node.
				for off := 0; off < perBucket; off += 100 {
					batch := s.Batch(gocql.UnloggedBatch)
					for id := off; id < off+100; id++ {
						batch.Query("INSERT INTO "+table+" (bucket, id, kind, at, payload) VALUES (?, ?, ?, ?, ?)",
							b, id, [...]string{"click", "view", "buy"}[id%3], time.UnixMilli(int64(b*perBucket+id)), payload)
					}
					if err := batch.ExecContext(ctx); err != nil {
						select {
						case errs <- fmt.Errorf("seeding bucket %d: %w", b, err):
						default:
						}
						return
					}
				}
				mu.Lock()
				written += perBucket
				if written%50_000 == 0 {
					fmt.Fprintf(out, "\r  %d rows written", written)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for b := range rows / perBucket {
		select {
		case buckets <- b:
		case err := <-errs:
			errs <- err
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(buckets)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\r  %d rows written in %v\n", written, time.Since(start).Round(time.Millisecond))
	return s.Query("INSERT INTO cqlseq_demo.seeded (name, rows) VALUES (?, ?)", table, rows).ExecContext(ctx)
}
