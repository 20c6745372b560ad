package cqlseq

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

func testRanges() []scanRange {
	return []scanRange{
		{tokenRange: tokenRange{start: minToken, end: -5}, done: true},
		{tokenRange: tokenRange{start: -5, end: 7}, state: []byte{1, 2, 3}},
		{tokenRange: tokenRange{start: 7, end: maxToken}},
	}
}

// A checkpoint decodes to what was encoded, signed or not, and refuses
// another scan's fingerprint or key.
func TestCheckpointRoundTrip(t *testing.T) {
	fp := newFingerprint("ks", "SCAN t", nil)
	for _, key := range [][]byte{nil, []byte("k")} {
		text := encodeCheckpoint(fp, 100, testRanges(), nil, key)
		got, size, err := decodeCheckpoint(text, fp, key)
		if err != nil || size != 100 {
			t.Fatalf("key %q: %v, size %d", key, err, size)
		}
		if diff := gocmp.Diff(testRanges(), got, gocmp.AllowUnexported(scanRange{}, tokenRange{})); diff != "" {
			t.Fatalf("key %q (-want +got):\n%s", key, diff)
		}
		if _, _, err := decodeCheckpoint(text, newFingerprint("ks", "SCAN u", nil), key); !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("another scan's checkpoint: %v", err)
		}
	}
}

// A checkpoint that claims more ranges than it can hold is refused before
// anything is allocated for them.
func TestCheckpointRangeCount(t *testing.T) {
	fp := newFingerprint("ks", "SCAN t", nil)
	b := []byte{checkpointVersion, 0}
	b = append(b, fp[:]...)
	b = binary.AppendUvarint(b, 100)
	b = binary.AppendUvarint(b, 1<<40)
	b = append(b, make([]byte, 64)...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if _, _, err := decodeCheckpoint(base64.RawURLEncoding.EncodeToString(b), fp, nil); !errors.Is(err, ErrInvalidCursor) {
		t.Fatalf("2^40 ranges in 64 bytes: %v", err)
	}
}

// A checkpoint as fragmented as a large ring allows (100,000 ranges, done
// and pending in turn, so that no two merge into one run) resumes: encode
// writes nothing decode refuses.
func TestCheckpointOfManyRanges(t *testing.T) {
	fp := newFingerprint("ks", "SCAN t", nil)
	var ranges []scanRange
	for i, r := range cutRange(tokenRange{start: minToken, end: maxToken}, 100_000) {
		ranges = append(ranges, scanRange{tokenRange: r, done: i%2 == 0})
	}
	got, _, err := decodeCheckpoint(encodeCheckpoint(fp, 100, ranges, nil, nil), fp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(ranges, got, gocmp.AllowUnexported(scanRange{}, tokenRange{})); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// FuzzDecodeCheckpoint: any text is a checkpoint or an ErrInvalidCursor,
// never a panic.
func FuzzDecodeCheckpoint(f *testing.F) {
	fp := newFingerprint("ks", "SCAN t", nil)
	f.Add(encodeCheckpoint(fp, 100, testRanges(), nil, nil))
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		if _, _, err := decodeCheckpoint(text, fp, nil); err != nil && !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("%v does not match ErrInvalidCursor", err)
		}
	})
}

// The ETA of a resumed scan counts only the ring read since it resumed.
func TestProgressOfResumedScan(t *testing.T) {
	const ring = float64(1<<64 - 1)
	p := progress(10, 9, 0.9*ring, 0.8*ring, 1000, 10*time.Second)
	if p.ETA < 9*time.Second || p.ETA > 11*time.Second {
		t.Fatalf("0.1 of the ring read in 10 s, 0.1 left: ETA %v, want about 10 s", p.ETA)
	}
	if p := progress(10, 9, 0.9*ring, 0.9*ring, 0, time.Second); p.ETA != 0 {
		t.Fatalf("nothing read since resuming: ETA %v, want 0", p.ETA)
	}
}

