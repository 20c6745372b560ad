package cqlseq_test

// The resume test: cursors of every query shape, made at one fetch size and
// resumed at another, against one plain read of the whole result.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

var (
	resumeSeed  = flag.Uint64("resume.seed", 1, "TestCursorResumesAtAnyFetchSize: seed of the tables and cases")
	resumeCases = flag.Int("resume.cases", 160, "TestCursorResumesAtAnyFetchSize: number of cases")
	resumeCase  = flag.Int("resume.case", -1, "TestCursorResumesAtAnyFetchSize: run this case only")
)

// resumeShape is a statement whose cursors the test resumes. held is what
// the refusal of a cursor at another fetch size says the statement has ("a
// LIMIT"), "" if it is resumed at any. ordered says its rows come in an
// order that a resumed read must keep; the others are compared as multisets.
type resumeShape struct {
	name    string
	stmt    string
	values  []any
	ordered bool
	held    string
}

// resumeShapes returns the shapes over the tables of keyspace ks (see
// resumeTables): those of the conformance suite (internal/driver/drivertest:
// a whole table, a filter with a bind marker, a partition, a LIMIT in a
// partition) and every other kind of SELECT that pages.
func resumeShapes(ks string) []resumeShape {
	rows, t, m := ks+".rows", ks+".t", ks+".m"
	const limit, ppl, both = "a LIMIT", "", "a PER PARTITION LIMIT and a LIMIT"
	return []resumeShape{
		// The conformance suite's.
		{"whole table", "SELECT id, name, score FROM " + rows, nil, true, ""},
		{"filter with a marker", "SELECT id, name, score FROM " + rows + " WHERE id >= ? ALLOW FILTERING", []any{100}, true, ""},
		{"partition", "SELECT c, v FROM " + t + " WHERE p = ?", []any{3}, true, ""},
		{"LIMIT in a partition", "SELECT c FROM " + t + " WHERE p = 3 LIMIT 35", nil, true, limit},
		// Clustered tables, slices, order.
		{"whole clustered table, static column", "SELECT * FROM " + t, nil, true, ""},
		{"clustering slice", "SELECT c, v FROM " + t + " WHERE p = 3 AND c >= 5 AND c < 50", nil, true, ""},
		{"ORDER BY DESC", "SELECT c, v FROM " + t + " WHERE p = 3 ORDER BY c DESC", nil, true, ""},
		{"multi-column slice", "SELECT c1, c2, v FROM " + m + " WHERE p = 2 AND (c1, c2) > (3, 4)", nil, true, ""},
		{"IN on the partition key", "SELECT p, c, v FROM " + t + " WHERE p IN (2, 3, 4, 6, 8, 9, 10, 12)", nil, true, ""},
		{"IN on the clustering key", "SELECT c, v FROM " + t + " WHERE p = 3 AND c IN (1, 2, 3, 5, 8, 13, 21, 34, 40, 41, 42, 43, 44)", nil, true, ""},
		{"IN on the clustering key, DESC", "SELECT c, v FROM " + t + " WHERE p = 3 AND c IN (1, 2, 3, 5, 8, 13, 21, 34, 40) ORDER BY c DESC", nil, true, ""},
		// Filters, indexes, token ranges.
		{"ALLOW FILTERING", "SELECT p, c, v FROM " + t + " WHERE v > 20 ALLOW FILTERING", nil, true, ""},
		{"ALLOW FILTERING on a static column", "SELECT p, c, s FROM " + t + " WHERE s > 500 ALLOW FILTERING", nil, true, ""},
		{"token range", "SELECT p, c, v FROM " + t + " WHERE token(p) > ? AND token(p) <= ?", []any{int64(math.MinInt64), int64(3074457345618258602)}, true, ""},
		{"secondary index", "SELECT p, c, v FROM " + t + " WHERE v = 7", nil, false, ""},
		{"SAI", "SELECT p, c, w FROM " + t + " WHERE w = 3", nil, false, ""},
		{"SAI range", "SELECT p, c, w FROM " + t + " WHERE w > 5", nil, false, ""},
		// Aggregates, DISTINCT, JSON.
		{"DISTINCT", "SELECT DISTINCT p FROM " + t, nil, true, ""},
		{"DISTINCT with a static column", "SELECT DISTINCT p, s FROM " + t, nil, true, ""},
		{"GROUP BY the partition key", "SELECT p, count(*), max(v) FROM " + t + " GROUP BY p", nil, true, ""},
		{"GROUP BY the primary key", "SELECT p, c, count(*) FROM " + t + " GROUP BY p, c", nil, true, ""},
		{"GROUP BY without an aggregate", "SELECT p, c, v FROM " + t + " GROUP BY p", nil, true, ""},
		{"aggregate (one page)", "SELECT count(*) FROM " + t, nil, true, ""},
		{"SELECT JSON", "SELECT JSON p, c, v FROM " + t, nil, true, ""},
		// PER PARTITION LIMIT alone resumes anywhere.
		{"PER PARTITION LIMIT", "SELECT p, c, v FROM " + t + " PER PARTITION LIMIT 7", nil, true, ppl},
		{"PER PARTITION LIMIT ?", "SELECT p, c, v FROM " + t + " PER PARTITION LIMIT ?", []any{3}, true, ppl},
		{"PER PARTITION LIMIT, IN", "SELECT p, c, v FROM " + t + " WHERE p IN (2, 3, 4, 6, 8) PER PARTITION LIMIT 5", nil, true, ppl},
		{"PER PARTITION LIMIT, filter", "SELECT p, c, v FROM " + t + " WHERE v > 20 PER PARTITION LIMIT 3 ALLOW FILTERING", nil, true, ppl},
		{"PER PARTITION LIMIT, GROUP BY", "SELECT p, c, count(*) FROM " + t + " GROUP BY p, c PER PARTITION LIMIT 3", nil, true, ppl},
		// LIMIT holds the fetch size.
		{"LIMIT", "SELECT p, c, v FROM " + t + " LIMIT 137", nil, true, limit},
		{"LIMIT ?", "SELECT p, c, v FROM " + t + " LIMIT ?", []any{137}, true, limit},
		{"lower-case limit over lines", "select p, c, v\nfrom " + t + "\nlimit\n60", nil, true, limit},
		{"PER PARTITION LIMIT and LIMIT", "SELECT p, c, v FROM " + t + " PER PARTITION LIMIT 7 LIMIT 100", nil, true, both},
		{"LIMIT, IN", "SELECT p, c, v FROM " + t + " WHERE p IN (2, 3, 4, 6, 8) LIMIT 70", nil, true, limit},
		{"LIMIT, DESC", "SELECT c, v FROM " + t + " WHERE p = 3 ORDER BY c DESC LIMIT 30", nil, true, limit},
		{"LIMIT, filter", "SELECT p, c, v FROM " + t + " WHERE v > 20 LIMIT 100 ALLOW FILTERING", nil, true, limit},
		{"LIMIT, DISTINCT", "SELECT DISTINCT p FROM " + t + " LIMIT 20", nil, true, limit},
		{"LIMIT, GROUP BY", "SELECT p, count(*) FROM " + t + " GROUP BY p LIMIT 20", nil, true, limit},
		{"LIMIT, SAI", "SELECT p, c, w FROM " + t + " WHERE w > 5 LIMIT 50", nil, false, limit},
		// LIMIT where Cassandra does not read one.
		{"'LIMIT' in a string, a comment, a quoted name", "SELECT id, name, \"limit\" FROM " + rows + " WHERE name > 'LIMIT 5' ALLOW FILTERING -- LIMIT 5\n", nil, true, ""},
	}
}

