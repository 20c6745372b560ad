package cqlseqx

import (
	"context"
	"errors"
	"testing"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// A request that waits for its turn (another ranging's request is running)
// gives up when its context is done, with the context's cause, sending
// nothing. Needs no Cassandra: it never gets a turn.
func TestFetchWaitsForItsTurnUntilCancelled(t *testing.T) {
	s := &source{turn: make(chan struct{}, 1)}
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
