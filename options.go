package cqlseq

import (
	"bytes"
	"errors"
)

// Options are plain values: build them once and pass them to any number of
// streams and scans, from any goroutine. A bad value is reported as the
// sequence's only element (or [ReadPage]'s error), before any query is
// sent, in an error that matches [ErrInvalidArgument]. Each kind of option
// is accepted only where it means something, and misplacing one does not
// compile: a [StreamOption] configures [Stream], [Pages] and [ReadPage], a
// [ScanOption] configures [Scan] and [ScanPages], and an [Option]
// configures both.
type (
	// A StreamOption configures [Stream], [Pages] and [ReadPage]. Every
	// [Option] is one.
	StreamOption interface{ applyStream(*config) }
	// A ScanOption configures [Scan] and [ScanPages]. Every [Option] is one.
	ScanOption interface{ applyScan(*config) }
	// An Option configures streams and scans alike.
	Option interface {
		StreamOption
		ScanOption
	}
)

// option is an Option; streamOption and scanOption are options of one kind.
type (
	option       func(*config)
	streamOption func(*config)
	scanOption   func(*config)
)

func (f option) applyStream(c *config)       { f(c) }
func (f option) applyScan(c *config)         { f(c) }
func (f streamOption) applyStream(c *config) { f(c) }
func (f scanOption) applyScan(c *config)     { f(c) }

// DefaultPrefetch is the prefetch fraction used unless [WithPrefetch] says
// otherwise: 1, the next page is requested as soon as a page arrives. The
// drivers' own default, 0.25, overlaps only the last quarter of a page's
// work (bench/README.md measures both).
const DefaultPrefetch = 1.0

// DefaultFetchSize is the number of rows a page request asks for unless
// [WithFetchSize] says otherwise: 5000, the drivers' own default.
const DefaultFetchSize = 5000

// WithFetchSize sets the fetch size: the number of rows Cassandra returns
// per page request, [DefaultFetchSize] without it. It must be in [1, 2^31).
// The page size a session or a query was given (ClusterConfig.PageSize,
// Query.PageSize) is not used: the drivers offer no way to read it, and a
// cursor records the fetch size it was made at, which a statement with a
// LIMIT must resume at.
func WithFetchSize(n int) Option {
	return option(func(c *config) { c.FetchSize, c.fetchSizeSet = n, true })
}

// WithPageCallback calls fn each time the sequence has finished reading a
// page, on the goroutine that ranges over it: in [Stream] and [Scan] after
// the page's last row was yielded, in [Pages] and [ScanPages] before the
// page is yielded, with the [PageInfo] the page carries. Pages without rows
// are not reported on their own: their warnings go with the next page, or,
// when no page with rows follows, to one last call with RowCount 0.
func WithPageCallback(fn func(PageInfo)) Option {
	return option(func(c *config) { c.PageCallback = fn })
}

// WithCursor resumes the sequence right after the page whose
// [PageInfo.Cursor] was saved, after checking that it was made for this
// statement and these bound values (see "Resuming: cursors and retries" in
// the package documentation). Without [WithFetchSize] the stream takes the
// cursor's fetch size; with it, it may resume at another, unless the
// statement has a LIMIT. A scan's checkpoint is checked against the
// table, columns, filter and values; a scan may resume at another fetch
// size (its ranges have no LIMIT to keep). A scan's checkpoint holds the
// paging state of each range being read, up to one per worker: with the
// longest keys Cassandra takes, up to about 175 KB per worker (179 MB at
// parallelism 1024; see "Whole tables: Scan" in the package documentation),
// and WithCursor accepts every checkpoint a scan makes. An empty cursor
// starts from the beginning.
func WithCursor(cursor string) Option { return option(func(c *config) { c.Cursor = cursor }) }

// WithCursorKey signs the cursors a sequence makes with HMAC-SHA256 under
// key, and makes [WithCursor] accept only cursors signed with the same key.
// An empty key is an error: it would turn signing off without a word. key
// is copied.
func WithCursorKey(key []byte) Option {
	key = bytes.Clone(key)
	return option(func(c *config) {
		if len(key) == 0 {
			c.errs = append(c.errs, errors.New("empty cursor key: an empty key would turn signing off; give a secret key, or no WithCursorKey"))
			return
		}
		c.CursorKey = key
	})
}