// resumeTables creates and fills the tables of resumeShapes in ks, from r:
// rows, a partition per row (id, name, score, "limit"); t, 40 partitions of
// 0 to 60 rows (partition 3, which shapes read alone, 47), some with only a
// static value, a deleted partition and deleted rows, a secondary index and
// an SAI index; m, a clustering key of two columns.
func resumeTables(t *testing.T, s *gocql.Session, ks string, r *rand.Rand) {
	cqlseqtest.Exec(t, s,
		"CREATE TABLE "+ks+".rows (id int PRIMARY KEY, name text, score bigint, \"limit\" int)",
		"CREATE TABLE "+ks+".t (p int, c int, v int, w int, s int static, PRIMARY KEY (p, c))",
		"CREATE INDEX ON "+ks+".t (v)",
		"CREATE INDEX ON "+ks+".t (w) USING 'sai'",
		"CREATE TABLE "+ks+".m (p int, c1 int, c2 int, v int, PRIMARY KEY (p, c1, c2))")
	ctx := t.Context()
	seed := func(insert string, n int, values func(i int) []any) {
		if err := cqlseqtest.Seed(ctx, s, insert, n, 0, values); err != nil {
			t.Fatal(err)
		}
	}
	seed("INSERT INTO "+ks+".rows (id, name, score, \"limit\") VALUES (?, ?, ?, ?)", 400, func(i int) []any {
		return []any{i, fmt.Sprintf("%c-%d", 'A'+rune(i%26), i), int64(i) * 10, i % 7}
	})
	type cell struct{ p, c int }
	var cells []cell
	for p := range 40 {
		n := r.IntN(61)
		switch {
		case p == 3: // the shapes' partition
			n = 47
		case p%7 == 0:
			n = 0
		}
		if p%5 == 0 || n > 0 {
			cqlseqtest.Exec(t, s, fmt.Sprintf("INSERT INTO %s.t (p, s) VALUES (%d, %d)", ks, p, p*100))
		}
		for c := range n {
			cells = append(cells, cell{p, c})
		}
	}
	seed("INSERT INTO "+ks+".t (p, c, v, w) VALUES (?, ?, ?, ?)", len(cells), func(i int) []any {
		c := cells[i]
		return []any{c.p, c.c, (c.p*31 + c.c*7) % 50, c.c % 9}
	})
	seed("INSERT INTO "+ks+".m (p, c1, c2, v) VALUES (?, ?, ?, ?)", 500, func(i int) []any {
		return []any{i / 100, i / 10 % 10, i % 10, i}
	})
	cqlseqtest.Exec(t, s, "DELETE FROM "+ks+".t WHERE p = 1", "DELETE FROM "+ks+".t WHERE p = 2 AND c > 3 AND c < 9")
}

