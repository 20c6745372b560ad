package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/examples/internal/sample"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(fixture.Main(m)))
}

const buckets, perBucket = 7, 300 // 2,100 rows

// fixture is the table the tests count, filled once.
var fixture = &sample.Fixture{Buckets: buckets, PerBucket: perBucket}

// selectCount returns the rows of table by SELECT COUNT(*) and by a plain
// SELECT, failing the test unless they agree.
func selectCount(t *testing.T, table string) int64 {
	t.Helper()
	s := cqlseqtest.Session(t)
	var n int64
	if err := s.Query("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	var all int64
	it := s.Query("SELECT * FROM " + table).PageSize(500).Iter()
	for it.MapScan(m) {
		all++
		clear(m)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if all != n {
		t.Fatalf("%s: SELECT COUNT(*) says %d rows, SELECT reads %d", table, n, all)
	}
	return n
}

// The count equals SELECT COUNT(*) at any parallelism and fetch size.
func TestCount(t *testing.T) {
	table := fixture.Table(t) // fails with the reason when Cassandra is unreachable
	s := cqlseqtest.Session(t)
	want := selectCount(t, table)
	if want != buckets*perBucket {
		t.Fatalf("the table holds %d rows, want %d", want, buckets*perBucket)
	}
	for _, cfg := range []Config{
		{Table: table},
		{Table: table, Parallel: 1, FetchSize: 1000},
		{Table: table, Parallel: 4, FetchSize: 77},
		{Table: table, Parallel: 16, FetchSize: 5000},
	} {
		var out bytes.Buffer
		got, err := run(context.Background(), s, cfg, &out)
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		if got != want {
			t.Errorf("%+v: %d rows, SELECT COUNT(*) says %d", cfg, got, want)
		}
		if !strings.Contains(out.String(), " rows/s), parallelism ") {
			t.Errorf("%+v: output %q", cfg, out.String())
		}
		t.Log(strings.TrimSpace(out.String()))
	}
}

// A table whose partition key has two columns, one of them a quoted name
// with capitals, is counted through the token of both; so is an empty one.
func TestCountCompositeKey(t *testing.T) {
	s := cqlseqtest.Session(t)
	ks := fixture.Keyspace(t)
	cqlseqtest.Exec(t, s,
		`CREATE TABLE IF NOT EXISTS `+ks+`."Mixed" ("Key" text, n int, c int, v text, PRIMARY KEY (("Key", n), c))`,
		`CREATE TABLE IF NOT EXISTS `+ks+`.empty (k int PRIMARY KEY, v text)`)
	err := cqlseqtest.Seed(context.Background(), s, `INSERT INTO `+ks+`."Mixed" ("Key", n, c, v) VALUES (?, ?, ?, ?)`, 450, 0,
		func(i int) []any { return []any{"k" + string(rune('a'+i%9)), i % 5, i, "v"} })
	if err != nil {
		t.Fatal(err)
	}
	for table, rows := range map[string]int64{ks + `."Mixed"`: 450, ks + ".empty": 0, strings.ToUpper(ks) + ".EMPTY": 0} {
		want := selectCount(t, table)
		if want != rows {
			t.Fatalf("%s holds %d rows, want %d", table, want, rows)
		}
		var out bytes.Buffer
		got, err := run(context.Background(), s, Config{Table: table, Parallel: 3, FetchSize: 40}, &out)
		if err != nil || got != want {
			t.Errorf("%s: %d rows, %v; SELECT COUNT(*) says %d", table, got, err, want)
		}
	}
}

// Bad input is refused with a reason.
func TestCountErrors(t *testing.T) {
	table := fixture.Table(t)
	s := cqlseqtest.Session(t)
	var out bytes.Buffer
	if _, err := run(context.Background(), s, Config{Table: fixture.Keyspace(t) + ".nope"}, &out); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a table that does not exist: %v; want not found", err)
	}
	if _, err := run(context.Background(), s, Config{Table: "nokeyspace"}, &out); err == nil || !strings.Contains(err.Error(), "keyspace.table") {
		t.Errorf("a name without a keyspace: %v", err)
	}
	if _, err := run(context.Background(), s, Config{Table: table, Parallel: 2000}, &out); !errors.Is(err, cqlseq.ErrInvalidArgument) {
		t.Errorf("-parallel 2000: %v; want cqlseq.ErrInvalidArgument", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := run(ctx, s, Config{Table: table}, &out); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: %v; want context.Canceled", err)
	}
}
