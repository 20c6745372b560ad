package cqlseqotel

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq"
)

// A statement's operation, keyspace and table as written (no case
// folding), past comments and quoted names; a scan's table as given; the
// keyspace of the data when the statement names none.
func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		d    cqlseq.TraceStreamStartData
		want description
	}{
		{cqlseq.TraceStreamStartData{Statement: "SELECT a FROM t", Keyspace: "ks"},
			description{"SELECT", "ks", "t", "SELECT t"}},
		{cqlseq.TraceStreamStartData{Statement: "/* why */ -- and how\n select a from KS.\"My\"\"Tab\" WHERE x = 'FROM y'"},
			description{"select", "KS", `KS.My"Tab`, `select KS.My"Tab`}},
		{cqlseq.TraceStreamStartData{Statement: "SELECT 'FROM x', \"from\" FROM ks . t", Keyspace: "other"},
			description{"SELECT", "ks", "ks.t", "SELECT ks.t"}},
		{cqlseq.TraceStreamStartData{Statement: `SELECT * FROM "ks"."t" WHERE token("k") > ?`, Keyspace: "ks", Table: "t", Parallelism: 4},
			description{"SELECT", "ks", "ks.t", "SELECT ks.t"}},
		{cqlseq.TraceStreamStartData{Keyspace: "ks", Table: "t", Parallelism: 4}, // a scan refused before its statement
			description{"SELECT", "ks", "ks.t", "SELECT ks.t"}},
		{cqlseq.TraceStreamStartData{Statement: "INSERT INTO ks.t (a) VALUES (?)"},
			description{"INSERT", "ks", "ks.t", "INSERT ks.t"}},
		{cqlseq.TraceStreamStartData{Statement: "UPDATE t SET a = 1 WHERE k = 2", Keyspace: "ks"},
			description{"UPDATE", "ks", "t", "UPDATE t"}},
		{cqlseq.TraceStreamStartData{Statement: "LIST ROLES", Keyspace: "ks"},
			description{"LIST", "ks", "", ""}},
		{cqlseq.TraceStreamStartData{Statement: "SELECT now() FROM (", Keyspace: "ks"},
			description{"SELECT", "ks", "", ""}},
		{cqlseq.TraceStreamStartData{Statement: "?"}, description{}},
		{cqlseq.TraceStreamStartData{Statement: "SELECT a FROM t", Keyspace: "ks"},
			description{"SELECT", "ks", "t", "SELECT t"}},
		{cqlseq.TraceStreamStartData{Statement: "SELECT a FROM t"},
			description{"SELECT", "", "t", "SELECT t"}},
	} {
		if diff := cmp.Diff(c.want, describe(c.d), cmp.AllowUnexported(description{})); diff != "" {
			t.Errorf("%q in %q: (-want +got)\n%s", c.d.Statement, c.d.Keyspace, diff)
		}
	}
}

// The default query text: as written with markers, sanitized without;
// none with WithQueryText(false) or for an empty statement; the user's
// sanitizer's otherwise.
func TestQueryText(t *testing.T) {
	const (
		marked  = "SELECT a FROM t WHERE k = ? AND v = 'x'"
		literal = "SELECT a FROM t WHERE k = 'secret'"
	)
	upper := func(s string) string { return "S:" + s }
	for _, c := range []struct {
		opts        []Option
		stmt, want  string
		description string
	}{
		{nil, marked, marked, "parameterized, as written"},
		{nil, literal, "SELECT a FROM t WHERE k = ?", "not parameterized, sanitized"},
		{nil, "", "", "no statement"},
		{[]Option{WithQueryText(false)}, marked, "", "omitted"},
		{[]Option{WithQuerySanitizer(upper)}, literal, "S:" + literal, "the user's sanitizer"},
		{[]Option{WithQuerySanitizer(upper), WithQueryText(false)}, literal, "", "omitted over a sanitizer"},
		{[]Option{WithQuerySanitizer(upper), WithQuerySanitizer(nil)}, literal, "SELECT a FROM t WHERE k = ?", "the default again"},
	} {
		cfg := newConfig(c.opts)
		if got := cfg.queryText(c.stmt); got != c.want {
			t.Errorf("%s: %q, want %q", c.description, got, c.want)
		}
	}
}

// Span names: the conventions' rule for a page request, "stream", "scan"
// and "range" before it; a formatter's names, called for the types a
// stream has, an empty result keeping the default.
func TestSpanNames(t *testing.T) {
	for _, c := range []struct {
		d    cqlseq.TraceStreamStartData
		want names
	}{
		{cqlseq.TraceStreamStartData{Statement: "SELECT a FROM ks.t"}, names{"stream SELECT ks.t", "range SELECT ks.t", "SELECT ks.t"}},
		{cqlseq.TraceStreamStartData{Statement: "SELECT a FROM ks.t", Keyspace: "ks", Table: "t", Parallelism: 2}, names{"scan SELECT ks.t", "range SELECT ks.t", "SELECT ks.t"}},
		{cqlseq.TraceStreamStartData{Statement: "LIST ROLES", Keyspace: "ks"}, names{"stream LIST ks", "range LIST ks", "LIST ks"}},
		{cqlseq.TraceStreamStartData{Statement: "LIST ROLES"}, names{"stream LIST", "range LIST", "LIST"}},
		{cqlseq.TraceStreamStartData{Statement: "(("}, names{"stream cassandra", "range cassandra", "cassandra"}},
	} {
		if got := spanNames(c.d, describe(c.d), nil); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.d.Statement, got, c.want)
		}
	}
	var called []SpanType
	f := func(st SpanType, name string, d cqlseq.TraceStreamStartData) string {
		called = append(called, st)
		if st == PageSpan {
			return ""
		}
		return st.String() + ":" + name + ":" + d.Keyspace
	}
	d := cqlseq.TraceStreamStartData{Statement: "SELECT a FROM t", Keyspace: "ks"}
	if got, want := spanNames(d, describe(d), f), (names{"stream:stream SELECT t:ks", "range SELECT t", "SELECT t"}); got != want {
		t.Errorf("formatted: %+v, want %+v", got, want)
	}
	if want := []SpanType{StreamSpan, PageSpan}; !slices.Equal(called, want) {
		t.Errorf("formatter called for %v, want %v", called, want)
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
	if pctx != context.Background() || rctx != context.Background() {
		t.Fatal("a nil tracer changed the context")
	}
}
