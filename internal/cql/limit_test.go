package cql

import (
	"strings"
	"testing"
)

// LIMIT is found where Cassandra reads it, in any case and spacing, and
// not in strings, quoted names, comments or longer names; a statement that
// ends inside a string, name or comment is taken to have one.
func TestLimit(t *testing.T) {
	const (
		none = ""
		lim  = "a LIMIT"
		ppl  = "a PER PARTITION LIMIT"
		both = "a PER PARTITION LIMIT and a LIMIT"
	)
	for _, c := range []struct {
		stmt, want string
	}{
		{"SELECT a FROM t", none},
		{"SELECT a FROM t LIMIT 10", lim},
		{"select a from t limit 10", lim},
		{"SELECT a FROM t LiMiT 10", lim},
		{"SELECT a FROM t LIMIT ?", lim},
		{"SELECT a FROM t LIMIT :n", lim},
		{"SELECT a FROM t\n\tLIMIT\n10", lim},
		{"SELECT a FROM t\r\nLIMIT\f10", lim},
		{"SELECT a FROM t LIMIT/**/10", lim},
		{"SELECT a FROM t WHERE k = 'x'LIMIT 10", lim},
		{"SELECT a FROM t WHERE k = 1LIMIT 10", lim}, // Cassandra reads 1 and LIMIT
		{"SELECT a FROM t WHERE k = 1.5e3limit 10", lim},
		{"SELECT a FROM t WHERE k = ?LIMIT 10", lim},
		{"SELECT a FROM t WHERE k = :limit", lim}, // Cassandra reads : and LIMIT
		{"SELECT a FROM t WHERE k = _limit", lim}, // a name Cassandra refuses
		{"SELECT a FROM t WHERE k = élimit", lim}, // idem
		{"SELECT a FROM t PER PARTITION LIMIT 2", ppl},
		{"SELECT a FROM t per partition limit ?", ppl},
		{"SELECT a FROM t PER\n  PARTITION /* c */ LIMIT 2", ppl},
		{"SELECT a FROM t PER PARTITION LIMIT 2 LIMIT 10", both},
		{"SELECT a FROM t PARTITION LIMIT 2", lim},
		// Not a LIMIT.
		{"SELECT a FROM t WHERE k = 'LIMIT 10'", none},
		{"SELECT a FROM t WHERE k = 'it''s LIMIT 10'", none},
		{"SELECT a FROM t WHERE k = $$LIMIT 10$$", none},
		{`SELECT "limit", "LIMIT" FROM t WHERE "Limit" = 1`, none},
		{`SELECT a FROM t WHERE k = :"limit"`, none},
		{"SELECT a FROM t -- LIMIT 10", none},
		{"SELECT a FROM t // LIMIT 10\n", none},
		{"SELECT a FROM t /* LIMIT 10 */", none},
		{"SELECT limits, rate_limit, limit2, unlimited FROM t", none},
		{"SELECT a FROM t WHERE k = :rate_limit", none},
		{"SELECT a FROM t WHERE b = 0xCAFE AND d = 1h30m AND u = 123e4567-e89b-12d3-a456-426614174000", none},
		// Comments end where Cassandra ends them.
		{"SELECT a FROM t -- c\rLIMIT 10", lim},
		{"SELECT a FROM t /* c */ LIMIT 10", lim},
		// Cannot tell.
		{"SELECT a FROM t WHERE k = 'x", "an unterminated string"},
		{"SELECT a FROM t WHERE k = $$x", "an unterminated string"},
		{`SELECT "a FROM t LIMIT 10`, "an unterminated quoted name"},
		{`SELECT a FROM t WHERE k = :"n`, "an unterminated quoted name"},
		{"SELECT a FROM t /* LIMIT 10", "an unterminated comment"},
		{"SELECT a FROM t LIMIT 10 'x", "an unterminated string"},
	} {
		got, open := Limit(c.stmt)
		if got != c.want || open != strings.HasPrefix(c.want, "an unterminated") {
			t.Errorf("Limit(%q) = %q, %v; want %q", c.stmt, got, open, c.want)
		}
	}
}
