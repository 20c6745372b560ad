package engine

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
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

// Func returns an Option that runs f on the configuration, for tests.
func Func(f func(*Config)) Option { return optionFunc(f) }

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

	// Fingerprint identifies the statement and its values; the front end
	// sets it, and cursors carry it.
	Fingerprint Fingerprint

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
	return optionFunc(func(c *Config) { c.PageState = state })
}

func WithCursor(c string) Option { return optionFunc(func(cfg *Config) { cfg.Cursor = c }) }

func WithCursorKey(key []byte) Option {
	return optionFunc(func(cfg *Config) { cfg.CursorKey = key })
}

func WithRetry(r Retry) Option { return optionFunc(func(cfg *Config) { cfg.Retry = r }) }

func WithStrict() Option { return optionFunc(func(c *Config) { c.Strict = true }) }

// WithConsistency records a driver's consistency level; both drivers number
// the levels as the protocol does.
func WithConsistency(level uint16) Option {
	return optionFunc(func(c *Config) { c.Consistency, c.HasConsistency = level, true })
}

// Resolve applies opts over the defaults and validates the result for the
// statement with fingerprint fp. The returned error wraps ErrInvalidArgument
// and names every bad option; a bad cursor also matches ErrInvalidCursor.
func Resolve(opts []Option, fp Fingerprint) (Config, error) {
	c := Config{Prefetch: DefaultPrefetch, Fingerprint: fp}
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
	if c.Cursor != "" && len(c.PageState) > 0 {
		c.errs = append(c.errs, errors.New("both a cursor and a paging state to resume from; give one"))
	}
	if len(c.errs) > 0 {
		return Config{}, invalid(errors.Join(c.errs...))
	}
	if c.Cursor != "" {
		state, err := DecodeCursor(c.Cursor, fp, c.CursorKey)
		if err != nil {
			return Config{}, err
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

// RetryableCode reports whether a Cassandra error code names a failure that
// may pass: server error (often a node shutting down), unavailable,
// overloaded, bootstrapping, truncate error, read timeout, read failure.
// Protocol errors, bad credentials, syntax, unauthorized, invalid, config
// and already-exists errors are final.
func RetryableCode(code int) bool {
	switch code {
	case 0x0000, 0x1000, 0x1001, 0x1002, 0x1003, 0x1200, 0x1300:
		return true
	}
	return false
}

// Retryable reports whether a failed request may succeed if sent again: a
// Cassandra error whose code RetryableCode accepts (both drivers' errors
// have a Code method), one of the driver's own errors listed in transient
// (no connection, connection closed, no response in time), or a network
// failure.
func Retryable(err error, transient ...error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return RetryableCode(coded.Code())
	}
	for _, t := range transient {
		if errors.Is(err, t) {
			return true
		}
	}
	return Transient(err)
}

// Transient reports whether err is a network failure: a reset, refused or
// timed-out connection, or one closed mid-response.
func Transient(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}
