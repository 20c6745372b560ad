package cqlseq

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/ring"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// bigKey returns key number i of the longest Cassandra takes, 65,535
// bytes: i in its first 8 bytes, then bytes that depend on i.
func bigKey(i uint64) []byte {
	k := make([]byte, 65_535)
	binary.BigEndian.PutUint64(k, i)
	for j := 8; j < len(k); j++ {
		k[j] = byte(i*7 + uint64(j))
	}
	return k
}

// murmur3Token returns the token Murmur3Partitioner gives key: the first
// half of MurmurHash3's x64 128-bit hash as Cassandra computes it (the
// bytes of the last partial block taken as signed), -2^63 made 2^63-1.
func murmur3Token(key []byte) int64 {
	const c1, c2 = 0x87c37b91114253d5, 0x4cf5ad432745937f
	fmix := func(k uint64) uint64 {
		k ^= k >> 33
		k *= 0xff51afd7ed558ccd
		k ^= k >> 33
		k *= 0xc4ceb9fe1a85ec53
		return k ^ k>>33
	}
	mix1 := func(k uint64) uint64 { return bits.RotateLeft64(k*c1, 31) * c2 }
	mix2 := func(k uint64) uint64 { return bits.RotateLeft64(k*c2, 33) * c1 }
	var h1, h2 uint64
	n := len(key) / 16
	for i := range n {
		h1 ^= mix1(binary.LittleEndian.Uint64(key[16*i:]))
		h1 = (bits.RotateLeft64(h1, 27)+h2)*5 + 0x52dce729
		h2 ^= mix2(binary.LittleEndian.Uint64(key[16*i+8:]))
		h2 = (bits.RotateLeft64(h2, 31)+h1)*5 + 0x38495ab5
	}
	var k1, k2 uint64
	for i, b := range key[16*n:] {
		v := uint64(int64(int8(b))) // Java's (long) of a byte
		if i < 8 {
			k1 ^= v << (8 * i)
		} else {
			k2 ^= v << (8 * (i - 8))
		}
	}
	if len(key)%16 > 8 {
		h2 ^= mix2(k2)
	}
	if len(key)%16 > 0 {
		h1 ^= mix1(k1)
	}
	h1 ^= uint64(len(key))
	h2 ^= uint64(len(key))
	h1 += h2
	h2 += h1
	h1, h2 = fmix(h1), fmix(h2)
	if t := int64(h1 + h2); t != ring.MinToken {
		return t
	}
	return ring.MaxToken
}

// bigID is the row of partition key bigKey(p) and clustering value
// bigKey(c).
type bigID struct{ p, c uint64 }

func compareBigIDs(a, b bigID) int { return cmp.Or(cmp.Compare(a.p, b.p), cmp.Compare(a.c, b.c)) }

type bigRow struct {
	P, C []byte
}

// id returns r's bigID, after checking that its keys are whole.
func (r bigRow) id(t *testing.T) bigID {
	t.Helper()
	if len(r.P) != 65_535 || len(r.C) != 65_535 {
		t.Fatalf("a row with keys of %d and %d bytes, want 65,535", len(r.P), len(r.C))
	}
	id := bigID{binary.BigEndian.Uint64(r.P), binary.BigEndian.Uint64(r.C)}
	if !bytes.Equal(r.P, bigKey(id.p)) || !bytes.Equal(r.C, bigKey(id.c)) {
		t.Fatalf("row %+v: its keys are not the ones written", id)
	}
	return id
}

