package cqlseq

import (
	"context"
	"iter"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/internal/engine"
)

// Stream returns the rows of st, decoded into T, one at a time:
//
//	for u, err := range cqlseq.Stream[User](ctx, session, cqlseq.CQL("SELECT * FROM users")) {
//		if err != nil {
//			return err
//		}
//		// use u
//	}
//
// Pages are requested from Cassandra as the loop needs them, one request per
// page of WithFetchSize rows; with prefetching on (the default) the next page
// is requested while the loop works on the current one, never more than one
// page ahead. At most two pages are held in memory: the current one and the
// one being prefetched.
//
// Each range over the returned sequence runs the query anew, from the
// beginning (or from WithPageState). Ranges may run concurrently.
//
// Errors: a problem is yielded once, as (zero T, err), and the sequence ends.
// Bad arguments and options are reported before any query is sent (errors
// match ErrInvalidArgument); a T that cannot hold the result is reported
// before the first row (a MappingError, matching ErrMapping), also when the
// table's columns change mid-stream; a row that cannot be decoded is a
// ScanError naming the column, field, page and row; a failed page request
// is a PageError naming the page and the retries made. Both wrap the
// driver's error, so errors.Is and errors.As see it. A failed page is never mistaken for the end of the result. If ctx is
// cancelled or its deadline passes, the stream ends promptly with an error
// that matches ctx.Err().
//
// Nothing needs closing: however the loop ends (the last row, break, return,
// an error, a cancelled context or a panic in the loop body, which propagates
// unchanged), the stream cancels an in-flight prefetch, waits for it and
// releases every page it holds before the loop statement completes.
//
// An empty result yields nothing. T may be a struct, a single-column type,
// or map[string]any (see the package documentation for the mapping rules).
// Rows are yielded by value: T is the caller's, and a slice or map inside it
// is never reused by a later row.
func Stream[T any](ctx context.Context, session *gocql.Session, st Statement, opts ...Option) iter.Seq2[T, error] {
	src, cfg, err := prepare(ctx, session, st, opts)
	if err != nil {
		return func(yield func(T, error) bool) {
			var zero T
			yield(zero, err)
		}
	}
	return engine.Stream[T](ctx, src, cfg)
}
