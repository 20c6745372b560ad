package cqlseq_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// What the statement and options capture cannot be changed by the caller
// afterwards, and what the caller's query carries is honoured.

// readInts reads the single int column of every row, or the error.
func readInts(seq func(func(int, error) bool)) ([]int, error) {
	var got []int
	for v, err := range seq {
		if err != nil {
			return got, err
		}
		got = append(got, v)
	}
	return got, nil
}

func seq(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

// clusteredTable creates a partition p with rows c = 0..n-1 in every
// partition listed.
func clusteredTable(t *testing.T, s *gocql.Session, n int, partitions ...int) string {
	t.Helper()
	ks := newTable(t, s, "CREATE TABLE %s.c (p int, c int, PRIMARY KEY (p, c))")
	for _, p := range partitions {
		if err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+ks+".c (p, c) VALUES (?, ?)", n, 8, func(i int) []any { return []any{p, i} }); err != nil {
			t.Fatal(err)
		}
	}
	return ks + ".c"
}

// Changing the caller's values slice after CQL does not change what the
// stream reads, nor the cursor's fingerprint.
func TestBoundValuesAreCopied(t *testing.T) {
	s := cqlseqtest.Session(t)
	table := clusteredTable(t, s, 30, 1, 2)
	stmt := "SELECT c FROM " + table + " WHERE p = ?"
	args := []any{1}
	st := cqlseq.CQL(stmt, args...)
	args[0] = 2
	var cursor string
	n := 0
	for p, err := range cqlseq.Pages[int](context.Background(), s, st, cqlseq.WithFetchSize(10)) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Rows)
		cursor = p.Cursor
		break
	}
	// The cursor belongs to p = 1: it resumes a statement with 1, and a
	// statement with 2 refuses it.
	got, err := readInts(cqlseq.Stream[int](context.Background(), s, cqlseq.CQL(stmt, 1), cqlseq.WithCursor(cursor)))
	if err != nil || !cmp.Equal(seq(10, 30), got) {
		t.Fatalf("resumed with p = 1: %v, %v; want rows 10..29", got, err)
	}
	if _, err := readInts(cqlseq.Stream[int](context.Background(), s, cqlseq.CQL(stmt, 2), cqlseq.WithCursor(cursor))); !errors.Is(err, cqlseq.ErrInvalidCursor) {
		t.Fatalf("resumed with p = 2: %v; want ErrInvalidCursor", err)
	}
	// The same for a query given with FromQuery, whose values are changed
	// through the slice the driver keeps.
	q := s.Query(stmt, 1)
	fq := cqlseq.FromQuery(q)
	seqOf := cqlseq.Stream[int](context.Background(), nil, fq)
	q.Values()[0] = 2
	if got, err := readInts(seqOf); err != nil || !cmp.Equal(seq(0, 30), got) {
		t.Fatalf("FromQuery after the caller changed its values: %v, %v; want p = 1's rows", got, err)
	}
}

