package faults_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
)

// 1,000 streams broken off after a few rows, each with a prefetch sent:
// by break, by a cancelled context, by a panic in the loop body, and Pages by
// break. Goroutines and heap are the same before and after.
func TestBrokenStreamsLeakNothing(t *testing.T) {
	n := need(t)
	want := fixture(t)
	s, _, _ := direct(t, n)
	const (
		streams = 1000
		rows    = 3
		maxHeap = 8 << 20 // bytes the heap in use may grow by, a generous bound
	)
	ways := []string{"break", "cancel", "panic", "Pages break"}
	run := func(i int) error {
		switch way := ways[i%len(ways)]; way {
		case "break":
			return breakAfter(s, rows, want)
		case "cancel":
			return cancelAfter(s, rows, want)
		case "panic":
			return panicAfter(s, rows, want)
		default:
			return breakPages(s, want)
		}
	}
	// Warm up: the driver's prepared statement, cqlseq's plan, buffers.
	for i := range 2 * len(ways) {
		if err := run(i); err != nil {
			t.Fatalf("warm-up stream %d (%s): %v", i, ways[i%len(ways)], err)
		}
	}
	base := goleak.IgnoreCurrent()
	g0, h0 := figures()
	t0 := time.Now()
	for i := range streams {
		if err := run(i); err != nil {
			t.Fatalf("stream %d (%s): %v", i, ways[i%len(ways)], err)
		}
	}
	took := time.Since(t0)
	if err := waitNoLeaks(10*time.Second, base); err != nil {
		t.Errorf("goroutines left after %d broken streams: %v", streams, err)
	}
	g1, h1 := figures()
	t.Logf("%d streams broken off after %d rows (%v) in %v: goroutines %d before, %d after; heap in use %.2f MiB before, %.2f MiB after (%+.2f MiB)",
		streams, rows, ways, took.Round(time.Millisecond), g0, g1, mib(h0), mib(h1), mib(h1)-mib(h0))
	if g1 > g0 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if h1 > h0+maxHeap {
		t.Errorf("heap in use grew by %.2f MiB, more than %.0f MiB", mib(h1)-mib(h0), mib(maxHeap))
	}
}

func figures() (goroutines int, heapInuse uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// Each stream reads pages of 10 rows and requests the next page as soon as
// one arrives, so a prefetch is sent when the loop breaks off.
var small = []cqlseq.StreamOption{cqlseq.WithFetchSize(10), cqlseq.WithPrefetch(1)}

func prefix(got, want []Row) error {
	if len(got) > len(want) || !equalRows(got, want[:len(got)]) {
		return fmt.Errorf("rows %v are not the first rows of the table", got)
	}
	return nil
}

func equalRows(a, b []Row) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func breakAfter(s *gocql.Session, n int, want []Row) error {
	var got []Row
	for r, err := range cqlseq.Stream[Row](context.Background(), s, cqlseq.CQL(selectAll), small...) {
		if err != nil {
			return err
		}
		if got = append(got, r); len(got) == n {
			break
		}
	}
	return prefix(got, want)
}

func cancelAfter(s *gocql.Session, n int, want []Row) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []Row
	var last error
	for r, err := range cqlseq.Stream[Row](ctx, s, cqlseq.CQL(selectAll), small...) {
		if err != nil {
			last = err
			continue
		}
		if got = append(got, r); len(got) == n {
			cancel()
		}
	}
	if !errors.Is(last, context.Canceled) {
		return fmt.Errorf("after cancel: %v, want context.Canceled", last)
	}
	return prefix(got, want)
}

func panicAfter(s *gocql.Session, n int, want []Row) (err error) {
	type boom struct{}
	var got []Row
	defer func() {
		switch r := recover(); r {
		case boom{}:
			err = prefix(got, want)
		case nil: // the stream's own error, returned below
		default:
			err = fmt.Errorf("recovered %v, want the loop body's panic", r)
		}
	}()
	for r, err := range cqlseq.Stream[Row](context.Background(), s, cqlseq.CQL(selectAll), small...) {
		if err != nil {
			return err
		}
		if got = append(got, r); len(got) == n {
			panic(boom{})
		}
	}
	return errors.New("the panic did not propagate")
}

func breakPages(s *gocql.Session, want []Row) error {
	for p, err := range cqlseq.Pages[Row](context.Background(), s, cqlseq.CQL(selectAll), small...) {
		if err != nil {
			return err
		}
		if !equalRows(p.Rows, want[:10]) {
			return fmt.Errorf("first page %v", p.Rows)
		}
		break
	}
	return nil
}