// The longest keys Cassandra takes (a 65,535-byte partition key and
// clustering value), read by ScanPages at the largest parallelism and
// fetch size 1, so that many workers hold a range open at once, each at a
// paging state of the longest kind: every page's checkpoint is accepted
// (WithCursor decodes it so), holds no more open ranges than the scan has
// workers and is no longer than doc.go says; the longest of them, the last
// and a few others resume the scan into exactly the rows it had not
// yielded.
func TestScanBigKeys(t *testing.T) {
	cqlseqtest.NeedCassandra(t)
	const (
		narrow = 120 // partitions of one row
		wide   = 10  // partitions of 3 rows: pages that end inside a partition
		state  = 131_090
	)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	s := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, s)
	table := ks + ".big"
	cqlseqtest.Exec(t, s, "CREATE TABLE "+table+" (p blob, c blob, PRIMARY KEY (p, c))")
	// Partition keys whose tokens lie in the first quarter of the ring: the
	// first 1,024 of the scan's 4,096 ranges, which its workers take first,
	// all at once, so that many of them hold a range open together.
	var want []bigID
	var tokens []int64
	for p := uint64(0); len(want) < narrow+3*wide; p++ {
		tok := murmur3Token(bigKey(p))
		if tok > ring.MinToken/2 {
			continue
		}
		for c := range uint64(1 + 2*min(len(want)/narrow, 1)) {
			want = append(want, bigID{p, c})
			tokens = append(tokens, tok)
		}
	}
	if err := cqlseqtest.Seed(ctx, s, "INSERT INTO "+table+" (p, c) VALUES (?, ?)", len(want), 4, func(i int) []any {
		return []any{bigKey(want[i].p), bigKey(want[i].c)}
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, compareBigIDs)
	// The node gives the keys the tokens computed.
	var onNode []int64
	for tok, err := range Stream[int64](ctx, s, CQL("SELECT token(p) FROM "+table)) {
		if err != nil {
			t.Fatal(err)
		}
		onNode = append(onNode, tok)
	}
	slices.Sort(tokens)
	slices.Sort(onNode)
	if !slices.Equal(tokens, onNode) {
		t.Fatalf("the node's tokens of the keys are not Murmur3's:\n%v\n%v", onNode, tokens)
	}
	t.Logf("%d rows written in %v", len(want), time.Since(start).Round(time.Millisecond))
	var vnodes []string
	if err := s.Query("SELECT tokens FROM system.local").ScanContext(ctx, &vnodes); err != nil {
		t.Fatal(err)
	}
	// The split: 4 ranges per worker, and at most one more per range of
	// the ring (a single node's tokens, and the range cut at the end of
	// the ring).
	bound := checkpointBound(4*maxParallelism+len(vnodes)+1, maxParallelism, state)

	// A sample of checkpoints to resume from: the longest, those of a few
	// pages on the way, and the last; with each, the rows yielded up to
	// its page.
	type sample struct {
		page   int
		cursor string
		before int
	}
	var longest, last sample
	var samples []sample
	marks := []int{1, len(want) / 3, 2 * len(want) / 3}
	var got []bigID
	var fp cursor.Fingerprint
	pages, mostOpen, mostState := 0, 0, 0
	// check takes a page: its rows, and its checkpoint, which WithCursor
	// must accept.
	check := func(p Page[bigRow]) {
		pages++
		for _, r := range p.Rows {
			got = append(got, r.id(t))
		}
		if pages == 1 {
			// The scan's fingerprint, as the checkpoint holds it (WithCursor
			// checks it when the samples below resume).
			raw, err := base64.RawURLEncoding.DecodeString(p.Cursor[:cursor.HeaderLen/3*4])
			if err != nil {
				t.Fatal(err)
			}
			copy(fp[:], raw[2:cursor.HeaderLen])
		}
		if len(p.Cursor) > bound || len(p.Cursor) > cursor.MaxCheckpointLen {
			t.Fatalf("page %d: a checkpoint of %d bytes; the bound is %d bytes, WithCursor's limit %d", pages, len(p.Cursor), bound, cursor.MaxCheckpointLen)
		}
		// What WithCursor does with it, for every 8th page, the longest
		// checkpoint so far and the samples: decoding each of hundreds of
		// checkpoints of megabytes took minutes under -race, and the length
		// above is what varies from page to page.
		if pages%8 != 0 && len(p.Cursor) <= len(longest.cursor) && !slices.Contains(marks, pages) {
			last = sample{pages, p.Cursor, len(got)}
			return
		}
		ranges, _, err := decodeCheckpoint(p.Cursor, fp, nil)
		if err != nil {
			t.Fatalf("page %d: a checkpoint of %d bytes: %v", pages, len(p.Cursor), err)
		}
		open := 0
		for _, r := range ranges {
			if cursor.Status(&r) == cursor.Open {
				open++
				mostState = max(mostState, len(r.State))
			}
		}
		mostOpen = max(mostOpen, open)
		if open > maxParallelism || len(p.Cursor) > bound {
			t.Fatalf("page %d: a checkpoint of %d bytes with %d open ranges; the bound is %d bytes and %d open ranges", pages, len(p.Cursor), open, bound, maxParallelism)
		}
		if len(p.Cursor) > len(longest.cursor) {
			longest = sample{pages, p.Cursor, len(got)}
		}
		if slices.Contains(marks, pages) {
			samples = append(samples, sample{pages, p.Cursor, len(got)})
		}
		last = sample{pages, p.Cursor, len(got)}
	}
	// 2,048 requests at once (a page and the next of each worker) can be
	// more than a small node serves in time: a range it fails for good
	// (overloaded, timed out, a read it dropped), or a session left
	// without a connection for a moment, ends the scan, which then resumes
	// from the last page's checkpoint, as an application would.
	stops := 0
	for ended := false; !ended; {
		ended = true
		for p, err := range ScanPages[bigRow](ctx, s, table, WithParallelism(maxParallelism), WithFetchSize(1), WithCursor(last.cursor)) {
			var re *RangeError
			if err != nil && stops < 30 && ctx.Err() == nil && (errors.As(err, &re) || errors.Is(err, gocql.ErrNoConnections)) {
				stops++
				t.Logf("after %d pages, the scan failed: resuming from page %d's checkpoint: %v", pages, last.page, err)
				time.Sleep(10 * time.Second) // for the node to drain its queue
				ended = false
				break
			}
			if err != nil {
				t.Fatalf("after %d pages, %d stops: %v", pages, stops, err)
			}
			check(p)
		}
	}
	if pages < len(want) {
		t.Fatalf("%d pages of one row at most for %d rows", pages, len(want))
	}
	if mostState > state {
		t.Fatalf("a paging state of %d bytes: doc.go says %d at most", mostState, state)
	}
	if mostOpen < 64 {
		t.Fatalf("at most %d ranges open at once: too few for what the test is for", mostOpen)
	}
	t.Logf("%v: %d rows in %d pages (%d stops); every checkpoint within the bound, 1 in 8 and each longest so far decoded as WithCursor does; the longest: %d bytes at page %d, %d open ranges at most, paging states of %d bytes at most; the bound: %d bytes",
		time.Since(start).Round(time.Millisecond), len(got), pages, stops, len(longest.cursor), longest.page, mostOpen, mostState, bound)
	resumed := 0
	for _, sm := range append(append([]sample{longest}, samples...), last) {
		rows := slices.Clone(got[:sm.before])
		for r, err := range Scan[bigRow](ctx, s, table, WithCursor(sm.cursor), WithParallelism(64), WithFetchSize(20)) {
			if err != nil {
				t.Fatalf("resumed from page %d's checkpoint (%d bytes): %v", sm.page, len(sm.cursor), err)
			}
			rows = append(rows, r.id(t))
		}
		slices.SortFunc(rows, compareBigIDs)
		if diff := gocmp.Diff(want, rows, gocmp.AllowUnexported(bigID{})); diff != "" {
			t.Fatalf("the %d rows up to page %d, and those of the scan resumed from its checkpoint (%d bytes) (-want +got):\n%s", sm.before, sm.page, len(sm.cursor), diff)
		}
		resumed++
		t.Logf("page %d's checkpoint (%d bytes): %d rows before it, %d after; every row once", sm.page, len(sm.cursor), sm.before, len(want)-sm.before)
	}
	t.Logf("%v: %d checkpoints resumed", time.Since(start).Round(time.Millisecond), resumed)
}
