package cqlseq_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/internal/driver/drivertest"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	// Every Example of this package runs on the test node, and an Example
	// cannot skip itself as a test does: go test -short (the unit tests
	// only) leaves them out here, and runs every test of the package, each
	// skipping if it needs Cassandra. Without -short, or with CI=true, the
	// Examples run and check their output.
	cqlseqtest.SkipExamplesIfShort()
	goleak.VerifyTestMain(drivertest.Main(m))
}

type Row = drivertest.Row

const fixtureRows = drivertest.FixtureRows

func fixture(t *testing.T) (*gocql.Session, string) { return drivertest.Fixture(t) }

// newTable creates a table of its own for a test that changes data.
func newTable(t *testing.T, s *gocql.Session, def string) string {
	t.Helper()
	ks := cqlseqtest.Keyspace(t, s)
	cqlseqtest.Exec(t, s, fmt.Sprintf(def, ks))
	return ks
}

// observed returns a query for stmt whose page requests are counted.
func observed(s *gocql.Session, stmt string, values ...any) (*atomic.Int64, *gocql.Query) {
	n := new(atomic.Int64)
	return n, s.Query(stmt, values...).Observer(counter{n})
}

func execCQL(t *testing.T, s *gocql.Session, stmt string, values ...any) {
	t.Helper()
	if err := s.Query(stmt, values...).Exec(); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
