package main

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/examples/internal/sample"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(m))
}

func ptr(s string) *string { return &s }

func TestTransform(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8e6, time.UTC)
	got, err := transform(Event{Bucket: 1, ID: 2, Kind: "buy", At: at, Amount: 12.345, Note: ptr(" two\nlines, \"quoted\" ")})
	want := Clean{Bucket: 1, ID: 2, Kind: "BUY", At: at, Day: time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC),
		AmountCents: 1235, Note: ptr(`two lines, "quoted"`)}
	if err != nil || !gocmp.Equal(want, got) {
		t.Errorf("transform: %v (-want +got):\n%s", err, gocmp.Diff(want, got))
	}
	if got, err := transform(Event{Kind: "view", At: at}); err != nil || got.Note != nil || got.AmountCents != 0 {
		t.Errorf("transform of a row without note or amount: %+v, %v", got, err)
	}
	if _, err := transform(Event{Amount: -1}); err != errNegative {
		t.Errorf("transform of a negative amount: %v, want %v", err, errNegative)
	}
}

// The destination holds the transformed source, less the rows the
// transformation rejects, and the report counts them.
func TestETL(t *testing.T) {
	const buckets, perBucket = 10, 500
	s := cqlseqtest.Session(t) // fails with the reason when Cassandra is unreachable
	ks := cqlseqtest.Keyspace(t, s)
	ctx := context.Background()
	if err := sample.Fill(ctx, s, ks+".events", buckets, perBucket); err != nil {
		t.Fatal(err)
	}
	cqlseqtest.Exec(t, s, "CREATE TABLE "+ks+".clean "+DestSchema)

	var out bytes.Buffer
	rep, err := run(ctx, s, Config{Source: ks + ".events", Dest: ks + ".clean", FetchSize: 300, Workers: 4, Batch: 40, MaxFailures: 100}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("report:\n%s", out.String())

	var want []Clean
	rejected := 0
	for _, e := range sample.Rows(buckets, perBucket) {
		c, err := transform(Event(e))
		if err != nil {
			rejected++
			continue
		}
		want = append(want, c)
	}
	wantRep := Report{Processed: buckets * perBucket, Written: int64(len(want)), Failed: int64(rejected),
		Reasons: map[string]int64{"negative amount": int64(rejected)}}
	if rejected == 0 {
		t.Fatal("the sample has no row to reject: the test proves nothing")
	}
	if diff := gocmp.Diff(wantRep, rep, gocmp.FilterPath(func(p gocmp.Path) bool {
		return p.Last().String() == ".Duration" || p.Last().String() == ".Example"
	}, gocmp.Ignore())); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}

	got := readClean(t, ks+".clean")
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("destination (-want +got):\n%s", diff)
	}
}

func readClean(t *testing.T, table string) []Clean {
	t.Helper()
	it := cqlseqtest.Session(t).Query("SELECT bucket, id, kind, at, day, amount_cents, note FROM " + table).Iter()
	var (
		rows []Clean
		c    Clean
	)
	for it.Scan(&c.Bucket, &c.ID, &c.Kind, &c.At, &c.Day, &c.AmountCents, &c.Note) {
		rows = append(rows, c)
		c = Clean{}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rows, func(a, b Clean) int { return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.ID, b.ID)) })
	return rows
}

// Writes that fail are counted with their reason; past -max-failures the
// job stops, cancelling the read and the writes in flight.
func TestETLStopsAfterTooManyFailures(t *testing.T) {
	s := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, s)
	ctx := context.Background()
	if err := sample.Fill(ctx, s, ks+".events", 10, 500); err != nil {
		t.Fatal(err)
	}
	// A destination without the column "day": every batch fails.
	cqlseqtest.Exec(t, s, "CREATE TABLE "+ks+".clean (bucket int, id int, kind text, at timestamp, amount_cents bigint, note text, PRIMARY KEY (bucket, id))")

	var out bytes.Buffer
	rep, err := run(ctx, s, Config{Source: ks + ".events", Dest: ks + ".clean", FetchSize: 300, Workers: 4, Batch: 40, MaxFailures: 200}, &out)
	t.Logf("report:\n%s", out.String())
	if err == nil || !strings.Contains(err.Error(), "stopped after") {
		t.Fatalf("run: %v; want it stopped by -max-failures", err)
	}
	if rep.Written != 0 || rep.Failed <= 200 || rep.Processed >= 5000 {
		t.Errorf("report %+v: want nothing written, more than 200 rows failed, and the read stopped early", rep)
	}
	for reason := range rep.Reasons {
		if !strings.HasPrefix(reason, "write: ") && reason != "negative amount" {
			t.Errorf("unexpected reason %q", reason)
		}
	}
}
