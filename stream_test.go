package cqlseq_test

import (
	"context"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
)

// The caller's query keeps its own settings after being streamed with
// others, and can still be run by itself.
func TestCallerQueryUnchanged(t *testing.T) {
	s, table := fixture(t)
	q := s.Query("SELECT id, name, score FROM " + table).PageSize(7).Consistency(gocql.One)
	for _, err := range cqlseq.Stream[Row](context.Background(), nil, cqlseq.FromQuery(q),
		cqlseq.WithFetchSize(1000), cqlseq.WithConsistency(cqlseq.All), cqlseq.WithPageState([]byte{1})) {
		_ = err // the bogus paging state fails this stream; only q matters here
		break
	}
	if c := q.GetConsistency(); c != gocql.One {
		t.Errorf("consistency of the caller's query became %v", c)
	}
	it := q.Iter()
	if n := it.NumRows(); n != 7 {
		t.Errorf("the caller's query now returns pages of %d rows, want its own 7", n)
	}
	n := 0
	for it.Scan(nil, nil, nil) {
		n++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if n != fixtureRows {
		t.Errorf("the caller's query read %d rows by itself, want %d (automatic paging still on)", n, fixtureRows)
	}
}
