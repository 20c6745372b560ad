// Package sample creates and fills the table the example programs read: a
// log of events kept in partitions ("buckets") of consecutive ids.
//
//	CREATE TABLE ks.events (
//		bucket int, id int, kind text, at timestamp, amount double, note text,
//		PRIMARY KEY (bucket, id))
//
// Row i of a table of B buckets of N rows is in bucket i/N with id i%N; its
// values are a pure function of i (see Event), so a test can tell what a
// program should have read without trusting the program. Some notes are NULL
// and some hold commas, quotes and non-ASCII text (CSV has to quote them);
// every 499th amount is negative, a "corrupt" row that the etl example
// rejects.
package sample

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// DefaultTable is the table the programs read unless told otherwise; it is
// created and filled on first use (see Ensure).
const DefaultTable = "cqlseq_examples.events"

// Columns is the column list of the table, in the order of Event's fields.
const Columns = "bucket, id, kind, at, amount, note"

// Event is one row of the table. The programs declare their own row types
// with the same fields (and their own struct tags), which convert to Event.
type Event struct {
	Bucket int
	ID     int
	Kind   string
	At     time.Time
	Amount float64
	Note   *string // NULL in every third row
}

// Epoch is the timestamp of row 0; row i is i seconds later.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

var kinds = [...]string{"click", "view", "buy", "refund"}

// Row returns row i of a table with perBucket rows per bucket.
func Row(i, perBucket int) Event {
	e := Event{
		Bucket: i / perBucket,
		ID:     i % perBucket,
		Kind:   kinds[i%len(kinds)],
		At:     Epoch.Add(time.Duration(i) * time.Second),
		Amount: float64(i%2000) / 8, // exact in binary: CSV round-trips it
	}
	if i%499 == 498 {
		e.Amount = -1
	}
	switch {
	case i%3 == 0: // NULL
	case i%7 == 1:
		e.Note = ptr(fmt.Sprintf("note %d, with \"quotes\" and a comma", i))
	case i%11 == 2:
		e.Note = ptr(fmt.Sprintf("note %d: café ünïcode\nand a line break", i))
	default:
		e.Note = ptr(fmt.Sprintf("note %d", i))
	}
	return e
}

func ptr[T any](v T) *T { return &v }

// Rows returns every row of a table of buckets buckets of perBucket rows.
func Rows(buckets, perBucket int) []Event {
	rows := make([]Event, 0, buckets*perBucket)
	for i := range buckets * perBucket {
		rows = append(rows, Row(i, perBucket))
	}
	return rows
}

// Create creates table (keyspace.name) and its keyspace if they do not exist.
func Create(ctx context.Context, s *gocql.Session, table string) error {
	ks, _, ok := strings.Cut(table, ".")
	if !ok {
		return fmt.Errorf("table %q: want keyspace.table", table)
	}
	if err := cqlseqtest.CreateNamedKeyspace(ctx, s, ks); err != nil {
		return err
	}
	return s.Query("CREATE TABLE IF NOT EXISTS " + table +
		" (bucket int, id int, kind text, at timestamp, amount double, note text, PRIMARY KEY (bucket, id))").
		ExecContext(ctx)
}

// Fill creates table and writes buckets*perBucket rows into it.
func Fill(ctx context.Context, s *gocql.Session, table string, buckets, perBucket int) error {
	if err := Create(ctx, s, table); err != nil {
		return err
	}
	return cqlseqtest.Seed(ctx, s, "INSERT INTO "+table+" ("+Columns+") VALUES (?, ?, ?, ?, ?, ?)",
		buckets*perBucket, 0, func(i int) []any {
			e := Row(i, perBucket)
			return []any{e.Bucket, e.ID, e.Kind, e.At, e.Amount, e.Note}
		})
}