// FromQuery leaves out the page size and the paging state the query was
// given (the driver has no getters for them): the stream pages at
// WithFetchSize's size, from WithPageState's state. WithPageState copies
// the caller's buffer.
func TestFromQueryPaging(t *testing.T) {
	s := cqlseqtest.Session(t)
	table := clusteredTable(t, s, 50, 0)
	stmt := "SELECT c FROM " + table + " WHERE p = 0"
	var state []byte
	var cursor string
	for p, err := range cqlseq.Pages[int](context.Background(), nil, cqlseq.FromQuery(s.Query(stmt).PageSize(7)), cqlseq.WithFetchSize(20)) {
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Rows) != 20 {
			t.Fatalf("first page at WithFetchSize(20) of a query with PageSize(7) has %d rows", len(p.Rows))
		}
		state, cursor = p.PageState, p.Cursor
		break
	}
	for p, err := range cqlseq.Pages[int](context.Background(), nil, cqlseq.FromQuery(s.Query(stmt).PageSize(7).PageState(state))) {
		if err != nil || len(p.Rows) != 50 || p.Rows[0] != 0 {
			t.Fatalf("FromQuery(q.PageSize(7).PageState(s)) without options: first page %v, %v; want all 50 rows from the start (DefaultFetchSize)", p.Rows, err)
		}
	}
	got, err := readInts(cqlseq.Stream[int](context.Background(), nil, cqlseq.FromQuery(s.Query(stmt)), cqlseq.WithPageState(state), cqlseq.WithFetchSize(20)))
	if err != nil || !cmp.Equal(seq(20, 50), got) {
		t.Fatalf("FromQuery(q) with WithPageState: %v, %v; want rows 20..49", got, err)
	}
	// The cursor records fetch size 20, which a stream takes unless
	// WithFetchSize asks for another: the statement has no LIMIT, and
	// resumes at 7 as at 20.
	got, err = readInts(cqlseq.Stream[int](context.Background(), nil, cqlseq.FromQuery(s.Query(stmt)), cqlseq.WithCursor(cursor), cqlseq.WithFetchSize(7)))
	if err != nil || !cmp.Equal(seq(20, 50), got) {
		t.Fatalf("cursor at another fetch size: %v, %v; want rows 20..49", got, err)
	}
	got, err = readInts(cqlseq.Stream[int](context.Background(), s, cqlseq.CQL(stmt), cqlseq.WithCursor(cursor)))
	if err != nil || !cmp.Equal(seq(20, 50), got) {
		t.Fatalf("cursor without a fetch size: %v, %v; want rows 20..49", got, err)
	}
	buf := bytes.Clone(state)
	opt := cqlseq.WithPageState(buf)
	clear(buf) // the caller reuses its buffer
	got, err = readInts(cqlseq.Stream[int](context.Background(), s, cqlseq.CQL(stmt), opt, cqlseq.WithFetchSize(20)))
	if err != nil || !cmp.Equal(seq(20, 50), got) {
		t.Fatalf("WithPageState after the caller cleared its buffer: %v, %v; want rows 20..49", got, err)
	}
}

// A session's page size (ClusterConfig.PageSize) is not read either: the
// stream pages at DefaultFetchSize unless WithFetchSize says otherwise, as
// WithFetchSize's doc says.
func TestSessionPageSizeNotUsed(t *testing.T) {
	s := cqlseqtest.Session(t)
	table := clusteredTable(t, s, 50, 0)
	cfg := cqlseqtest.Cluster()
	cfg.PageSize = 7
	small, err := cfg.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	stmt := "SELECT c FROM " + table + " WHERE p = 0"
	var sizes []int
	for p, err := range cqlseq.Pages[int](context.Background(), small, cqlseq.CQL(stmt)) {
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(p.Rows))
	}
	if !cmp.Equal(sizes, []int{50}) {
		t.Fatalf("pages of %v rows on a session with PageSize 7; want one page of 50 (DefaultFetchSize)", sizes)
	}
	sizes = nil
	for p, err := range cqlseq.Pages[int](context.Background(), small, cqlseq.CQL(stmt), cqlseq.WithFetchSize(20)) {
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(p.Rows))
	}
	if !cmp.Equal(sizes, []int{20, 20, 10}) {
		t.Fatalf("pages of %v rows at WithFetchSize(20); want 20, 20, 10", sizes)
	}
}

// A cursor after a row with a large partition key (Cassandra allows 64 KiB)
// is made, and accepted by the same library.
func TestCursorsOfLargeKeys(t *testing.T) {
	s := cqlseqtest.Session(t)
	ks := newTable(t, s, "CREATE TABLE %s.big (k blob PRIMARY KEY, v int)")
	for _, n := range []int{7000, 60000} {
		key := bytes.Repeat([]byte{byte(n)}, n)
		execCQL(t, s, "TRUNCATE "+ks+".big")
		for i := range 3 {
			execCQL(t, s, "INSERT INTO "+ks+".big (k, v) VALUES (?, ?)", append(bytes.Clone(key), byte(i)), i)
		}
		var cursor string
		for p, err := range cqlseq.Pages[int](context.Background(), s, cqlseq.CQL("SELECT v FROM "+ks+".big"), cqlseq.WithFetchSize(1), cqlseq.WithCursorKey([]byte("k"))) {
			if err != nil {
				t.Fatal(err)
			}
			cursor = p.Cursor
			break
		}
		got, err := readInts(cqlseq.Stream[int](context.Background(), s, cqlseq.CQL("SELECT v FROM "+ks+".big"), cqlseq.WithCursor(cursor), cqlseq.WithCursorKey([]byte("k"))))
		if err != nil || len(got) != 2 {
			t.Fatalf("key of %d bytes, cursor of %d bytes: %v, %v; want the 2 other rows", n, len(cursor), got, err)
		}
		t.Logf("key of %d bytes: cursor of %d bytes resumed to %d rows", n, len(cursor), len(got))
	}
}

