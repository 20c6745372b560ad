package cqlseq

import (
	"errors"
	"strings"
	"testing"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/driver"
)

// A cursor resumes at the fetch size WithFetchSize asks for, else at its
// own; another than its own is refused, before anything is sent, only for
// a statement with a LIMIT or one that may hide a LIMIT. Needs no
// Cassandra: TestCursorResumesAtAnyFetchSize tries the rule on the node.
func TestCursorFetchSize(t *testing.T) {
	for _, c := range []struct {
		stmt        string
		made, asked int // asked 0: no WithFetchSize
		want        int
		refused     string // what the refusal says the statement has
	}{
		{stmt: "SELECT v FROM t", made: 700, asked: 50, want: 50},
		{stmt: "SELECT v FROM t", made: 50, asked: 700, want: 700},
		{stmt: "SELECT v FROM t", made: 700, want: 700},
		{stmt: "SELECT v FROM t", made: 700, asked: 700, want: 700},
		{stmt: "SELECT v FROM t PER PARTITION LIMIT 2", made: 7, asked: 50, want: 50},
		{stmt: "SELECT v FROM t WHERE k = 'LIMIT 5' -- LIMIT 5", made: 7, asked: 50, want: 50},
		{stmt: `SELECT "limit" FROM t`, made: 7, asked: 50, want: 50},
		{stmt: "SELECT v FROM t LIMIT 10", made: 7, want: 7},
		{stmt: "SELECT v FROM t LIMIT 10", made: 7, asked: 7, want: 7},
		{stmt: "SELECT v FROM t LIMIT 10", made: 7, asked: 8, refused: "a LIMIT"},
		{stmt: "SELECT v FROM t LIMIT 10", made: 7, asked: 3, refused: "a LIMIT"},
		{stmt: "select v from t limit ?", made: 7, asked: 3, refused: "a LIMIT"},
		{stmt: "SELECT v FROM t PER PARTITION LIMIT 2 LIMIT 10", made: 7, asked: 8, refused: "a PER PARTITION LIMIT and a LIMIT"},
		{stmt: "SELECT v FROM t WHERE k = 'x", made: 7, asked: 8, refused: "an unterminated string, which may hide a LIMIT"},
		{stmt: "SELECT v FROM t /* x", made: 7, asked: 8, refused: "an unterminated comment, which may hide a LIMIT"},
	} {
		state := []byte("state")
		opts := []StreamOption{WithCursor(cursor.Encode(cursor.NewFingerprint("", c.stmt, nil), c.made, state, nil))}
		if c.asked > 0 {
			opts = append(opts, WithFetchSize(c.asked))
		}
		cfg, err := resolveStream(opts, driver.Query{CQL: c.stmt})
		if c.refused != "" {
			prefix := "cqlseq: invalid cursor: it was made at fetch size 7 and the stream asks for "
			if !errors.Is(err, ErrInvalidCursor) || !errors.Is(err, ErrInvalidArgument) || err == nil ||
				!strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), "the statement has "+c.refused+": ") {
				t.Errorf("%q, made at %d, asked %d: %v; want ErrInvalidCursor saying the statement has %s", c.stmt, c.made, c.asked, err, c.refused)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q, made at %d, asked %d: %v", c.stmt, c.made, c.asked, err)
			continue
		}
		if cfg.FetchSize != c.want || string(cfg.PageState) != string(state) {
			t.Errorf("%q, made at %d, asked %d: fetch size %d from state %q; want %d from %q", c.stmt, c.made, c.asked, cfg.FetchSize, cfg.PageState, c.want, state)
		}
	}
}
