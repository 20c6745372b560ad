package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// The benchmarks read the data sets in keyspace cqlseq_bench on the node
// (seeded on first use), each read a whole measurement. Run them with
// bench/run.sh, which runs every benchmark once per round, several rounds,
// so that benchstat sees the contenders interleaved:
//
//	go test -run '^$' -bench . -benchtime 1x -count 1
//
// Benchmark names carry key=value parts (set=, fetch=, impl=, ...), so
// benchstat can compare along any of them: benchstat -col /impl raw.txt.

// FetchSizes are the page sizes of the main matrix.
var FetchSizes = []int{100, 500, 1000, 5000, 10000}

// SlowFetch is the page size of the slow consumer benchmark, and
// SlowWork its work per row: close to the time a row takes to fetch at that
// page size on the reference machine, so that neither side hides the other.
const (
	SlowFetch = 1000
	SlowWork  = 6 * time.Microsecond
)

// ScaleFetch is the page size of the memory scaling benchmark.
const ScaleFetch = 1000

var shared struct {
	once sync.Once
	env  *Env
	err  error
}

// benchEnv connects, seeds what is missing and warms the node up (a read of
// every set, so that caches and the JIT do not favour the contenders that
// happen to run later).
func benchEnv(b *testing.B) *Env {
	b.Helper()
	shared.once.Do(func() {
		ctx := context.Background()
		env, err := Connect(ctx)
		if err != nil {
			shared.err = err
			return
		}
		shared.env = env
		if _, err := EnsureAll(ctx, env.V2, os.Stderr); err != nil {
			shared.err = err
			return
		}
		fmt.Print(describe(ctx, env))
		for range 2 {
			if _, err := Measure(ctx, env, BenchSmall(), Contenders[Small]()[0], Run{Fetch: 5000, Prefetch: -1}, 0); err != nil {
				shared.err = err
				return
			}
			if _, err := Measure(ctx, env, BenchLarge(), Contenders[Large]()[0], Run{Fetch: 1000, Prefetch: -1}, 0); err != nil {
				shared.err = err
				return
			}
		}
	})
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return shared.env
}

// describe returns benchfmt configuration lines about the cluster: they
// head the raw results.
func describe(ctx context.Context, env *Env) string {
	var version string
	if err := env.V2.Query("SELECT release_version FROM system.local").ScanContext(ctx, &version); err != nil {
		version = "unknown (" + err.Error() + ")"
	}
	proto := "unknown"
	if v2, v1, err := Protocols(); err == nil {
		proto = fmt.Sprintf("v%d (v2 driver), v%d (gocql for gocqlx)", v2, v1)
	}
	return fmt.Sprintf("cassandra: %s\nprotocol: %s\n", version, proto)
}

// wants caches the expected figures of each table.
var wants sync.Map

type want struct{ rows, keys, bytes int64 }

// wantFor returns what a read of set with limit must give. Rows arrive in
// token order, so the first limit rows are not the first limit indexes:
// only their number is known.
func wantFor[R any](set *Set[R], limit int) want {
	if limit > 0 && limit < set.Rows {
		return want{rows: int64(limit), keys: -1, bytes: -1}
	}
	if w, ok := wants.Load(set.Table); ok {
		return w.(want)
	}
	var w want
	w.rows, w.keys, w.bytes = set.Want()
	wants.Store(set.Table, w)
	return w
}