// resumeRow is a row as text: its columns by name, in order.
func resumeRow(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%v ", k, m[k])
	}
	return b.String()
}

// resumePlain reads sh's whole result with the driver, in one page.
func resumePlain(t *testing.T, s *gocql.Session, sh resumeShape) []string {
	it := s.Query(sh.stmt, sh.values...).PageSize(100_000).Iter()
	var rows []string
	for {
		m := map[string]any{}
		if !it.MapScan(m) {
			break
		}
		rows = append(rows, resumeRow(m))
	}
	if err := it.Close(); err != nil {
		t.Fatalf("%s: %v", sh.name, err)
	}
	if len(it.PageState()) > 0 {
		t.Fatalf("%s: more than one page at page size 100,000", sh.name)
	}
	return rows
}

// resumeFetchSize returns a fetch size for a result of n rows: from 1 to
// hi with small ones as likely as large ones (no smaller than n/100, so
// that a read takes at most about 100 pages), or, for a statement with a
// LIMIT, next to it (at most hi).
func resumeFetchSize(r *rand.Rand, n, limit, hi int) int {
	if limit > 0 && r.IntN(3) == 0 {
		return max(1, min(hi, limit-1+r.IntN(3)))
	}
	lo := max(1, min(hi, n/100))
	return max(lo, int(math.Exp(r.Float64()*math.Log(float64(hi)+1))))
}

