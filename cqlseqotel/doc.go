// Package cqlseqotel traces cqlseq streams and scans with OpenTelemetry and
// measures their page requests, by OpenTelemetry's semantic conventions for
// database clients and for Cassandra (semconv v1.39.0; the schema URL of
// the spans and metrics says so).
//
//	tracer := cqlseqotel.NewTracer()
//	for u, err := range cqlseq.Stream[User](ctx, session, q, cqlseq.WithTracer(tracer)) {
//
// # Spans
//
// Every page request is a span of kind client: a call to Cassandra, as the
// conventions define a database span, with the database's attributes from
// its start. The stream (or scan) that makes the requests is a span of kind
// internal, their parent; a scan has a span per token range between them,
// internal too:
//
//	stream SELECT ks.users  (internal: the loop, from its start to its end)
//	├── SELECT ks.users     (client: page 1's request)
//	└── SELECT ks.users     (client: page 2's request)
//
// Why the stream is not a client span: it is the caller's loop, not a call
// to Cassandra. It lasts as long as the loop body runs and holds many
// requests, and the conventions ask a database span not to last through
// the application's reading of the results. A backend that counts database
// calls, and their latency, by client spans (and an agent that drops
// client spans nested in a client span) sees each request once, with its
// own latency, which db.client.operation.duration records too.
//
// A page request's span is named by the conventions' rule, its
// db.query.summary: the statement's operation and table ("SELECT
// ks.users"), else the operation and the keyspace, else the operation,
// else "cassandra". The stream's span is "stream " followed by that ("scan
// " for a scan), a range's "range ". [WithSpanNameFormatter] renames them.
//
// The stream's span ends when the loop ends, however it ends, on the
// goroutine that ranges: a loop that stops early leaves no span open. A
// page request's span ends at the time its page arrived, also when the
// stream took it later (a prefetched page), so that it lasts what the
// request took. Each request is a span: a page retried (cqlseq.WithRetry)
// has one per request, cqlseq.page.attempt counting them, where the
// conventions would have one span for the page with its retries; cqlseq
// reports each request, not when a page's requests are over.
//
// # Attributes
//
// A page request's span has, from its start: db.system.name
// ("cassandra"), db.namespace (the keyspace: the statement's, else the
// query's or session's), db.collection.name (the table as the statement
// writes it, with its keyspace if it names one, "ks.users", unquoted and
// not case-folded; a scan's "keyspace.table"), db.operation.name (the
// statement's first keyword as written), db.query.summary,
// db.query.text (see below), cassandra.page.size (the fetch size),
// cassandra.consistency.level (when cqlseq.WithConsistency sets it),
// cqlseq.page.number and cqlseq.page.attempt. At its end it has
// db.response.returned_rows, network.peer.address and network.peer.port,
// and server.address and server.port (the node that answered: cqlseq talks
// to nodes directly), Cassandra's warnings as cqlseq.warning events, and
// on failure error.type and db.response.status_code. A prefetched page the
// stream no longer wanted ends with cqlseq.page.abandoned, and no error.
//
// The stream's span has the same db.namespace, db.collection.name,
// db.operation.name, db.query.summary, cassandra.page.size and
// cassandra.consistency.level, and cqlseq.scan.parallelism for a scan, but
// no db.system.name (a backend that takes spans with it for database calls
// would count the stream as one more) and no db.query.text (its requests
// have it). It ends with db.response.returned_rows (the rows the loop
// got), cqlseq.pages and cqlseq.end_reason (complete, break, canceled,
// error, panic). A range's span has cqlseq.range.start, .end, .replicas
// and .resumed, and ends with db.response.returned_rows, cqlseq.pages,
// cqlseq.range.done, and cqlseq.range.stopped when the scan stopped first.
// [WithAttributes] adds attributes to every span.
//
// # Errors
//
// A failed request, a stream that ends with an error and a range that
// fails have an error status with the error's message and error.type;
// the error is recorded as an exception event once, on the request's span
// when a request failed. A passed deadline is an error; the caller's
// cancel is not, nor is a range the scan stopped. error.type is, in this
// order:
//
//   - for an error Cassandra answered (the driver's RequestError, found
//     with errors.As through cqlseq's PageError and RangeError), its
//     protocol error code in four hexadecimal digits, as the native
//     protocol specification lists them and Cassandra's tools print them:
//     "2200" (Invalid: a table that does not exist), "2000" (Syntax error),
//     "1200" (Read timeout), "1000" (Unavailable), "1001" (Overloaded),
//     "0000" (Server error). db.response.status_code has the same code, as
//     the conventions ask for Cassandra; every code is an error;
//   - "timeout" for a passed deadline, the v2 driver's ErrTimeoutNoResponse,
//     or a network error that timed out;
//   - the canonical name (import path and type name) of the innermost
//     error in the chain that has an exported type of its own, the original
//     error rather than its wrappers: "github.com/apache/cassandra-gocql-driver/v2.UnmarshalError"
//     for a value that did not decode, "net.OpError" for a connection that
//     failed; or what an error's ErrorType() string method returns;
//   - "panic" on a stream's span when the loop body panicked;
//   - else "_OTHER".
//
// # Query text
//
// By default a span records the statement, as the conventions recommend:
// as written when it has bind markers (the caller passes its values
// apart; the values are never recorded), else with its literals (strings,
// numbers, blobs, UUIDs, booleans, durations) replaced by "?". A scan's
// statement has markers of its own (the token bounds), so cqlseq.WithFilter's
// text is recorded as written: give its values as values.
// [WithQueryText] (false) records none; [WithQuerySanitizer] records what a
// function of the user's makes of the statement.
//
// # Metrics
//
// Every page request the stream used, or that failed, is measured:
// db.client.operation.duration (a histogram, in seconds, with the
// conventions' bucket boundaries) and, when it succeeded,
// db.client.response.returned_rows (a histogram of rows), with
// db.system.name, db.namespace, db.collection.name, db.operation.name,
// db.query.summary, server.address and server.port, and on failure
// error.type and db.response.status_code. An abandoned prefetch is not
// measured.
//
// # Options
//
// [WithTracerProvider] and [WithMeterProvider] (the global providers by
// default), [WithAttributes], [WithSpanNameFormatter], [WithFilter] (trace
// only some streams) and the query text's [WithQueryText] and
// [WithQuerySanitizer].
//
// The package is a module of its own, so that the core keeps no
// OpenTelemetry dependency. Package [github.com/cqlseq/cqlseq/cqlseqslog]
// logs the same hooks with log/slog.
package cqlseqotel
