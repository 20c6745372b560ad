// Package cqlseqx streams the results of gocqlx queries as Go iterators,
// with the paging, options, pages, errors and guarantees of package
// [github.com/cqlseq/cqlseq], whose documentation states the contract:
//
//	q := session.Query(usersTable.Select()).BindMap(qb.M{"team": "core"})
//	for u, err := range cqlseqx.Stream[User](ctx, q, cqlseq.WithFetchSize(1000)) {
//		if err != nil {
//			return err
//		}
//		// use u
//	}
//
// # One set of types
//
// Options, pages and errors are package cqlseq's own types ([cqlseq.Option],
// [cqlseq.Page], [cqlseq.Consistency], [cqlseq.MappingError] ...), not copies or
// aliases: code that handles the errors or pages of one front end handles
// the other's, and go doc shows every field where it is defined. The price
// is that a gocqlx program links package cqlseq and with it the v2 driver
// (github.com/apache/cassandra-gocql-driver/v2), beside gocqlx's driver; it
// never opens a connection with it. Keeping gocqlx programs free of the v2
// driver would take a second set of types or aliases to them, which is what
// this package had before: every type then showed no fields, and its
// documentation lived in an internal package.
//
// Set the consistency on the Queryx, as gocqlx programs do, or with
// [cqlseq.WithConsistency], whose levels have the gocql driver's values.
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
// the main module, and users of the core module must never need the fork,
// gocqlx or the old driver. cqlseqx reaches the core's engine through an
// internal package of this repository (github.com/cqlseq/cqlseq/internal/driver),
// so the two modules are released together, at one version.
//
// # The query
//
// Stream and Pages copy q when they are called, and never modify it: a
// Queryx shared with other goroutines, or run again later, keeps its
// settings. The copy keeps every setting of q (consistency, observer,
// retry policy, idempotence, custom payload, routing key ...) but four
// that neither gocqlx nor the driver offers a way to read:
//
//   - the page size (Queryx.PageSize): give [cqlseq.WithFetchSize];
//   - the paging state to start from (Queryx.PageState): give
//     [cqlseq.WithPageState] or [cqlseq.WithCursor];
//   - strictness (Queryx.Strict): give [cqlseq.WithStrict];
//     gocqlx.DefaultStrict is read;
//   - the context (Queryx.WithContext): the stream's context governs.
//
// Its bound values are copied: changing q.Values() afterwards changes
// neither the stream nor its cursors. The custom payload and the routing
// key are shared with q: do not change them in place while a stream runs.
//
// Every page request runs on a copy of q made with Query.WithContext,
// which shares q's metrics and routing information, as the driver's own
// copies do: q.Attempts() and q.Latency() count the stream's requests.
// The driver reads the routing information without the lock it writes it
// under, so two requests of copies of one query must not run at once:
// rangings of one sequence that run concurrently take turns to send their
// page requests, and q itself must not be executed by another goroutine
// while a stream of it runs.
//
// One difference from cqlseq comes from the driver: when Cassandra sends a
// page without rows in the middle of a result (it may, when it filters rows
// out), the gocql fork requests the next page itself, before cqlseqx sees
// the empty one, and the warnings sent with it are lost. Warnings of pages
// with rows, and of a last page without rows, reach Page.Warnings and
// PageInfo.Warnings as in cqlseq.
//
// # Row types
//
// Rows are mapped with the query's own mapper (Queryx.Mapper, gocqlx's
// DefaultMapper unless the session set another), so a struct that works with
// Queryx.Select scans the same here, or is refused before the first row with
// a [cqlseq.MappingError] that says why:
//
//   - A field (or a T) whose type embeds gocqlx.UDT is decoded by gocqlx's
//     rules, not the driver's: each element of the user-defined type goes to
//     the field the mapper names so (a db tag, else the name in snake_case),
//     even when the type also has an UnmarshalCQL method (promoted from an
//     embedded struct, say). An element with no field is skipped, or under
//     strict mapping is an error at the first row that holds the UDT. As in
//     gocqlx, nil pointers and nil maps inside such a value are allocated
//     for every row, and stay allocated when the UDT is NULL; a UDT nested
//     in it, behind a pointer field or in a collection is decoded by the
//     driver's rules (the `cql` tag), as gocqlx does. A gocqlx.UDT type as
//     an element of a tuple is decoded by gocqlx's rules too, as gocqlx's
//     Iterx.Scan does (gocqlx's Select cannot scan tuple columns into
//     struct fields at all).
//   - Strict mapping ([cqlseq.WithStrict], or gocqlx.DefaultStrict) refuses a column
//     with no field before the first row.
//   - A field reached through a pointer to a struct (an embedded *Inner, or
//     a pointer field whose fields are mapped by their path) is refused
//     before the first row: gocqlx allocates such a struct for every row, a
//     stream decodes every row into one fixed set of destinations. Embed the
//     struct by value, or make the field a value.
//   - A NULL gives what gocqlx's Select gives where it reads one, and the
//     zero value where the driver fails or panics on it. A type with its
//     own Unmarshaler is handed the NULL and decides.
//   - An empty-interface field (any) gets what gocqlx gives it: text as
//     []byte, where package cqlseq gives a string (the two drivers differ);
//     a value the fork cannot decode into an interface (a user-defined
//     type, an int inside a tuple) gets the Go type MapScan gives it.
//   - A row type *T where T embeds gocqlx.UDT is refused before any query
//     (gocqlx's Select allocates a T per row): use T.
//   - A field of a type that embeds gocqlx.UDT for a column that is not a
//     user-defined type fails at the first row, with a [cqlseq.DecodeError], as gocqlx
//     fails at that row.
package cqlseqx

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"

	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/gocqlsource"
)

