package cqlseq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/scylladb/go-reflectx"
	"golang.org/x/time/rate"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// An Option configures a stream. Options are plain values: build them once
// and pass them to any number of streams, from any goroutine. A bad value is
// reported as the stream's only element, before any query is sent, in an
// error that matches [ErrInvalidArgument].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// DefaultPrefetch is the prefetch fraction used unless [WithPrefetch] says
// otherwise: 1, the next page is requested as soon as a page arrives. The
// drivers' own default, 0.25, overlaps only the last quarter of a page's
// work (bench/README.md measures both).
const DefaultPrefetch = 1.0

// WithFetchSize sets the page size: the number of rows Cassandra returns per
// request. It must be greater than zero. Without it the stream uses the page
// size of the query given to FromQuery, or else the session's
// (ClusterConfig.PageSize, 5000 by default).
func WithFetchSize(n int) Option {
	return optionFunc(func(c *config) { c.FetchSize, c.fetchSizeSet = n, true })
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
func WithPrefetch(p float64) Option { return optionFunc(func(c *config) { c.Prefetch = p }) }

// WithMaxPages stops the stream after n pages with rows; 0, the default,
// means no limit. No page beyond the limit is requested, not even by
// prefetching. n must not be negative.
func WithMaxPages(n int) Option { return optionFunc(func(c *config) { c.MaxPages = n }) }

// WithPageCallback calls fn each time the stream has finished reading a page,
// on the goroutine that ranges over the stream: in Stream after the page's
// last row was yielded, in Pages before the page is yielded. Pages without
// rows are not reported on their own: their warnings go with the next page,
// or, when no page with rows follows, to one last call with RowCount 0.
func WithPageCallback(fn func(PageInfo)) Option {
	return optionFunc(func(c *config) { c.PageCallback = fn })
}

// WithPageState resumes the query right after the page whose
// [Page.PageState] was saved. The statement, its bound values and the fetch
// size must be the same as when it was saved; [WithCursor] checks all three.
// A nil or empty state starts from the beginning (or from the state the
// [FromQuery] query was given). state is copied.
func WithPageState(state []byte) Option {
	state = bytes.Clone(state) // the caller may reuse its buffer
	return optionFunc(func(c *config) { c.PageState = state })
}

// WithCursor resumes the stream right after the page whose [Page.Cursor] or
// [PageInfo.Cursor] was saved, after checking that it was made for this
// statement, these bound values and this fetch size (see "Resuming: cursors
// and retries" in the package documentation). Without [WithFetchSize] the
// stream takes the cursor's. A scan's checkpoint is checked against the
// table, columns, filter and values; a scan may resume at another fetch
// size (its ranges have no LIMIT to keep). A scan's checkpoint holds the
// paging state of each range being read, up to one per worker: with the
// longest keys Cassandra takes, up to about 175 KB per worker (179 MB at
// parallelism 1024; see "Whole tables: Scan" in the package documentation),
// and WithCursor accepts every checkpoint a scan makes. An empty cursor
// starts from the beginning.
func WithCursor(cursor string) Option { return optionFunc(func(c *config) { c.Cursor = cursor }) }

// WithCursorKey signs the cursors a stream makes with HMAC-SHA256 under key,
// and makes [WithCursor] accept only cursors signed with the same key. An
// empty key is an error: it would turn signing off without a word. key is
// copied.
func WithCursorKey(key []byte) Option {
	key = bytes.Clone(key)
	return optionFunc(func(c *config) {
		if len(key) == 0 {
			c.errs = append(c.errs, errors.New("empty cursor key: an empty key would turn signing off; give a secret key, or no WithCursorKey"))
			return
		}
		c.CursorKey = key
	})
}

// WithConsistency sets the consistency level of every page request. Without
// it the query's (or the session's) consistency is used.
func WithConsistency(c gocql.Consistency) Option {
	return optionFunc(func(cfg *config) { cfg.Consistency, cfg.HasConsistency = uint16(c), true })
}

// WithRetry makes the stream send a failed page request again, from the
// same paging state, when that is safe and may succeed (see "Resuming:
// cursors and retries" in the package documentation): rows are neither lost
// nor repeated. After
// r.Attempts retries of one page, or r.MaxElapsed, or at once for other
// errors, the error is yielded. The default is no retries for Stream and
// Pages, and for a scan 2 minutes of retries at the range's replicas (see
// "Whole tables: Scan" in the package documentation). The driver's own
// retry policy still applies to each request, if the query has one.
func WithRetry(r Retry) Option { return optionFunc(func(c *config) { c.Retry, c.retrySet = r, true }) }

// WithStrict makes a result column that maps to no field of the row struct
// an error (a [MappingError]), reported before the first row, or before the
// first row of a later page when the table gained a column mid-stream.
// Without it such columns are ignored, as gocqlx does. The column
// "[applied]" of a conditional statement is always allowed.
func WithStrict() Option { return optionFunc(func(c *config) { c.Strict = true }) }

// WithRateLimit holds the stream to at most rowsPerSecond rows per second,
// on average over a second or so, with golang.org/x/time/rate: before it
// hands over a page, the stream waits until the page's rows are within the
// rate. The limit is each ranging's own, counted from when it starts; the
// workers of a [Scan] share one. rowsPerSecond must be > 0.
func WithRateLimit(rowsPerSecond float64) Option {
	return optionFunc(func(c *config) { c.rateLimit, c.rateSet = rowsPerSecond, true })
}

// newRowLimiter returns a limiter of perSecond rows a second, with room
// for a second's rows at once, that starts empty: a stream's first second
// is held to the rate too.
func newRowLimiter(perSecond float64) *rate.Limiter {
	burst := max(1, int(math.Min(math.Ceil(perSecond), math.MaxInt32)))
	l := rate.NewLimiter(rate.Limit(perSecond), burst)
	l.AllowN(time.Now(), burst)
	return l
}

// maxConsistency is LOCAL_ONE, the highest level the protocol defines.
const maxConsistency = 0x0A

// config is the resolved configuration of one stream.
type config struct {
	FetchSize    int // 0 leaves the query's (or session's) page size alone
	PageCallback func(PageInfo)
	MaxPages     int // 0 means no limit
	Prefetch     float64
	PageState    []byte // resume point; nil starts at the beginning
	Strict       bool
	Cursor       string // resume point as a cursor; "" starts at the beginning
	CursorKey    []byte // signs and checks cursors; none when empty
	Retry        Retry

	// PageSize is the page size in effect: FetchSize, or else the query's
	// own. Cursors record it (see encodeCursor).
	PageSize int

	// Idempotent says the statement may run twice without harm: a SELECT,
	// or a statement the caller marked idempotent that has no IF clause.
	// Only such statements are retried after a failure that may have
	// reached Cassandra (see driver.Retryability).
	Idempotent bool

	// QueryContext is the context the caller's query carries, if any: the
	// stream ends when either it or the stream's context is done.
	QueryContext context.Context

	// fingerprint identifies the statement and its values, for cursors;
	// it is computed only when a cursor is made or read.
	fingerprint func() fingerprint

	// Mapper maps column names to struct fields; nil means gocqlx's
	// default rules (see defaultMapper).
	Mapper *reflectx.Mapper

	Consistency    uint16
	HasConsistency bool

	// limiter is set on the config of a scan's range: the scan's, which
	// its workers share. Streams make their own (see newPager).
	limiter   *rate.Limiter
	rateLimit float64
	rateSet   bool

	fetchSizeSet bool
	retrySet     bool
	errs         []error

	// tracer traces the stream (WithTracer); keyspace and statement
	// describe it to the tracer.
	tracer              Tracer
	keyspace, statement string

	// Scan's: set for a scan, and for the streams of its ranges.
	scan, scanRange                               bool
	parallelism                                   int
	scanColumns                                   []string
	scanFilter, scanDC                            string
	scanDCSet                                     bool
	scanValues                                    []any
	parallelismSet, scanColumnsSet, scanFilterSet bool
	// rowBufs, on a row-level Scan's ranges, is a chan []T of row slices
	// the consumer is done with, for the ranges' pages to reuse (a nil
	// one on ScanPages' ranges).
	rowBufs any
	// route, on a scan's range, chooses the node of each request.
	route *replicaRoute
}

// request returns the request for the page that starts at state.
func (c *config) request(state []byte) driver.Request {
	return driver.Request{State: state, PageSize: c.FetchSize, Consistency: c.Consistency, HasConsistency: c.HasConsistency}
}

// start checks the arguments of StreamFrom and PagesFrom and resolves the
// options for src's query. It sends nothing to Cassandra.
func start(ctx context.Context, src driver.Source, opts []Option) (*config, error) {
	if ctx == nil {
		return nil, invalidf("nil context")
	}
	if src == nil {
		return nil, invalidf("nil source")
	}
	q := src.Query()
	if q.Err != nil {
		if errors.Is(q.Err, ErrMapping) {
			return nil, q.Err
		}
		return nil, invalid(q.Err)
	}
	if strings.TrimSpace(q.CQL) == "" {
		return nil, invalidf("empty statement")
	}
	return resolve(opts, q)
}

// resolve applies opts over the defaults and validates the result for the
// query q. The returned error wraps ErrInvalidArgument and names every bad
// option; a bad cursor also matches ErrInvalidCursor. A cursor made with
// another page size is refused when WithFetchSize asks for another, and
// otherwise sets FetchSize to the cursor's: Cassandra resumes a query with a
// LIMIT exactly only at the page size the paging state was made with.
func resolve(opts []Option, q driver.Query) (*config, error) {
	c := &config{Prefetch: DefaultPrefetch, Idempotent: idempotent(q.CQL, q.Idempotent), QueryContext: q.Context, Mapper: q.Mapper, Strict: q.Strict,
		keyspace: q.Keyspace, statement: q.CQL}
	queryState := bytes.Clone(q.PageState)
	c.fingerprint = sync.OnceValue(func() fingerprint { return newFingerprint(q.Keyspace, q.CQL, q.Values) })
	for i, o := range opts {
		if o == nil {
			c.errs = append(c.errs, fmt.Errorf("option %d is nil", i))
			continue
		}
		o.apply(c)
	}
	c.checkScan()
	if c.rateSet {
		if !(c.rateLimit > 0) || math.IsInf(c.rateLimit, 0) {
			c.errs = append(c.errs, fmt.Errorf("rate limit must be > 0 rows per second, got %v", c.rateLimit))
		}
	}
	if c.scan && !c.retrySet {
		c.Retry = scanRetry
	}
	if c.fetchSizeSet && c.FetchSize <= 0 {
		c.errs = append(c.errs, fmt.Errorf("fetch size must be > 0, got %d", c.FetchSize))
	}
	if c.HasConsistency && c.Consistency > maxConsistency {
		c.errs = append(c.errs, fmt.Errorf("unknown consistency %d", c.Consistency))
	}
	if c.FetchSize > math.MaxInt32 {
		c.errs = append(c.errs, fmt.Errorf("fetch size must fit in 32 bits, got %d", c.FetchSize))
	}
	if c.MaxPages < 0 {
		c.errs = append(c.errs, fmt.Errorf("max pages must be >= 0, got %d", c.MaxPages))
	}
	if math.IsNaN(c.Prefetch) || c.Prefetch < 0 || c.Prefetch > 1 {
		c.errs = append(c.errs, fmt.Errorf("prefetch must be in [0, 1], got %v", c.Prefetch))
	}
	if c.Retry.Attempts < 0 || c.Retry.MinBackoff < 0 || c.Retry.MaxBackoff < 0 || c.Retry.MaxElapsed < 0 {
		c.errs = append(c.errs, fmt.Errorf("retry attempts, backoffs and MaxElapsed must be >= 0, got %+v", c.Retry))
	} else if c.Retry.MaxElapsed > 0 && c.Retry.Attempts == 0 {
		c.errs = append(c.errs, fmt.Errorf("retry MaxElapsed %v with no Attempts: retrying is off; give Attempts > 0", c.Retry.MaxElapsed))
	} else if c.Retry.MaxBackoff > 0 && c.Retry.MinBackoff > c.Retry.MaxBackoff {
		c.errs = append(c.errs, fmt.Errorf("retry MinBackoff %v is above MaxBackoff %v", c.Retry.MinBackoff, c.Retry.MaxBackoff))
	}
	if len(c.PageState) == 0 && c.Cursor == "" {
		c.PageState = queryState
	}
	if c.Cursor != "" && len(c.PageState) > 0 {
		c.errs = append(c.errs, errors.New("both a cursor and a paging state to resume from; give one"))
	}
	if len(c.errs) > 0 {
		return nil, invalid(errors.Join(c.errs...))
	}
	c.PageSize = q.PageSize
	if c.fetchSizeSet {
		c.PageSize = c.FetchSize
	}
	if c.Cursor != "" && !c.scan { // a scan decodes its checkpoint itself
		state, size, err := decodeCursor(c.Cursor, c.fingerprint(), c.CursorKey)
		if err != nil {
			return nil, err
		}
		if size != c.PageSize {
			if c.fetchSizeSet {
				return nil, &wrapped{fmt.Sprintf("cqlseq: invalid cursor: it was made at fetch size %d and the stream asks for %d; "+
					"Cassandra resumes exactly only at the page size the cursor was made with (a LIMIT above the page size is ignored on resume)", size, c.FetchSize),
					[]error{ErrInvalidCursor, ErrInvalidArgument}}
			}
			c.FetchSize, c.PageSize = size, size
		}
		c.PageState = state
	}
	if c.Retry.MinBackoff == 0 {
		c.Retry.MinBackoff = 100 * time.Millisecond
	}
	if c.Retry.MaxBackoff == 0 {
		c.Retry.MaxBackoff = max(5*time.Second, c.Retry.MinBackoff)
	}
	return c, nil
}
