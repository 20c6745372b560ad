package cql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

var kindNames = map[Kind]string{Ident: "ident", Quoted: "quoted", Literal: "literal", Marker: "marker", Punct: "punct", Comment: "comment"}

// tokens returns the tokens of stmt as "kind text", "+open" after an open
// one.
func tokens(stmt string) []string {
	var got []string
	for tok := range Lex(stmt) {
		s := kindNames[tok.Kind] + " " + stmt[tok.Start:tok.End]
		if tok.Open {
			s += " +open"
		}
		got = append(got, s)
	}
	return got
}

// The tokens of a statement, by kind: spaces dropped, every kind of
// literal found, quoted texts to their closing quote, comments to their
// end.
func TestLex(t *testing.T) {
	const stmt = "SELECT \"a\"\"b\", 'it''s', $$x'y$$ -- c\n" +
		"FROM t WHERE u = 123e4567-e89b-12d3-a456-426614174000 AND v IN (1, -2.5e+3, 0xCAFE, .5, 1h30m, 5µs, P1Y2M, PT1H, true, NaN) " +
		"AND w = :name /* ? */ AND x = ? AND y = {'k': 1} // end"
	want := []string{
		"ident SELECT", `quoted "a""b"`, "punct ,", "literal 'it''s'", "punct ,", "literal $$x'y$$", "comment -- c\n",
		"ident FROM", "ident t", "ident WHERE", "ident u", "punct =", "literal 123e4567-e89b-12d3-a456-426614174000",
		"ident AND", "ident v", "ident IN", "punct (", "literal 1", "punct ,", "punct -", "literal 2.5e+3", "punct ,",
		"literal 0xCAFE", "punct ,", "literal .5", "punct ,", "literal 1h30m", "punct ,", "literal 5µs", "punct ,",
		"literal P1Y2M", "punct ,", "literal PT1H", "punct ,", "literal true", "punct ,", "literal NaN", "punct )",
		"ident AND", "ident w", "punct =", "marker :name", "comment /* ? */", "ident AND", "ident x", "punct =", "marker ?",
		"ident AND", "ident y", "punct =", "punct {", "literal 'k'", "punct :", "literal 1", "punct }", "comment // end",
	}
	if diff := cmp.Diff(want, tokens(stmt)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// An iterator that stops when asked.
	n := 0
	for range Lex(stmt) {
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("%d tokens after a break at 3", n)
	}
}

// What a statement ends inside of runs to its end and is open; a line
// comment ends at a carriage return as at a line feed, and one that runs
// to the end is not open.
func TestLexOpen(t *testing.T) {
	for _, c := range []struct {
		stmt string
		want []string
	}{
		{"a 'b", []string{"ident a", "literal 'b +open"}},
		{"a 'b''", []string{"ident a", "literal 'b'' +open"}},
		{`a "b`, []string{"ident a", `quoted "b +open`}},
		{"a $$b$", []string{"ident a", "literal $$b$ +open"}},
		{"a /* b", []string{"ident a", "comment /* b +open"}},
		{`a = :"b`, []string{"ident a", "punct =", `marker :"b +open`}},
		{"a -- b", []string{"ident a", "comment -- b"}},
		{"a -- b\rc", []string{"ident a", "comment -- b\r", "ident c"}},
		{"a // b\r\nc", []string{"ident a", "comment // b\r", "ident c"}},
	} {
		if diff := cmp.Diff(c.want, tokens(c.stmt)); diff != "" {
			t.Errorf("%q: (-want +got)\n%s", c.stmt, diff)
		}
	}
}