// benchRead measures reads of set by c. Every read starts from a collected
// heap, outside the timer, and must return exactly the rows of the set.
func benchRead[R any](b *testing.B, env *Env, set *Set[R], c Contender[R], run Run, work int) {
	ctx := context.Background()
	w := wantFor(set, run.Limit)
	var sum Stats
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		Settle()
		b.StartTimer()
		st, err := Measure(ctx, env, set, c, run, work)
		if err != nil {
			b.Fatal(err)
		}
		if st.Rows != w.rows || (w.keys >= 0 && (st.KeySum != w.keys || st.Bytes != w.bytes)) {
			b.Fatalf("%s read %d rows (key sum %d, %d bytes of text), want %d (%d, %d)",
				c.Name, st.Rows, st.KeySum, st.Bytes, w.rows, w.keys, w.bytes)
		}
		sum.Rows += st.Rows
		sum.Pages += st.Pages
		sum.PageTime += st.PageTime
		sum.FirstRow += st.FirstRow
		sum.AllocBytes += st.AllocBytes
		sum.Allocs += st.Allocs
		sum.PeakHeap = max(sum.PeakHeap, st.PeakHeap)
		sum.PeakLive = max(sum.PeakLive, st.PeakLive)
	}
	n, rows := float64(b.N), float64(sum.Rows)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
	b.ReportMetric(float64(sum.AllocBytes)/rows, "B/row")
	b.ReportMetric(float64(sum.Allocs)/rows, "allocs/row")
	b.ReportMetric(float64(sum.Pages)/n, "pages/op")
	b.ReportMetric(float64(sum.PageTime.Nanoseconds())/float64(max(sum.Pages, 1)), "ns/page")
	b.ReportMetric(float64(sum.FirstRow.Nanoseconds())/n, "first-row-ns")
	b.ReportMetric(float64(sum.PeakHeap), "peak-heap-B")
	b.ReportMetric(float64(sum.PeakLive), "peak-live-B")
}

// BenchmarkRead is the main matrix: every contender over both sets at every
// fetch size, with each library's default prefetching.
func BenchmarkRead(b *testing.B) {
	env := benchEnv(b)
	small, large := BenchSmall(), BenchLarge()
	for _, fetch := range FetchSizes {
		run := Run{Fetch: fetch, Prefetch: -1}
		for _, c := range roundOrder(Contenders[Small]()) {
			b.Run(fmt.Sprintf("set=small/fetch=%d/impl=%s", fetch, c.Name), func(b *testing.B) {
				benchRead(b, env, small, c, run, 0)
			})
		}
		for _, c := range roundOrder(Contenders[Large]()) {
			b.Run(fmt.Sprintf("set=large/fetch=%d/impl=%s", fetch, c.Name), func(b *testing.B) {
				benchRead(b, env, large, c, run, 0)
			})
		}
	}
}

// roundOrder returns cs rotated by the round bench/run.sh is in
// (CQLSEQ_BENCH_ROUND, counting from 1), so that over the rounds every
// contender runs first, second and so on in each set and fetch size, and
// none always reads right after the data was seeded or right after a
// particular other one.
func roundOrder[T any](cs []T) []T {
	round, err := strconv.Atoi(os.Getenv("CQLSEQ_BENCH_ROUND"))
	if err != nil || round < 1 || len(cs) == 0 {
		return cs
	}
	k := (round - 1) % len(cs)
	return append(slices.Clone(cs[k:]), cs[:k]...)
}

var spinUnits = sync.OnceValue(func() int { return CalibrateSpin(SlowWork) })

// BenchmarkSlowConsumer reads the small set with fixed CPU work per row
// (SlowWork), with prefetching off and on. Its reference points: work=only
// is the work alone, no reading; fetch=only is the read alone with
// prefetching off. Without overlap a read with work takes their sum; with
// perfect overlap, the larger of the two.
func BenchmarkSlowConsumer(b *testing.B) {
	env := benchEnv(b)
	set := BenchSmall()
	units := spinUnits()
	work := fmt.Sprintf("work=%dus/fetch=%d", SlowWork.Microseconds(), SlowFetch)
	b.Run(work+"/impl=work-only", func(b *testing.B) {
		for b.Loop() {
			for range set.Rows {
				Spin(units)
			}
		}
		b.ReportMetric(float64(set.Rows)/b.Elapsed().Seconds(), "rows/s")
	})
	stream, _ := ContenderNamed[Small]("stream")
	b.Run(work+"/impl=fetch-only", func(b *testing.B) {
		benchRead(b, env, set, stream, Run{Fetch: SlowFetch, Prefetch: 0}, 0)
	})
	for _, c := range []struct {
		impl     string
		prefetch []float64
	}{
		{"driver", []float64{0, 0.25}},
		{"stream", []float64{0, 0.25, 1}},
		{"pages", []float64{0, 1}},
	} {
		con, _ := ContenderNamed[Small](c.impl)
		for _, p := range c.prefetch {
			b.Run(fmt.Sprintf("%s/impl=%s/prefetch=%g", work, c.impl, p), func(b *testing.B) {
				benchRead(b, env, set, con, Run{Fetch: SlowFetch, Prefetch: p}, units)
			})
		}
	}
}

