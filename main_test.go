package cqlseq_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(dropFixture{m}))
}

// The shared fixture: one keyspace with a table of fixtureRows rows, seeded
// once for the package and dropped after the last test.
const fixtureRows = 10_000

type Row struct {
	ID    int
	Name  string
	Score int64
}

func wantRow(i int) Row { return Row{ID: i, Name: fmt.Sprint("name-", i), Score: int64(i) * 10} }

var fx struct {
	once  sync.Once
	ks    string
	err   error
	table string
}

type dropFixture struct{ m *testing.M }

func (d dropFixture) Run() int {
	code := d.m.Run()
	if fx.ks != "" {
		if s, err := cqlseqtest.Connect(context.Background()); err == nil {
			cqlseqtest.DropKeyspace(context.Background(), s, fx.ks)
			s.Close()
		}
	}
	return code
}

// fixture returns the shared session and the name of the seeded table.
func fixture(t *testing.T) (*gocql.Session, string) {
	t.Helper()
	s := cqlseqtest.Session(t)
	fx.once.Do(func() {
		ctx := context.Background()
		fx.ks, fx.err = cqlseqtest.CreateKeyspace(ctx, s, "cqlseq")
		if fx.err != nil {
			return
		}
		fx.table = fx.ks + ".rows"
		if fx.err = s.Query("CREATE TABLE " + fx.table + " (id int PRIMARY KEY, name text, score bigint)").Exec(); fx.err != nil {
			return
		}
		fx.err = cqlseqtest.Seed(ctx, s, "INSERT INTO "+fx.table+" (id, name, score) VALUES (?, ?, ?)", fixtureRows, 0,
			func(i int) []any { r := wantRow(i); return []any{r.ID, r.Name, r.Score} })
	})
	if fx.err != nil {
		t.Fatalf("fixture: %v", fx.err)
	}
	return s, fx.table
}

// newTable creates a table of its own for a test that changes data.
func newTable(t *testing.T, s *gocql.Session, def string) string {
	t.Helper()
	ks := cqlseqtest.Keyspace(t, s)
	cqlseqtest.Exec(t, s, fmt.Sprintf(def, ks))
	return ks
}

// allRows returns the fixture's rows in the order Cassandra returns them.
func allRows(t *testing.T, s *gocql.Session, table string) []Row {
	t.Helper()
	var rows []Row
	it := s.Query("SELECT id, name, score FROM " + table).PageSize(5000).Iter()
	var r Row
	for it.Scan(&r.ID, &r.Name, &r.Score) {
		rows = append(rows, r)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rows) != fixtureRows {
		t.Fatalf("fixture holds %d rows, want %d", len(rows), fixtureRows)
	}
	return rows
}

func sortedByID(rows []Row) []Row {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b Row) int { return a.ID - b.ID })
	return rows
}

func wantRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = wantRow(i)
	}
	return rows
}

// requests counts the page requests a query sends, through the driver's
// QueryObserver: what the stream actually asked Cassandra for.
type requests struct{ n atomic.Int64 }

func (r *requests) ObserveQuery(context.Context, gocql.ObservedQuery) { r.n.Add(1) }
func (r *requests) Load() int                                         { return int(r.n.Load()) }

// observed returns a statement for stmt whose page requests are counted.
func observed(s *gocql.Session, stmt string, values ...any) (*requests, *gocql.Query) {
	r := new(requests)
	return r, s.Query(stmt, values...).Observer(r)
}

func execCQL(t *testing.T, s *gocql.Session, stmt string, values ...any) {
	t.Helper()
	if err := s.Query(stmt, values...).Exec(); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
