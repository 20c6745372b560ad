package cqlseq

import (
	"fmt"

	"github.com/cqlseq/cqlseq/internal/cql"
	"github.com/cqlseq/cqlseq/internal/cursor"
)

// decodeCursor checks text, a stream's cursor, against the statement's
// fingerprint fp and the key, and returns the paging state it holds and
// the page size it was made at (see [cursor.Decode]). Its errors match
// ErrInvalidCursor and ErrInvalidArgument, and say what is wrong.
func decodeCursor(text string, fp cursor.Fingerprint, key []byte) (state []byte, pageSize int, err error) {
	state, pageSize, err = cursor.Decode(text, fp, key)
	if err != nil {
		return nil, 0, refused("cursor", err)
	}
	return state, pageSize, nil
}

// fetchSizeHeld returns why a paging state of the statement stmt resumes
// exactly only at the fetch size it was made at: what the statement has
// that makes it so ("a LIMIT"), or "" when it resumes exactly at any fetch
// size.
//
// Measured on Cassandra 5.0.8 (a table of 40 partitions, 0 to 60 rows
// each, static columns, deleted rows and partitions; page 1 to k read at
// fetch size A, the rest from page k's paging state at fetch size B, for
// A and B from 1 to 500, on protocols 4 and 5, the state made on one and
// resumed on the other too, compared with one read of the whole result):
//
//   - Exact at every B: a whole table; one partition; a clustering slice,
//     ORDER BY DESC, IN on clustering columns, a multi-column slice; IN on
//     the partition key; ALLOW FILTERING on regular, static and clustering
//     columns; DISTINCT (of keys, and with static columns); GROUP BY (of
//     the partition key, of key and clustering, without an aggregate, in
//     one partition), also with a LIMIT; token ranges (a scan's ranges);
//     secondary and SAI indexes; SELECT JSON; PER PARTITION LIMIT alone,
//     also with filtering, indexes, IN, token ranges and GROUP BY, the
//     paging state holding what is left of the partition's limit.
//   - Wrong at some B: LIMIT n without GROUP BY (of a table, a partition,
//     IN, DISTINCT, filtering, an index, ORDER BY DESC, with a PER
//     PARTITION LIMIT, as LIMIT ?): at every B >= n, and only there,
//     Cassandra reads the query without paging, ignores the paging state
//     and answers from the first row again (A below n: a LIMIT at or
//     under A leaves one page and no paging state).
//   - No paging state: an aggregate without GROUP BY (one row); IN on the
//     partition key with ORDER BY cannot be paged at all.
//
// So a LIMIT holds the fetch size, a PER PARTITION LIMIT alone does not.
// A B below the LIMIT, and GROUP BY with a LIMIT, would resume exactly
// too, but the rule does not look at the LIMIT's value (which LIMIT ?
// leaves to the bound values) nor at GROUP BY: a LIMIT holds it, and so
// does a statement cql.Limit cannot read to its end (an unterminated
// string, which may hide one).
func fetchSizeHeld(stmt string) string {
	switch has, open := cql.Limit(stmt); {
	case open:
		return has + ", which may hide a LIMIT"
	case has == "a PER PARTITION LIMIT":
		return ""
	default:
		return has
	}
}

// refused returns the error for a cursor or checkpoint (what names it)
// that package cursor refused with err, a [*cursor.Error] that says why:
// "cqlseq: invalid cursor: " and the reason, matching ErrInvalidCursor and
// ErrInvalidArgument.
func refused(what string, err error) error {
	return &wrapped{"cqlseq: invalid " + what + ": " + err.Error(), []error{ErrInvalidCursor, ErrInvalidArgument}}
}

// cursorRefusef returns the error for a cursor this package refuses, with
// the reason formatted as by fmt.Sprintf: like those of [refused]. Give it
// a literal format: TestRefusalsAreListed reads its calls.
func cursorRefusef(format string, args ...any) error {
	return refused("cursor", &cursor.Error{Reason: fmt.Sprintf(format, args...)})
}