// resumeLimit returns the LIMIT of sh's statement, 0 if it has none.
func resumeLimit(sh resumeShape) int {
	i := strings.LastIndex(strings.ToUpper(sh.stmt), "LIMIT")
	if i < 0 || sh.held == "" {
		return 0
	}
	var n int
	if _, err := fmt.Sscan(sh.stmt[i+len("LIMIT"):], &n); err != nil && len(sh.values) > 0 {
		n, _ = sh.values[len(sh.values)-1].(int)
	}
	return n
}

// sameRows reports whether got holds want's rows: in order if ordered.
func sameRows(want, got []string, ordered bool) bool {
	if !ordered {
		want, got = slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
	}
	return slices.Equal(want, got)
}

// A cursor made after a random page at fetch size A and resumed at fetch
// size B, for every shape of SELECT (resumeShapes), random A and B (seeded:
// -resume.seed, -resume.cases; -resume.case=N runs case N alone), with
// Stream or Pages, on protocol 5 or 4 (the cursor made on one and resumed
// on the other too): the rows read before the cursor and after it are the
// statement's rows, as one read of the whole result gives them; or, for a
// statement with a LIMIT, the cursor is refused before any request, saying
// so, and resumes exactly at its own fetch size. Never a wrong result.
func TestCursorResumesAtAnyFetchSize(t *testing.T) {
	s5 := cqlseqtest.Session(t)
	c4 := cqlseqtest.Cluster()
	c4.ProtoVersion = 4
	s4, err := c4.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s4.Close()
	seed := *resumeSeed
	t.Logf("seed %d (-resume.seed), %d cases (-resume.cases)", seed, *resumeCases)
	ks := cqlseqtest.Keyspace(t, s5)
	resumeTables(t, s5, ks, rand.New(rand.NewPCG(seed, 0)))
	shapes := resumeShapes(ks)
	want := make([][]string, len(shapes))
	for i, sh := range shapes {
		want[i] = resumePlain(t, s5, sh)
	}
	sessions := map[int]*gocql.Session{4: s4, 5: s5}
	var resumed, refused, noCursor int
	for n := range *resumeCases {
		if *resumeCase >= 0 && n != *resumeCase {
			continue
		}
		r := rand.New(rand.NewPCG(seed, uint64(n)+1))
		i := r.IntN(len(shapes))
		sh, all := shapes[i], want[i]
		limit := resumeLimit(sh)
		// A below the rows, for a cursor; B up to 300, or to beyond them.
		a := resumeFetchSize(r, len(all), limit, max(1, len(all)-1))
		b := resumeFetchSize(r, len(all), limit, max(300, len(all)+1))
		for b == a {
			b = resumeFetchSize(r, len(all), limit, max(300, len(all)+1))
		}
		made, at := 4+r.IntN(2), 4+r.IntN(2) // protocol versions
		pages := r.IntN(2) == 0
		prefetch := []float64{0, 0.25, 1}[r.IntN(3)]
		stop := 1 + r.IntN(max(1, (len(all)+a-1)/a))
		name := fmt.Sprintf("case %d (%s): A %d, stop after page %d, B %d, protocol %d then %d, pages %v, prefetch %v",
			n, sh.name, a, stop, b, made, at, pages, prefetch)

		// Read at A up to page stop, or to the last page with a cursor.
		var read []string
		var cursor string
		var kept int // rows of the pages up to the cursor
		for p, err := range cqlseq.Pages[map[string]any](t.Context(), sessions[made], cqlseq.CQL(sh.stmt, sh.values...),
			cqlseq.WithFetchSize(a), cqlseq.WithPrefetch(prefetch)) {
			if err != nil {
				t.Fatalf("%s: reading at A: %v", name, err)
			}
			for _, row := range p.Rows {
				read = append(read, resumeRow(row))
			}
			if p.Cursor != "" {
				cursor, kept = p.Cursor, len(read)
			}
			if p.Number == stop && p.Cursor != "" {
				break
			}
		}
		if cursor == "" { // one page: all there is
			noCursor++
			if !sameRows(all, read, sh.ordered) {
				t.Errorf("%s: the one page holds %d rows, want %d%s", name, len(read), len(all), firstDiff(all, read, sh.ordered))
			}
			continue
		}
		before := read[:kept]

		// Resume at B.
		after, requests, err := resumeRead(t.Context(), sessions[at], sh, pages, cursor, cqlseq.WithFetchSize(b), cqlseq.WithPrefetch(prefetch))
		if sh.held != "" {
			refused++
			if !errors.Is(err, cqlseq.ErrInvalidCursor) || !errors.Is(err, cqlseq.ErrInvalidArgument) || requests != 0 || len(after.rows) != 0 ||
				!strings.Contains(err.Error(), fmt.Sprintf("made at fetch size %d and the stream asks for %d, and the statement has %s: ", a, b, sh.held)) {
				t.Errorf("%s: %d rows, %d requests, %v; want the cursor refused before any request, saying the statement has %s", name, len(after.rows), requests, err, sh.held)
				continue
			}
			if n < 3 || *resumeCase >= 0 {
				t.Logf("%s: %v", name, err)
			}
			// At its own fetch size, the cursor resumes exactly.
			after, _, err = resumeRead(t.Context(), sessions[at], sh, pages, cursor, cqlseq.WithPrefetch(prefetch))
			b = a
		}
		if err != nil {
			t.Errorf("%s: resuming at B: %v", name, err)
			continue
		}
		resumed++
		if got := append(before, after.rows...); !sameRows(all, got, sh.ordered) {
			t.Errorf("%s: %d rows before the cursor and %d after it differ from the %d of a plain read%s", name, len(before), len(after.rows), len(all), firstDiff(all, got, sh.ordered))
		}
		// Pages of B rows, not of A.
		if after.largest > b || b > a && len(after.rows) > a && after.largest <= a {
			t.Errorf("%s: %d rows resumed, the largest page of %d rows; want pages of fetch size %d", name, len(after.rows), after.largest, b)
		}
	}
	t.Logf("seed %d: %d cases over %d shapes: %d resumed and compared (at another fetch size, or for a LIMIT at its own), %d refused for a LIMIT at another fetch size, %d without a cursor (one page)",
		seed, *resumeCases, len(shapes), resumed, refused, noCursor)
}

