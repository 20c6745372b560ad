// Package cqlseqgocql streams the results of github.com/gocql/gocql queries
// as Go iterators, with the paging, options, pages, errors and guarantees
// of package [github.com/cqlseq/cqlseq], whose documentation states the
// contract:
//
//	q := session.Query("SELECT id, name FROM users WHERE team = ?", "core")
//	for u, err := range cqlseqgocql.Stream[User](ctx, q, cqlseq.WithFetchSize(1000)) {
//		if err != nil {
//			return err
//		}
//		// use u
//	}
//
// It runs on version 1 of the driver: upstream gocql (v1.7.0 and later), or
// ScyllaDB's fork, which keeps the import path and which a program's go.mod
// picks with a replace directive:
//
//	replace github.com/gocql/gocql => github.com/scylladb/gocql v1.15.3
//
// This module's go.mod requires upstream gocql v1.7.0 and replaces
// nothing: a program builds it against the gocql it uses. It is a module
// of its own (github.com/cqlseq/cqlseq/cqlseqgocql), so that users of the
// core module never need gocql v1. For the driver's successor
// (github.com/apache/cassandra-gocql-driver/v2) use package cqlseq itself,
// and for gocqlx, package [github.com/cqlseq/cqlseq/cqlseqx].
//
// # One set of types
//
// Options, pages and errors are package cqlseq's own types ([cqlseq.Option],
// [cqlseq.Page], [cqlseq.Consistency], [cqlseq.MappingError] ...): code
// that handles the errors or pages of one front end handles the others'.
// The price is that a program links package cqlseq and with it the v2
// driver, beside gocql v1; it never opens a connection with it.
//
// Set the consistency on the query, as gocql programs do, or with
// [cqlseq.WithConsistency], whose levels have gocql's values.
//
// # Row types
//
// gocql has no struct mapper: rows are mapped by package cqlseq's rules
// (gocqlx's: a `db` tag, else the field name in snake_case; see "Row
// types" there), so a struct written for cqlseq.Stream reads the same
// here. As in package cqlseq, a NULL gives the zero value (a type with its
// own gocql.Unmarshaler is handed the NULL and decides), and an
// empty-interface field gets the Go type gocql's MapScan gives the column:
// text as a string, a user-defined type as a map[string]any. A struct for a
// user-defined type is decoded by the driver's rules (the `cql` tag).
//
// # The query
//
// Stream and Pages copy q when they are called, and never modify or
// execute it: a query shared with other goroutines, or run again later,
// keeps its settings. The copy keeps every setting of q (consistency,
// observer, retry policy, idempotence, custom payload, routing key ...)
// but three that gocql offers no way to read:
//
//   - the page size (Query.PageSize): give [cqlseq.WithFetchSize];
//   - the paging state to start from (Query.PageState): give
//     [cqlseq.WithPageState] or [cqlseq.WithCursor];
//   - the context (Query.WithContext): the stream's context governs.
//
// Its bound values are copied: changing q.Values() afterwards changes
// neither the stream nor its cursors. The custom payload and the routing
// key are shared with q: do not change them in place while a stream runs.
//
// Every page request runs on a copy of q made with Query.WithContext,
// which shares q's metrics and routing information, as the driver's own
// copies do: q.Attempts() and q.Latency() count the stream's requests.
// Both drivers read the routing information without the lock they write it
// under, so two requests of copies of one query must not run at once:
// rangings of one sequence that run concurrently take turns to send their
// page requests, and q itself must not be executed by another goroutine
// while a stream of it runs.
//
// When Cassandra sends a page without rows in the middle of a result (it
// may, when it filters rows out), upstream gocql hands it over and the
// stream goes on to the next page, keeping its warnings for the next page's
// Page.Warnings, as package cqlseq does; the fork requests the next page
// itself, and the warnings sent with the empty page are lost.
//
// # Scans
//
// [Scan] and [ScanPages] read a table through a *gocql.Session as
// [cqlseq.Scan] does, with the same options, checkpoints and guarantees,
// but for routing, which depends on the driver:
//
//   - On ScyllaDB's fork, as package cqlseq does: the nodes and the
//     driver's view of which are up come from Session.GetHosts, and each
//     request goes to a replica of its range (Query.SetHostID); one that
//     cannot be sent there goes to the next replica at once.
//   - On upstream gocql, which has neither, the nodes and their tokens are
//     read from system.local and system.peers, and each request goes
//     where the session's host selection policy sends it: the ranges cover
//     the ring exactly all the same, but no request is routed to its
//     range's replicas, and a request that fails at a node is retried by
//     [cqlseq.WithRetry] (by default for up to 2 minutes), not sent to
//     another replica at once.
package cqlseqgocql

import (
	"context"
	"iter"

	"github.com/gocql/gocql"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/gocqlsource"
)

// Stream returns the rows of q, decoded into T, one at a time: it is
// [cqlseq.Stream] for a gocql query. q is copied when Stream is called (see
// "The query" in the package documentation). A nil query is the first and
// only element, and matches [cqlseq.ErrInvalidArgument].
func Stream[T any](ctx context.Context, q *gocql.Query, opts ...cqlseq.StreamOption) iter.Seq2[T, error] {
	return cqlseq.Stream[T](ctx, nil, statement(q), opts...)
}

// Pages returns the rows of q, decoded into T, a page at a time: it is
// [cqlseq.Pages] for a gocql query.
func Pages[T any](ctx context.Context, q *gocql.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[T], error] {
	return cqlseq.Pages[T](ctx, nil, statement(q), opts...)
}

// options are how this package's sources decode: by package cqlseq's
// rules (WithStrict refuses a field without a column too), and a request a
// scan sent to a chosen node that reached no node is taken as not sent,
// whatever the fork's error for it (this package compiles against upstream
// gocql too, which has none of those errors).
var options = &gocqlsource.Options{Codec: gocqlsource.Codec, Unreached: true, StrictFields: true}

// statement returns the cqlseq.Statement that runs q. It sends nothing to
// Cassandra; a problem with q is reported by cqlseq after its own
// argument checks.
func statement(q *gocql.Query) cqlseq.Statement {
	var values []any
	if q != nil {
		values = q.Values()
	}
	return driver.NewStatement(gocqlsource.New(q, values, options)).(cqlseq.Statement)
}
