package cqlseq

import "testing"

func TestIdempotent(t *testing.T) {
	for _, tt := range []struct {
		stmt   string
		marked bool
		want   bool
	}{
		{"SELECT * FROM t", false, true},
		{"  /* hint */ -- x\n select a FROM t WHERE b = 'IF'", false, true},
		{"INSERT INTO t (a) VALUES (1)", false, false},
		{"INSERT INTO t (a) VALUES (1)", true, true},
		{"INSERT INTO t (a) VALUES (1) IF NOT EXISTS", true, false},
		{"UPDATE t SET a = 1 WHERE k = 1 if a = 0", true, false},
		{"DELETE FROM t WHERE k = 1 IF EXISTS", true, false},
		{`UPDATE t SET "IF" = 'IF' WHERE k = $$ IF $$`, true, true},
		{"INSERT INTO t (a) VALUES ('it''s IF')", true, true},
		{"", true, false},
		{"UPDATE t SET v = 1 WHERE k = 1 -- note\rIF v = 0", true, false}, // a line comment ends at \r
		{"UPDATE t SET v = 2 WHERE k = 1IF v = 1", true, false},           // a number, then IF
		{"UPDATE t SET v = 2 WHERE k = 0x01IF v = 1", true, false},
		{"UPDATE t SET v = 2 WHERE k = 1e5IF v = 1", true, false},
		{"BEGIN BATCH INSERT INTO t (k) VALUES (1) IF NOT EXISTS APPLY BATCH", true, false},
		{"INSERT INTO t (k, diff) VALUES (1, 2)", true, true}, // "if" inside a word is no keyword
		{"\n\tselect json * FROM t", false, true},
	} {
		if got := idempotent(tt.stmt, tt.marked); got != tt.want {
			t.Errorf("idempotent(%q, %v) = %v, want %v", tt.stmt, tt.marked, got, tt.want)
		}
	}
}
