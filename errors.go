package cqlseq

import "github.com/cqlseq/cqlseq/internal/engine"

var (
	// ErrInvalidArgument is matched (errors.Is) by the error a stream yields
	// for a bad argument or option: a nil session or context, an empty
	// statement, a fetch size <= 0, negative max pages, a prefetch outside
	// [0, 1]. Such errors are reported before any query is sent.
	ErrInvalidArgument = engine.ErrInvalidArgument

	// ErrMapping is matched by the error a stream yields when T cannot hold
	// the result: a single-column T for several columns, a field the
	// column's type cannot be decoded into (the error also matches the
	// driver's), or a column without a field under WithStrict. It arrives
	// before the first row.
	ErrMapping = engine.ErrMapping

	// ErrInvalidCursor is matched by the error for a cursor that cannot be
	// used (see WithCursor); such errors also match ErrInvalidArgument.
	ErrInvalidCursor = engine.ErrInvalidCursor
)
