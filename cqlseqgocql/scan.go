package cqlseqgocql

import (
	"context"
	"iter"
	"slices"

	"github.com/gocql/gocql"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/gocqlsource"
)

// Scan returns every row of table ("keyspace.table"), decoded into T, read
// by token range in parallel: it is [cqlseq.Scan] for a gocql session,
// with the same options, checkpoints and guarantees, routed as "Scans" in
// the package documentation says. A nil session is the first and only
// element, and matches [cqlseq.ErrInvalidArgument].
func Scan[T any](ctx context.Context, session *gocql.Session, table string, opts ...cqlseq.ScanOption) iter.Seq2[T, error] {
	if session == nil {
		return func(yield func(T, error) bool) {
			var zero T
			yield(zero, errNilSession)
		}
	}
	return cqlseq.Scan[T](ctx, nil, table, scanOn(ctx, session, opts)...)
}

// ScanPages is [Scan] a page at a time: it is [cqlseq.ScanPages] for a
// gocql session.
func ScanPages[T any](ctx context.Context, session *gocql.Session, table string, opts ...cqlseq.ScanOption) iter.Seq2[cqlseq.Page[T], error] {
	if session == nil {
		return func(yield func(cqlseq.Page[T], error) bool) {
			yield(cqlseq.Page[T]{}, errNilSession)
		}
	}
	return cqlseq.ScanPages[T](ctx, nil, table, scanOn(ctx, session, opts)...)
}

// scanOn returns opts with the option that makes cqlseq's scan read
// through session.
func scanOn(ctx context.Context, session *gocql.Session, opts []cqlseq.ScanOption) []cqlseq.ScanOption {
	c := gocqlsource.Cluster{Ctx: ctx, Session: session, Options: options}
	return append(slices.Clip(opts), driver.ScanOn(c).(cqlseq.ScanOption))
}

var errNilSession = argError("nil session")

// argError is a bad argument, worded as package cqlseq words its own.
type argError string

func (e argError) Error() string        { return "cqlseq: " + string(e) }
func (e argError) Is(target error) bool { return target == cqlseq.ErrInvalidArgument }
