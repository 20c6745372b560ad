package cqlseq

import (
	"context"
	"iter"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/internal/engine"
)

// Page is one page of rows from Pages.
//
// Rows holds the page's rows in the order Cassandra sent them; the slice is
// new for every page and belongs to the caller. Number counts the pages of
// this stream from 1 (a resumed stream counts from 1 again), TotalRows counts
// the rows read so far, this page included, and Warnings are the warnings
// Cassandra sent with the page and with the pages without rows just before
// it. PageState resumes the query right after this
// page (see WithPageState), and Cursor is the same position as checked text
// (see WithCursor). Both are empty when Cassandra marked the page the last;
// when the rows end exactly on a page boundary Cassandra cannot know that
// yet, and the last page carries a position that resumes to no rows. The
// slice belongs to the caller.
type Page[T any] = engine.Page[T]

// Pages returns the rows of st, decoded into T, a page at a time: each
// element is a Page with at least one row. Use it for bulk work (writing a
// batch, a file, a response) and to save the paging state to resume from.
//
// Pages are requested as the loop needs them. With prefetching on (the
// default) the next page is requested when a page is yielded, so Cassandra
// works while the loop body does; at most the yielded page and the one being
// prefetched are held by the stream. Pages without rows (Cassandra may send
// them when it filters rows out) are skipped; they do not end the stream.
//
// Ranging, errors, cancellation and cleanup behave as for Stream: each range
// runs the query anew; an error is yielded once as (Page{}, err) and ends the
// sequence; nothing needs closing, however the loop ends.
func Pages[T any](ctx context.Context, session *gocql.Session, st Statement, opts ...Option) iter.Seq2[Page[T], error] {
	src, cfg, err := prepare(ctx, session, st, opts)
	if err != nil {
		return func(yield func(Page[T], error) bool) {
			yield(Page[T]{}, err)
		}
	}
	return engine.Pages[T](ctx, src, cfg)
}
