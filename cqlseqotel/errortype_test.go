package cqlseqotel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
)

// The v2 driver's Cassandra errors are requestErrors: errors.As finds them
// through cqlseq's errors.
var (
	_ requestError = (*gocql.RequestErrInvalid)(nil)
	_ requestError = (*gocql.RequestErrReadTimeout)(nil)
	_ requestError = (*gocql.RequestErrUnavailable)(nil)
)

// cassandraError stands for a driver's Cassandra error with a code: the
// driver's own types keep theirs in an unexported field, which only the
// driver sets (the tests on the node get real ones).
type cassandraError struct{ code int }

func (e cassandraError) Error() string   { return fmt.Sprintf("code %x", e.code) }
func (e cassandraError) Code() int       { return e.code }
func (e cassandraError) Message() string { return e.Error() }

type classified struct{}

func (classified) Error() string     { return "classified" }
func (classified) ErrorType() string { return "my_class" }

// error.type: Cassandra's code through any wrapping, "timeout", the
// innermost exported type's canonical name (not %T), _OTHER; the status
// code only for Cassandra's errors.
func TestErrorType(t *testing.T) {
	invalid := cassandraError{gocql.ErrCodeInvalid}
	readTimeout := cassandraError{gocql.ErrCodeReadTimeout}
	for _, c := range []struct {
		err          error
		typ, status  string
		wrapDescribe string
	}{
		{invalid, "2200", "2200", "bare"},
		{&cqlseq.PageError{Page: 2, Err: readTimeout}, "1200", "1200", "in a PageError"},
		{&cqlseq.RangeError{Err: &cqlseq.PageError{Err: cassandraError{gocql.ErrCodeProtocol}}}, "000a", "000a", "in a RangeError"},
		{fmt.Errorf("a: %w", errors.Join(errors.New("b"), cassandraError{gocql.ErrCodeServer})), "0000", "0000", "in a join"},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), "timeout", "", "deadline"},
		{&cqlseq.PageError{Err: gocql.ErrTimeoutNoResponse}, "timeout", "", "the driver's timeout"},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout", "", "a network timeout"},
		{&cqlseq.PageError{Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, "net.OpError", "", "a network error"},
		{&cqlseq.DecodeError{Err: gocql.UnmarshalError("no")}, "github.com/apache/cassandra-gocql-driver/v2.UnmarshalError", "", "the driver's, in a DecodeError"},
		{&cqlseq.PageError{Page: 2, Err: errors.New("plain")}, "github.com/cqlseq/cqlseq.PageError", "", "a PageError around a text"},
		{fmt.Errorf("x: %w", classified{}), "my_class", "", "ErrorType()"},
		{errors.New("plain"), "_OTHER", "", "a text"},
	} {
		if got := errorType(c.err); got != c.typ {
			t.Errorf("%s: error.type %q, want %q", c.wrapDescribe, got, c.typ)
		}
		if got := statusCode(c.err); got != c.status {
			t.Errorf("%s: status code %q, want %q", c.wrapDescribe, got, c.status)
		}
	}
}