// version is the driver's example of an Unmarshaler that keeps a version
// number as text: it refuses a NULL, which the table never holds.
type version struct{ major, minor, patch int }

func (v *version) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	var s string
	if err := gocql.Unmarshal(info, data, &s); err != nil {
		return err
	}
	if _, err := fmt.Sscanf(s, "%d.%d.%d", &v.major, &v.minor, &v.patch); err != nil {
		return fmt.Errorf("version %q: %w", s, err)
	}
	return nil
}

// A type with the driver's Unmarshaler decodes itself: the mapping check
// does not refuse it for what it would do with a NULL.
func TestUnmarshalerIsNotProbed(t *testing.T) {
	s := cqlseqtest.Session(t)
	ks := newTable(t, s, "CREATE TABLE %s.v (id int PRIMARY KEY, v text)")
	execCQL(t, s, "INSERT INTO "+ks+".v (id, v) VALUES (1, '1.2.3')")
	type row struct {
		ID int
		V  version
	}
	var got []row
	for r, err := range cqlseq.Stream[row](context.Background(), s, cqlseq.CQL("SELECT id, v FROM "+ks+".v")) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 1 || got[0].V != (version{1, 2, 3}) {
		t.Fatalf("got %+v", got)
	}
}

// A field of a non-empty interface type cannot be decoded into: refused
// before the first row, naming the field.
func TestInterfaceFieldsWithMethods(t *testing.T) {
	s, table := fixture(t)
	type stringer struct {
		ID   int
		Name fmt.Stringer
	}
	type errField struct {
		ID   int
		Name error
	}
	q := cqlseq.CQL("SELECT id, name FROM " + table + " WHERE id = 1")
	for name, seq := range map[string]func(func(any, error) bool){
		"fmt.Stringer": func(yield func(any, error) bool) {
			for r, err := range cqlseq.Stream[stringer](context.Background(), s, q) {
				yield(r, err)
			}
		},
		"error": func(yield func(any, error) bool) {
			for r, err := range cqlseq.Stream[errField](context.Background(), s, q) {
				yield(r, err)
			}
		},
	} {
		var got error
		rows := 0
		for _, err := range seq {
			if err != nil {
				got = err
				continue
			}
			rows++
		}
		var me *cqlseq.MappingError
		if rows != 0 || !errors.As(got, &me) || me.Column != "name" || !strings.Contains(got.Error(), name) {
			t.Fatalf("%s field: %d rows, %v; want a MappingError naming column name and %s", name, rows, got, name)
		}
	}
}

// A panic in a page request (a user's QueryObserver) reaches the loop the
// same way with and without prefetching, with its own value.
func TestPanicInPageRequest(t *testing.T) {
	s, table := fixture(t)
	for _, prefetch := range []float64{0, 0.25, 1} {
		obs := &panicky{after: 2}
		got := func() (v any) {
			defer func() { v = recover() }()
			for _, err := range cqlseq.Stream[Row](context.Background(), nil, cqlseq.FromQuery(s.Query("SELECT id, name, score FROM "+table).Observer(obs)),
				cqlseq.WithFetchSize(100), cqlseq.WithPrefetch(prefetch)) {
				if err != nil {
					t.Fatal(err)
				}
			}
			return nil
		}()
		if got != "observer: request 3" {
			t.Fatalf("prefetch %v: recovered %v, want the observer's panic", prefetch, got)
		}
	}
}

type panicky struct {
	after int
	n     int
}

func (p *panicky) ObserveQuery(context.Context, gocql.ObservedQuery) {
	p.n++
	if p.n > p.after {
		panic(fmt.Sprint("observer: request ", p.n))
	}
}

