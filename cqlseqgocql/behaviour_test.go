package cqlseqgocql_test

import (
	"context"
	"errors"
	"iter"
	"reflect"
	"testing"

	"github.com/gocql/gocql"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqgocql"
	"github.com/cqlseq/cqlseq/internal/driver/drivertest"
	"github.com/cqlseq/cqlseq/internal/gocqlsource"
)

// TestBehaviour runs the behavioural suite that every front end passes,
// here over gocql v1.
func TestBehaviour(t *testing.T) {
	s := session(t)
	query := func(q drivertest.Query) *gocql.Query {
		return s.Query(q.Stmt, q.Values...).Observer(counter{q.Requests})
	}
	drivertest.Run(t, drivertest.FrontEnd{
		Name: "cqlseqgocql",
		Rows: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Row, error] {
			return cqlseqgocql.Stream[drivertest.Row](ctx, query(q), opts...)
		},
		Pages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[drivertest.Row], error] {
			return cqlseqgocql.Pages[drivertest.Row](ctx, query(q), opts...)
		},
		Smalls: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Small, error] {
			return cqlseqgocql.Stream[drivertest.Small](ctx, query(q), opts...)
		},
		Partials: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Partial, error] {
			return cqlseqgocql.Stream[drivertest.Partial](ctx, query(q), opts...)
		},
		Nullables: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Nullable, error] {
			return cqlseqgocql.Stream[drivertest.Nullable](ctx, query(q), opts...)
		},
		Ints: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[int, error] {
			return cqlseqgocql.Stream[int](ctx, query(q), opts...)
		},
		IntPages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[int], error] {
			return cqlseqgocql.Pages[int](ctx, query(q), opts...)
		},
		Schema: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.SchemaRow, error] {
			return cqlseqgocql.Stream[drivertest.SchemaRow](ctx, query(q), opts...)
		},
		SchemaPages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[drivertest.SchemaRow], error] {
			return cqlseqgocql.Pages[drivertest.SchemaRow](ctx, query(q), opts...)
		},
		Skips: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.SkipRow, error] {
			return cqlseqgocql.Stream[drivertest.SkipRow](ctx, query(q), opts...)
		},
		Anys: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.AnyRow, error] {
			return cqlseqgocql.Stream[drivertest.AnyRow](ctx, query(q), opts...)
		},
		IsDecodeError:  func(err error) bool { var e gocql.UnmarshalError; return errors.As(err, &e) },
		IsRequestError: func(err error) bool { var e gocql.RequestError; return errors.As(err, &e) },
	})
}

// The generic destinations are gocql's Unmarshalers only if the codec is
// instantiated with gocql's TypeInfo: nothing but this test would notice
// otherwise.
func TestCodecDestinationsAreUnmarshalers(t *testing.T) {
	c := gocqlsource.Codec
	drivertest.Destinations(t, c, reflect.TypeFor[gocql.Unmarshaler]())
	if !c.Scannable(reflect.TypeFor[gocql.Duration]()) || c.Scannable(reflect.TypeFor[struct{ A int }]()) {
		t.Error("Scannable: want gocql.Duration, not a plain struct")
	}
}
