// Package cqlseq turns Cassandra query results into Go iterators.
//
//	for u, err := range cqlseq.Stream[User](ctx, session, cqlseq.CQL("SELECT id, name FROM users")) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(u.ID, u.Name)
//	}
//
// [Stream] yields typed rows one at a time; [Pages] yields them a page at a
// time, each [Page] with its [PageInfo]: its number, the rows read so far,
// the node that served it and the position that resumes right after it.
// [ReadPage] returns one such page, for a handler that serves a result a
// page per request, and [Collect] a small result in a slice. [Scan] and
// [ScanPages] read a whole table by token range, in parallel.
// All drive Cassandra's paging on demand: a
// page is requested when the loop needs it (with prefetching, the default,
// one page ahead of it), so a table larger than memory streams in the memory
// of two pages. Packages [github.com/cqlseq/cqlseq/cqlseqgocql] and
// [github.com/cqlseq/cqlseq/cqlseqx] offer the same for queries of
// github.com/gocql/gocql and of gocqlx, with the same options, pages and
// errors.
//
// # The contract
//
// This section is the contract of every sequence the package and its front
// ends [github.com/cqlseq/cqlseq/cqlseqgocql] and
// [github.com/cqlseq/cqlseq/cqlseqx] return; function docs refer to it.
// [ReadPage] keeps it too, returning what a sequence would yield.
//
// Nothing needs closing. However the loop ends (the last row, break, return,
// an error, a cancelled context, a panic in the loop body), the stream
// cancels a page request in flight, waits for it and closes every page it
// holds before the range statement completes. A panic in the loop body
// propagates unchanged; a panic in the driver's decoding becomes a
// [DecodeError].
//
// An error is yielded once, as (zero value, err), and the sequence ends:
//
//   - Invalid arguments and options are reported before any query is sent,
//     in an error that matches [ErrInvalidArgument] and names what is wrong
//     (see "Invalid arguments" below).
//   - A row type that cannot hold the result is a [*MappingError] (matching
//     [ErrMapping]) before the first row, or before the first row of a page
//     whose columns changed.
//   - A value that cannot be decoded is a [*DecodeError] at its row, naming the
//     column, the field, the page and the row.
//   - A failed page request is a [*PageError] naming the page and the retries
//     made. A failed page is never taken for the end of the data.
//   - A cancelled context or a passed deadline ends the stream within a row
//     with an error that matches ctx.Err().
//
// Range with two variables, and check the error: Go accepts one as well,
// and "for u := range cqlseq.Stream[User](...)" compiles, takes u for the
// row and drops every error without a word, so that a failed query looks
// like an empty result. For a result small enough to hold at once,
// [Collect] returns the rows and the error together (the rows read before
// the error, with it).
//
// Every error wraps the driver's, so errors.Is and errors.As see it. A driver
// error on closing a page after the loop has stopped cannot be delivered and
// is dropped: the loop asked for no more rows.
//
// Every range over a sequence runs the query again from the start (or from
// [WithPageState] or [WithCursor]); sequences may be ranged concurrently,
// and each ranging is a stream of its own, with its own [WithRateLimit]
// budget counted from when it starts.
// An empty result yields nothing. Rows are yielded by value, and the slices
// of a Page (Rows, Warnings, PageState) are new for every page: all belong
// to the caller. The caller's query ([FromQuery], or cqlseqx's Queryx) is
// copied, never modified.
//
// # Row types
//
// T is mapped from the result's columns by gocqlx's rules, so a struct
// written for github.com/scylladb/gocqlx works unchanged:
//
//   - A struct's field takes the column named by its `db` tag, else its name
//     in snake_case (UserID -> user_id); `db:"-"` skips a field. Fields of
//     embedded structs are promoted; embed by value, not by pointer. A field
//     with no column stays zero and a column with no field is ignored;
//     with [WithStrict] either is a [MappingError] before the first row (in
//     cqlseqx, as in gocqlx, only the column).
//   - Any type the driver decodes a column into works as a field: pointers
//     (nil for NULL), slices, maps, arrays, structs for UDTs (by the driver's
//     `cql` tag rules), structs or arrays for tuples, the empty interface
//     (any: the driver's default Go type for the column, nil for NULL), and
//     types with the driver's Unmarshaler or UDTUnmarshaler, which decode
//     themselves. A NULL gives the zero value, never the previous row's (a
//     type with its own Unmarshaler is handed the NULL and decides). A NULL
//     nested in a collection or tuple read into any can make the v2 driver
//     fail: that ends the stream with a DecodeError. An interface with methods
//     (fmt.Stringer, error) cannot be decoded into and is refused before the
//     first row.
//   - A column with no field is skipped, whatever its type: tuples and UDTs
//     too.
//   - A non-struct T (string, int64, time.Time, gocql.UUID, []byte ...), a
//     type with its own Unmarshaler, or a struct for a single UDT or tuple
//     column is scanned from a single-column result.
//   - map[string]any gets one new map per row, as the driver's MapScan fills
//     it: for dynamic queries.
//
// Columns are mapped by name, on every page. The plan that maps columns to
// fields is built once per (type, columns) and cached; every field is
// checked against its column's type before the first row is read. When a
// page's columns differ from the previous page's (the table was altered
// while the stream ran a SELECT *), the stream makes the plan again for the
// new columns and goes on: a dropped column leaves its field zero, an added
// column without a field is ignored. Where the new columns cannot be read
// right (a field the new type cannot take) or break [WithStrict] (a column
// added that no field takes, a field whose column was dropped), the stream
// ends with a [MappingError] that says what changed. A value is
// never read into another column's field.
//
// Per row, a stream zeroes one T and calls the driver's Scan into fixed
// destinations, each a small adapter bound once per plan that records which
// column it decodes: no reflection and no allocation beyond the driver's own
// decoding (strings, slices and maps it creates for the row).
//
// # Resuming: cursors and retries
//
// Every page carries a cursor ([PageInfo.Cursor], in each [Page] and in
// what [WithPageCallback] receives): text that resumes the stream right
// after that page, in this process or another, with [WithCursor]. A cursor
// holds Cassandra's paging state, the fetch size it was made at, and a
// fingerprint of the statement, its keyspace and its bound values: used
// with another statement or other values it is refused before any query is
// sent ([ErrInvalidCursor]). The fingerprint reads a struct by its
// exported fields or, where its state is unexported, by its MarshalBinary
// or MarshalText (big.Int, inf.Dec), else as fmt's %#v writes it when that
// state is plain data (an ID type such as struct{ v uint64 }); values whose
// unexported state lies behind a pointer or an interface, such as two UDTs
// bound through gocqlx (which wraps them so), share a fingerprint, and a
// cursor made for one is not refused for the other. A resumed stream takes the cursor's fetch size unless
// [WithFetchSize] asks for another, which Cassandra follows exactly: a
// client may change its page size from one page to the next (measured on
// Cassandra 5.0, on protocols 4 and 5: whole tables, partitions, clustering
// slices, ORDER BY, IN, ALLOW FILTERING, DISTINCT, GROUP BY, indexes, PER
// PARTITION LIMIT, token ranges and so a scan's checkpoints). A LIMIT is
// the exception: at a fetch size at or above the LIMIT, Cassandra reads the
// query without paging and starts again from its first row. So a cursor of
// a statement with a LIMIT (LIMIT ? too), or of one that cqlseq cannot read
// to its end (an unterminated string, which may hide a LIMIT), is refused
// at another fetch size than it was made at, before any query is sent
// ([ErrInvalidCursor]). An unsigned cursor carries a checksum that catches
// damage but not a deliberate change; with [WithCursorKey] cursors are
// signed (HMAC-SHA256) and an altered or unsigned one is refused: sign them
// whenever clients (an HTTP API) hand them back. A cursor is as long as the
// last row's key (Cassandra allows 64 KiB per key component): store it as
// text of up to 1 MiB, the longest WithCursor accepts.
// [PageInfo.PageState] and [WithPageState] are the same position without
// the checks.
//
// With [WithRetry], a page request that fails with an error that may pass is
// sent again from the same paging state after a backoff, so a stream that
// runs for hours survives a node restart with every row delivered exactly
// once. A request that cannot have run (a bootstrapping node refused it; no
// connection or stream to send it on; the connection was refused) is always
// sent again. A request that may have run, wholly or in part (a read or
// write timeout, an unavailable or overloaded node, which Cassandra also
// reports in the middle of a write or a Paxos round, a server error such as
// a node shutting down, a connection closed or reset mid-request), is sent
// again only if running it twice is harmless: a SELECT, or a statement the
// caller marked idempotent that has no IF clause. A lightweight transaction
// is never sent twice. A read failure (too many tombstones, a read size
// threshold) fails the same way every time and is never retried, nor are
// syntax, invalid-query and permission errors.
//
// # Paging and memory
//
// [WithFetchSize] sets the page size ([DefaultFetchSize] without it; the
// page size of the session or of a [FromQuery] query is not read, as the
// drivers offer no way to). At most the current page and one
// prefetched page are held by a stream; [WithPrefetch] sets how early the
// next page is requested (0 waits until the loop needs it). [WithMaxPages]
// stops after n pages without requesting more; [WithPageCallback] reports
// progress, Cassandra's warnings, the request's latency and the node that
// served it after every page: what each [Page] carries too.
//
// [ReadPage] reads one page and requests nothing after it: a handler that
// serves a page per request hands out the page's cursor and resumes from
// it with [WithCursor] on the next request. A page with an empty cursor is
// the last (see ReadPage for a result that ends exactly at a page's end).
//
// # Options
//
// Options are values of three interface types, so that an option given
// where it means nothing does not compile: a [StreamOption] configures
// [Stream], [Pages] and [ReadPage] ([WithPrefetch], [WithMaxPages],
// [WithPageState]), a [ScanOption] configures [Scan] and [ScanPages]
// ([WithParallelism], [WithColumns], [WithFilter], [WithDataCenter]), and
// an [Option] is both (the rest). [WithConsistency] takes a [Consistency], the same for every
// driver.
//
// # Invalid arguments
//
// These are refused before any query is sent, each with an error that
// matches [ErrInvalidArgument] and names the argument (for a scan, the
// table's refusals come after reading its metadata, before any range):
//
//   - a nil context, session, query or option, an empty statement;
//   - a fetch size outside [1, 2^31), negative max pages, a prefetch outside
//     [0, 1], an unknown consistency;
//   - negative retry attempts, backoffs or MaxElapsed, a MinBackoff above
//     MaxBackoff, a MaxElapsed without Attempts;
//   - a rate limit that is not > 0;
//   - both a cursor and a paging state, an empty cursor key, a cursor or
//     checkpoint that cannot be used (also [ErrInvalidCursor]), a cursor made
//     at another fetch size than WithFetchSize asks for a statement with a
//     LIMIT, or one left inside a string, quoted name or comment;
//   - a scan's table name that is not "keyspace.table", a table it cannot
//     scan (no such keyspace or table, a virtual table, a replication it
//     cannot follow), a parallelism outside [1, 1024], a WithDataCenter
//     that names no data center or one without a node;
//   - WithColumns that names no column, a column that is not one or holds
//     a bind marker, or that the table or Cassandra refuses;
//   - WithFilter that is not a condition, holds a clause the scan writes
//     itself, has another count of values than markers, or that the table
//     or Cassandra refuses;
//   - a front end's own: cqlseqx's query whose values failed to bind or that
//     has no session; cqlseqgocql's nil query or nil session.
//
// # Tracing
//
// [WithTracer] hands a stream's start and end, and every page request's,
// to a [Tracer] (and a scan's token ranges to a [RangeTracer]): paired
// hooks, each start returning the context its end receives, as pgx's
// QueryTracer does. The stream's end fires on the goroutine that ranges,
// before the range statement completes, with the rows, the pages and why it
// ended ([EndReason]), also after a break or a panic in the loop body. Module
// github.com/cqlseq/cqlseq/cqlseqotel turns them into OpenTelemetry spans
// and metrics. Without a tracer nothing is called and nothing allocated.
//
// # Whole tables: Scan
//
// [Scan] and [ScanPages] read every row of a table by token range, in
// parallel ([WithParallelism]): the ring, read from the driver, is cut into
// ranges (at least one per node's token range, more to reach the
// parallelism), each read by its own paged query ("token(key) > start AND
// token(key) <= end") routed to the range's replicas, so that a
// request that finds its node down goes to the next replica. The split is
// checked to cover the ring exactly, with no gap and no overlap, before any
// range is read; only Murmur3Partitioner is supported. Rows of different
// ranges interleave. Each worker holds at most the page it hands over and
// the page it reads; the hand-off is unbuffered. Every page's Cursor is a
// checkpoint of the whole scan (ranges done, ranges open with their paging
// state): [WithCursor] resumes from it, reading exactly the pages not yet
// yielded, on the ring as it is then. Workers take ranges in token order
// (per replica), and a checkpoint writes neighbouring ranges that are done
// (or not started) as one: it holds the ranges being read and the runs
// between them (on the 3-node test cluster at parallelism 16, under 600
// bytes), not one entry per range. Its length is bounded: 16 bytes per
// range of the split (4 per worker, and up to one more per vnode range),
// 4/3 of (paging state + 16 bytes) per open range, and 80 bytes. A scan
// has at most one open range per worker (a resumed scan, as many as its
// checkpoint held if that is more: never more than 1024), and a paging
// state holds the last row's partition key and clustering values, which
// Cassandra caps at 65,535 bytes each (the clustering values together):
// 131,090 bytes with both that long and one clustering column, up to 3
// bytes more per further clustering column. With keys that long at
// parallelism 1024 a checkpoint can reach 179 MB; [WithCursor] accepts
// every checkpoint a scan makes (up to 357 MiB). A page's checkpoint
// encodes again only the ranges that moved since the last page: beyond
// that it costs a copy of the text and a hash over a digest per run, not
// an encoding of every paging state.
// [PageInfo.Scan] reports progress; [WithRateLimit] holds the workers
// together to a number of rows per second. A worker asks for its next page
// as soon as it starts handing over the last one.
//
// A scan outlives a node's death at its default options, where the
// replicas left can still answer at the consistency level (the tests kill
// one node of three at RF 3 and QUORUM). Each request of a range is routed
// when it is sent, by the driver's view of the nodes (read at most a
// second before, or after the last failure): to a replica the driver takes
// to be up, among those the one that failed the page's requests fewest
// times, else the first in ring order; with [WithDataCenter], to replicas
// in that data center only. A node known to be down is tried only when no
// such replica is up. A request the driver could not send (the node is
// down, or the session has no connection pool for that host, as a session
// made with DisableInitialHostLookup has for some) goes at once to the
// next replica, then to wherever the driver's own host selection policy
// sends it, for no retry. By default a page's requests are retried until 2
// minutes have passed since its first failure (Retry{Attempts: 30,
// MinBackoff: 250ms, MaxBackoff: 5s, MaxElapsed: 2m}; waits for requests
// that were not sent spend no attempt): after SIGKILL, a dead node's
// replicas go on waiting for it as coordinators until Cassandra's failure
// detector convicts it, each such request failing only when it times out
// (Cassandra's range_request_timeout is 10 s by default, the driver's
// timeout 11 s); in the project's kill test, a range's requests at the two
// other replicas timed out 11 and 23 s after the kill, and the next one
// succeeded at 24 s. A range that fails for good ends the scan with a
// [*RangeError] naming the range and its replicas, around a [*PageError]
// that tells the page's failed requests (node, count, times, outcome).
// [WithRetry] replaces the default; with Retry{} a failed request that
// reached a node ends the scan.
//
// # Other drivers
//
// Package [github.com/cqlseq/cqlseq/cqlseqgocql] runs Stream, Pages, Scan
// and ScanPages over queries and sessions of github.com/gocql/gocql,
// upstream v1.x or ScyllaDB's fork (through upstream, which cannot send a
// request to a chosen node, a scan's requests go where the session's host
// policy sends them), and [github.com/cqlseq/cqlseq/cqlseqx] over gocqlx
// queries and sessions, with these options, pages and errors. The front
// ends reach one engine through internal packages: they are released
// together, at one version.
package cqlseq
