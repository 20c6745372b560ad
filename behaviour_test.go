package cqlseq_test

import (
	"context"
	"errors"
	"iter"
	"sync/atomic"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/internal/driver/drivertest"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// counter counts the page requests of a query, through the driver's
// QueryObserver.
type counter struct{ n *atomic.Int64 }

func (c counter) ObserveQuery(context.Context, gocql.ObservedQuery) { c.n.Add(1) }

// TestBehaviour runs the behavioural suite that every front end passes,
// here over the v2 driver.
func TestBehaviour(t *testing.T) {
	s := cqlseqtest.Session(t)
	stmt := func(q drivertest.Query) cqlseq.Statement {
		return cqlseq.FromQuery(s.Query(q.Stmt, q.Values...).Observer(counter{q.Requests}))
	}
	drivertest.Run(t, drivertest.FrontEnd{
		Name: "cqlseq",
		Rows: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Row, error] {
			return cqlseq.Stream[drivertest.Row](ctx, nil, stmt(q), opts...)
		},
		Pages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[drivertest.Row], error] {
			return cqlseq.Pages[drivertest.Row](ctx, nil, stmt(q), opts...)
		},
		Smalls: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Small, error] {
			return cqlseq.Stream[drivertest.Small](ctx, nil, stmt(q), opts...)
		},
		Partials: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Partial, error] {
			return cqlseq.Stream[drivertest.Partial](ctx, nil, stmt(q), opts...)
		},
		Nullables: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Nullable, error] {
			return cqlseq.Stream[drivertest.Nullable](ctx, nil, stmt(q), opts...)
		},
		Ints: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[int, error] {
			return cqlseq.Stream[int](ctx, nil, stmt(q), opts...)
		},
		IntPages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[int], error] {
			return cqlseq.Pages[int](ctx, nil, stmt(q), opts...)
		},
		Schema: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.SchemaRow, error] {
			return cqlseq.Stream[drivertest.SchemaRow](ctx, nil, stmt(q), opts...)
		},
		SchemaPages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[drivertest.SchemaRow], error] {
			return cqlseq.Pages[drivertest.SchemaRow](ctx, nil, stmt(q), opts...)
		},
		Skips: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.SkipRow, error] {
			return cqlseq.Stream[drivertest.SkipRow](ctx, nil, stmt(q), opts...)
		},
		Anys: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.AnyRow, error] {
			return cqlseq.Stream[drivertest.AnyRow](ctx, nil, stmt(q), opts...)
		},
		IsDecodeError:  func(err error) bool { var e gocql.UnmarshalError; return errors.As(err, &e) },
		IsRequestError: func(err error) bool { var e gocql.RequestError; return errors.As(err, &e) },
	})
}

// The schema-change tests again on a session held to protocol 4, whose
// result metadata the driver handles differently from protocol 5's.
func TestSchemaChangesProtocol4(t *testing.T) {
	cqlseqtest.NeedCassandra(t)
	cfg := cqlseqtest.Cluster()
	cfg.ProtoVersion = 4
	s, err := cfg.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stmt := func(q drivertest.Query) cqlseq.Statement {
		return cqlseq.FromQuery(s.Query(q.Stmt, q.Values...).Observer(counter{q.Requests}))
	}
	drivertest.RunSchemaChanges(t, drivertest.FrontEnd{
		Name: "cqlseq-v4",
		Schema: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.SchemaRow, error] {
			return cqlseq.Stream[drivertest.SchemaRow](ctx, nil, stmt(q), opts...)
		},
		SchemaPages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[drivertest.SchemaRow], error] {
			return cqlseq.Pages[drivertest.SchemaRow](ctx, nil, stmt(q), opts...)
		},
	})
}
