package cqlseq_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
)

// Each bad input gets one clear error as the first and only element: no
// panic, no hang. Argument errors are found before any query is sent.
func TestBadInput(t *testing.T) {
	s, table := fixture(t)
	good := "SELECT id, name, score FROM " + table
	var nilCtx context.Context
	tests := []struct {
		name    string
		ctx     context.Context
		session *gocql.Session
		stmt    string
		opts    []cqlseq.StreamOption
		is      error  // errors.Is target
		as      any    // errors.As target, for the server's errors
		msg     string // in the message
	}{
		{name: "nil session", stmt: good, is: cqlseq.ErrInvalidArgument, msg: "cqlseq: nil session"},
		{name: "nil context", ctx: nilCtx, session: s, stmt: good, is: cqlseq.ErrInvalidArgument, msg: "cqlseq: nil context"},
		{name: "empty statement", session: s, stmt: "", is: cqlseq.ErrInvalidArgument, msg: "cqlseq: empty statement"},
		{name: "blank statement", session: s, stmt: " \n\t", is: cqlseq.ErrInvalidArgument, msg: "cqlseq: empty statement"},
		{name: "fetch size 0", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithFetchSize(0)},
			is: cqlseq.ErrInvalidArgument, msg: "fetch size must be in [1, 2^31), got 0"},
		{name: "negative fetch size", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithFetchSize(-5)},
			is: cqlseq.ErrInvalidArgument, msg: "fetch size must be in [1, 2^31), got -5"},
		{name: "huge fetch size", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithFetchSize(math.MaxInt32 + 1)},
			is: cqlseq.ErrInvalidArgument, msg: "fetch size must be in [1, 2^31), got 2147483648"},
		{name: "negative max pages", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithMaxPages(-1)},
			is: cqlseq.ErrInvalidArgument, msg: "max pages must be >= 0, got -1"},
		{name: "prefetch below 0", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithPrefetch(-0.1)},
			is: cqlseq.ErrInvalidArgument, msg: "prefetch must be in [0, 1], got -0.1"},
		{name: "prefetch above 1", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithPrefetch(1.5)},
			is: cqlseq.ErrInvalidArgument, msg: "prefetch must be in [0, 1], got 1.5"},
		{name: "prefetch NaN", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithPrefetch(math.NaN())},
			is: cqlseq.ErrInvalidArgument, msg: "prefetch must be in [0, 1], got NaN"},
		{name: "unknown consistency", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithConsistency(99)},
			is: cqlseq.ErrInvalidArgument, msg: "unknown consistency 99"},
		{name: "empty cursor key", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithCursorKey([]byte{})},
			is: cqlseq.ErrInvalidArgument, msg: "empty cursor key"},
		{name: "nil cursor key", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithCursorKey(nil)},
			is: cqlseq.ErrInvalidArgument, msg: "empty cursor key"},
		{name: "nil option", session: s, stmt: good, opts: []cqlseq.StreamOption{nil},
			is: cqlseq.ErrInvalidArgument, msg: "option 0 is nil"},
		{name: "two bad options", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithFetchSize(0), cqlseq.WithMaxPages(-2)},
			is: cqlseq.ErrInvalidArgument, msg: "max pages must be >= 0, got -2"},
		{name: "CQL that does not parse", session: s, stmt: "SELEC id FROM " + table,
			as: new(*gocql.RequestErrSyntax), msg: "cqlseq: fetching page 1"},
		{name: "table that does not exist", session: s, stmt: "SELECT * FROM " + table + "_missing",
			as: new(*gocql.RequestErrInvalid), msg: "cqlseq: fetching page 1"},
		{name: "keyspace that does not exist", session: s, stmt: "SELECT * FROM no_such_keyspace.t",
			as: new(*gocql.RequestErrInvalid), msg: "cqlseq: fetching page 1"},
		{name: "wrong number of bound values", session: s, stmt: good + " WHERE id = ?",
			msg: "cqlseq: fetching page 1"},
		{name: "forged paging state", session: s, stmt: good, opts: []cqlseq.StreamOption{cqlseq.WithPageState([]byte("forged"))},
			as: new(gocql.RequestError), msg: "cqlseq: fetching page 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil && tt.name != "nil context" {
				ctx = context.Background()
			}
			check := func(api string, got []error, rows int) {
				t.Helper()
				if len(got) != 1 || rows != 0 {
					t.Fatalf("%s: got %d rows and errors %v, want exactly one error", api, rows, got)
				}
				err := got[0]
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("%s: error %v does not match %v", api, err, tt.is)
				}
				if tt.as != nil && !errors.As(err, tt.as) {
					t.Errorf("%s: error %v (%T) does not unwrap to %T", api, err, err, tt.as)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("%s: error %q does not contain %q", api, err, tt.msg)
				}
			}
			var errs []error
			rows := 0
			for _, err := range cqlseq.Stream[Row](ctx, tt.session, cqlseq.CQL(tt.stmt), tt.opts...) {
				if err != nil {
					errs = append(errs, err)
				} else {
					rows++
				}
			}
			check("Stream", errs, rows)
			errs, rows = nil, 0
			for _, err := range cqlseq.Pages[Row](ctx, tt.session, cqlseq.CQL(tt.stmt), tt.opts...) {
				if err != nil {
					errs = append(errs, err)
				} else {
					rows++
				}
			}
			check("Pages", errs, rows)
		})
	}
}

// Argument errors are found before a query is sent.
func TestBadOptionsSendNothing(t *testing.T) {
	s, table := fixture(t)
	reqs, q := observed(s, "SELECT id FROM "+table)
	for _, err := range cqlseq.Stream[int](context.Background(), nil, cqlseq.FromQuery(q), cqlseq.WithFetchSize(0)) {
		if !errors.Is(err, cqlseq.ErrInvalidArgument) {
			t.Fatalf("got %v", err)
		}
	}
	if n := reqs.Load(); n != 0 {
		t.Fatalf("%d requests sent for an invalid option", n)
	}
	for _, err := range cqlseq.Stream[int](context.Background(), s, cqlseq.Statement{}) {
		if !errors.Is(err, cqlseq.ErrInvalidArgument) {
			t.Fatalf("zero Statement: got %v", err)
		}
	}
}
