package cqlseqgocql_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gocql/gocql"
	gocmp "github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqgocql"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

type scanRow struct {
	P     int
	C     int
	Value string `db:"v"`
}

func compareScanRows(a, b scanRow) int { return cmp.Or(cmp.Compare(a.P, b.P), cmp.Compare(a.C, b.C)) }

// selectAll reads table with the plain driver, sorted.
func selectAll(t *testing.T, s *gocql.Session, table string) []scanRow {
	t.Helper()
	var rows []scanRow
	var r scanRow
	it := s.Query("SELECT p, c, v FROM " + table).Iter()
	for it.Scan(&r.P, &r.C, &r.Value) {
		rows = append(rows, r)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rows, compareScanRows)
	return rows
}

// scanAll reads table with Scan, sorted.
func scanAll(t *testing.T, s *gocql.Session, table string, opts ...cqlseq.ScanOption) []scanRow {
	t.Helper()
	var rows []scanRow
	for r, err := range cqlseqgocql.Scan[scanRow](context.Background(), s, table, opts...) {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, compareScanRows)
	return rows
}

// Scan reads what a SELECT of the whole table reads, at several
// parallelisms, and resumes from a checkpoint.
func TestScanSameAsSelect(t *testing.T) {
	s := session(t)
	vs := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, vs)
	table := ks + ".scan"
	cqlseqtest.Exec(t, vs, "CREATE TABLE "+table+" (p int, c int, v text, PRIMARY KEY (p, c))")
	if err := cqlseqtest.Seed(context.Background(), vs, "INSERT INTO "+table+" (p, c, v) VALUES (?, ?, ?)", 900, 8,
		func(i int) []any { return []any{i / 3, i % 3, "v"} }); err != nil {
		t.Fatal(err)
	}
	want := selectAll(t, s, table)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, p := range []int{1, 5} {
		if diff := gocmp.Diff(want, scanAll(t, s, table, cqlseq.WithParallelism(p), cqlseq.WithFetchSize(40))); diff != "" {
			t.Fatalf("parallelism %d (-SELECT +Scan):\n%s", p, diff)
		}
	}
	// Stop after 3 pages, resume from the third's cursor: every row once.
	var got []scanRow
	cursor := ""
	for p, err := range cqlseqgocql.ScanPages[scanRow](context.Background(), s, table, cqlseq.WithFetchSize(40)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Rows...)
		if cursor = p.Cursor; p.Number == 3 {
			break
		}
	}
	got = append(got, scanAll(t, s, table, cqlseq.WithCursor(cursor))...)
	slices.SortFunc(got, compareScanRows)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Fatalf("stopped after 3 pages and resumed (-want +got):\n%s", diff)
	}
	t.Logf("%d rows", len(want))
}

// A nil session, query or context is refused before anything is sent.
func TestNilArguments(t *testing.T) {
	for _, err := range cqlseqgocql.Scan[scanRow](context.Background(), nil, "ks.t") {
		if !errors.Is(err, cqlseq.ErrInvalidArgument) || err.Error() != "cqlseq: nil session" {
			t.Errorf("Scan of a nil session: %v", err)
		}
	}
	for _, err := range cqlseqgocql.ScanPages[scanRow](context.Background(), nil, "ks.t") {
		if !errors.Is(err, cqlseq.ErrInvalidArgument) || err.Error() != "cqlseq: nil session" {
			t.Errorf("ScanPages of a nil session: %v", err)
		}
	}
	for _, err := range cqlseqgocql.Stream[scanRow](context.Background(), nil) {
		if !errors.Is(err, cqlseq.ErrInvalidArgument) || err.Error() != "cqlseq: nil query" {
			t.Errorf("Stream of a nil query: %v", err)
		}
	}
	for _, err := range cqlseqgocql.Pages[scanRow](context.Background(), nil) {
		if !errors.Is(err, cqlseq.ErrInvalidArgument) || err.Error() != "cqlseq: nil query" {
			t.Errorf("Pages of a nil query: %v", err)
		}
	}
	for _, err := range cqlseqgocql.Stream[scanRow](context.Background(), &gocql.Query{}) {
		if !errors.Is(err, cqlseq.ErrInvalidArgument) {
			t.Errorf("Stream of a query without a statement: %v", err)
		}
	}
}
