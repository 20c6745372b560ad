// Package cqlseqx streams the results of gocqlx queries as Go iterators,
// with the same engine, options and guarantees as package
// github.com/cqlseq/cqlseq:
//
//	q := session.Query(usersTable.Select()).BindMap(qb.M{"team": "core"})
//	for u, err := range cqlseqx.Stream[User](ctx, q, cqlseqx.WithFetchSize(1000)) {
//		if err != nil {
//			return err
//		}
//		// use u
//	}
//
// gocqlx (github.com/scylladb/gocqlx/v3) is built on the github.com/gocql/gocql
// driver, and compiles only against ScyllaDB's fork of it. A program that
// uses this package must therefore carry, like every gocqlx program, this
// line in its go.mod:
//
//	replace github.com/gocql/gocql => github.com/scylladb/gocql v1.15.3
//
// That is why cqlseqx is a module of its own (github.com/cqlseq/cqlseq/cqlseqx)
// rather than a package of the core module: a replace directive binds only
// the main module, and users of the core package, which is built on
// github.com/apache/cassandra-gocql-driver/v2, must never need the fork,
// gocqlx, or the old driver. This package does not import the core package
// either, so a gocqlx program links one driver only; both packages share the
// paging engine, so their options (Option), pages (Page) and errors are the
// same types, and the package documentation of github.com/cqlseq/cqlseq
// states the contract both follow.
//
// Rows are mapped with the query's own mapper (Queryx.Mapper, gocqlx's
// DefaultMapper unless the session set another), so a struct that works with
// Queryx.Select works here. Strict mapping is set with WithStrict: the
// strictness a Queryx was given with Strict() cannot be read from outside
// gocqlx.
package cqlseqx

import (
	"context"
	"iter"
	"slices"
	"strings"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq/internal/engine"
)

// Page is one page of rows; see cqlseq.Page. It is the same type.
type Page[T any] = engine.Page[T]

// PageInfo describes a page the stream has finished reading; see
// cqlseq.PageInfo. It is the same type.
type PageInfo = engine.PageInfo

// Option configures Stream and Pages; see cqlseq.Option. It is the same
// type: options built by either package work with both.
type Option = engine.Option

var (
	// ErrInvalidArgument is cqlseq.ErrInvalidArgument.
	ErrInvalidArgument = engine.ErrInvalidArgument
	// ErrMapping is cqlseq.ErrMapping.
	ErrMapping = engine.ErrMapping
	// ErrInvalidCursor is cqlseq.ErrInvalidCursor.
	ErrInvalidCursor = engine.ErrInvalidCursor
)

// Retry is cqlseq.Retry; see WithRetry.
type Retry = engine.Retry

// Stream returns the rows of q, decoded into T, one at a time, exactly as
// cqlseq.Stream does for the v2 driver: pages are requested as the loop
// needs them, an error arrives once as (zero T, err) and ends the sequence,
// and nothing needs closing however the loop ends. q is copied when Stream
// is called and never modified; each range runs it anew. A binding error of
// q (q.Err()) is the first and only element, and matches ErrInvalidArgument.
func Stream[T any](ctx context.Context, q *gocqlx.Queryx, opts ...Option) iter.Seq2[T, error] {
	src, cfg, err := prepare(ctx, q, opts)
	if err != nil {
		return func(yield func(T, error) bool) {
			var zero T
			yield(zero, err)
		}
	}
	return engine.Stream[T](ctx, src, cfg)
}

// Pages returns the rows of q, decoded into T, a page at a time, exactly as
// cqlseq.Pages does for the v2 driver.
func Pages[T any](ctx context.Context, q *gocqlx.Queryx, opts ...Option) iter.Seq2[Page[T], error] {
	src, cfg, err := prepare(ctx, q, opts)
	if err != nil {
		return func(yield func(Page[T], error) bool) {
			yield(Page[T]{}, err)
		}
	}
	return engine.Pages[T](ctx, src, cfg)
}

func prepare(ctx context.Context, q *gocqlx.Queryx, opts []Option) (*source, engine.Config, error) {
	var none engine.Config
	switch {
	case ctx == nil:
		return nil, none, engine.Invalid("nil context")
	case q == nil || q.Query == nil:
		return nil, none, engine.Invalid("nil query")
	case q.Err() != nil:
		return nil, none, engine.Invalid("binding the query's values: %w", q.Err())
	case strings.TrimSpace(q.Statement()) == "":
		return nil, none, engine.Invalid("empty statement")
	}
	cfg, err := engine.Resolve(opts, engine.Query{
		Keyspace:   q.Keyspace(),
		CQL:        q.Statement(),
		Values:     slices.Clone(q.Values()),
		Idempotent: engine.Idempotent(q.Statement(), q.IsIdempotent()),
	})
	if err != nil {
		return nil, none, err
	}
	cfg.Mapper = q.Mapper
	src := &source{base: *q.Query} // a copy: the caller's query is never modified
	if cfg.FetchSize > 0 {
		src.base.PageSize(cfg.FetchSize)
	}
	if cfg.HasConsistency {
		src.base.Consistency(gocql.Consistency(cfg.Consistency))
	}
	src.base.Prefetch(0)
	return src, cfg, nil
}

// WithFetchSize is cqlseq.WithFetchSize.
func WithFetchSize(n int) Option { return engine.WithFetchSize(n) }

// WithPageCallback is cqlseq.WithPageCallback.
func WithPageCallback(fn func(PageInfo)) Option { return engine.WithPageCallback(fn) }

// WithMaxPages is cqlseq.WithMaxPages.
func WithMaxPages(n int) Option { return engine.WithMaxPages(n) }

// WithPrefetch is cqlseq.WithPrefetch.
func WithPrefetch(p float64) Option { return engine.WithPrefetch(p) }

// WithPageState is cqlseq.WithPageState.
func WithPageState(state []byte) Option { return engine.WithPageState(state) }

// WithCursor is cqlseq.WithCursor.
func WithCursor(cursor string) Option { return engine.WithCursor(cursor) }

// WithCursorKey is cqlseq.WithCursorKey.
func WithCursorKey(key []byte) Option { return engine.WithCursorKey(key) }

// WithRetry is cqlseq.WithRetry.
func WithRetry(r Retry) Option { return engine.WithRetry(r) }

// WithStrict is cqlseq.WithStrict.
func WithStrict() Option { return engine.WithStrict() }

// WithConsistency is cqlseq.WithConsistency, with the gocql driver's type.
func WithConsistency(c gocql.Consistency) Option { return engine.WithConsistency(uint16(c)) }
