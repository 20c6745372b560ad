package cqlseq

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/ring"
	gocmp "github.com/google/go-cmp/cmp"
)

// checkpointBound is the length doc.go states for a checkpoint of a scan
// split into ranges ranges, with open of them open at paging states of
// state bytes at most: 16 characters per range, 4/3 of (the paging state
// and 16 bytes) per open range, and 80 characters.
func checkpointBound(ranges, open, state int) int {
	return 80 + 16*ranges + (open*(state+16)*4+2)/3
}

// A checkpointer's text is always the checkpoint of the ranges as they
// are (the same text a fresh checkpointer makes of them, which decodes to
// the ranges, neighbours done or pending alike merged), whatever moved
// since the last, and it encodes again at most two runs per range that
// moved: a page's checkpoint does not encode the other ranges' runs again.
func TestCheckpointerEncodesWhatMoved(t *testing.T) {
	t.Parallel() // CPU-bound, on no node: beside the other parallel tests, after the serial ones
	r := rand.New(rand.NewPCG(8, 9))
	fp := cursor.NewFingerprint("ks", "SCAN t", nil)
	for iter := range 200 {
		var ranges []ring.Task
		for _, x := range ring.Cut(ring.Range{Start: ring.MinToken, End: ring.MaxToken}, uint64(1+r.IntN(300))) {
			ranges = append(ranges, ring.Task{Range: x})
		}
		var order []int
		if iter%2 == 1 { // ranges out of token order, as a scan's are
			r.Shuffle(len(ranges), func(i, j int) { ranges[i], ranges[j] = ranges[j], ranges[i] })
			order = ring.TokenOrder(ranges)
		}
		var key []byte
		if iter%3 == 0 {
			key = []byte("k")
		}
		c := newCheckpointer(fp, 10, ranges, order, key)
		for step := range 50 {
			moved := map[int]bool{}
			for range 1 + r.IntN(4) {
				i := r.IntN(len(ranges))
				switch x := &ranges[i]; {
				case x.Done:
					continue
				case r.IntN(3) == 0:
					x.Done, x.State = true, nil
				default:
					x.State = []byte{byte(step), byte(r.IntN(256))}
				}
				c.moved(i)
				moved[i] = true
			}
			before := c.encoded
			got := c.text()
			if want := encodeCheckpoint(fp, 10, ranges, order, key); got != want {
				t.Fatalf("iteration %d, step %d: the checkpointer's text\n%s\nis not the checkpoint of the ranges\n%s", iter, step, got, want)
			}
			if encoded := c.encoded - before; encoded > 2*len(moved) {
				t.Fatalf("iteration %d, step %d: %d ranges moved, %d runs encoded again", iter, step, len(moved), encoded)
			}
			if step%10 != 9 {
				continue // decoding every step would triple the test's time under -race
			}
			decoded, size, err := decodeCheckpoint(got, fp, key)
			if err != nil || size != 10 {
				t.Fatalf("iteration %d, step %d: %v, page size %d", iter, step, err, size)
			}
			if want := runsOf(ranges, order); !reflect.DeepEqual(want, decoded) { // as go-cmp would, in a fraction of the time
				t.Fatalf("iteration %d, step %d: decoded (-want +got):\n%s", iter, step, gocmp.Diff(want, decoded, gocmp.AllowUnexported(ring.Task{}, ring.Range{})))
			}
		}
	}
}

// The ETA of a resumed scan counts only the ring read since it resumed.
func TestProgressOfResumedScan(t *testing.T) {
	const ringWidth = float64(1<<64 - 1)
	p := progress(10, 9, 0.9*ringWidth, 0.8*ringWidth, 1000, 10*time.Second)
	if p.ETA < 9*time.Second || p.ETA > 11*time.Second {
		t.Fatalf("0.1 of the ring read in 10 s, 0.1 left: ETA %v, want about 10 s", p.ETA)
	}
	if p := progress(10, 9, 0.9*ringWidth, 0.9*ringWidth, 0, time.Second); p.ETA != 0 {
		t.Fatalf("nothing read since resuming: ETA %v, want 0", p.ETA)
	}
}

