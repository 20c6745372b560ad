package cqlseqx_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocql/gocql"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/scylladb/go-reflectx"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// lowerRow is mapped by a mapper that lower-cases field names: UserID is
// column userid (gocqlx's default mapper would look for user_id).
type lowerRow struct {
	P, C   int
	UserID int
	V      string
}

// jsonRow is mapped by its json tags: Value is column v (gocqlx's default
// mapper would look for value).
type jsonRow struct {
	P      int    `json:"p"`
	C      int    `json:"c"`
	UserID int    `json:"userid"`
	Value  string `json:"v"`
}

// schemaReads counts a session's requests to system_schema, by statement.
type schemaReads struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *schemaReads) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	if !strings.Contains(q.Statement, "system_schema.") {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[q.Statement]++
}

// mapperSession opens a gocqlx session with mapper m and the settings set
// gives its cluster; it is closed when the test ends.
func mapperSession(t *testing.T, m *reflectx.Mapper, set func(*gocql.ClusterConfig)) (gocqlx.Session, *schemaReads) {
	t.Helper()
	cqlseqtest.NeedCassandra(t)
	reads := &schemaReads{n: map[string]int{}}
	c := gocql.NewCluster(cqlseqtest.Hosts()...)
	c.Timeout, c.ConnectTimeout = 20*time.Second, 10*time.Second
	c.Consistency = gocql.One
	set(c)
	c.QueryObserver = reads
	s, err := gocqlx.WrapSession(c.CreateSession())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.Mapper = m
	return s, reads
}

// scanAndSelect reads table with cqlseqx.Scan and with gocqlx's Select on
// s, and returns both, sorted.
func scanAndSelect[T any](t *testing.T, s gocqlx.Session, table string, key func(T) (int, int), opts ...cqlseq.ScanOption) (want, got []T) {
	t.Helper()
	less := func(a, b T) int {
		ap, ac := key(a)
		bp, bc := key(b)
		return cmp.Or(cmp.Compare(ap, bp), cmp.Compare(ac, bc))
	}
	for r, err := range cqlseqx.Scan[T](context.Background(), s, table, opts...) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	q := s.Query("SELECT * FROM "+table, nil)
	q.Consistency(gocql.One)
	if err := q.Select(&want); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, less)
	slices.SortFunc(want, less)
	return want, got
}

// cqlseqx.Scan on a session whose mapper is not gocqlx's default reads
// what gocqlx's Select reads on it: the scan's own reads of system_schema
// are decoded by the core's rules, its rows by the session's mapper. A
// session whose default consistency cannot read (ANY) and whose page size
// is 1 does not reach those reads either: one request each.
func TestScanWithSessionMapper(t *testing.T) {
	vs := cqlseqtest.Session(t)
	table := cqlseqtest.Keyspace(t, vs) + ".mapped"
	cqlseqtest.Exec(t, vs, "CREATE TABLE "+table+" (p int, c int, userid int, v text, PRIMARY KEY (p, c))")
	if err := cqlseqtest.Seed(context.Background(), vs, "INSERT INTO "+table+" (p, c, userid, v) VALUES (?, ?, ?, ?)", 300, 8,
		func(i int) []any { return []any{i / 3, i % 3, 1000 + i, "v" + string(rune('a'+i%7))} }); err != nil {
		t.Fatal(err)
	}
	one := func(*gocql.ClusterConfig) {}
	anyOne := func(c *gocql.ClusterConfig) { c.Consistency, c.PageSize = gocql.Any, 1 }
	lower := reflectx.NewMapperFunc("db", strings.ToLower)
	byJSON := reflectx.NewMapperFunc("json", reflectx.CamelToSnakeASCII)
	check := func(t *testing.T, reads *schemaReads, rows int, mapped func(int) bool) {
		t.Helper()
		if rows != 300 {
			t.Fatalf("%d rows, want 300", rows)
		}
		for i := range rows {
			if !mapped(i) {
				t.Fatalf("row %d: a field the session's mapper maps is empty", i)
			}
		}
		reads.mu.Lock()
		defer reads.mu.Unlock()
		if len(reads.n) == 0 {
			t.Fatal("no request read system_schema")
		}
		for stmt, n := range reads.n {
			if n != 1 {
				t.Errorf("%s: %d requests, want 1", stmt, n)
			}
		}
	}
	for _, tt := range []struct {
		name string
		m    *reflectx.Mapper
		set  func(*gocql.ClusterConfig)
		opts []cqlseq.ScanOption
	}{
		{"lower-case mapper", lower, one, nil},
		{"lower-case mapper, consistency ANY, page size 1", lower, anyOne, []cqlseq.ScanOption{cqlseq.WithConsistency(cqlseq.One)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, reads := mapperSession(t, tt.m, tt.set)
			want, got := scanAndSelect(t, s, table, func(r lowerRow) (int, int) { return r.P, r.C }, append(tt.opts, cqlseq.WithParallelism(3), cqlseq.WithFetchSize(40))...)
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Fatalf("(-Select +Scan):\n%s", diff)
			}
			check(t, reads, len(got), func(i int) bool { return got[i].UserID != 0 })
		})
	}
	t.Run("json mapper", func(t *testing.T) {
		s, reads := mapperSession(t, byJSON, one)
		want, got := scanAndSelect(t, s, table, func(r jsonRow) (int, int) { return r.P, r.C }, cqlseq.WithParallelism(3))
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("(-Select +Scan):\n%s", diff)
		}
		check(t, reads, len(got), func(i int) bool { return got[i].UserID != 0 && got[i].Value != "" })
	})
	// The scan's options are checked before any range is read, over
	// gocqlx's driver too.
	t.Run("options", func(t *testing.T) {
		s, _ := mapperSession(t, lower, one)
		for name, opts := range map[string][]cqlseq.ScanOption{
			"a column the table lacks":   {cqlseq.WithColumns("p", "nosuch")},
			"a syntax error":             {cqlseq.WithFilter("userid >> ?", 1)},
			"a value of the wrong type":  {cqlseq.WithFilter("userid > ?", "x")},
			"a marker without its value": {cqlseq.WithFilter("userid > ?")},
		} {
			n := 0
			for _, err := range cqlseqx.Scan[lowerRow](context.Background(), s, table, opts...) {
				n++
				if !errors.Is(err, cqlseq.ErrInvalidArgument) || strings.Count(err.Error(), "cqlseq:") != 1 {
					t.Errorf("%s: %v, want an ErrInvalidArgument with one \"cqlseq:\"", name, err)
				}
			}
			if n != 1 {
				t.Errorf("%s: %d elements, want 1", name, n)
			}
		}
		var got []lowerRow
		for r, err := range cqlseqx.Scan[lowerRow](context.Background(), s, table, cqlseq.WithColumns("p", "c", "userid"), cqlseq.WithFilter("userid >= :min", 1290)) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		slices.SortFunc(got, func(a, b lowerRow) int { return cmp.Compare(a.UserID, b.UserID) })
		var want []lowerRow
		for i := 290; i < 300; i++ {
			want = append(want, lowerRow{P: i / 3, C: i % 3, UserID: 1000 + i})
		}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
}
