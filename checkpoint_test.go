package cqlseq

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
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
		text := encodeCheckpoint(fp, 100, testRanges(), key)
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

// FuzzDecodeCheckpoint: any text is a checkpoint or an ErrInvalidCursor,
// never a panic.
func FuzzDecodeCheckpoint(f *testing.F) {
	fp := newFingerprint("ks", "SCAN t", nil)
	f.Add(encodeCheckpoint(fp, 100, testRanges(), nil))
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

// The checkpoint is encoded after every page, from every range: its cost
// grows with the ring (16 vnodes × 3 nodes, split for parallelism 12, is
// 48 ranges; 256 vnodes × 100 nodes, 25,600).
func BenchmarkEncodeCheckpoint(b *testing.B) {
	for _, n := range []int{48, 1024, 25_600} {
		b.Run(fmt.Sprint("ranges=", n), func(b *testing.B) {
			ranges := make([]scanRange, n)
			step := uint64(math.MaxUint64) / uint64(n)
			for i := range ranges {
				ranges[i].start = int64(uint64(i)*step + 1<<63)
				ranges[i].end = int64(uint64(i+1)*step + 1<<63)
				switch i % 3 {
				case 0:
					ranges[i].done = true
				case 1:
					ranges[i].state = make([]byte, 40)
				}
			}
			var size int
			for b.Loop() {
				size = len(encodeCheckpoint(fingerprint{}, 1000, ranges, nil))
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
