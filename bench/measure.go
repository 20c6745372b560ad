package bench

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync/atomic"
	"time"
)

// Stats are the figures of one read of a set.
type Stats struct {
	Rows     int64
	Bytes    int64         // text read: a checksum of sorts, and proof the rows were touched
	KeySum   int64         // sum of the row indexes read
	Pages    int64         // page requests sent
	PageTime time.Duration // their latency, summed
	FirstRow time.Duration // from the call to the first row in hand
	Elapsed  time.Duration
	// PeakHeap is the most heap in objects (live and not yet swept) seen by
	// a sampler every millisecond while the read ran; PeakLive the most live
	// heap any GC cycle during the read marked.
	PeakHeap uint64
	PeakLive uint64
	// AllocBytes and Allocs count the heap allocations of the whole process
	// during the read (as testing.B's ReportAllocs does): the contender's,
	// the driver's and its connections'.
	AllocBytes uint64
	Allocs     uint64
}

// Measure reads set once with c and returns its figures. Each row costs
// work on top of the read (see Spin); 0 is none. A sampler goroutine reads
// runtime/metrics once a millisecond for the peak heap: nothing is measured
// per row.
func Measure[R any](ctx context.Context, env *Env, set *Set[R], c Contender[R], run Run, work int) (Stats, error) {
	var st Stats
	pages := new(Pages)
	sampler := startSampler(time.Millisecond)
	b0, n0 := readAllocs()
	start := time.Now()
	err := c.Read(ctx, env, set, run, pages, func(r R) {
		if st.Rows == 0 {
			st.FirstRow = time.Since(start)
		}
		st.Rows++
		st.KeySum += int64(set.Key(r))
		st.Bytes += int64(set.Size(r))
		if work > 0 {
			Spin(work)
		}
	})
	st.Elapsed = time.Since(start)
	b1, n1 := readAllocs()
	st.AllocBytes, st.Allocs = b1-b0, n1-n0
	st.PeakHeap, st.PeakLive = sampler.stop()
	st.Pages, st.PageTime = pages.Count()
	if err != nil {
		return st, fmt.Errorf("%s reading %s: %w", c.Name, set.Table, err)
	}
	return st, nil
}

// Want returns the figures a complete read of set must give: rows, KeySum
// and Bytes.
func (s *Set[R]) Want() (rows, keySum, bytes int64) {
	for i := range s.Rows {
		r := s.Row(i)
		keySum += int64(s.Key(r))
		bytes += int64(s.Size(r))
	}
	return int64(s.Rows), keySum, bytes
}

// readAllocs returns the bytes and objects allocated so far. Objects count
// tiny allocations one by one, as runtime.MemStats.Mallocs (and so
// testing.B's allocs/op) does: runtime/metrics counts them apart.
func readAllocs() (bytes, objects uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/tiny/allocs:objects"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64() + s[2].Value.Uint64()
}

// sampler records the peak of the heap while it runs.
type sampler struct {
	done chan struct{}
	out  chan [2]uint64
}

var sampleNames = []string{"/memory/classes/heap/objects:bytes", "/gc/heap/live:bytes"}

func readHeap(s []metrics.Sample) (heap, live uint64) {
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func startSampler(every time.Duration) *sampler {
	s := &sampler{done: make(chan struct{}), out: make(chan [2]uint64, 1)}
	samples := make([]metrics.Sample, len(sampleNames))
	for i, n := range sampleNames {
		samples[i].Name = n
	}
	// The live heap reads what the last GC marked; only cycles that end
	// during the read count.
	_, live0 := readHeap(samples)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		var peak, peakLive uint64
		for {
			h, l := readHeap(samples)
			peak = max(peak, h)
			if l != live0 {
				peakLive = max(peakLive, l)
			}
			select {
			case <-s.done:
				s.out <- [2]uint64{peak, peakLive}
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) stop() (peak, peakLive uint64) {
	close(s.done)
	v := <-s.out
	return v[0], v[1]
}

// Spin does n units of fixed CPU work: the slow consumer's work per row.
// CalibrateSpin says how many units take a given time on this machine.
//
//go:noinline
func Spin(n int) uint64 {
	x := uint64(n) | 1
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	spun.Store(x) // a result kept, so the loop is not optimized away
	return x
}

var spun atomic.Uint64

// CalibrateSpin returns the units of Spin that take d on this machine: the
// median of several timings, so a busy moment does not skew it.
func CalibrateSpin(d time.Duration) int {
	const units = 2_000_000
	Spin(units) // warm up
	var per []float64
	for range 7 {
		t := time.Now()
		Spin(units)
		per = append(per, float64(time.Since(t))/units)
	}
	sort.Float64s(per)
	return max(int(float64(d)/per[len(per)/2]), 1)
}

// Settle runs a GC, so every read starts from the same heap.
func Settle() { runtime.GC() }
