package cqlseq

import (
	"context"
	"time"
)

// A Tracer observes streams and their page requests: [WithTracer] sets one
// for a [Stream], [Pages], [Scan] or [ScanPages]. Each start returns the
// context its end receives: ctx itself, or a context derived from it that
// carries the tracer's own values (a span, say). The stream's context is
// the parent of its pages'; a page's context is the one its request is
// sent with.
//
// Calls pair: every start has exactly one end, also when the loop stops
// early, the context is cancelled, a request fails or panics, or the loop
// body panics. A stream refused before it starts (a bad argument, reported
// before any request) is not traced. TraceStreamEnd runs on the goroutine
// that ranges, before the range statement completes. A page's start runs
// where its request is sent and its end where the stream learns the
// outcome: for a prefetched page and for a scan's pages, on other
// goroutines, concurrently with the loop body and with each other, so a
// Tracer must be safe for concurrent use. Hooks must not block for long:
// the stream waits for them.
//
// A Tracer that also implements [RangeTracer] observes a scan's token
// ranges, each between the scan's stream and the range's pages.
type Tracer interface {
	TraceStreamStart(ctx context.Context, data TraceStreamStartData) context.Context
	TraceStreamEnd(ctx context.Context, data TraceStreamEndData)
	TracePageStart(ctx context.Context, data TracePageStartData) context.Context
	TracePageEnd(ctx context.Context, data TracePageEndData)
}

// A RangeTracer observes the token ranges of a [Scan]: each range's start
// and end run on the worker that reads it; its context is the parent of
// its pages'.
type RangeTracer interface {
	TraceRangeStart(ctx context.Context, data TraceRangeStartData) context.Context
	TraceRangeEnd(ctx context.Context, data TraceRangeEndData)
}

// TraceStreamStartData describes a stream or a scan as it starts.
type TraceStreamStartData struct {
	Keyspace string // the keyspace of the query (or the scan's table), if known
	// Table is the table a scan reads; "" for Stream and Pages, whose
	// statement says.
	Table string
	// Statement is the CQL sent: the query's, or for a scan the statement
	// of its ranges.
	Statement string
	FetchSize int // the fetch size in effect
	// Consistency is the consistency level set by WithConsistency (or the
	// front end's), as Cassandra names it; "" if the session's.
	Consistency string
	Parallelism int // a scan's workers; 0 for Stream and Pages
}

// EndReason says why a stream ended.
type EndReason uint8

const (
	// EndComplete: the rows ran out, or WithMaxPages was reached.
	EndComplete EndReason = iota + 1
	// EndBreak: the loop stopped asking for rows (break, return, goto).
	EndBreak
	// EndCanceled: the context was cancelled or its deadline passed.
	EndCanceled
	// EndError: the stream yielded an error (a failed request, a row that
	// could not be decoded, a bad row type).
	EndError
	// EndPanic: the loop body panicked (or called runtime.Goexit); the
	// panic goes on after the stream's end was traced.
	EndPanic
)

func (r EndReason) String() string {
	switch r {
	case EndComplete:
		return "complete"
	case EndBreak:
		return "break"
	case EndCanceled:
		return "canceled"
	case EndError:
		return "error"
	case EndPanic:
		return "panic"
	}
	return "unknown"
}

// TraceStreamEndData describes how a stream ended.
type TraceStreamEndData struct {
	Rows   int64 // rows the loop got (for Pages and ScanPages, in the pages yielded)
	Pages  int   // pages the loop got rows from
	Reason EndReason
	Err    error // the error yielded, for EndError and EndCanceled
}

// TracePageStartData describes a page request as it is sent.
type TracePageStartData struct {
	// Page is the page's number in its stream (in its token range, for a
	// scan), counting from 1.
	Page int
	// Attempt counts the page's requests before this one: retries
	// (WithRetry), and a scan's requests that went to another replica.
	Attempt int
}

// TracePageEndData describes a page request's outcome.
type TracePageEndData struct {
	Page     int
	Attempt  int
	Rows     int           // rows in the page
	Latency  time.Duration // from sending the request to the page in hand
	Host     string        // the node that answered (host:port), "" if unknown
	Warnings []string      // the warnings Cassandra sent with the page
	// Err is the request's failure; a prefetched page the stream never
	// used (it stopped first) ends with context.Canceled.
	Err error
}

// TraceRangeStartData describes a token range of a scan as a worker starts
// reading it.
type TraceRangeStartData struct {
	Start, End int64    // the range (Start, End] of tokens
	Replicas   []string // host IDs of its replicas, in the order tried
	Resumed    bool     // read from the paging state of a checkpoint
}

// TraceRangeEndData describes how a worker's reading of a range ended.
type TraceRangeEndData struct {
	Rows  int64 // rows read from the range by this worker
	Pages int   // pages with rows
	Done  bool  // the range was read to its end
	Err   error // the range's failure, or the context's error if the scan stopped
}

// traceStart describes the stream of c to a tracer.
func (c *config) traceStart(parallelism int) TraceStreamStartData {
	d := TraceStreamStartData{Keyspace: c.keyspace, Statement: c.statement, FetchSize: c.FetchSize, Parallelism: parallelism}
	if c.HasConsistency {
		d.Consistency = c.Consistency.String()
	}
	return d
}
