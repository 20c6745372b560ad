package main

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/examples/internal/sample"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(fixture.Main(m)))
}

const buckets, perBucket = 12, 300

// fixture is the table the tests read, filled once.
var fixture = &sample.Fixture{Buckets: buckets, PerBucket: perBucket}

func table(t *testing.T) string {
	t.Helper()
	return fixture.Table(t) // fails with the reason when Cassandra is unreachable
}

// Every partition is read in full, by at most Concurrency streams at once.
func TestParallel(t *testing.T) {
	table := table(t)
	s := cqlseqtest.Session(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	var (
		mu             sync.Mutex
		active, most   int
		started, ended int
	)
	cfg := Config{Table: table, Concurrency: 3, FetchSize: 100, Verbose: true, track: func(int) func() {
		mu.Lock()
		active++
		started++
		most = max(most, active)
		mu.Unlock()
		return func() {
			mu.Lock()
			active--
			ended++
			mu.Unlock()
		}
	}}
	var out bytes.Buffer
	got, err := run(context.Background(), s, cfg, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("output:\n%s", out.String())

	// What each partition holds, from the rows written.
	want := map[int]Summary{}
	for _, e := range sample.Rows(buckets, perBucket) {
		sum, ok := want[e.Bucket]
		if !ok {
			sum = Summary{Bucket: e.Bucket, Status: Done, First: e.At}
		}
		sum.Rows++
		sum.Amount += e.Amount
		sum.Last = e.At
		want[e.Bucket] = sum
	}
	gotBy := map[int]Summary{}
	for _, sum := range got {
		gotBy[sum.Bucket] = sum
	}
	if diff := gocmp.Diff(want, gotBy); diff != "" {
		t.Errorf("summaries (-want +got):\n%s", diff)
	}
	if most > cfg.Concurrency || started != buckets || ended != buckets {
		t.Errorf("%d partitions started, %d ended, at most %d at once; want %d, %d, at most %d",
			started, ended, most, buckets, buckets, cfg.Concurrency)
	}
	t.Logf("at most %d partitions were read at once", most)
}

var errBroken = errors.New("broken row")

// When one partition fails, the partitions being read are cancelled, those
// not started are skipped, run returns that partition's error, and no
// goroutine is left behind.
func TestParallelFailureCancelsOthers(t *testing.T) {
	table := table(t)
	s := cqlseqtest.Session(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	const failing = 1
	buckets := []int{0, 1, 2, 3, 4, 5, 6, 7}
	// Partitions 0 and 2 read a row, then wait; partition 1 fails once
	// both have: they are cancelled in the middle of their streams.
	var reading sync.WaitGroup
	reading.Add(2)
	cfg := Config{Table: table, Buckets: buckets, Concurrency: 3, FetchSize: 50,
		Process: func(ctx context.Context, e Event) error {
			switch {
			case e.Bucket == failing && e.ID == 10:
				reading.Wait()
				return errBroken
			case e.Bucket != failing && e.ID == 0:
				reading.Done()
				<-ctx.Done() // waits for the failure, as a slow partition would
			}
			return nil
		}}
	var out bytes.Buffer
	got, err := run(context.Background(), s, cfg, &out)
	t.Logf("output:\n%s", out.String())
	if !errors.Is(err, errBroken) {
		t.Fatalf("run: %v; want the failing partition's error", err)
	}
	want := []Summary{
		{Bucket: 0, Status: Cancelled, Rows: 1},
		{Bucket: 1, Status: Failed, Rows: 10},
		{Bucket: 2, Status: Cancelled, Rows: 1},
	}
	for _, b := range buckets[3:] {
		want = append(want, Summary{Bucket: b, Status: NotStarted})
	}
	ignore := cmpopts.IgnoreFields(Summary{}, "Amount", "First", "Last", "Err")
	if diff := gocmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("summaries (-want +got):\n%s", diff)
	}
	for _, sum := range got {
		if sum.Status == Cancelled && !errors.Is(sum.Err, context.Canceled) {
			t.Errorf("bucket %d cancelled with %v; want context.Canceled", sum.Bucket, sum.Err)
		}
	}
}
