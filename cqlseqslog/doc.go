// Package cqlseqslog logs cqlseq streams, their page requests and a scan's
// token ranges with log/slog.
//
//	tracer := cqlseqslog.NewTracer(logger)
//	for u, err := range cqlseq.Stream[User](ctx, session, q, cqlseq.WithTracer(tracer)) {
//
// A [Tracer] is a [cqlseq.Tracer] and a [cqlseq.RangeTracer]. It logs
// through the logger it is given, with the context of the hook (the
// stream's, a request's, a range's), so that a handler can read it (a
// trace ID, say). Each stream gets a number, the attribute "stream", on
// every record of it. The levels and messages:
//
//	DEBUG "cqlseq: stream started"       statement, keyspace, table (a scan's), fetch_size, consistency, parallelism (a scan's)
//	INFO  "cqlseq: stream ended"         statement, rows, pages, reason (complete, break, canceled), duration, err (canceled)
//	WARN  "cqlseq: stream ended"         the same, when a deadline passed (reason canceled)
//	ERROR "cqlseq: stream failed"        the same, and err (reason error, or panic when the loop body panicked)
//	DEBUG "cqlseq: page"                 page, attempt, rows, latency, host; abandoned for a prefetched page the stream stopped before using
//	WARN  "cqlseq: page with warnings"   the same, and the warnings Cassandra sent with the page
//	WARN  "cqlseq: page request failed"  page, attempt, latency, host, statement, err
//	DEBUG "cqlseq: range started"        range_start, range_end, replicas, resumed
//	DEBUG "cqlseq: range ended"          rows, pages, done, and stopped when the scan stopped first
//	WARN  "cqlseq: range failed"         rows, pages, done, err
//
// A failed request is a warning: it may be retried (cqlseq.WithRetry), and a
// stream that fails for good ends with an error record that says why. A
// caller's cancel ends a stream at INFO; it is no failure. The keys are
// the constants of this package (KeyStatement ...).
//
// The statement is logged as written, literals included, unless
// [WithQueryText] (false) leaves it out or [WithQuerySanitizer] rewrites
// it; bound values are never logged.
//
// Package github.com/cqlseq/cqlseq/cqlseqotel records the same hooks as
// OpenTelemetry spans and metrics; to have both, give cqlseq.WithTracer a
// Tracer that calls the two.
package cqlseqslog
