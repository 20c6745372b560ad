package cqlseq

import (
	"errors"
	"slices"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// A Statement is the query that [Stream] and [Pages] run: a CQL statement
// with its bound values ([CQL]), or a query the caller already configured
// with the driver ([FromQuery]). The zero Statement is empty and is
// rejected.
type Statement struct {
	cql    string
	values []any
	query  *gocql.Query
	src    driver.Source // a front end's (see driver.NewStatement)
}

// CQL returns a [Statement] for stmt with the values bound to its markers, as
// session.Query(stmt, values...) would build it. The values slice is copied:
// changing it afterwards changes neither the statement nor its cursors.
func CQL(stmt string, values ...any) Statement {
	return Statement{cql: stmt, values: slices.Clone(values)}
}

// FromQuery returns a [Statement] that runs q with the settings the caller
// gave it (consistency, retry policy, observer, idempotence, keyspace ...),
// except three that the driver offers no way to read: its page size (use
// [WithFetchSize]), the paging state it starts from (use [WithPageState] or
// [WithCursor]) and its context (the stream's context governs). q is
// copied when [Stream] or [Pages] is called, with its bound values, and never
// modified: a query shared with other goroutines, or run again later,
// keeps its settings. q runs on the session that created it; the session
// argument of Stream and Pages may then be nil.
func FromQuery(q *gocql.Query) Statement {
	return Statement{query: q}
}

// String returns the CQL text of the statement.
func (s Statement) String() string {
	switch {
	case s.query != nil:
		return s.query.Statement()
	case s.src != nil:
		return s.src.Query().CQL
	}
	return s.cql
}

func init() {
	driver.NewStatement = func(src driver.Source) any { return Statement{src: src} }
}

// source builds the source of one call of Stream or Pages. A problem with
// its arguments goes into the source's Query().Err, for Stream and Pages to
// report after checking their own. It sends nothing to Cassandra.
func (s Statement) source(session *gocql.Session) driver.Source {
	switch {
	case s.src != nil:
		return s.src
	case s.query != nil:
		q := *s.query // a copy: the caller's query is never modified
		// The copy shares the values slice: copy it too, so that a change
		// by the caller cannot reach the stream.
		q.Bind(slices.Clone(s.query.Values())...)
		return newSource(q)
	case strings.TrimSpace(s.cql) == "":
		return &source{Codec: codec} // Stream reports the empty statement
	case session == nil:
		return &source{Codec: codec, query: driver.Query{Err: errors.New("nil session")}}
	}
	return newSource(*session.Query(s.cql, s.values...))
}

// newSource returns the source of q, a copy the stream owns.
func newSource(q gocql.Query) *source {
	src := &source{Codec: codec, base: q}
	src.query.Keyspace = src.base.Keyspace()
	src.query.Scope = keyspaces(src.base)
	src.query.CQL = src.base.Statement()
	src.query.Values = src.base.Values()
	src.query.Idempotent = src.base.IsIdempotent()
	src.query.StrictFields = true // WithStrict refuses a field without a column too
	// cqlseq pages and prefetches itself; the driver's automatic paging is
	// turned off on every page request (see source.Fetch).
	src.base.Prefetch(0)
	// Every page carries its own column metadata. Without it (protocol 4
	// skips it for prepared statements) the driver decodes a page with the
	// columns it cached when it prepared the statement: after an ALTER
	// TABLE that another client's re-prepare made the server apply, values
	// would land in other columns' fields, and the check for changed
	// columns between pages could not see it.
	src.base.NoSkipMetadata()
	return src
}

// keyspaces names, for cursors, the keyspaces that decide which table an
// unqualified name means: the session's, and the one the query runs in
// (its own, given with Query.SetKeyspace, which the driver honours only on
// protocol 5 and ignores below it), each given. q is a copy.
func keyspaces(q gocql.Query) string {
	runs := q.Keyspace()
	session := q.SetKeyspace("").Keyspace()
	// No keyspace name holds a NUL: the two cannot run together.
	return session + "\x00" + runs
}