// BenchmarkProtocol reads the large set with Stream over two v2 driver
// sessions, one on the protocol version the driver settles on with
// Cassandra 5 (v5) and one held to v4 (ClusterConfig.ProtoVersion = 4): the
// v2 driver reads v5 pages through more copies than v4 pages.
func BenchmarkProtocol(b *testing.B) {
	env := benchEnv(b)
	v4 := proto4.get(b, env, func(c *gocql.ClusterConfig) { c.ProtoVersion = 4 })
	set := BenchLarge()
	stream, _ := ContenderNamed[Large]("stream")
	for _, p := range []struct {
		name string
		env  *Env
	}{{"default", env}, {"4", v4}} {
		b.Run(fmt.Sprintf("set=large/fetch=1000/proto=%s/impl=stream", p.name), func(b *testing.B) {
			benchRead(b, p.env, set, stream, Run{Fetch: 1000, Prefetch: -1}, 0)
		})
	}
}

// BenchmarkCoalesce reads the small set with Stream on the default session
// and on one with the driver's write coalescing off
// (ClusterConfig.WriteCoalesceWaitTime = 0; the default waits up to 200 µs
// before sending a request, to batch it with others): with small pages a
// stream is a chain of round trips, each of which waits.
func BenchmarkCoalesce(b *testing.B) {
	env := benchEnv(b)
	unwaited := noWait.get(b, env, func(c *gocql.ClusterConfig) { c.WriteCoalesceWaitTime = 0 })
	set := BenchSmall()
	stream, _ := ContenderNamed[Small]("stream")
	for _, fetch := range []int{100, 1000} {
		for _, w := range []struct {
			name string
			env  *Env
		}{{"default", env}, {"0", unwaited}} {
			b.Run(fmt.Sprintf("set=small/fetch=%d/wait=%s/impl=stream", fetch, w.name), func(b *testing.B) {
				benchRead(b, w.env, set, stream, Run{Fetch: fetch, Prefetch: -1}, 0)
			})
		}
	}
}

// altEnv is a v2 driver session with settings other than the shared
// one's, made once by get; its gocqlx session is the shared one.
type altEnv struct {
	once sync.Once
	env  *Env
	err  error
}

// get returns the session, made with the test cluster's settings as
// configure changes them.
func (a *altEnv) get(b *testing.B, shared *Env, configure func(*gocql.ClusterConfig)) *Env {
	a.once.Do(func() {
		c := cqlseqtest.Cluster()
		configure(c)
		a.env = &Env{X: shared.X}
		a.env.V2, a.err = c.CreateSession()
	})
	if a.err != nil {
		b.Fatal(a.err)
	}
	return a.env
}

// proto4 is BenchmarkProtocol's session held to protocol v4; noWait is
// BenchmarkCoalesce's without write coalescing.
var proto4, noWait altEnv

// BenchmarkMemory streams 100,000 and 1,000,000 rows at the same fetch size:
// the peak heap must not grow with the row count.
func BenchmarkMemory(b *testing.B) {
	env := benchEnv(b)
	set := BenchScale()
	for _, rows := range []int{100_000, 1_000_000} {
		for _, impl := range []string{"driver", "stream", "pages"} {
			c, _ := ContenderNamed[Small](impl)
			b.Run(fmt.Sprintf("fetch=%d/rows=%d/impl=%s", ScaleFetch, rows, impl), func(b *testing.B) {
				benchRead(b, env, set, c, Run{Fetch: ScaleFetch, Prefetch: -1, Limit: rows}, 0)
			})
		}
	}
}
