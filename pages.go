package cqlseq

import (
	"context"
	"iter"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// Page is one page of rows, as [Pages] and [ScanPages] yield it, with what
// the sequence knows of it.
type Page[T any] struct {
	// Rows holds the page's rows in the order the server sent them. The
	// slice is new for every page and belongs to the caller.
	Rows []T
	PageInfo
}

// PageInfo describes a page the sequence has finished reading: what a
// [Page] carries and the [WithPageCallback] function receives.
type PageInfo struct {
	// Number is the page's number in this sequence, counting from 1. A
	// stream resumed from a cursor or paging state counts from 1 again.
	Number int
	// RowCount is the number of rows in the page.
	RowCount int
	// TotalRows is the number of rows read so far, this page included.
	TotalRows int64
	// Cursor resumes the sequence right after this page ([WithCursor]): it
	// is PageState as text, tied to the statement and its bound values,
	// carrying the fetch size it was made at (which a statement with a
	// LIMIT must resume at), and checked, or signed with [WithCursorKey]. It is
	// empty exactly when PageState is nil. A scan's pages carry a
	// checkpoint of the whole scan instead (see [ScanPages]); resuming
	// from the last page's yields no rows, though it may still ask the
	// ranges that had not reported their end yet.
	Cursor string
	// PageState resumes the stream right after this page
	// ([WithPageState]). It is nil when Cassandra marked this page the
	// last. When the rows end exactly on a page boundary Cassandra cannot
	// know yet, and the last page carries a state from which the query
	// resumes to no rows. The slice belongs to the caller. A scan's pages
	// have none: their Cursor resumes the scan.
	PageState []byte
	// Retries is how many of Retry.Attempts this page spent ([WithRetry]):
	// the times its request was sent again after a wait. A scan's request
	// that could not be sent and went at once to another replica spends
	// none.
	Retries int
	// Latency is the time the page's request took, from sending it to the
	// page in hand (its last attempt, if it was retried). A prefetched
	// page's request ran while the loop worked on the page before.
	Latency time.Duration
	// Host is the address (host:port) of the node that served the page, ""
	// if the driver did not say.
	Host string
	// Warnings are the warnings Cassandra sent with this page and with the
	// pages without rows just before it (for a scan, those of any range
	// since the previous page). When the result ends with pages without
	// rows that carried warnings, the callback is called once more with
	// RowCount 0 and those warnings.
	Warnings []string
	// Scan is a scan's progress after this page; zero for [Stream] and
	// [Pages].
	Scan ScanProgress
}

// Pages returns the rows of st, decoded into T, a page at a time: each
// element is a [Page] with at least one row. Use it for bulk work (a batch,
// a file, a response) and to save where to resume. The next page is
// requested when a page is yielded, so Cassandra works while the loop body
// does; pages without rows are skipped.
//
// Ranging, errors and cleanup are as for [Stream]: an error is yielded once,
// as (Page{}, err), and ends the sequence. [ReadPage] returns one page.
func Pages[T any](ctx context.Context, session *gocql.Session, st Statement, opts ...StreamOption) iter.Seq2[Page[T], error] {
	src := st.source(session)
	cfg, err := startStream(ctx, src, opts)
	if err != nil {
		return fail[Page[T]](err)
	}
	return streamPages[T](ctx, src, cfg, nil)
}

// ReadPage reads one page of st's rows, decoded into T, and returns it:
// for a handler that serves a result a page per request, resuming from
// the cursor it handed out with the page before ([WithCursor]). The page
// is the one [Pages] yields first with the same options and
// [WithMaxPages](1): the first page with rows from where the read starts,
// at [WithFetchSize], with the same errors, refusals, retries and tracing.
// No page after it is requested, not even prefetched ([WithMaxPages] and
// [WithPrefetch] are checked, and do nothing else here). Everything it
// opened is released before it returns.
//
// The page's Cursor resumes right after it; an empty Cursor means no page
// follows. When the rows end exactly at the end of a page, Cassandra cannot
// know it yet, and that page carries a Cursor from which the next ReadPage
// gets a page without rows and without a Cursor. A read that finds no row
// (an empty result, or such a Cursor) returns that page: no Rows, Number
// 0, no Cursor, and in Warnings what Cassandra sent with the empty pages.
// On error the Page is zero.
func ReadPage[T any](ctx context.Context, session *gocql.Session, st Statement, opts ...StreamOption) (Page[T], error) {
	src := st.source(session)
	cfg, err := startStream(ctx, src, opts)
	if err != nil {
		return Page[T]{}, err
	}
	// cfg is this call's own: no other ranging reads it.
	cfg.MaxPages = 1
	var page Page[T]
	// The warnings of pages without rows that no page with rows followed
	// reach only the callback, as a PageInfo without rows: the page
	// without rows returned takes them.
	cb := cfg.PageCallback
	cfg.PageCallback = func(info PageInfo) {
		if info.RowCount == 0 {
			page.Warnings = info.Warnings
		}
		if cb != nil {
			cb(info)
		}
	}
	for p, err := range streamPages[T](ctx, src, cfg, nil) {
		if err != nil {
			return Page[T]{}, err
		}
		page = p
	}
	return page, nil
}

// streamPages returns the rows of the query run by src, a page at a time:
// Pages', or, with link, a scan's range's.
func streamPages[T any](ctx context.Context, src driver.Source, cfg *config, link *rangeLink) iter.Seq2[Page[T], error] {
	return func(yield func(Page[T], error) bool) {
		p := newPager(ctx, src, cfg, link)
		s := newRowScanner[T](p)
		p.pages = true
		defer p.close()
		var bufs chan []T // a row-level Scan's ranges' slices to reuse
		if link != nil {
			bufs, _ = link.rowBufs.(chan []T)
		}
		err := p.each(func(it driver.Iter) (bool, error) {
			var rows []T
			select {
			case rows = <-bufs: // a slice whose rows were all yielded
			default:
			}
			if cap(rows) < it.NumRows() {
				rows = make([]T, 0, it.NumRows())
			}
			rows = rows[:0]
			for s.scan(it) {
				rows = append(rows, s.row)
			}
			info, err := p.finish(len(rows), p.warnings(it), s)
			if err != nil {
				return false, err
			}
			// The caller works on this page while the next one travels.
			if cfg.Prefetch > 0 {
				p.prefetch(p.number + 1)
			}
			return yield(Page[T]{Rows: rows, PageInfo: info}, nil), nil
		})
		if err != nil {
			yield(Page[T]{}, err)
		}
	}
}
