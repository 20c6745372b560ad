// Package bench measures cqlseq against the Cassandra drivers and gocqlx on
// a real node: rows/s, allocations, pages, time to first row and peak heap
// for every fetch size, a slow consumer with prefetching off and on, and the
// heap as the row count grows. The benchmarks are in bench_test.go; this
// package holds the data sets, the contenders and the measuring harness they
// share with the quick test that CI runs (contenders_test.go).
//
// Run everything with bench/run.sh; see bench/README.md.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Keyspace holds the benchmark data sets. They are seeded once and reused by
// later runs; the table seeded records which are complete.
const Keyspace = "cqlseq_bench"

// dataVersion changes whenever the schema or the generated values change,
// so that a data set seeded by older code is seeded again.
const dataVersion = 1

// Small is a row of about 100 bytes on the wire, in seven columns.
type Small struct {
	Bucket  int       `db:"bucket"`
	ID      int       `db:"id"`
	Kind    string    `db:"kind"`
	At      time.Time `db:"at"`
	Score   float64   `db:"score"`
	Done    bool      `db:"done"`
	Payload string    `db:"payload"`
}

// Large is a row of about 4 KB on the wire: a 4000-character body.
type Large struct {
	Bucket int       `db:"bucket"`
	ID     int       `db:"id"`
	Kind   string    `db:"kind"`
	At     time.Time `db:"at"`
	Body   string    `db:"body"`
}

// Set is a data set: a table of rows of type R, the row each index stands
// for, and what the contenders need to read R (the hand-written scan of the
// baseline, the conversion from a MapScan map).
type Set[R any] struct {
	Name  string // "small" or "large": the set= key in benchmark names
	Table string // keyspace.table
	Rows  int

	cols      string // the column list of SELECT
	schema    string // CREATE TABLE ... after the table name
	insert    string // the column list of INSERT
	partition int    // rows per partition
	batch     int    // rows per seeding batch (one partition)

	// Row returns row i of the set, as seeded.
	Row func(i int) R
	// values are the bound values of INSERT for row i.
	values func(i int) []any
	// scan is the baseline's hand-written Scan into the fields of *r.
	scan func(it *gocql.Iter, r *R) bool
	// fromMap converts a row read by MapScan.
	fromMap func(m map[string]any) R
	// Key and Size give a row's index and its text length, so a consumer
	// touches what it reads and a test can check rows.
	// They take the row by value: a pointer would make the consumer's row
	// escape to the heap, an allocation per row that no contender makes.
	Key  func(r R) int
	Size func(r R) int
}

// Select is the statement that reads the whole set, or its first limit rows
// when limit > 0.
func (s *Set[R]) Select(limit int) string {
	q := "SELECT " + s.cols + " FROM " + s.Table
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return q
}

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

var kinds = [...]string{"click", "view", "buy", "share"}

// text returns n printable characters that depend on seed: random-looking,
// so that compression on the node does not make large rows cheap.
func text(seed uint64, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	var b strings.Builder
	b.Grow(n)
	x := seed*0x9E3779B97F4A7C15 + 1
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b.WriteByte(alphabet[x&63])
	}
	return b.String()
}

// SmallSet is the set of n small rows in table keyspace.small_<n>.
func SmallSet(keyspace string, n int) *Set[Small] {
	row := func(i int) Small {
		return Small{
			Bucket:  i / 1000,
			ID:      i % 1000,
			Kind:    kinds[i%len(kinds)],
			At:      epoch.Add(time.Duration(i) * time.Millisecond),
			Score:   float64(i) / 8,
			Done:    i%2 == 0,
			Payload: text(uint64(i), 48),
		}
	}
	return &Set[Small]{
		Name:      "small",
		Table:     fmt.Sprintf("%s.small_%d", keyspace, n),
		Rows:      n,
		cols:      "bucket, id, kind, at, score, done, payload",
		schema:    "(bucket int, id int, kind text, at timestamp, score double, done boolean, payload text, PRIMARY KEY (bucket, id))",
		insert:    "bucket, id, kind, at, score, done, payload",
		partition: 1000,
		batch:     100,
		Row:       row,
		values: func(i int) []any {
			r := row(i)
			return []any{r.Bucket, r.ID, r.Kind, r.At, r.Score, r.Done, r.Payload}
		},
		scan: func(it *gocql.Iter, r *Small) bool {
			return it.Scan(&r.Bucket, &r.ID, &r.Kind, &r.At, &r.Score, &r.Done, &r.Payload)
		},
		fromMap: func(m map[string]any) Small {
			return Small{
				Bucket:  m["bucket"].(int),
				ID:      m["id"].(int),
				Kind:    m["kind"].(string),
				At:      m["at"].(time.Time),
				Score:   m["score"].(float64),
				Done:    m["done"].(bool),
				Payload: m["payload"].(string),
			}
		},
		Key:  func(r Small) int { return r.Bucket*1000 + r.ID },
		Size: func(r Small) int { return len(r.Kind) + len(r.Payload) },
	}
}

