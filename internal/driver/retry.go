package driver

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// Retryability classifies a failed page request.
type Retryability int

const (
	// Final failures are the same however often the request is sent.
	Final Retryability = iota
	// NotSent failures may pass, and Cassandra did not run the request: it
	// is safe to send again, whatever the statement.
	NotSent
	// MaybeSent failures may pass, but Cassandra may have run the request:
	// it is sent again only when running it twice is harmless.
	MaybeSent
)

// Classify classifies a failed request by its Cassandra error code (the
// errors of both drivers have a Code method), or else by the driver's own
// errors listed in notSent (no connection or stream to send it on) and
// maybeSent (a connection closed, no response in time), or else as a
// network failure.
//
//   - Bootstrapping (0x1002) is a refusal before execution: NotSent.
//   - Unavailable (0x1000), overloaded (0x1001), server error (0x0000, often
//     a node shutting down), read timeout (0x1200) and write timeout
//     (0x1100) may pass, but replicas may have done some of the work: a
//     coordinator raises overloaded and unavailable in the middle of a write
//     or a Paxos round too. MaybeSent.
//   - Read failure (0x1300) means replicas failed to execute the read: too
//     many tombstones, a read size threshold, a corrupt sstable. It repeats
//     every time, so it is Final, as are function and write failures,
//     protocol, syntax, authentication, permission, invalid-query and
//     configuration errors.
//   - A refused connection is NotSent; a reset, timed-out or broken one is
//     MaybeSent.
func Classify(err error, notSent, maybeSent []error) Retryability {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() {
		case 0x1002:
			return NotSent
		case 0x0000, 0x1000, 0x1001, 0x1100, 0x1200:
			return MaybeSent
		}
		return Final
	}
	for _, t := range notSent {
		if errors.Is(err, t) {
			return NotSent
		}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return NotSent
	}
	for _, t := range maybeSent {
		if errors.Is(err, t) {
			return MaybeSent
		}
	}
	if transient(err) {
		return MaybeSent
	}
	return Final
}

// transient reports whether err is a network failure: a reset, refused or
// timed-out connection, or one closed mid-response.
func transient(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}
