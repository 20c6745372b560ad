package cqlseqotel

import "go.opentelemetry.io/otel/attribute"

// The attributes of this package's own, where the conventions define
// none; the others are the semantic conventions' (semconv v1.39.0).
const (
	// On the stream's span.
	scanParallelismKey = attribute.Key("cqlseq.scan.parallelism") // a scan's workers
	pagesKey           = attribute.Key("cqlseq.pages")            // pages the loop got rows from (also on a range's span)
	endReasonKey       = attribute.Key("cqlseq.end_reason")       // complete, break, canceled, error, panic

	// On a page request's span.
	pageNumberKey    = attribute.Key("cqlseq.page.number")    // the page's number in its stream, or range, from 1
	pageAttemptKey   = attribute.Key("cqlseq.page.attempt")   // the page's requests before this one
	pageAbandonedKey = attribute.Key("cqlseq.page.abandoned") // a prefetched page the stream stopped before using

	// On a range's span.
	rangeStartKey    = attribute.Key("cqlseq.range.start") // the range (start, end] of tokens
	rangeEndKey      = attribute.Key("cqlseq.range.end")
	rangeReplicasKey = attribute.Key("cqlseq.range.replicas") // host IDs, in the order tried
	rangeResumedKey  = attribute.Key("cqlseq.range.resumed")  // read from a checkpoint's paging state
	rangeDoneKey     = attribute.Key("cqlseq.range.done")     // read to its end
	rangeStoppedKey  = attribute.Key("cqlseq.range.stopped")  // the scan stopped before it was done

	// A warning Cassandra sent with a page: an event on the page's span.
	warningEvent      = "cqlseq.warning"
	warningMessageKey = attribute.Key("cqlseq.warning.message")
)