// WithConsistency sets the consistency level of every page request. Without
// it the query's (or the session's) consistency is used.
func WithConsistency(c Consistency) Option {
	return option(func(cfg *config) { cfg.Consistency, cfg.HasConsistency = c, true })
}

// WithRetry makes the sequence send a failed page request again, from the
// same paging state, when that is safe and may succeed (see "Resuming:
// cursors and retries" in the package documentation): rows are neither lost
// nor repeated. After r.Attempts retries of one page, or r.MaxElapsed, or
// at once for other errors, the error is yielded. The default is no
// retries for [Stream] and [Pages], and for a scan 2 minutes of retries at
// the range's replicas (see "Whole tables: Scan" in the package
// documentation). The driver's own retry policy still applies to each
// request, if the query has one.
func WithRetry(r Retry) Option { return option(func(c *config) { c.Retry = r }) }

// WithStrict makes the row struct and the result's columns match both
// ways, as pgx's RowToStructByName does: a result column that maps to no
// field, and a field that no column fills (a misspelt name), are errors (a
// [MappingError] that names them), reported before the first row, or
// before the first row of a later page when the table gained or lost a
// column mid-stream. Without it such columns are ignored and such fields
// stay zero, as gocqlx does. The column "[applied]" of a conditional
// statement is always allowed. The fields that must have a column are the
// struct's own and those of the structs it embeds, but not fields tagged
// `db:"-"`, unexported fields, nor the members of a struct field (its UDT
// or tuple column fills them). Package
// [github.com/cqlseq/cqlseq/cqlseqx] keeps gocqlx's strict mode: there,
// WithStrict refuses only a column without a field.
func WithStrict() Option { return option(func(c *config) { c.Strict = true }) }

// WithRateLimit holds the sequence to at most rowsPerSecond rows per
// second, on average over a second or so, with golang.org/x/time/rate:
// before it hands over a page, the sequence waits until the page's rows are
// within the rate. The limit is each ranging's own, counted from when it
// starts; the workers of a [Scan] share one. rowsPerSecond must be > 0.
func WithRateLimit(rowsPerSecond float64) Option {
	return option(func(c *config) { c.rateLimit, c.rateSet = rowsPerSecond, true })
}

// WithTracer traces the sequence with t (see [Tracer]); nil, the default,
// traces nothing and costs nothing.
func WithTracer(t Tracer) Option {
	return option(func(c *config) { c.tracer = t })
}

// WithPrefetch sets when [Stream] requests the next page, as a fraction of
// the current page still to be read, as the drivers' Query.Prefetch does.
// With p = 1 ([DefaultPrefetch]) the next page is requested as soon as a
// page arrives, so Cassandra works while the loop does; with 0.25 (the
// drivers' default), once three quarters of the current page were read;
// with 0, only when the loop needs the next page's first row, which saves a
// request for loops that often stop early. In [Pages], any p > 0 requests
// the next page when a page is yielded. At most one page is prefetched. p
// must be in [0, 1]. A scan's workers always prefetch.
func WithPrefetch(p float64) StreamOption { return streamOption(func(c *config) { c.Prefetch = p }) }

// WithMaxPages stops the stream after n pages with rows; 0, the default,
// means no limit. No page beyond the limit is requested, not even by
// prefetching. n must not be negative.
func WithMaxPages(n int) StreamOption { return streamOption(func(c *config) { c.MaxPages = n }) }

// WithPageState resumes the stream right after the page whose
// [PageInfo.PageState] was saved. The statement and its bound values must
// be the same as when it was saved, and for a statement with a LIMIT the
// fetch size too; [WithCursor] checks all three. A nil or empty state
// starts from the beginning. The paging state a query was given
// (Query.PageState) is not used: the drivers offer no way to read it.
// state is copied.
func WithPageState(state []byte) StreamOption {
	state = bytes.Clone(state) // the caller may reuse its buffer
	return streamOption(func(c *config) { c.PageState = state })
}
