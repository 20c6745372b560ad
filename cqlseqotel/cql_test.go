package cqlseqotel

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The tokens of a statement, by kind: comments and spaces dropped, every
// kind of literal found, quoted texts to their closing quote.
func TestLex(t *testing.T) {
	const stmt = "SELECT \"a\"\"b\", 'it''s', $$x'y$$ -- c\n" +
		"FROM t WHERE u = 123e4567-e89b-12d3-a456-426614174000 AND v IN (1, -2.5e+3, 0xCAFE, .5, 1h30m, 5µs, P1Y2M, PT1H, true, NaN) " +
		"AND w = :name /* ? */ AND x = ? AND y = {'k': 1} // end"
	var got []string
	for tok := range lex(stmt) {
		got = append(got, map[tokenKind]string{identToken: "ident", quotedToken: "quoted", literalToken: "literal", markerToken: "marker", punctToken: "punct"}[tok.kind]+" "+stmt[tok.start:tok.end])
	}
	want := []string{
		"ident SELECT", `quoted "a""b"`, "punct ,", "literal 'it''s'", "punct ,", "literal $$x'y$$",
		"ident FROM", "ident t", "ident WHERE", "ident u", "punct =", "literal 123e4567-e89b-12d3-a456-426614174000",
		"ident AND", "ident v", "ident IN", "punct (", "literal 1", "punct ,", "punct -", "literal 2.5e+3", "punct ,",
		"literal 0xCAFE", "punct ,", "literal .5", "punct ,", "literal 1h30m", "punct ,", "literal 5µs", "punct ,",
		"literal P1Y2M", "punct ,", "literal PT1H", "punct ,", "literal true", "punct ,", "literal NaN", "punct )",
		"ident AND", "ident w", "punct =", "marker :name", "ident AND", "ident x", "punct =", "marker ?",
		"ident AND", "ident y", "punct =", "punct {", "literal 'k'", "punct :", "literal 1", "punct }",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// An iterator that stops when asked.
	n := 0
	for range lex(stmt) {
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("%d tokens after a break at 3", n)
	}
}

// Literals become "?"; markers, names, comments and spacing stay; a
// statement with a bind marker is parameterized, one with a '?' only in
// a string or a comment is not.
func TestSanitize(t *testing.T) {
	for _, c := range []struct {
		stmt, sanitized string
		parameterized   bool
	}{
		{"SELECT a FROM t", "SELECT a FROM t", false},
		{"SELECT a FROM t WHERE k = 'secret' AND n > 10", "SELECT a FROM t WHERE k = ? AND n > ?", false},
		{"SELECT a FROM t WHERE k = ? AND n > 10", "SELECT a FROM t WHERE k = ? AND n > ?", true},
		{"SELECT a FROM t WHERE k = :k", "SELECT a FROM t WHERE k = :k", true},
		{"SELECT a FROM t WHERE k = '?' /* ? */", "SELECT a FROM t WHERE k = ? /* ? */", false},
		{"INSERT INTO t (id, b, ok) VALUES (uuid(), 0xFF, true) USING TTL 60", "INSERT INTO t (id, b, ok) VALUES (uuid(), ?, ?) USING TTL ?", false},
		{"SELECT a FROM t WHERE k = 'unterminated", "SELECT a FROM t WHERE k = ?", false},
	} {
		if got := sanitize(c.stmt); got != c.sanitized {
			t.Errorf("sanitize(%q) = %q, want %q", c.stmt, got, c.sanitized)
		}
		if got := parameterized(c.stmt); got != c.parameterized {
			t.Errorf("parameterized(%q) = %v", c.stmt, got)
		}
	}
}
