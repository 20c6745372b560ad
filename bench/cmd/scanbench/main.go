// Command scanbench measures whole-table reads: Stream (one sequential
// query) against Scan at several parallelisms, on the same table, on the
// local node and on the local cluster (or the hosts in CQLSEQ_HOSTS and
// CQLSEQ_CLUSTER_HOSTS):
//
//	go run ./cmd/scanbench                 # from bench/
//	go run ./cmd/scanbench -rows 300000 -rounds 3 -targets node
//
// It seeds cqlseq_bench.scan_<rows> once per target (later runs reuse it),
// reads it whole with each contender once per round, the contenders in a
// new random order every round, and prints a markdown table of the median
// rows/s, with Scan's ratio to Stream, and the median peak heap in use
// (sampled every millisecond, after a GC before each read).
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

type row struct {
	Bucket int
	Seq    int
	Kind   string
	Body   string
}

func main() {
	rows := flag.Int("rows", 1_000_000, "rows in the table")
	rounds := flag.Int("rounds", 3, "rounds; every figure is the median")
	fetch := flag.Int("fetch", 1000, "fetch size")
	targets := flag.String("targets", "node,cluster", "where to measure: node, cluster or both")
	flag.Parse()
	for _, target := range strings.Split(*targets, ",") {
		if err := run(target, *rows, *rounds, *fetch); err != nil {
			fmt.Fprintln(os.Stderr, "scanbench:", err)
			os.Exit(1)
		}
	}
}

func connect(target string) (*gocql.Session, error) {
	c := cqlseqtest.Cluster()
	switch target {
	case "node":
	case "cluster":
		c.Hosts = cqlseqtest.ClusterHosts()
		c.Consistency = gocql.One // one replica answers each range: as Stream reads
	default:
		return nil, fmt.Errorf("unknown target %q (node or cluster)", target)
	}
	return c.CreateSession()
}

func run(target string, rows, rounds, fetch int) error {
	ctx := context.Background()
	s, err := connect(target)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	defer s.Close()
	table := fmt.Sprintf("cqlseq_bench.scan_%d", rows)
	if err := ensure(ctx, s, table, rows); err != nil {
		return err
	}
	type contender struct {
		name string
		read func() (int, error)
	}
	cs := []contender{{"stream", func() (int, error) {
		n := 0
		for _, err := range cqlseq.Stream[row](ctx, s, cqlseq.CQL("SELECT * FROM "+table), cqlseq.WithFetchSize(fetch)) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}}}
	for _, p := range []int{1, 2, 4, 8, 16} {
		cs = append(cs, contender{fmt.Sprintf("scan p=%d", p), func() (int, error) {
			n := 0
			for _, err := range cqlseq.Scan[row](ctx, s, table, cqlseq.WithParallelism(p), cqlseq.WithFetchSize(fetch)) {
				if err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		}})
	}
	rates, peaks := map[string][]float64{}, map[string][]float64{}
	for range rounds {
		order := rand.Perm(len(cs))
		for _, i := range order {
			c := cs[i]
			runtime.GC()
			stop := sampleHeap()
			start := time.Now()
			n, err := c.read()
			peaks[c.name] = append(peaks[c.name], float64(stop())/(1<<20))
			if err != nil {
				return fmt.Errorf("%s, %s: %w", target, c.name, err)
			}
			if n != rows {
				return fmt.Errorf("%s, %s: read %d rows, want %d", target, c.name, n, rows)
			}
			rates[c.name] = append(rates[c.name], float64(n)/time.Since(start).Seconds())
		}
	}
	fmt.Printf("\n%s (%d nodes), %d rows, fetch %d, median of %d rounds (%s):\n\n", target, len(s.GetHosts()), rows, fetch, rounds, time.Now().UTC().Format(time.RFC3339))
	fmt.Println("| contender | rows/s | ÷ stream | peak heap (MiB) | rounds |")
	fmt.Println("|---|---:|---:|---:|---|")
	base := median(rates["stream"])
	for _, c := range cs {
		r := rates[c.name]
		spread := make([]string, len(r))
		for i, v := range r {
			spread[i] = fmt.Sprintf("%.0fk", v/1000)
		}
		fmt.Printf("| %s | %.0fk | %.2f× | %.1f | %s |\n", c.name, median(r)/1000, median(r)/base, median(peaks[c.name]), strings.Join(spread, " "))
	}
	return nil
}

// sampleHeap samples the heap in use every millisecond until the returned
// function is called, which returns the most seen.
func sampleHeap() func() uint64 {
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var ms runtime.MemStats
		var most uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			most = max(most, ms.HeapInuse)
			select {
			case <-t.C:
			case <-done:
				peak <- most
				return
			}
		}
	}()
	return func() uint64 { close(done); return <-peak }
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// ensure creates and seeds table unless it already holds rows rows.
func ensure(ctx context.Context, s *gocql.Session, table string, rows int) error {
	if err := cqlseqtest.CreateNamedKeyspace(ctx, s, "cqlseq_bench"); err != nil {
		return err
	}
	if err := s.Query("CREATE TABLE IF NOT EXISTS " + table + " (bucket int, seq int, kind text, body text, PRIMARY KEY (bucket, seq))").ExecContext(ctx); err != nil {
		return err
	}
	var n int64
	if err := s.Query("SELECT count(*) FROM "+table).ScanContext(ctx, &n); err != nil {
		return err
	}
	if n == int64(rows) {
		return nil
	}
	fmt.Fprintf(os.Stderr, "scanbench: seeding %s with %d rows\n", table, rows)
	kinds := []string{"click", "view", "buy", "share"}
	return cqlseqtest.Seed(ctx, s, "INSERT INTO "+table+" (bucket, seq, kind, body) VALUES (?, ?, ?, ?)", rows, 16,
		func(i int) []any {
			return []any{i / 100, i % 100, kinds[i%4], fmt.Sprintf("body of row %d, some text to read", i)}
		})
}
