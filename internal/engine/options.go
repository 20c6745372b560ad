package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/scylladb/go-reflectx"
)

// ErrInvalidArgument is wrapped by every error that reports a bad argument or
// option. Such errors are reported before any query is sent.
var ErrInvalidArgument = errors.New("invalid argument")

// An Option configures a stream. Options are values: the same options may be
// passed to any number of streams, from any goroutine.
type Option interface {
	apply(*Config)
}

type optionFunc func(*Config)

func (f optionFunc) apply(c *Config) { f(c) }

// PageInfo describes a page that the stream has finished reading.
type PageInfo struct {
	// Number is the page's number, counting from 1.
	Number int
	// Rows is the number of rows in the page.
	Rows int
	// TotalRows is the number of rows read so far, this page included.
	TotalRows int64
	// Cursor resumes the stream right after this page (WithCursor); it is
	// empty after the last page.
	Cursor string
	// Retries is the number of times a failed request for this page was
	// sent again (WithRetry).
	Retries int
	// Warnings are the warnings Cassandra sent with this page and with the
	// pages without rows just before it. When the result ends with pages
	// without rows that carried warnings, the callback is called once more
	// with Rows 0 and those warnings.
	Warnings []string
}

// Retry says how a stream resumes after a page request fails with an error
// that may pass (a timeout, an unavailable or overloaded node, a lost
// connection): it waits, then sends the request again from the same paging
// state, so no row is lost or repeated. Other errors (bad syntax, an invalid
// query, no permission) end the stream at once.
type Retry struct {
	// Attempts is how many times one page's request is sent again before
	// the stream gives up and yields the error. 0 turns retrying off.
	Attempts int
	// MinBackoff is the wait before the first retry (100 ms if zero); each
	// further wait doubles, up to MaxBackoff (5 s if zero), with jitter.
	MinBackoff, MaxBackoff time.Duration
}

// maxConsistency is LOCAL_ONE, the highest level the protocol defines.
const maxConsistency = 0x0A

// DefaultPrefetch is the fraction of a page that is left to read when the
// next page is requested, unless WithPrefetch says otherwise: 1 requests it
// as soon as a page arrives, so the network and Cassandra work on the next
// page for as long as the loop works on this one. The drivers' own default,
// 0.25, overlaps only the last quarter of a page's work (bench/README.md
// measures both); either way at most one page is requested ahead.
const DefaultPrefetch = 1.0

// Config is the resolved configuration of one stream.
type Config struct {
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
	// own. Cursors record it (see EncodeCursor).
	PageSize int

	// Idempotent says the statement may run twice without harm: a SELECT,
	// or a statement the caller marked idempotent that has no IF clause.
	// Only such statements are retried after a failure that may have
	// reached Cassandra (see Retryability).
	Idempotent bool

	// QueryContext is the context the caller's query carries, if any: the
	// stream ends when either it or the stream's context is done.
	QueryContext context.Context

	// fingerprint identifies the statement and its values, for cursors;
	// it is computed only when a cursor is made or read.
	fingerprint func() Fingerprint

	// Mapper maps column names to struct fields; nil means gocqlx's
	// default rules (see DefaultMapper).
	Mapper *reflectx.Mapper

	Consistency    uint16
	HasConsistency bool

	fetchSizeSet bool
	errs         []error
}

// The options every front end offers; each front end documents them.

func WithFetchSize(n int) Option {
	return optionFunc(func(c *Config) { c.FetchSize, c.fetchSizeSet = n, true })
}

func WithPageCallback(fn func(PageInfo)) Option {
	return optionFunc(func(c *Config) { c.PageCallback = fn })
}

func WithMaxPages(n int) Option { return optionFunc(func(c *Config) { c.MaxPages = n }) }

func WithPrefetch(p float64) Option { return optionFunc(func(c *Config) { c.Prefetch = p }) }

func WithPageState(state []byte) Option {
	state = bytes.Clone(state) // the caller may reuse its buffer
	return optionFunc(func(c *Config) { c.PageState = state })
}

func WithCursor(c string) Option { return optionFunc(func(cfg *Config) { cfg.Cursor = c }) }

func WithCursorKey(key []byte) Option {
	key = bytes.Clone(key)
	return optionFunc(func(cfg *Config) {
		if len(key) == 0 {
			cfg.errs = append(cfg.errs, errors.New("empty cursor key: an empty key would turn signing off; give a secret key, or no WithCursorKey"))
			return
		}
		cfg.CursorKey = key
	})
}

func WithRetry(r Retry) Option { return optionFunc(func(cfg *Config) { cfg.Retry = r }) }

func WithStrict() Option { return optionFunc(func(c *Config) { c.Strict = true }) }

// WithConsistency records a driver's consistency level; both drivers number
// the levels as the protocol does.
func WithConsistency(level uint16) Option {
	return optionFunc(func(c *Config) { c.Consistency, c.HasConsistency = level, true })
}