// A checkpoint is made after every page, in which one range moved on. Its
// cost is measured on the splits a scan makes (16 vnodes × 3 nodes, split
// for parallelism 12, is 48 ranges; 256 vnodes × 100 nodes, 25,600):
// midway, a scan that reads ranges in token order has a done run, its open
// ranges and a few holes near them, and a pending run; at worst (statuses
// alternating) every range is a run; and with keys as long as Cassandra
// allows, every worker's range open with a paging state of a 64 KiB
// partition key and a 64 KiB clustering value (the checkpoint is then
// mostly those states: bytes/op and the bytes metric are its size).
func BenchmarkEncodeCheckpoint(b *testing.B) {
	type shape struct {
		name         string
		ranges, open int // open: 0 for the midway and worst layouts
		state        int // bytes of each paging state
		key          []byte
	}
	shapes := []shape{}
	for _, n := range []int{48, 1024, 25_600} {
		shapes = append(shapes, shape{name: fmt.Sprintf("ranges=%d/midway", n), ranges: n, state: 40},
			shape{name: fmt.Sprintf("ranges=%d/worst", n), ranges: n, state: 40})
	}
	shapes = append(shapes,
		shape{name: "ranges=25600/worst/signed", ranges: 25_600, state: 40, key: []byte("k")},
		shape{name: "open=160/state=120KB", ranges: 640, open: 160, state: 120_000},
		shape{name: "open=160/state=120KB/signed", ranges: 640, open: 160, state: 120_000, key: []byte("k")},
		shape{name: "open=1024/state=128KiB", ranges: 4096, open: 1024, state: 131_082},
		shape{name: "open=1024/state=128KiB/signed", ranges: 4096, open: 1024, state: 131_082, key: []byte("k")},
	)
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			n := sh.ranges
			ranges := make([]ring.Task, n)
			step := uint64(math.MaxUint64) / uint64(n)
			var open []int
			for i := range ranges {
				ranges[i].Start = int64(uint64(i)*step + 1<<63)
				ranges[i].End = int64(uint64(i+1)*step + 1<<63)
				if i == n-1 {
					ranges[i].End = ring.MaxToken
				}
				status := i % 3
				switch {
				case sh.open > 0: // a quarter done, then the open ranges, then pending
					status = 2
					if i < n/4 {
						status = 0
					} else if i < n/4+sh.open {
						status = 1
					}
				case strings.HasSuffix(sh.name, "midway"):
					frontier := 2 * n / 5
					switch {
					case i < frontier-16:
						status = 0
					case i < frontier+16 && i%2 == 0:
						status = 1
					default:
						status = 2
					}
				}
				switch status {
				case 0:
					ranges[i].Done = true
				case 1:
					ranges[i].State = bytes.Repeat([]byte{byte(i)}, sh.state)
					open = append(open, i)
				}
			}
			// A page moves one open range on (its new paging state as long
			// as the last), and the scan makes its checkpoint.
			next := [2][]byte{bytes.Repeat([]byte{1}, sh.state), bytes.Repeat([]byte{2}, sh.state)}
			c := newCheckpointer(cursor.Fingerprint{}, 1000, ranges, nil, sh.key)
			b.ReportAllocs()
			var size, k int
			for b.Loop() {
				i := open[k%len(open)]
				ranges[i].State = next[k%2]
				k++
				c.moved(i)
				size = len(c.text())
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// encodeCheckpoint returns the checkpoint of ranges, which partition the
// ring; order holds their indexes in token order (nil if ranges are in
// it), as a fresh checkpointer makes it.
func encodeCheckpoint(fp cursor.Fingerprint, pageSize int, ranges []ring.Task, order []int, key []byte) string {
	return newCheckpointer(fp, pageSize, ranges, order, key).text()
}

// runsOf returns what a checkpoint of ranges holds: the ranges in token
// order (order, or nil if ranges are in it), without replicas, with
// neighbours both done or both pending merged into one.
func runsOf(ranges []ring.Task, order []int) []ring.Task {
	var runs []ring.Task
	for p := range ranges {
		x := ranges[p]
		if order != nil {
			x = ranges[order[p]]
		}
		x.Replicas = nil
		if k := len(runs) - 1; k >= 0 && cursor.Status(&x) != cursor.Open && cursor.Status(&x) == cursor.Status(&runs[k]) {
			runs[k].End = x.End
			continue
		}
		runs = append(runs, x)
	}
	return runs
}

// randomHosts returns n hosts of one data center with k random tokens