// The checkpoint is encoded after every page. Its cost is a pass over the
// ranges (16 vnodes × 3 nodes, split for parallelism 12, is 48 ranges; 256
// vnodes × 100 nodes, 25,600) and the encoding of its runs: midway, a scan
// that reads ranges in token order has a done run, its open ranges and a
// few holes near them, and a pending run; at worst (statuses alternating)
// every range is a run.
func BenchmarkEncodeCheckpoint(b *testing.B) {
	for _, n := range []int{48, 1024, 25_600} {
		for _, shape := range []string{"midway", "worst"} {
			b.Run(fmt.Sprintf("ranges=%d/%s", n, shape), func(b *testing.B) {
				ranges := make([]scanRange, n)
				step := uint64(math.MaxUint64) / uint64(n)
				for i := range ranges {
					ranges[i].start = int64(uint64(i)*step + 1<<63)
					ranges[i].end = int64(uint64(i+1)*step + 1<<63)
					if i == n-1 {
						ranges[i].end = maxToken
					}
					status := i % 3
					if shape == "midway" {
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
						ranges[i].done = true
					case 1:
						ranges[i].state = make([]byte, 40)
					}
				}
				var size int
				for b.Loop() {
					size = len(encodeCheckpoint(fingerprint{}, 1000, ranges, nil, nil))
				}
				b.ReportMetric(float64(size), "bytes")
			})
		}
	}
}

// A checkpoint of any split of a random ring, with ranges done, open and
// pending at random, resumes against the same ring or another one into
// work that partitions the ring, with every done and open range as it was
// and every pending token in a piece that lies in one range of the ring it
// resumes on, with that range's replicas. A checkpoint of ranges read in
// token order holds the open ranges and a run on each side, not every
// range.
func TestCheckpointResumesOnAnyRing(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	fp := newFingerprint("ks", "SCAN t", nil)
	for iter := range 300 {
		ring := func() []tokenRange {
			hosts, rep := randomRing(r, 1+r.IntN(6), []int{1, 16, 256}[r.IntN(3)], 1, true, 1+r.IntN(3))
			ring, err := buildRing(hosts, rep)
			if err != nil {
				t.Fatal(err)
			}
			return ring
		}
		before := ring()
		var work []scanRange
		for _, x := range spreadByReplica(splitRanges(before, 1+r.IntN(200))) {
			w := scanRange{tokenRange: x}
			switch r.IntN(3) {
			case 0:
				w.done = true
			case 1:
				w.state = []byte{byte(r.IntN(256)), 1}
			}
			work = append(work, w)
		}
		order := tokenOrder(work)
		got, _, err := decodeCheckpoint(encodeCheckpoint(fp, 10, work, order, nil), fp, nil)
		if err != nil {
			t.Fatal(err)
		}
		after := before
		if iter%2 == 1 {
			after = ring()
		}
		resumed := resume(after, got, 1+r.IntN(64))
		if err := checkCoverage(byToken(resumed)); err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		kept := func(ranges []scanRange) []scanRange {
			var out []scanRange
			for _, x := range ranges {
				if x.status() != rangePending {
					x.replicas = nil
					out = append(out, x)
				}
			}
			slices.SortFunc(out, func(a, b scanRange) int { return cmp.Compare(a.start, b.start) })
			// Neighbouring done ranges merge.
			var merged []scanRange
			for _, x := range out {
				if n := len(merged); n > 0 && x.done && merged[n-1].done && merged[n-1].end == x.start {
					merged[n-1].end = x.end
					continue
				}
				merged = append(merged, x)
			}
			return merged
		}
		if diff := gocmp.Diff(kept(work), kept(resumed), gocmp.AllowUnexported(scanRange{}, tokenRange{})); diff != "" {
			t.Fatalf("iteration %d: done and open ranges (-before +resumed):\n%s", iter, diff)
		}
		for _, x := range resumed {
			if x.status() != rangePending {
				continue
			}
			j := rangeOf(after, x.end)
			if j == len(after) || x.start < after[j].start || !slices.Equal(x.replicas, after[j].replicas) {
				t.Fatalf("iteration %d: pending piece %v is not in one ring range with its replicas", iter, x)
			}
		}
	}

	// Read in token order: a done run, the open ranges, a pending run.
	ranges := make([]scanRange, 1000)
	step := uint64(math.MaxUint64) / 1000
	for i := range ranges {
		ranges[i].start = int64(uint64(i)*step + 1<<63)
		ranges[i].end = int64(uint64(i+1)*step + 1<<63)
		switch {
		case i < 400:
			ranges[i].done = true
		case i < 416:
			ranges[i].state = []byte{1}
		}
	}
	ranges[999].end = maxToken
	got, _, err := decodeCheckpoint(encodeCheckpoint(fp, 10, ranges, nil, nil), fp, nil)
	if err != nil || len(got) != 18 {
		t.Fatalf("1000 ranges, 400 done, 16 open: %d ranges in the checkpoint (%v), want 18", len(got), err)
	}
}