// Query is what a front end knows of the statement a stream runs.
type Query struct {
	Keyspace string // the keyspace the statement runs in, for cursors
	CQL      string
	Values   []any // copied by the front end when the statement was captured
	// PageSize is the query's own page size, used when no WithFetchSize is
	// given.
	PageSize int
	// PageState is the paging state the query itself starts from, if any;
	// WithPageState and WithCursor replace it.
	PageState []byte
	// Idempotent and Context: see Config.
	Idempotent bool
	Context    context.Context
}

// Resolve applies opts over the defaults and validates the result for the
// query q. The returned error wraps ErrInvalidArgument and names every bad
// option; a bad cursor also matches ErrInvalidCursor. A cursor made with
// another page size is refused when WithFetchSize asks for another, and
// otherwise sets FetchSize to the cursor's: Cassandra resumes a query with a
// LIMIT exactly only at the page size the paging state was made with.
func Resolve(opts []Option, q Query) (Config, error) {
	c := Config{Prefetch: DefaultPrefetch, Idempotent: q.Idempotent, QueryContext: q.Context}
	queryState := bytes.Clone(q.PageState)
	c.fingerprint = sync.OnceValue(func() Fingerprint { return NewFingerprint(q.Keyspace, q.CQL, q.Values) })
	for i, o := range opts {
		if o == nil {
			c.errs = append(c.errs, fmt.Errorf("option %d is nil", i))
			continue
		}
		o.apply(&c)
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
	if c.Retry.Attempts < 0 || c.Retry.MinBackoff < 0 || c.Retry.MaxBackoff < 0 {
		c.errs = append(c.errs, fmt.Errorf("retry attempts and backoffs must be >= 0, got %+v", c.Retry))
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
		return Config{}, invalid(errors.Join(c.errs...))
	}
	c.PageSize = q.PageSize
	if c.fetchSizeSet {
		c.PageSize = c.FetchSize
	}
	if c.Cursor != "" {
		state, size, err := DecodeCursor(c.Cursor, c.fingerprint(), c.CursorKey)
		if err != nil {
			return Config{}, err
		}
		if size != c.PageSize {
			if c.fetchSizeSet {
				return Config{}, &wrapped{fmt.Sprintf("cqlseq: invalid cursor: it was made at fetch size %d and the stream asks for %d; "+
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

// invalid wraps err so that errors.Is(err, ErrInvalidArgument) holds.
func invalid(err error) error {
	return &wrapped{"cqlseq: " + err.Error(), []error{ErrInvalidArgument, err}}
}

// wrapped is an error with its own message that matches several errors: a
// sentinel of this package and the cause, often the driver's.
type wrapped struct {
	msg  string
	errs []error
}

func (e *wrapped) Error() string   { return e.msg }
func (e *wrapped) Unwrap() []error { return e.errs }

// Invalid returns an error for a bad argument: its message starts with
// "cqlseq: " and it matches ErrInvalidArgument.
func Invalid(format string, args ...any) error {
	return invalid(fmt.Errorf(format, args...))
}

// Retryability classifies a failed page request.
type Retryability int

const (
	// Final failures are the same however often the request is sent.
	Final Retryability = iota
	// NotSent failures may pass, and Cassandra did not run the request: it
	// is safe to send again, whatever the statement.
	NotSent
	// MaybeSent failures may pass, but Cassandra may have run the request:
	// it is sent again only when running it twice is harmless.
	MaybeSent
)

// Classify classifies a failed request by its Cassandra error code (both
// drivers' errors have a Code method), or else by the driver's own errors
// listed in notSent (no connection or stream to send it on) and maybeSent
// (a connection closed, no response in time), or else as a network
// failure.
//
//   - Bootstrapping (0x1002) is a refusal before execution: NotSent.
//   - Unavailable (0x1000), overloaded (0x1001), server error (0x0000, often
//     a node shutting down), read timeout (0x1200) and write timeout
//     (0x1100) may pass, but replicas may have done some of the work: a
//     coordinator raises overloaded and unavailable in the middle of a write
//     or a Paxos round too. MaybeSent.
//   - Read failure (0x1300) means replicas failed to execute the read: too
//     many tombstones, a read size threshold, a corrupt sstable. It repeats
//     every time, so it is Final, as are function and write failures,
//     protocol, syntax, authentication, permission, invalid-query and
//     configuration errors.
func Classify(err error, notSent, maybeSent []error) Retryability {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() {
		case 0x1002:
			return NotSent
		case 0x0000, 0x1000, 0x1001, 0x1100, 0x1200:
			return MaybeSent
		}
		return Final
	}
	for _, t := range notSent {
		if errors.Is(err, t) {
			return NotSent
		}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return NotSent
	}
	for _, t := range maybeSent {
		if errors.Is(err, t) {
			return MaybeSent
		}
	}
	if Transient(err) {
		return MaybeSent
	}
	return Final
}

// Transient reports whether err is a network failure: a reset, refused or
// timed-out connection, or one closed mid-response.
func Transient(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}
