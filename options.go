package cqlseq

import (
	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/internal/engine"
)

// An Option configures Stream and Pages. Options are plain values: build
// them once and pass them to any number of streams, from any goroutine.
// Invalid values are reported as the stream's first and only element,
// before any query is sent, in an error that matches ErrInvalidArgument.
type Option = engine.Option

// PageInfo describes a page the stream has finished reading; it is what the
// WithPageCallback function receives.
type PageInfo = engine.PageInfo

// DefaultPrefetch is the prefetch fraction used unless WithPrefetch says
// otherwise: 1, the next page is requested as soon as a page arrives.
const DefaultPrefetch = engine.DefaultPrefetch

// WithFetchSize sets the page size: the number of rows Cassandra returns per
// request. It must be greater than zero. Without it the stream uses the page
// size of the query given to FromQuery, or else the session's
// (ClusterConfig.PageSize, 5000 by default).
func WithFetchSize(n int) Option {
	return engine.WithFetchSize(n)
}

// WithPageCallback calls fn each time the stream has finished reading a page,
// on the goroutine that ranges over the stream. Use it to report progress
// and to see Cassandra's warnings (PageInfo.Warnings). In Stream, fn runs
// after the page's last row was yielded; in Pages, before the page is
// yielded. Pages without rows are not reported on their own: their warnings
// go with the next page, or, when no page with rows follows, to one last
// call with Rows 0.
func WithPageCallback(fn func(PageInfo)) Option {
	return engine.WithPageCallback(fn)
}

// WithMaxPages stops the stream after n pages with rows; 0, the default,
// means no limit. No page beyond the limit is requested, not even by
// prefetching. n must not be negative.
func WithMaxPages(n int) Option {
	return engine.WithMaxPages(n)
}

// WithPrefetch sets when the next page is requested, as a fraction of the
// current page still to be read, as the drivers' Query.Prefetch does. With
// p = 1 (DefaultPrefetch) the next page is requested as soon as a page
// arrives, so Cassandra works while the loop does; with 0.25 (the drivers'
// default), once three quarters of the current page were read; with 0,
// only when the loop needs the next page's first row, which saves a request
// for loops that often stop early. In Pages, any p > 0 requests the next
// page when a page is yielded. At most one page is prefetched. p must be in
// [0, 1].
func WithPrefetch(p float64) Option {
	return engine.WithPrefetch(p)
}

// WithPageState resumes the query right after the page whose Page.PageState
// was saved: the stream yields exactly the rows that followed that page. The
// statement, its bound values and the fetch size must be the same as when
// the state was saved: Cassandra ignores a paging state when the page size
// reaches the query's LIMIT, and restarts from the first row. WithCursor
// checks all three. A nil or empty state starts from the beginning (or from
// the state the FromQuery query was given). state is copied.
func WithPageState(state []byte) Option {
	return engine.WithPageState(state)
}

// WithConsistency sets the consistency level of every page request. Without
// it the query's (or the session's) consistency is used.
func WithConsistency(c gocql.Consistency) Option {
	return engine.WithConsistency(uint16(c))
}

// WithCursor resumes the stream right after the page whose Page.Cursor (or
// PageInfo.Cursor) was saved, like WithPageState, with the cursor's checks:
// a cursor made for another statement or other bound values, a truncated or
// altered one, or (with WithCursorKey) one with a bad signature is rejected
// before any query is sent, with an error that matches ErrInvalidCursor.
// A cursor records the fetch size it was made at: without WithFetchSize the
// resumed stream uses it (so an unsigned cursor, which a client can alter,
// also chooses the page size), and a WithFetchSize that differs is refused
// (ErrInvalidCursor), because Cassandra resumes a query with a LIMIT exactly
// only at the page size its paging state was made at.
// An empty cursor starts from the beginning. Cursors are text (base64url),
// safe to store and to hand to HTTP clients; they hold Cassandra's paging
// state; an unsigned cursor carries a checksum that catches damage, but not
// a deliberate change: sign cursors with WithCursorKey when clients can
// alter them. Cursors of earlier versions of cqlseq are refused.
func WithCursor(cursor string) Option { return engine.WithCursor(cursor) }

// WithCursorKey signs the cursors a stream makes with HMAC-SHA256 under key,
// and makes WithCursor accept only cursors signed with the same key. An
// empty key is an error (ErrInvalidArgument): it would turn signing off
// without a word. key is copied.
func WithCursorKey(key []byte) Option { return engine.WithCursorKey(key) }

// Retry says how a stream recovers from a failed page request; see
// WithRetry.
type Retry = engine.Retry

// WithRetry makes the stream send a failed page request again, from the
// same paging state, when that is safe and may succeed. Rows are neither
// lost nor repeated; the loop only waits. After r.Attempts retries of one
// page, or at once for other errors, the error is yielded. The default is
// no retries. The driver's own retry policy still applies to each request,
// if the query has one.
//
// A request that cannot have run (a bootstrapping node refused it; no
// connection or stream to send it on; the connection was refused) is always
// sent again. A request that may have run, wholly or in part (a read or
// write timeout, an unavailable or overloaded node, which Cassandra also
// reports in the middle of a write or a Paxos round, a server error such as
// a node shutting down, a connection closed or reset mid-request), is sent
// again only if running it twice is harmless: a SELECT, or a statement the
// caller marked idempotent (Query.Idempotent) that has no IF clause. A
// lightweight transaction (INSERT ... IF NOT EXISTS, UPDATE ... IF) is never
// sent twice. A read failure (Cassandra error 0x1300: too many tombstones,
// a read size threshold, a replica unable to read) is never retried: it
// fails the same way every time. Syntax, invalid-query, permission and
// protocol errors end the stream at once.
func WithRetry(r Retry) Option { return engine.WithRetry(r) }

// WithStrict makes a result column that maps to no field of the row struct
// an error (a MappingError), reported before the first row, or before the
// first row of a later page when the table gained a column mid-stream.
// Without it such columns are ignored, as gocqlx does. The column
// "[applied]" of a conditional statement is always allowed.
func WithStrict() Option {
	return engine.WithStrict()
}