// Stream returns the rows of q, decoded into T, one at a time: it is
// [cqlseq.Stream] for a gocqlx query. q is copied when Stream is called (see
// "The query" in the package documentation). A nil query or a
// binding error of q (q.Err()) is the first and only element, and matches
// [cqlseq.ErrInvalidArgument].
func Stream[T any](ctx context.Context, q *gocqlx.Queryx, opts ...cqlseq.StreamOption) iter.Seq2[T, error] {
	return cqlseq.Stream[T](ctx, nil, statement[T](q), opts...)
}

// Pages returns the rows of q, decoded into T, a page at a time: it is
// [cqlseq.Pages] for a gocqlx query.
func Pages[T any](ctx context.Context, q *gocqlx.Queryx, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[T], error] {
	return cqlseq.Pages[T](ctx, nil, statement[T](q), opts...)
}

// statement returns the cqlseq.Statement that runs q into rows of T.
func statement[T any](q *gocqlx.Queryx) cqlseq.Statement {
	return driver.NewStatement(prepare[T](q)).(cqlseq.Statement)
}

// prepare builds the source of one call of Stream or Pages. A problem with
// q or T goes into the source's Query().Err, which cqlseq reports after
// checking its own arguments. It sends nothing to Cassandra.
func prepare[T any](q *gocqlx.Queryx) *gocqlsource.Source {
	src := prepareQuery(q)
	src.Refuse(checkRowType(reflect.TypeFor[T]()))
	return src
}

// prepareQuery is prepare without the row type: the shared source of the
// Queryx's gocql query and values, mapped by its mapper.
func prepareQuery(q *gocqlx.Queryx) *gocqlsource.Source {
	switch {
	case q == nil || q.Query == nil:
		return refused(errors.New("nil query"))
	case q.Err() != nil:
		return refused(fmt.Errorf("binding the query's values: %w", q.Err()))
	}
	m := q.Mapper
	if m == nil {
		m = gocqlx.DefaultMapper
	}
	// Queryx.Strict has no getter; gocqlx.DefaultStrict, which makes every
	// Queryx strict, and cqlseq.WithStrict do.
	return gocqlsource.New(q.Query, q.Values(), sourceOptions(m))
}

// refused is the source of a query that cannot run, for err.
func refused(err error) *gocqlsource.Source {
	return gocqlsource.Refused(err, sourceOptions(gocqlx.DefaultMapper))
}

// checkRowType refuses a row type that points to a type embedding
// gocqlx.UDT: gocqlx's Select allocates one per row and fills it by its own
// rules, a stream decodes every row into one fixed value.
func checkRowType(t reflect.Type) error {
	if t.Kind() == reflect.Pointer && isUDT(t.Elem()) {
		return &cqlseq.MappingError{Field: t.String(), Msg: fmt.Sprintf("row type %v points to a type that embeds gocqlx.UDT; use %v: a stream yields rows by value", t, t.Elem())}
	}
	return nil
}
