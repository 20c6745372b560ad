package gocqlsource

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gocql/gocql"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// A request that waits for its turn (another ranging's request is running)
// gives up when its context is done, with the context's cause, sending
// nothing. Needs no Cassandra: it never gets a turn.
func TestFetchWaitsForItsTurnUntilCancelled(t *testing.T) {
	s := &Source{Codec: Codec, opts: &Options{Codec: Codec}, turn: make(chan struct{}, 1)}
	s.turn <- struct{}{} // another request is running
	stop := errors.New("the ranging stopped")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stop)
	it := s.Fetch(ctx, driver.Request{FetchSize: 10})
	if err := it.Close(); !errors.Is(err, stop) || it.NumRows() != 0 || it.PageState() != nil {
		t.Fatalf("Fetch while another request runs, context cancelled: %v, %d rows; want the cause, no rows", err, it.NumRows())
	}
	if len(s.turn) != 1 {
		t.Fatal("the running request's turn was taken")
	}
	if cols := s.Columns(it); cols != nil {
		t.Fatalf("columns of a request never sent: %v", cols)
	}
}

// potentiallyExecuted is an error with the fork's QueryError method.
type potentiallyExecuted struct {
	error
	ran bool
}

func (p potentiallyExecuted) PotentiallyExecuted() bool { return p.ran }
func (p potentiallyExecuted) Unwrap() error             { return p.error }

// How a failed request is classified: by the errors both drivers have, by
// the front end's own, and as not sent when it was pinned to a node and
// reached none (unreached), unless the driver says it may have run.
func TestRetryable(t *testing.T) {
	mine := errors.New("a front end's own error")
	s := New(nil, nil, &Options{Codec: Codec, NotSent: []error{mine}})
	for _, tt := range []struct {
		err  error
		want driver.Retryability
	}{
		{gocql.ErrNoConnections, driver.NotSent},
		{fmt.Errorf("wrapped: %w", gocql.ErrNoStreams), driver.NotSent},
		{gocql.ErrTimeoutNoResponse, driver.MaybeSent},
		{gocql.ErrConnectionClosed, driver.MaybeSent},
		{gocql.ErrTooManyTimeouts, driver.MaybeSent},
		{mine, driver.NotSent},
		{errors.New("something else"), driver.Final},
		{unreached{errors.New("host is nil or down")}, driver.NotSent},
		// The last attempt was not sent, an earlier one may have run.
		{potentiallyExecuted{gocql.ErrNoStreams, true}, driver.MaybeSent},
		{potentiallyExecuted{mine, true}, driver.MaybeSent},
		{potentiallyExecuted{gocql.ErrNoStreams, false}, driver.NotSent},
		{potentiallyExecuted{gocql.ErrTimeoutNoResponse, true}, driver.MaybeSent},
	} {
		if got := s.Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{errors.New("plain"), false},
		{potentiallyExecuted{errors.New("down"), false}, false},
		{fmt.Errorf("wrapped: %w", potentiallyExecuted{errors.New("timeout"), true}), true},
	} {
		if got := mayHaveRun(tt.err); got != tt.want {
			t.Errorf("mayHaveRun(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// A source of no query says why, and Refused's and Refuse's errors are
// what Query().Err reports (the first one only).
func TestRefusals(t *testing.T) {
	o := &Options{Codec: Codec}
	if err := New(nil, nil, o).Query().Err; err == nil || err.Error() != "nil query" {
		t.Errorf("New(nil): %v", err)
	}
	if q := New(&gocql.Query{}, nil, o).Query(); q.Err != nil || q.CQL != "" {
		t.Errorf("New of a query without a statement: %+v, want an empty CQL for cqlseq to refuse", q)
	}
	first, second := errors.New("first"), errors.New("second")
	s := Refused(first, o)
	s.Refuse(second)
	s.Refuse(nil)
	if err := s.Query().Err; err != first {
		t.Errorf("Refused(first) then Refuse(second): %v", err)
	}
}