// Ensure fills DefaultTable with buckets*perBucket rows unless an earlier
// run did; it does nothing for any other table, which must exist. A program
// calls it so that it runs with no setup against a fresh node.
func Ensure(ctx context.Context, s *gocql.Session, out io.Writer, table string, buckets, perBucket int) error {
	if table != DefaultTable {
		return nil
	}
	const marker = "cqlseq_examples.seeded"
	if err := Create(ctx, s, table); err != nil {
		return err
	}
	if err := s.Query("CREATE TABLE IF NOT EXISTS " + marker + " (name text PRIMARY KEY, rows int)").ExecContext(ctx); err != nil {
		return err
	}
	rows := buckets * perBucket
	var done int
	err := s.Query("SELECT rows FROM "+marker+" WHERE name = ?", table).ScanContext(ctx, &done)
	if err == nil && done == rows {
		return nil
	}
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return err
	}
	if err == nil { // filled with another size: start over
		if err := s.Query("TRUNCATE " + table).ExecContext(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "filling %s with %d rows (%d buckets of %d), once; later runs reuse it\n", table, rows, buckets, perBucket)
	start := time.Now()
	if err := Fill(ctx, s, table, buckets, perBucket); err != nil {
		return err
	}
	fmt.Fprintf(out, "filled %s in %v\n", table, time.Since(start).Round(time.Millisecond))
	return s.Query("INSERT INTO "+marker+" (name, rows) VALUES (?, ?)", table, rows).ExecContext(ctx)
}

// Connect opens a session to hosts (comma-separated host[:port]), or, if
// hosts is empty, to CQLSEQ_HOSTS or the local node (cqlseqtest.Connect).
func Connect(ctx context.Context, hosts string) (*gocql.Session, error) {
	if strings.TrimSpace(hosts) != "" {
		os.Setenv(cqlseqtest.HostsEnv, hosts) // cqlseqtest reads its hosts from there
	}
	return cqlseqtest.Connect(ctx)
}

// ReadAll reads every row of table with the driver alone (no cqlseq), for
// tests to compare a program's output with.
func ReadAll(ctx context.Context, s *gocql.Session, table string) ([]Event, error) {
	it := s.Query("SELECT " + Columns + " FROM " + table).PageSize(5000).IterContext(ctx)
	var (
		rows []Event
		e    Event
	)
	for it.Scan(&e.Bucket, &e.ID, &e.Kind, &e.At, &e.Amount, &e.Note) {
		rows = append(rows, e)
		e = Event{}
	}
	return rows, it.Close()
}

// Fixture is a sample table that the tests of a package share: it is
// created and filled on first use, in a keyspace of its own, and dropped when
// the tests are done (see Main). Tests must only read it.
type Fixture struct {
	Buckets, PerBucket int

	mu        sync.Mutex
	ks, table string
}

// Table returns the table, creating and filling it on first use. It fails
// the test if Cassandra is unreachable.
func (f *Fixture) Table(tb testing.TB) string {
	tb.Helper()
	s := cqlseqtest.Session(tb) // fails with the reason when Cassandra is unreachable
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.table != "" {
		return f.table
	}
	ctx := context.Background()
	ks, err := cqlseqtest.CreateKeyspace(ctx, s, "examples")
	if err != nil {
		tb.Fatal(err)
	}
	f.ks = ks
	if err := Fill(ctx, s, ks+".events", f.Buckets, f.PerBucket); err != nil {
		tb.Fatal(err)
	}
	f.table = ks + ".events"
	return f.table
}

// Keyspace returns the keyspace of the table, for tables a test adds.
func (f *Fixture) Keyspace(tb testing.TB) string {
	f.Table(tb)
	return f.ks
}

// Main wraps m so that the keyspace is dropped after the tests:
// goleak.VerifyTestMain(cqlseqtest.Main(fixture.Main(m))).
func (f *Fixture) Main(m cqlseqtest.M) cqlseqtest.M { return dropping{f, m} }

type dropping struct {
	f *Fixture
	m cqlseqtest.M
}

func (d dropping) Run() int {
	code := d.m.Run()
	if d.f.ks != "" {
		ctx := context.Background()
		if s, err := cqlseqtest.Connect(ctx); err == nil {
			if err := cqlseqtest.DropKeyspace(ctx, s, d.f.ks); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			s.Close()
		}
	}
	return code
}
