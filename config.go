package cqlseq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/scylladb/go-reflectx"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/driver"
)

// config is the settings of one sequence: the caller's options, checked,
// and what the statement implies. It is built once per call of Stream,
// Pages, Scan or ScanPages and read by every ranging of the sequence.
type config struct {
	FetchSize    int // rows per page request; DefaultFetchSize unless set
	PageCallback func(PageInfo)
	MaxPages     int // 0 means no limit
	Prefetch     float64
	PageState    []byte // resume point; nil starts at the beginning
	Strict       bool
	Cursor       string // resume point as a cursor; "" starts at the beginning
	CursorKey    []byte // signs and checks cursors; none when empty
	Retry        Retry

	// Idempotent says the statement may run twice without harm: a SELECT,
	// or a statement the caller marked idempotent that has no IF clause.
	// Only such statements are retried after a failure that may have
	// reached Cassandra (see driver.Retryability).
	Idempotent bool

	// fingerprint identifies the statement and its values, for cursors;
	// it is computed only when a cursor is made or read.
	fingerprint func() cursor.Fingerprint

	// Mapper maps column names to struct fields; nil means gocqlx's
	// default rules (see mapping.For).
	Mapper *reflectx.Mapper

	Consistency    Consistency
	HasConsistency bool

	rateLimit float64
	rateSet   bool

	fetchSizeSet bool
	errs         []error

	// tracer traces the sequence (WithTracer); keyspace and statement
	// describe it to the tracer.
	tracer              Tracer
	keyspace, statement string

	// A scan's options.
	parallelism                                   int
	scanColumns                                   []string
	scanFilter, scanDC                            string
	scanDCSet                                     bool
	scanValues                                    []any
	parallelismSet, scanColumnsSet, scanFilterSet bool
	// cluster is the front end's cluster a scan reads, when the front
	// end is not this package's (see driver.ScanOn).
	cluster driver.Cluster
}

// request returns the request for the page that starts at state.
func (c *config) request(state []byte) driver.Request {
	return driver.Request{State: state, FetchSize: c.FetchSize, Consistency: uint16(c.Consistency), HasConsistency: c.HasConsistency}
}

// startStream checks the arguments of Stream and Pages and resolves the
// options for src's query. It sends nothing to Cassandra.
func startStream(ctx context.Context, src driver.Source, opts []StreamOption) (*config, error) {
	if ctx == nil {
		return nil, invalidf("nil context")
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
	return resolveStream(opts, q)
}

// resolveStream resolves a stream's options for the query q. A cursor
// sets the fetch size to the one it was made at, unless WithFetchSize asks
// for another: that is refused, before any query is sent, for a statement
// that Cassandra resumes exactly only at the fetch size its paging state
// was made at (one with a LIMIT, see fetchSizeHeld), and followed for
// every other.
func resolveStream(opts []StreamOption, q driver.Query) (*config, error) {
	c := newConfig(q)
	for i, o := range opts {
		if o == nil {
			c.errs = append(c.errs, fmt.Errorf("option %d is nil", i))
			continue
		}
		o.applyStream(c)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Cursor != "" {
		state, size, err := decodeCursor(c.Cursor, c.fingerprint(), c.CursorKey)
		if err != nil {
			return nil, err
		}
		switch {
		case size == c.FetchSize:
		case !c.fetchSizeSet:
			c.FetchSize = size
		default:
			if held := fetchSizeHeld(q.CQL); held != "" {
				return nil, cursorRefusef("it was made at fetch size %d and the stream asks for %d, and the statement has %s: "+
					"such a cursor resumes only at its own fetch size (at one at or above the LIMIT, Cassandra reads the query without paging, from its first row again)",
					size, c.FetchSize, held)
			}
		}
		c.PageState = state
	}
	return c, nil
}

// resolveScan resolves a scan's options for the statement q describes
// (its keyspace and a text that names the scan). Its checkpoint is
// decoded by the scan, against the table's ring.
func resolveScan(opts []ScanOption, q driver.Query) (*config, error) {
	c := newConfig(q)
	c.Retry = scanRetry // unless WithRetry gives another
	for i, o := range opts {
		if o == nil {
			c.errs = append(c.errs, fmt.Errorf("option %d is nil", i))
			continue
		}
		o.applyScan(c)
	}
	c.checkScan()
	return c, c.check()
}

// newConfig returns the default settings for the query q.
func newConfig(q driver.Query) *config {
	c := &config{FetchSize: DefaultFetchSize, Prefetch: DefaultPrefetch, Idempotent: idempotent(q.CQL, q.Idempotent), Mapper: q.Mapper, Strict: q.Strict,
		keyspace: q.Keyspace, statement: q.CQL}
	c.fingerprint = sync.OnceValue(func() cursor.Fingerprint { return cursor.NewFingerprint(cmp.Or(q.Scope, q.Keyspace), q.CQL, q.Values) })
	return c
}

// check validates the settings every sequence shares and fills in the
// retry's default backoffs. The returned error wraps ErrInvalidArgument
// and names every bad option.
func (c *config) check() error {
	if c.rateSet {
		if !(c.rateLimit > 0) || math.IsInf(c.rateLimit, 0) {
			c.errs = append(c.errs, fmt.Errorf("rate limit must be > 0 rows per second, got %v", c.rateLimit))
		}
	}
	if c.FetchSize <= 0 || c.FetchSize > math.MaxInt32 {
		c.errs = append(c.errs, fmt.Errorf("fetch size must be in [1, 2^31), got %d", c.FetchSize))
	}
	if c.HasConsistency && c.Consistency > LocalOne {
		c.errs = append(c.errs, fmt.Errorf("unknown consistency %d", c.Consistency))
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
	if c.Cursor != "" && len(c.PageState) > 0 {
		c.errs = append(c.errs, errors.New("both a cursor and a paging state to resume from; give one"))
	}
	if len(c.errs) > 0 {
		return invalid(errors.Join(c.errs...))
	}
	if c.Retry.MinBackoff == 0 {
		c.Retry.MinBackoff = 100 * time.Millisecond
	}
	if c.Retry.MaxBackoff == 0 {
		c.Retry.MaxBackoff = max(5*time.Second, c.Retry.MinBackoff)
	}
	return nil
}