// resumedRows is what a resumed read got: its rows, and its largest page.
type resumedRows struct {
	rows    []string
	largest int
}

// resumeRead resumes sh's stream from cursor with Pages (pages) or
// Stream and opts, and returns its rows, the number of requests sent and
// its error.
func resumeRead(ctx context.Context, s *gocql.Session, sh resumeShape, pages bool, cursor string, opts ...cqlseq.StreamOption) (resumedRows, int64, error) {
	requests := new(atomic.Int64)
	stmt := cqlseq.FromQuery(s.Query(sh.stmt, sh.values...).Observer(counter{requests}))
	opts = append(opts, cqlseq.WithCursor(cursor))
	var got resumedRows
	var seq iter.Seq2[map[string]any, error]
	if pages {
		seq = func(yield func(map[string]any, error) bool) {
			for p, err := range cqlseq.Pages[map[string]any](ctx, nil, stmt, opts...) {
				if err != nil {
					yield(nil, err)
					return
				}
				got.largest = max(got.largest, len(p.Rows))
				for _, row := range p.Rows {
					if !yield(row, nil) {
						return
					}
				}
			}
		}
	} else {
		opts = append(opts, cqlseq.WithPageCallback(func(p cqlseq.PageInfo) { got.largest = max(got.largest, p.RowCount) }))
		seq = cqlseq.Stream[map[string]any](ctx, nil, stmt, opts...)
	}
	for row, err := range seq {
		if err != nil {
			return got, requests.Load(), err
		}
		got.rows = append(got.rows, resumeRow(row))
	}
	return got, requests.Load(), nil
}

// firstDiff describes where got first differs from want.
func firstDiff(want, got []string, ordered bool) string {
	if !ordered {
		want, got = slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
	}
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			return fmt.Sprintf(": row %d is %q, want %q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf(": the first %d rows agree", min(len(want), len(got)))
}
