package cqlseqotel

import "testing"

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