// LargeSet is the set of n large rows in table keyspace.large_<n>.
func LargeSet(keyspace string, n int) *Set[Large] {
	row := func(i int) Large {
		return Large{
			Bucket: i / 100,
			ID:     i % 100,
			Kind:   kinds[i%len(kinds)],
			At:     epoch.Add(time.Duration(i) * time.Millisecond),
			Body:   text(uint64(i), 4000),
		}
	}
	return &Set[Large]{
		Name:      "large",
		Table:     fmt.Sprintf("%s.large_%d", keyspace, n),
		Rows:      n,
		cols:      "bucket, id, kind, at, body",
		schema:    "(bucket int, id int, kind text, at timestamp, body text, PRIMARY KEY (bucket, id))",
		insert:    "bucket, id, kind, at, body",
		partition: 100,
		batch:     20,
		Row:       row,
		values: func(i int) []any {
			r := row(i)
			return []any{r.Bucket, r.ID, r.Kind, r.At, r.Body}
		},
		scan: func(it *gocql.Iter, r *Large) bool {
			return it.Scan(&r.Bucket, &r.ID, &r.Kind, &r.At, &r.Body)
		},
		fromMap: func(m map[string]any) Large {
			return Large{
				Bucket: m["bucket"].(int),
				ID:     m["id"].(int),
				Kind:   m["kind"].(string),
				At:     m["at"].(time.Time),
				Body:   m["body"].(string),
			}
		},
		Key:  func(r Large) int { return r.Bucket*100 + r.ID },
		Size: func(r Large) int { return len(r.Kind) + len(r.Body) },
	}
}

// Ensure creates the set's table and seeds it unless an earlier run did (a
// row in keyspace.seeded records a finished seeding of this size and data
// version). It reports whether it seeded. Progress goes to out.
func (s *Set[R]) Ensure(ctx context.Context, session *gocql.Session, out io.Writer) (bool, error) {
	ks, _, _ := strings.Cut(s.Table, ".")
	for _, stmt := range []string{
		"CREATE KEYSPACE IF NOT EXISTS " + ks + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE IF NOT EXISTS " + ks + ".seeded (name text PRIMARY KEY, rows int, version int)",
		"CREATE TABLE IF NOT EXISTS " + s.Table + " " + s.schema,
	} {
		if err := session.Query(stmt).ExecContext(ctx); err != nil {
			return false, fmt.Errorf("bench: %s: %w", stmt, err)
		}
	}
	var rows, version int
	err := session.Query("SELECT rows, version FROM "+ks+".seeded WHERE name = ?", s.Table).ScanContext(ctx, &rows, &version)
	if err == nil && rows == s.Rows && version == dataVersion {
		return false, nil
	}
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return false, fmt.Errorf("bench: reading the seeding marker of %s: %w", s.Table, err)
	}
	fmt.Fprintf(out, "seeding %s with %d rows (once; later runs reuse it)\n", s.Table, s.Rows)
	start := time.Now()
	if err := session.Query("TRUNCATE " + s.Table).ExecContext(ctx); err != nil {
		return false, fmt.Errorf("bench: truncating %s: %w", s.Table, err)
	}
	if err := s.seed(ctx, session); err != nil {
		return false, err
	}
	fmt.Fprintf(out, "seeded %s in %v\n", s.Table, time.Since(start).Round(time.Millisecond))
	err = session.Query("INSERT INTO "+ks+".seeded (name, rows, version) VALUES (?, ?, ?)", s.Table, s.Rows, dataVersion).ExecContext(ctx)
	if err != nil {
		return false, fmt.Errorf("bench: marking %s seeded: %w", s.Table, err)
	}
	return true, nil
}

// seed writes the rows with unlogged batches of rows of one partition (one
// request, one mutation on the node), from 8 writers at once.
func (s *Set[R]) seed(ctx context.Context, session *gocql.Session) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	insert := "INSERT INTO " + s.Table + " (" + s.insert + ") VALUES (?" + strings.Repeat(", ?", strings.Count(s.insert, ",")) + ")"
	starts := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Bool
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range starts {
				batch := session.Batch(gocql.UnloggedBatch)
				for i := from; i < min(from+s.batch, s.Rows); i++ {
					batch.Query(insert, s.values(i)...)
				}
				if err := batch.ExecContext(ctx); err != nil {
					if failed.CompareAndSwap(false, true) {
						cancel(fmt.Errorf("bench: seeding %s rows from %d: %w", s.Table, from, err))
					}
					return
				}
			}
		}()
	}
feed:
	// A batch never spans two partitions: partition is a multiple of batch.
	for from := 0; from < s.Rows; from += s.batch {
		select {
		case starts <- from:
		case <-ctx.Done():
			break feed
		}
	}
	close(starts)
	wg.Wait()
	return context.Cause(ctx)
}

// The sizes of the benchmark data sets: enough rows that one read takes
// seconds on a small machine.
const (
	SmallRows = 200_000
	LargeRows = 40_000
	ScaleRows = 1_000_000 // small rows, for the memory scaling benchmark
)

// The benchmark data sets, in Keyspace.
func BenchSmall() *Set[Small] { return SmallSet(Keyspace, SmallRows) }
func BenchLarge() *Set[Large] { return LargeSet(Keyspace, LargeRows) }
func BenchScale() *Set[Small] { return SmallSet(Keyspace, ScaleRows) }

// EnsureAll seeds every benchmark data set that an earlier run did not, and
// reports whether it seeded any.
func EnsureAll(ctx context.Context, session *gocql.Session, out io.Writer) (bool, error) {
	a, err := BenchSmall().Ensure(ctx, session, out)
	if err != nil {
		return a, err
	}
	b, err := BenchLarge().Ensure(ctx, session, out)
	if err != nil {
		return a || b, err
	}
	c, err := BenchScale().Ensure(ctx, session, out)
	return a || b || c, err
}
