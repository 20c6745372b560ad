package engine

import (
	"errors"
	"fmt"
	"math"

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
}

// maxConsistency is LOCAL_ONE, the highest level the protocol defines.
const maxConsistency = 0x0A

// DefaultPrefetch is the fraction of a page that is left to read when the
// next page is requested, unless WithPrefetch says otherwise. It matches the
// drivers' own default.
const DefaultPrefetch = 0.25

// Config is the resolved configuration of one stream.
type Config struct {
	FetchSize    int // 0 leaves the query's (or session's) page size alone
	PageCallback func(PageInfo)
	MaxPages     int // 0 means no limit
	Prefetch     float64
	PageState    []byte // resume point; nil starts at the beginning
	Strict       bool
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

func WithStrict() Option { return optionFunc(func(c *Config) { c.Strict = true }) }

// WithConsistency records a driver's consistency level; both drivers number
// the levels as the protocol does.
func WithConsistency(level uint16) Option {
	return optionFunc(func(c *Config) { c.Consistency, c.HasConsistency = level, true })
}

// Resolve applies opts over the defaults and validates the result. The
// returned error wraps ErrInvalidArgument and names every bad option.
func Resolve(opts []Option) (Config, error) {
	c := Config{Prefetch: DefaultPrefetch}
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
	if len(c.errs) > 0 {
		return Config{}, invalid(errors.Join(c.errs...))
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
