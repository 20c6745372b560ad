// Package driver connects package cqlseq's engine to a Cassandra driver.
//
// It is internal to this repository: package [github.com/cqlseq/cqlseq]
// runs over github.com/apache/cassandra-gocql-driver/v2 with it, package
// [github.com/cqlseq/cqlseq/cqlseqgocql] over github.com/gocql/gocql v1
// (upstream or ScyllaDB's fork), and package
// [github.com/cqlseq/cqlseq/cqlseqx] over gocqlx and the fork; the last two
// share one Source, in module github.com/cqlseq/cqlseq/internal/gocqlsource.
// A front end describes one query as a [Source] and hands it to
// package cqlseq's Stream or Pages as a Statement ([NewStatement]), or a
// session as a [Cluster] to Scan ([ScanOn]); the engine does the paging,
// prefetching, retrying, mapping and cleanup. [Codec] implements the
// type-related half of a Source from a few of the driver's functions, so
// that a front end writes only what its driver does differently. Nothing
// here is API: the modules of this repository are released together, at
// one version, and a front end outside it has no way in.
//
// The drivers above fit: their iterators satisfy [Iter], and a type with a
// method UnmarshalCQL(TI, []byte) error satisfies their Unmarshaler when TI is
// their TypeInfo.
package driver

import (
	"context"
	"reflect"

	"github.com/scylladb/go-reflectx"
)

// A Source is one query, run a page at a time. Its methods are called from
// the goroutine that ranges over the stream, except Fetch, which a prefetch
// also calls from a goroutine of its own while the ranging goroutine uses
// the other methods.
type Source interface {
	// Query describes the query; it is called once per call of StreamFrom
	// or PagesFrom, before anything else.
	Query() Query
	// Fetch sends the request for one page and blocks until the page has
	// arrived or failed. A failure is reported by the returned Iter's
	// Close, as the drivers do. Fetch must return promptly once ctx is done
	// and must not page on its own (the drivers' automatic paging off).
	Fetch(ctx context.Context, r Request) Iter
	// Columns describes the columns of a page Fetch returned. It is called
	// for every page, to see whether the columns changed: it should
	// allocate no more than the slice it returns.
	Columns(it Iter) []Column
	// Decode decodes data, a value of column c (or of its tuple element
	// elem, if elem >= 0), into dst: the mapping's check of a field type.
	Decode(c Column, elem int, data []byte, dst any) error
	// Sample returns the encoding of a non-NULL value of column c (or of
	// its tuple element elem), or nil if the driver cannot make one.
	Sample(c Column, elem int) []byte
	// Retryable classifies a failed page request (see Classify).
	Retryable(err error) Retryability
	// Host returns the address (host:port) of the node that served the
	// page it, as PageInfo.Host reports it; "" if unknown.
	Host(it Iter) string
	// Scannable reports whether the driver decodes one column into a *t
	// although t is a struct: t implements the driver's Unmarshaler or
	// UDTUnmarshaler, or is a struct the driver knows, such as a duration.
	Scannable(t reflect.Type) bool
	// Dest returns what Iter.Scan decodes one column or tuple element into:
	// a value with the driver's Unmarshaler that sets *d.At = d.Slot before
	// it decodes into d.Ptr (see Codec.Dest). It is called when a mapping is
	// bound: once per range over the sequence, and again when a page's
	// columns change.
	Dest(d *Dest) any
	// Discard returns a destination that keeps no value and only sets
	// *d.At = d.Slot: for the elements of a tuple that no field takes.
	Discard(d *Dest) any
}

// Query is what a front end knows of the query a Source runs.
type Query struct {
	// Keyspace is the keyspace the query runs in (its own, else the
	// session's), which decides what an unqualified table name means:
	// cursors are tied to it, and tracers are told it.
	Keyspace string
	// Scope, if not empty, is what cursors are tied to instead of
	// Keyspace: a front end whose driver may run the query in another
	// keyspace than Keyspace (the v2 driver honours a query's own keyspace
	// only on protocol 5) names every keyspace that can decide.
	Scope string
	// CQL is the statement and Values its bound values, copied by the
	// front end when the stream was created. Cursors are tied to both.
	CQL    string
	Values []any
	// Idempotent says the caller marked the statement idempotent. A
	// request that may have reached Cassandra is retried only for a SELECT
	// or for a statement so marked that has no IF clause.
	Idempotent bool
	// Mapper maps column names to struct fields; nil means gocqlx's rules
	// (the db tag, else the field name in snake_case).
	Mapper *reflectx.Mapper
	// Strict makes the mapping strict, as
	// [github.com/cqlseq/cqlseq.WithStrict] does: a column without a field
	// is an error (and a field without a column, with StrictFields).
	Strict bool
	// StrictFields says that strict mapping (Strict, or
	// cqlseq.WithStrict) also refuses a field of the row struct that no
	// column fills, as it does for package cqlseq's own queries. A front
	// end that keeps gocqlx's strict mode, which refuses only a column
	// without a field, leaves it false.
	StrictFields bool
	// Err is a problem the front end found with its arguments (no query,
	// values that failed to bind, a row type it refuses). Stream and
	// Pages yield it after checking their own arguments, before any
	// request: as it is if it matches cqlseq.ErrMapping, else as an error
	// that matches cqlseq.ErrInvalidArgument. Nothing else of the Source is
	// called then.
	Err error
}

