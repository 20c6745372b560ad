package cqlseqgocql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqgocql"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// The warnings of a last page without rows (a partition of tombstones)
// reach the page callback, as in cqlseq.
func TestWarningsOfLastPageWithoutRows(t *testing.T) {
	vs := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, vs)
	table := ks + ".tomb"
	cqlseqtest.Exec(t, vs, "CREATE TABLE "+table+" (p int, c int, PRIMARY KEY (p, c))")
	if err := cqlseqtest.Seed(context.Background(), vs, "DELETE FROM "+table+" WHERE p = 0 AND c = ?", 1500, 8, func(i int) []any { return []any{i} }); err != nil {
		t.Fatal(err)
	}
	s := session(t)
	var infos []cqlseq.PageInfo
	rows := collect(t, cqlseqgocql.Stream[int](context.Background(), s.Query("SELECT c FROM "+table+" WHERE p = 0"),
		cqlseq.WithPageCallback(func(p cqlseq.PageInfo) { infos = append(infos, p) })))
	if len(rows) != 0 {
		t.Fatalf("%d rows, want none", len(rows))
	}
	if len(infos) != 1 || infos[0].RowCount != 0 || !strings.Contains(strings.Join(infos[0].Warnings, " "), "tombstone") {
		t.Fatalf("callbacks %+v; want one with the tombstone warning", infos)
	}
	t.Logf("warning of a page without rows: %q", infos[0].Warnings)
}