// Warnings Cassandra sends with a page without rows (here: a partition of
// tombstones) reach the page callback; Stream's callers see every page's
// warnings there.
func TestWarningsOfPagesWithoutRows(t *testing.T) {
	s := cqlseqtest.Session(t)
	table := clusteredTable(t, s, 1500, 0)
	if err := cqlseqtest.Seed(context.Background(), s, "DELETE FROM "+table+" WHERE p = 0 AND c = ?", 1500, 8, func(i int) []any { return []any{i} }); err != nil {
		t.Fatal(err)
	}
	var infos []cqlseq.PageInfo
	rows, err := readInts(cqlseq.Stream[int](context.Background(), s, cqlseq.CQL("SELECT c FROM "+table+" WHERE p = 0"),
		cqlseq.WithPageCallback(func(p cqlseq.PageInfo) { infos = append(infos, p) })))
	if err != nil || len(rows) != 0 {
		t.Fatalf("%v, %v; want no rows", rows, err)
	}
	if len(infos) != 1 || infos[0].RowCount != 0 || len(infos[0].Warnings) == 0 || !strings.Contains(strings.Join(infos[0].Warnings, " "), "tombstone") {
		t.Fatalf("callbacks %+v; want one with the tombstone warning", infos)
	}
	t.Logf("warning of a page without rows: %q", infos[0].Warnings)
}

// boom is an Unmarshaler that panics on one value, as a buggy decoder
// might.
type boom struct{ s string }

func (b *boom) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	if string(data) == "name-7" {
		panic("boom")
	}
	return gocql.Unmarshal(info, data, &b.s)
}

// A panic while decoding a row ends the stream with a DecodeError that names
// the column; it never escapes the range statement.
func TestPanicWhileDecoding(t *testing.T) {
	s, table := fixture(t)
	type row struct {
		ID   int
		Name boom
	}
	n := 0
	var got error
	for _, err := range cqlseq.Stream[row](context.Background(), s, cqlseq.CQL("SELECT id, name FROM "+table+" WHERE id IN (1, 7, 9)")) {
		if err != nil {
			got = err
			continue
		}
		n++
	}
	var se *cqlseq.DecodeError
	if !errors.As(got, &se) || se.Column != "name" || se.Field != "row.Name" || !strings.Contains(got.Error(), "boom") {
		t.Fatalf("%d rows, then %v; want a DecodeError for column name naming the panic", n, got)
	}
	t.Logf("after %d rows: %v", n, got)
}

// A cursor names the keyspaces that decide what an unqualified table name
// means: the session's and the query's own (SetKeyspace, which the driver
// honours only on protocol 5). Resumed where the name means another table,
// it is refused.
func TestCursorKeyspaces(t *testing.T) {
	s := cqlseqtest.Session(t)
	ks1 := newTable(t, s, "CREATE TABLE %s.c (p int, c int, PRIMARY KEY (p, c))")
	ks2 := newTable(t, s, "CREATE TABLE %s.c (p int, c int, PRIMARY KEY (p, c))")
	for i := range 30 {
		execCQL(t, s, "INSERT INTO "+ks1+".c (p, c) VALUES (1, ?)", i)
		execCQL(t, s, "INSERT INTO "+ks2+".c (p, c) VALUES (1, ?)", 100+i)
	}
	open := func(ks string) *gocql.Session {
		cfg := cqlseqtest.Cluster()
		cfg.ProtoVersion, cfg.Keyspace = 4, ks
		sess, err := cfg.CreateSession()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sess.Close)
		return sess
	}
	s1, s2 := open(ks1), open(ks2)
	stmt := "SELECT c FROM c WHERE p = ?"
	// On protocol 4 the query's own keyspace is ignored: s2's table is read.
	var cursor string
	var first []int
	for p, err := range cqlseq.Pages[int](context.Background(), nil, cqlseq.FromQuery(s2.Query(stmt, 1).SetKeyspace(ks1)), cqlseq.WithFetchSize(7)) {
		if err != nil {
			t.Fatal(err)
		}
		first, cursor = p.Rows, p.Cursor
		break
	}
	if first[0] != 100 {
		t.Fatalf("first page %v: the driver read another table than this test expects", first)
	}
	if _, err := readInts(cqlseq.Stream[int](context.Background(), s1, cqlseq.CQL(stmt, 1), cqlseq.WithCursor(cursor))); !errors.Is(err, cqlseq.ErrInvalidCursor) {
		t.Fatalf("resumed on a session in the query's keyspace: %v; want ErrInvalidCursor", err)
	}
	got, err := readInts(cqlseq.Stream[int](context.Background(), nil, cqlseq.FromQuery(s2.Query(stmt, 1).SetKeyspace(ks1)), cqlseq.WithCursor(cursor)))
	if err != nil || len(got) != 23 || got[0] != 107 {
		t.Fatalf("resumed as made: %v, %v; want rows 107..129", got, err)
	}
}