// A Request asks for one page.
type Request struct {
	// State is the paging state the page starts at; nil asks for the first.
	State []byte
	// FetchSize is the number of rows to ask for.
	FetchSize int
	// Consistency is the consistency level to read at, numbered as the
	// protocol numbers them, when HasConsistency is set.
	Consistency uint16
	// HasConsistency says Consistency is set; otherwise the query's own
	// consistency applies.
	HasConsistency bool
	// Attempt counts the requests for this page before this one (0 the
	// first time): retries, and a scan's requests sent to another replica.
	Attempt int
	// HostID is the host ID of the node to send the request to
	// (Query.SetHostID); "" leaves the choice to the driver's host
	// selection policy. A scan sets it; the source must honour it.
	HostID string
}

// Iter is one page of a result as a driver returns it, with the methods of
// the drivers' *Iter, which satisfies it.
type Iter interface {
	// Scan decodes the next row into dest, one destination per column (a
	// tuple column has one per element), and reports false after the last
	// row or on a failure, which Close returns.
	Scan(dest ...any) bool
	// MapScan decodes the next row into m, by column name.
	MapScan(m map[string]any) bool
	// PageState returns the paging state that resumes after this page;
	// empty after the last page.
	PageState() []byte
	// NumRows returns the number of rows in the page.
	NumRows() int
	// Warnings returns the warnings Cassandra sent with the page.
	Warnings() []string
	// Close releases the page and returns the failure of its request, or
	// of a row's decoding, if any.
	Close() error
}

// Column describes one column of a result.
type Column struct {
	// Name is the column's name in the result.
	Name string
	// Type is the column's CQL type, for messages.
	Type string
	// Elems is the number of elements of a tuple column, 0 otherwise: the
	// drivers decode a tuple's elements into one destination each.
	Elems int
	// UDT says the column is a user-defined type.
	UDT bool
	// Info is the driver's description of the column's type (its
	// TypeInfo), for [Source].Decode and [Source].Sample.
	Info any
}

// Dest is the destination of one column or tuple element of a row, made
// when a mapping is bound.
type Dest struct {
	Ptr  any  // the field's address
	Any  *any // the field's address when it is an empty interface, else nil
	Slot int  // the destination's index among the row's
	At   *int // set to Slot before decoding, so that an error names the column
	// Strict says the mapping is strict: a front end that maps the
	// elements of a user-defined type itself refuses one without a field.
	Strict bool
}

// A Cluster is what a scan needs of a driver's session: the nodes of the
// ring, and queries routed to chosen nodes.
type Cluster interface {
	// Hosts returns the nodes the driver knows, with their tokens.
	Hosts() ([]Host, error)
	// Query returns the source of cql with values bound to its markers,
	// with the session's settings and nothing else: each page request
	// goes to the node its Request.HostID names, or where the driver's
	// policy sends it.
	Query(cql string, values []any) Source
}

// Unrouted is implemented by a Cluster whose driver may have no way to send
// a request to a chosen node: gocql v1 (github.com/gocql/gocql) has none,
// ScyllaDB's fork of it has Query.SetHostID. While Unrouted returns true, a
// scan leaves Request.HostID empty, so each request goes where the driver's
// host selection policy sends it: the ranges still cover the ring exactly,
// but no request is routed to a range's replicas, and a failed request is
// not sent to the next replica at once, only retried.
type Unrouted interface {
	Unrouted() bool
}

// Host is a node of the ring, as the driver reports it.
type Host struct {
	ID          string   // the host ID, for Request.HostID
	Addr        string   // the address its requests go to (host:port), for messages
	DataCenter  string   // its data center
	Rack        string   // its rack
	Partitioner string   // the partitioner's class name, if the driver knows it
	Tokens      []string // its tokens, as Cassandra writes them
	Up          bool     // the driver takes it to be up
}
