// Command scanbench measures whole-table reads on the same table, on the
// local node and on the local cluster (or the hosts in CQLSEQ_HOSTS and
// CQLSEQ_CLUSTER_HOSTS):
//
//   - stream: cqlseq.Stream of SELECT * (one sequential query);
//
//   - scan: cqlseq.Scan at each parallelism;
//
//   - split: a naive token split at the same parallelism, as programs
//     written without Scan do it: the token space cut into 3×p equal ranges
//     (the sizing of ScyllaDB's full-scan sample), read by p goroutines with
//     one cqlseq.Stream of "token(k) >= ? AND token(k) < ?" each, sent
//     where the session's policy sends them.
//
//     go run ./cmd/scanbench                 # from bench/
//     go run ./cmd/scanbench -rows 300000 -rounds 3 -targets node
//     go run ./cmd/scanbench -format bench   # Go benchmark lines, for cmd/report
//
// It seeds cqlseq_bench.scan_<rows> once per target (later runs reuse it),
// reads it whole with each contender once per round, the contenders in a
// new random order every round, and prints for each the median rows/s, its
// ratio to stream, the time to the first row and the peak heap in use
// (sampled every millisecond, after a GC before each read): a markdown
// table, or with -format bench one benchmark line per read,
// BenchmarkScan/target=node/impl=scan/parallelism=4, which bench/run.sh
// adds to raw.txt.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	rounds := flag.Int("rounds", 3, "rounds; every figure is the median; 0 only seeds the table")
	fetch := flag.Int("fetch", 1000, "fetch size")
	targets := flag.String("targets", "node,cluster", "where to measure: node, cluster or both")
	par := flag.String("parallelism", "1,2,4,8,16", "the parallelisms of scan and split")
	format := flag.String("format", "table", "table (markdown) or bench (Go benchmark lines)")
	flag.Parse()
	var ps []int
	for _, f := range strings.Split(*par, ",") {
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 {
			fmt.Fprintf(os.Stderr, "scanbench: -parallelism %q: want positive numbers separated by commas\n", *par)
			os.Exit(2)
		}
		ps = append(ps, p)
	}
	if *format != "table" && *format != "bench" {
		fmt.Fprintf(os.Stderr, "scanbench: -format %q: want table or bench\n", *format)
		os.Exit(2)
	}
	for _, target := range strings.Split(*targets, ",") {
		if err := run(target, *rows, *rounds, *fetch, ps, *format == "bench"); err != nil {
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

// contender reads the table once, calling first at its first row.
type contender struct {
	impl string
	p    int // parallelism; 0 for stream
	read func(first func()) (int64, error)
}

func (c contender) name() string {
	if c.p == 0 {
		return c.impl
	}
	return fmt.Sprintf("%s p=%d", c.impl, c.p)
}

// figures are one read's measures.
type figures struct {
	rate, firstRow, peak float64 // rows/s, ns, bytes
	cpu                  float64 // the program's CPU time (user and system) per row, ns
}

func run(target string, rows, rounds, fetch int, ps []int, bench bool) error {
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
	if rounds == 0 {
		return nil
	}
	cs := []contender{{"stream", 0, func(first func()) (int64, error) {
		return count(cqlseq.Stream[row](ctx, s, cqlseq.CQL("SELECT * FROM "+table), cqlseq.WithFetchSize(fetch)), first)
	}}}
	for _, p := range ps {
		cs = append(cs, contender{"scan", p, func(first func()) (int64, error) {
			return count(cqlseq.Scan[row](ctx, s, table, cqlseq.WithParallelism(p), cqlseq.WithFetchSize(fetch)), first)
		}})
	}
	for _, p := range ps {
		cs = append(cs, contender{"split", p, func(first func()) (int64, error) {
			return split(ctx, s, table, p, fetch, first)
		}})
	}
	got := map[string][]figures{}
	for round := range rounds {
		for _, i := range rand.Perm(len(cs)) {
			c := cs[i]
			runtime.GC()
			stop := sampleHeap()
			cpu0 := cpuTime()
			start := time.Now()
			var ttfr time.Duration
			var once sync.Once
			n, err := c.read(func() { once.Do(func() { ttfr = time.Since(start) }) })
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			peak := stop()
			if err != nil {
				return fmt.Errorf("%s, %s: %w", target, c.name(), err)
			}
			if n != int64(rows) {
				return fmt.Errorf("%s, %s: read %d rows, want %d", target, c.name(), n, rows)
			}
			f := figures{float64(n) / elapsed.Seconds(), float64(ttfr.Nanoseconds()), float64(peak), float64(cpu.Nanoseconds()) / float64(n)}
			got[c.name()] = append(got[c.name()], f)
			if bench {
				name := "BenchmarkScan/target=" + target + "/impl=" + c.impl
				if c.p > 0 {
					name += fmt.Sprintf("/parallelism=%d", c.p)
				}
				fmt.Printf("%s-%d\t1\t%d ns/op\t%.0f rows/s\t%.0f first-row-ns\t%.0f peak-heap-B\t%.0f cpu-ns/row\n",
					name, runtime.GOMAXPROCS(0), elapsed.Nanoseconds(), f.rate, f.firstRow, f.peak, f.cpu)
			}
		}
		if bench {
			fmt.Fprintf(os.Stderr, "scanbench: %s, round %d of %d done\n", target, round+1, rounds)
		}
	}
	if bench {
		return nil
	}
	fmt.Printf("\n%s (%d nodes), %d rows, fetch %d, median of %d rounds (%s):\n\n", target, len(s.GetHosts()), rows, fetch, rounds, time.Now().UTC().Format(time.RFC3339))
	fmt.Println("| contender | rows/s | ÷ stream | first row (ms) | peak heap (MiB) | client CPU (ns/row) | rows/s by round |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	base := median(got["stream"], func(f figures) float64 { return f.rate })
	for _, c := range cs {
		fs := got[c.name()]
		spread := make([]string, len(fs))
		for i, f := range fs {
			spread[i] = fmt.Sprintf("%.0fk", f.rate/1000)
		}
		rate := median(fs, func(f figures) float64 { return f.rate })
		fmt.Printf("| %s | %.0fk | %.2f× | %.1f | %.1f | %.0f | %s |\n", c.name(), rate/1000, rate/base,
			median(fs, func(f figures) float64 { return f.firstRow })/1e6,
			median(fs, func(f figures) float64 { return f.peak })/(1<<20),
			median(fs, func(f figures) float64 { return f.cpu }), strings.Join(spread, " "))
	}
	return nil
}

// count counts the rows of seq, calling first at the first.
func count[T any](seq func(func(T, error) bool), first func()) (int64, error) {
	var n int64
	for _, err := range seq {
		if err != nil {
			return n, err
		}
		if n == 0 {
			first()
		}
		n++
	}
	return n, nil
}

// split reads table as a program without Scan does: 3×p equal token
// ranges, [start, end) and the last to the top, taken by p goroutines,
// one Stream each, unrouted.
func split(ctx context.Context, s *gocql.Session, table string, p, fetch int, first func()) (int64, error) {
	k := 3 * p
	width := math.MaxUint64 / uint64(k)
	ranges := make(chan int, k)
	for i := range k {
		ranges <- i
	}
	close(ranges)
	var total atomic.Int64
	var once sync.Once
	errs := make(chan error, p)
	var wg sync.WaitGroup
	for range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ranges {
				lo := int64(uint64(i)*width + 1<<63) // from -2^63
				st := cqlseq.CQL("SELECT * FROM "+table+" WHERE token(bucket) >= ?", lo)
				if i < k-1 {
					st = cqlseq.CQL("SELECT * FROM "+table+" WHERE token(bucket) >= ? AND token(bucket) < ?", lo, lo+int64(width))
				}
				n, err := count(cqlseq.Stream[row](ctx, s, st, cqlseq.WithFetchSize(fetch)), func() { once.Do(first) })
				total.Add(n)
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return total.Load(), <-errs
}

// cpuTime returns the CPU time (user and system) the program has used so
// far: the client's cost of a read, apart from the node's.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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

// median returns the median of f over fs.
func median(fs []figures, f func(figures) float64) float64 {
	v := make([]float64, len(fs))
	for i, x := range fs {
		v[i] = f(x)
	}
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
