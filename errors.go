package cqlseq

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

var (
	// ErrInvalidArgument is matched (errors.Is) by the error for a bad
	// argument or option, which a sequence reports before any query is
	// sent. The package documentation lists them all ("Invalid
	// arguments").
	ErrInvalidArgument = errors.New("invalid argument")

	// ErrMapping is matched by the error for a row type that cannot hold
	// the result: a [MappingError], before the first row (or the first row
	// of a page whose columns changed), or a [DecodeError], at the row whose
	// value does not fit its field.
	ErrMapping = errors.New("row type does not fit the result")

	// ErrInvalidCursor is matched by the error for a cursor that cannot be
	// used (see [WithCursor]): malformed, truncated, made for another
	// statement or other bound values, made at another fetch size than a
	// statement with a LIMIT is resumed at, unsigned when a key is set, or
	// with a signature that does not match. Such errors also match
	// ErrInvalidArgument.
	ErrInvalidCursor = errors.New("invalid cursor")
)

// MappingError reports that the row type cannot hold the result: a column
// whose type the field cannot take, a column without a field or a field
// without a column under strict mapping ([WithStrict]), a single-value
// type for several columns, or columns that changed between pages into a
// shape the type cannot hold. It matches [ErrMapping], and
// the driver's error when the driver refused the field's type.
type MappingError struct {
	// Column is the result column concerned, or "" when the error is about
	// the result as a whole.
	Column string
	// Field is the Go field (Type.Field, Type.Field[i] for a tuple element),
	// or "" when no field is concerned. Of several fields without a column
	// it is the first; the message names them all.
	Field string
	// Page is the number of the page whose columns the plan was built for,
	// counting from 1 (0 when the plan was refused before any page arrived).
	Page int
	// Msg says what is wrong, without the "cqlseq: " prefix.
	Msg string
	// Err is the driver's error, or nil.
	Err error
}

func (e *MappingError) Error() string {
	if e.Err != nil {
		return "cqlseq: " + e.Msg + ": " + e.Err.Error()
	}
	return "cqlseq: " + e.Msg
}

// Is reports whether target is [ErrMapping].
func (e *MappingError) Is(target error) bool { return target == ErrMapping }

// Unwrap returns the driver's error, if any.
func (e *MappingError) Unwrap() error { return e.Err }

// DecodeError reports a row that could not be decoded: the driver failed on
// the value of Column for Field (a bigint out of an int8's range, say), or
// panicked. It matches [ErrMapping] and unwraps to the driver's error.
type DecodeError struct {
	Column string // the result column whose value failed, "" if unknown
	Field  string // the Go field it was decoded into, "" if unknown
	Page   int    // the page's number in the stream, counting from 1
	Row    int64  // the row's number in the stream, counting from 1
	Err    error  // the driver's error
}

func (e *DecodeError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("cqlseq: decoding row %d (page %d): %v", e.Row, e.Page, e.Err)
	}
	return fmt.Sprintf("cqlseq: decoding row %d (page %d): column %q into %s: %v", e.Row, e.Page, e.Column, e.Field, e.Err)
}

// Is reports whether target is [ErrMapping].
func (e *DecodeError) Is(target error) bool { return target == ErrMapping }

// Unwrap returns the driver's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// errPanic is the cause of a DecodeError for a driver that panicked.
type errPanic struct{ v any }

func (e errPanic) Error() string { return fmt.Sprintf("the driver panicked: %v", e.v) }

// PageError reports a page request that failed: the page's number in the
// stream, the retries spent on it (WithRetry), its failed requests, and the
// last one's error, the driver's, which it unwraps to.
type PageError struct {
	Page    int // counting from 1; a resumed stream counts from 1 again
	Retries int // of Retry.Attempts, spent on this page
	// Failed is how many of the page's requests failed; Requests holds the
	// first and the last of them (maxFailedKept at most), in order.
	Failed   int
	Requests []FailedRequest
	Err      error // the driver's error
}

// maxFailedKept bounds PageError.Requests: a page that waits minutes for a
// node can fail thousands of requests.
const maxFailedKept = 32

