package cqlseq

import "github.com/cqlseq/cqlseq/internal/engine"

var (
	// ErrInvalidArgument is matched (errors.Is) by the error a stream yields
	// for a bad argument or option: a nil session or context, an empty
	// statement, a fetch size <= 0, negative max pages, a prefetch outside
	// [0, 1], an empty cursor key, a nil option, a bad cursor. Such errors
	// are reported before any query is sent.
	ErrInvalidArgument = engine.ErrInvalidArgument

	// ErrMapping is matched by the error a stream yields when T cannot hold
	// the result. A MappingError (a single-column T for several columns, a
	// field the column's type cannot be decoded into, a column without a
	// field under WithStrict) arrives before the first row, or before the
	// first row of a page whose columns changed into a shape T cannot hold.
	// A ScanError (a value that does not fit its field, such as a bigint too
	// large for an int8) arrives at the row that holds it.
	ErrMapping = engine.ErrMapping

	// ErrInvalidCursor is matched by the error for a cursor that cannot be
	// used (see WithCursor); such errors also match ErrInvalidArgument.
	ErrInvalidCursor = engine.ErrInvalidCursor
)

// MappingError reports that T cannot hold the result: which column, which
// field, at which page, and the driver's error when the driver refused the
// field's type. It matches ErrMapping; errors.As finds it.
type MappingError = engine.MappingError

// ScanError reports a row that could not be decoded: the column, the Go
// field, the page and the row's number in the stream. It matches ErrMapping
// and unwraps to the driver's error. A panic in the driver's decoding is
// reported the same way.
type ScanError = engine.ScanError

// PageError reports a page request that failed: the page's number, the
// retries made (WithRetry), and the driver's error, which it unwraps to
// (errors.As finds *gocql.RequestErrReadTimeout and the like through it).
type PageError = engine.PageError
