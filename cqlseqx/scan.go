package cqlseqx

import (
	"context"
	"iter"
	"reflect"
	"slices"

	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/gocqlsource"
)

// Scan returns every row of table ("keyspace.table"), decoded into T by
// the session's mapper, read by token range in parallel: it is
// [cqlseq.Scan] for a gocqlx session, with the same options, checkpoints
// and guarantees.
func Scan[T any](ctx context.Context, session gocqlx.Session, table string, opts ...cqlseq.ScanOption) iter.Seq2[T, error] {
	if err := scanArgs[T](session); err != nil {
		return func(yield func(T, error) bool) {
			var zero T
			yield(zero, err)
		}
	}
	return cqlseq.Scan[T](ctx, nil, table, scanOn(ctx, session, opts)...)
}

// ScanPages is [Scan] a page at a time: it is [cqlseq.ScanPages] for a
// gocqlx session.
func ScanPages[T any](ctx context.Context, session gocqlx.Session, table string, opts ...cqlseq.ScanOption) iter.Seq2[cqlseq.Page[T], error] {
	if err := scanArgs[T](session); err != nil {
		return func(yield func(cqlseq.Page[T], error) bool) {
			yield(cqlseq.Page[T]{}, err)
		}
	}
	return cqlseq.ScanPages[T](ctx, nil, table, scanOn(ctx, session, opts)...)
}

// scanOn returns opts with the option that makes cqlseq's scan read
// through session.
func scanOn(ctx context.Context, session gocqlx.Session, opts []cqlseq.ScanOption) []cqlseq.ScanOption {
	return append(slices.Clip(opts), driver.ScanOn(cluster{ctx, session}).(cqlseq.ScanOption))
}

func scanArgs[T any](session gocqlx.Session) error {
	if session.Session == nil {
		return argError("nil session")
	}
	return checkRowType(reflect.TypeFor[T]())
}

// cluster is what a scan needs of a gocqlx session: its nodes as the
// fork lists them (Session.GetHosts), and queries mapped by its mapper.
type cluster struct {
	ctx context.Context
	s   gocqlx.Session
}

func (c cluster) Hosts() ([]driver.Host, error) { return gocqlsource.Hosts(c.ctx, c.s.Session) }

func (c cluster) Query(cql string, values []any) driver.Source {
	return prepareQuery(c.s.Query(cql, nil).Bind(values...))
}

// argError is a bad argument, worded as package cqlseq words its own.
type argError string

func (e argError) Error() string        { return "cqlseq: " + string(e) }
func (e argError) Is(target error) bool { return target == cqlseq.ErrInvalidArgument }
