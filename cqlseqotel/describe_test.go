package cqlseqotel

import (
	"context"
	"testing"

	"github.com/cqlseq/cqlseq"
)

// The operation, keyspace and table of a statement, past comments, quoted
// names and their case; a scan's table as given.
func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		d                   cqlseq.TraceStreamStartData
		op, keyspace, table string
	}{
		{cqlseq.TraceStreamStartData{Statement: "SELECT a FROM t", Keyspace: "ks"}, "SELECT", "ks", "t"},
		{cqlseq.TraceStreamStartData{Statement: "/* why */ -- and how\n select a from KS.\"My\"\"Tab\" WHERE x = 'FROM y'"}, "SELECT", "ks", `My"Tab`},
		{cqlseq.TraceStreamStartData{Statement: "SELECT token(k) FROM ks.t WHERE token(k) > ?", Keyspace: "ks", Table: "t"}, "SELECT", "ks", "t"},
		{cqlseq.TraceStreamStartData{Statement: "", Keyspace: "ks", Table: "t"}, "SELECT", "ks", "t"},
	} {
		op, ks, table := describe(c.d)
		if op != c.op || ks != c.keyspace || table != c.table {
			t.Errorf("%q: %s %s.%s, want %s %s.%s", c.d.Statement, op, ks, table, c.op, c.keyspace, c.table)
		}
	}
}

// A nil *Tracer given to WithTracer records nothing and fails nothing.
func TestNilTracer(t *testing.T) {
	var tr *Tracer
	ctx := tr.TraceStreamStart(context.Background(), cqlseq.TraceStreamStartData{Statement: "SELECT a FROM t"})
	pctx := tr.TracePageStart(ctx, cqlseq.TracePageStartData{Page: 1})
	tr.TracePageEnd(pctx, cqlseq.TracePageEndData{Page: 1, Rows: 3})
	rctx := tr.TraceRangeStart(ctx, cqlseq.TraceRangeStartData{})
	tr.TraceRangeEnd(rctx, cqlseq.TraceRangeEndData{})
	tr.TraceStreamEnd(ctx, cqlseq.TraceStreamEndData{Reason: cqlseq.EndComplete})
	if pctx != context.Background() {
		t.Fatal("a nil tracer changed the context")
	}
}
