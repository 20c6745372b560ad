package cqlseqx_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/scylladb/gocqlx/v3"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

type scanRow struct {
	P     int
	C     int
	Value string `db:"v"`
}

func compareScanRows(a, b scanRow) int { return cmp.Or(cmp.Compare(a.P, b.P), cmp.Compare(a.C, b.C)) }

// cqlseqx's Scan reads what gocqlx's Select of the whole table reads, with
// gocqlx's mapping, at several parallelisms, and resumes from a checkpoint.
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
	var want []scanRow
	if err := s.Query("SELECT * FROM "+table, nil).Select(&want); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, compareScanRows)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, p := range []int{1, 5} {
		var got []scanRow
		for r, err := range cqlseqx.Scan[scanRow](context.Background(), s, table, cqlseq.WithParallelism(p), cqlseq.WithFetchSize(40)) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		slices.SortFunc(got, compareScanRows)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("parallelism %d (-gocqlx +cqlseqx):\n%s", p, diff)
		}
	}
	// Stop after 3 pages, resume from the third's cursor: every row once.
	var got []scanRow
	cursor := ""
	for p, err := range cqlseqx.ScanPages[scanRow](context.Background(), s, table, cqlseq.WithFetchSize(40)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Rows...)
		if cursor = p.Cursor; p.Number == 3 {
			break
		}
	}
	for r, err := range cqlseqx.Scan[scanRow](context.Background(), s, table, cqlseq.WithCursor(cursor)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	slices.SortFunc(got, compareScanRows)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Fatalf("stopped after 3 pages and resumed (-want +got):\n%s", diff)
	}
	for _, err := range cqlseqx.Scan[scanRow](context.Background(), gocqlx.Session{}, table) {
		if !errors.Is(err, cqlseq.ErrInvalidArgument) || err.Error() != "cqlseq: nil session" {
			t.Fatalf("nil session: %v", err)
		}
	}
}
