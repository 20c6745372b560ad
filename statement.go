package cqlseq

import (
	"errors"
	"reflect"
	"slices"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// A Statement is the query that Stream and Pages run: a CQL statement with
// its bound values (CQL), or a query the caller already configured with the
// driver (FromQuery). The zero Statement is empty and is rejected.
type Statement struct {
	cql    string
	values []any
	query  *gocql.Query
}

// CQL returns a Statement for stmt with the values bound to its markers, as
// session.Query(stmt, values...) would build it. The values slice is copied:
// changing it afterwards changes neither the statement nor its cursors.
func CQL(stmt string, values ...any) Statement {
	return Statement{cql: stmt, values: slices.Clone(values)}
}

// FromQuery returns a Statement that runs q with every setting the caller
// gave it (consistency, retry policy, observer, idempotence, page size,
// paging state to start from, context ...). q is copied when Stream or Pages
// is called and never modified: a query shared with other goroutines, or run
// again later, keeps its settings. q runs on the session that created it;
// the session argument of Stream and Pages may then be nil. A context set
// with q.WithContext is honoured with the stream's: the stream ends when
// either is done.
func FromQuery(q *gocql.Query) Statement {
	return Statement{query: q}
}

// String returns the CQL text of the statement.
func (s Statement) String() string {
	if s.query != nil {
		return s.query.Statement()
	}
	return s.cql
}

// prepare builds the source of one call of Stream or Pages. A problem with
// its arguments goes into the source's Query().Err, for StreamFrom to
// report after checking its own. It sends nothing to Cassandra.
func prepare(session *gocql.Session, st Statement) *source {
	src := &source{Codec: codec}
	switch {
	case st.query != nil:
		src.base = *st.query // a copy: the caller's query is never modified
		// The copy shares the values slice: copy it too, so that a change
		// by the caller cannot reach the stream.
		src.base.Bind(slices.Clone(st.query.Values())...)
		src.query.Context = st.query.Context()
	case strings.TrimSpace(st.cql) == "":
		return src // StreamFrom reports the empty statement
	case session == nil:
		src.query.Err = errors.New("nil session")
		return src
	default:
		src.base = *session.Query(st.cql, st.values...)
	}
	ctx := src.query.Context
	src = newSource(src.base)
	src.query.Context = ctx
	return src
}

// newSource returns the source of q, a copy the stream owns.
func newSource(q gocql.Query) *source {
	src := &source{Codec: codec, base: q}
	src.query.PageSize, src.query.PageState = queryPaging(&src.base)
	src.query.Keyspace = keyspaces(&src.base)
	src.query.CQL = src.base.Statement()
	src.query.Values = src.base.Values()
	src.query.Idempotent = src.base.IsIdempotent()
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

// keyspaces names, for cursors, the keyspaces that decide which tables an
// unqualified name means: the session's and the query's own
// (Query.SetKeyspace), each given, since the driver honours the query's own
// only on protocol 5 and reads the session's below it. The session's is
// read from the driver's unexported fields, as queryPaging reads the page
// size.
func keyspaces(q *gocql.Query) string {
	own, session := "", ""
	v := reflect.ValueOf(q).Elem()
	if f := v.FieldByName("keyspace"); f.Kind() == reflect.String {
		own = f.String()
	}
	if s := v.FieldByName("session"); s.Kind() == reflect.Pointer && !s.IsNil() {
		if cfg := s.Elem().FieldByName("cfg"); cfg.Kind() == reflect.Struct {
			if k := cfg.FieldByName("Keyspace"); k.Kind() == reflect.String {
				session = k.String()
			}
		}
	}
	// No keyspace name holds a NUL: the two cannot run together.
	return session + "\x00" + own
}

// queryPaging reads the page size and the paging state a query was given:
// the driver keeps them in unexported fields and has no getters. Reading is
// done once per call of Stream or Pages, never per row; the tests check
// that both are read (TestFromQueryPaging).
func queryPaging(q *gocql.Query) (pageSize int, state []byte) {
	v := reflect.ValueOf(q).Elem()
	if f := v.FieldByName("pageSize"); f.IsValid() && f.CanInt() {
		pageSize = int(f.Int())
	}
	if f := v.FieldByName("initialPageState"); f.IsValid() && f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8 {
		state = f.Bytes()
	}
	return pageSize, state
}
