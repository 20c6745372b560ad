package driver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

// coded is an error with a Cassandra error code, as both drivers' are.
type coded int

func (c coded) Error() string { return fmt.Sprintf("code 0x%04x", int(c)) }
func (c coded) Code() int     { return int(c) }

func TestClassify(t *testing.T) {
	noConn := errors.New("no connections")
	closed := errors.New("connection closed")
	for _, tt := range []struct {
		name string
		err  error
		want Retryability
	}{
		{"bootstrapping", coded(0x1002), NotSent},
		{"server error", coded(0x0000), MaybeSent},
		{"unavailable", coded(0x1000), MaybeSent},
		{"overloaded", coded(0x1001), MaybeSent},
		{"write timeout", coded(0x1100), MaybeSent},
		{"read timeout", coded(0x1200), MaybeSent},
		{"read failure", coded(0x1300), Final},
		{"syntax", coded(0x2000), Final},
		{"invalid", coded(0x2200), Final},
		{"wrapped code", fmt.Errorf("page 3: %w", coded(0x1200)), MaybeSent},
		{"driver's not sent", fmt.Errorf("x: %w", noConn), NotSent},
		{"driver's maybe sent", closed, MaybeSent},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, NotSent},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), MaybeSent},
		{"broken pipe", syscall.EPIPE, MaybeSent},
		{"eof mid-response", io.ErrUnexpectedEOF, MaybeSent},
		{"net timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, MaybeSent},
		{"anything else", errors.New("unknown"), Final},
	} {
		if got := Classify(tt.err, []error{noConn}, []error{closed}); got != tt.want {
			t.Errorf("%s (%v): %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// query records what Apply set on it.
type query struct {
	pageSize    int
	consistency uint16
	host        string
	calls       int
}

func (q *query) PageSize(n int) *query       { q.pageSize = n; q.calls++; return q }
func (q *query) Consistency(c uint16) *query { q.consistency = c; q.calls++; return q }
func (q *query) SetHostID(id string) *query  { q.host = id; q.calls++; return q }

func TestApply(t *testing.T) {
	q := &query{consistency: 9}
	Apply[*query, uint16](q, Request{FetchSize: 50})
	if q.pageSize != 50 || q.consistency != 9 || q.host != "" || q.calls != 1 {
		t.Fatalf("a request with a fetch size alone: %+v; want only the page size set", q)
	}
	Apply[*query, uint16](q, Request{FetchSize: 7, Consistency: 4, HasConsistency: true, HostID: "h1"})
	if q.pageSize != 7 || q.consistency != 4 || q.host != "h1" {
		t.Fatalf("a routed request at QUORUM: %+v", q)
	}
	// Consistency 0 (ANY) is a level: HasConsistency says it is set.
	Apply[*query, uint16](q, Request{FetchSize: 7, HasConsistency: true})
	if q.consistency != 0 {
		t.Fatalf("ANY was not set: %+v", q)
	}
}
