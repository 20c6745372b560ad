package cqlseqslog

// The keys of the attributes a Tracer logs.
const (
	KeyStream = "stream" // the stream's number, from 1, on every record of it

	KeyStatement   = "statement"   // the CQL, unless WithQueryText(false)
	KeyKeyspace    = "keyspace"    // the keyspace the query runs in, if known
	KeyTable       = "table"       // the table a scan reads
	KeyFetchSize   = "fetch_size"  // the page size
	KeyConsistency = "consistency" // WithConsistency's level, if set
	KeyParallelism = "parallelism" // a scan's workers

	KeyRows     = "rows"     // rows: the loop got (stream), in the page, read from the range
	KeyPages    = "pages"    // pages the loop got rows from, or read from the range
	KeyReason   = "reason"   // why the stream ended: cqlseq.EndReason's String
	KeyDuration = "duration" // the stream's, from its start to its end
	KeyError    = "err"      // the error

	KeyPage      = "page"      // the page's number in its stream (or range), from 1
	KeyAttempt   = "attempt"   // the page's requests before this one
	KeyLatency   = "latency"   // the request's, to the page in hand
	KeyHost      = "host"      // the node that answered, host:port
	KeyWarnings  = "warnings"  // Cassandra's warnings with the page
	KeyAbandoned = "abandoned" // a prefetched page the stream stopped before using

	KeyRangeStart = "range_start" // a range (start, end] of tokens
	KeyRangeEnd   = "range_end"
	KeyReplicas   = "replicas" // the range's replicas' host IDs, in the order tried
	KeyResumed    = "resumed"  // the range resumes from a checkpoint
	KeyDone       = "done"     // the range was read to its end
	KeyStopped    = "stopped"  // the scan stopped before the range was done
)