func (e *PageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cqlseq: fetching page %d", e.Page)
	if e.Retries > 0 {
		fmt.Fprintf(&b, ", %d retries", e.Retries)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if e.Failed > 1 && len(e.Requests) > 0 {
		// Each node's outcomes, in the order they first came, told once
		// with their count and times.
		type outcome struct {
			node, msg   string
			sent        bool
			n           int
			first, last time.Time
		}
		var outs []*outcome
		for _, r := range e.Requests {
			i := slices.IndexFunc(outs, func(o *outcome) bool { return o.node == r.node() && o.sent == r.Sent && o.msg == r.msg })
			if i < 0 {
				outs = append(outs, &outcome{node: r.node(), msg: r.msg, sent: r.Sent, first: r.Time})
				i = len(outs) - 1
			}
			outs[i].n++
			outs[i].last = r.Time
		}
		start := e.Requests[0].Time
		since := func(t time.Time) time.Duration { return t.Sub(start).Round(time.Millisecond) }
		fmt.Fprintf(&b, " (%d failed requests over %v", e.Failed, since(e.Requests[len(e.Requests)-1].Time))
		if e.Failed > len(e.Requests) {
			fmt.Fprintf(&b, "; of the first and last %d", len(e.Requests))
		}
		b.WriteString(":")
		const maxOutcomes = 8
		for i, o := range outs[:min(len(outs), maxOutcomes)] {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " %s", o.node)
			if !o.sent {
				b.WriteString(" not sent")
			}
			fmt.Fprintf(&b, " %dx at +%v", o.n, since(o.first))
			if o.n > 1 {
				fmt.Fprintf(&b, " to +%v", since(o.last))
			}
			fmt.Fprintf(&b, ": %s", o.msg)
		}
		if len(outs) > maxOutcomes {
			fmt.Fprintf(&b, "; %d other outcomes", len(outs)-maxOutcomes)
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the driver's error.
func (e *PageError) Unwrap() error { return e.Err }

// FailedRequest is a failed request for a page, as [PageError] lists them.
type FailedRequest struct {
	// HostID is the host ID of the node a scan sent the request to; ""
	// where the driver's host selection policy chose.
	HostID string
	// Host is the address (host:port) of the node, "" if unknown.
	Host string
	// Sent says the request left the client: false when the driver had
	// no connection to send it on (the node down, or no pool to it).
	Sent bool
	Time time.Time // when it failed
	Err  error
	msg  string // Err's text, without a local port that differs per connection
}

// node names the node of r, for messages.
func (r FailedRequest) node() string {
	switch {
	case r.Host != "" && r.HostID != "":
		return r.Host + " (" + r.HostID + ")"
	case r.Host != "":
		return r.Host
	case r.HostID != "":
		return r.HostID
	}
	return "the driver's choice"
}

// localPort matches the client's side of a connection in a network
// error ("read tcp 127.0.0.1:51638->127.0.0.3:9042"), which differs for
// every connection to the same node.
var localPort = regexp.MustCompile(`(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):\d+->`)

// failedRequests keeps the first and the last of a page's failed requests.
type failedRequests struct {
	n    int
	kept []FailedRequest
}

func (f *failedRequests) add(r FailedRequest) {
	r.msg = localPort.ReplaceAllString(fmt.Sprint(r.Err), "$1->")
	f.n++
	if len(f.kept) == maxFailedKept {
		// The first half stays; the second half is the latest.
		half := maxFailedKept / 2
		copy(f.kept[half:], f.kept[half+1:])
		f.kept = f.kept[:maxFailedKept-1]
	}
	f.kept = append(f.kept, r)
}

// invalid wraps err so that errors.Is(err, ErrInvalidArgument) holds.
func invalid(err error) error {
	return &wrapped{"cqlseq: " + err.Error(), []error{ErrInvalidArgument, err}}
}

// invalidf returns an error for a bad argument: its message starts with
// "cqlseq: " and it matches ErrInvalidArgument.
func invalidf(format string, args ...any) error {
	return invalid(fmt.Errorf(format, args...))
}

// wrapped is an error with its own message that matches several errors: a
// sentinel of this package and the cause, often the driver's.
type wrapped struct {
	msg  string
	errs []error
}

func (e *wrapped) Error() string   { return e.msg }
func (e *wrapped) Unwrap() []error { return e.errs }

// ctxError returns ctx's error, with its cause when that says more.
func ctxError(prefix string, ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, err) {
		return fmt.Errorf("%s%w: %w", prefix, err, cause)
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// RangeError reports a token range of a [Scan] that could not be read: the
// range, the hosts its requests were routed to (their host IDs), and the
// error, a [*PageError] or a [*DecodeError], which it unwraps to. A row type
// that does not fit the columns is a [*MappingError], not wrapped: it is
// no failure of a range.
type RangeError struct {
	Start, End int64    // the range (Start, End] of tokens
	Replicas   []string // the range's replicas' host IDs, in ring order (the primary first)
	Err        error
	addrs      []string // the replicas' addresses, for the message ("" if unknown)
}

func (e *RangeError) Error() string {
	names := make([]string, len(e.Replicas))
	for i, id := range e.Replicas {
		names[i] = id
		if i < len(e.addrs) && e.addrs[i] != "" {
			names[i] = e.addrs[i] + " (" + id + ")"
		}
	}
	return fmt.Sprintf("cqlseq: scanning token range (%d, %d] (replicas %s): %s", e.Start, e.End, strings.Join(names, ", "), strings.TrimPrefix(e.Err.Error(), "cqlseq: "))
}

// Unwrap returns the range's error.
func (e *RangeError) Unwrap() error { return e.Err }
