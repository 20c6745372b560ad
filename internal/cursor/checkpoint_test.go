package cursor

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cqlseq/cqlseq/internal/ring"
	gocmp "github.com/google/go-cmp/cmp"
)

// encodeCheckpoint returns the checkpoint of ranges, which partition the
// ring; order holds their indexes in token order (nil if ranges are in
// it). It encodes every run afresh: package cqlseq's checkpointer, which
// encodes only what moved, must make the same text.
func encodeCheckpoint(fp Fingerprint, pageSize int, ranges []ring.Task, order []int, key []byte) string {
	at := func(p int) *ring.Task {
		if order != nil {
			return &ranges[order[p]]
		}
		return &ranges[p]
	}
	e := NewCheckpointEncoder(fp, pageSize, key)
	var runs []Run
	for p := range ranges {
		// A run ends at an open range, at the last range, and where the
		// status changes.
		if s := Status(at(p)); s == Open || p == len(ranges)-1 || Status(at(p+1)) != s {
			runs = append(runs, e.Run(at(p)))
		}
	}
	ptrs := make([]*Run, len(runs))
	for i := range runs {
		ptrs[i] = &runs[i]
	}
	return e.Text(ptrs)
}

// refused reports whether err is an [*Error].
func refused(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

func testRanges() []ring.Task {
	return []ring.Task{
		{Range: ring.Range{Start: ring.MinToken, End: -5}, Done: true},
		{Range: ring.Range{Start: -5, End: 7}, State: []byte{1, 2, 3}},
		{Range: ring.Range{Start: 7, End: ring.MaxToken}},
	}
}

// A checkpoint decodes to what was encoded, signed or not, and refuses
// another scan's fingerprint or key.
func TestCheckpointRoundTrip(t *testing.T) {
	fp := NewFingerprint("ks", "SCAN t", nil)
	for _, key := range [][]byte{nil, []byte("k")} {
		text := encodeCheckpoint(fp, 100, testRanges(), nil, key)
		got, size, err := DecodeCheckpoint(text, fp, key)
		if err != nil || size != 100 {
			t.Fatalf("key %q: %v, size %d", key, err, size)
		}
		if diff := gocmp.Diff(testRanges(), got, gocmp.AllowUnexported(ring.Task{}, ring.Range{})); diff != "" {
			t.Fatalf("key %q (-want +got):\n%s", key, diff)
		}
		if _, _, err := DecodeCheckpoint(text, NewFingerprint("ks", "SCAN u", nil), key); !refused(err) {
			t.Fatalf("another scan's checkpoint: %v", err)
		}
		// Any one character changed: refused.
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		for i := range len(text) {
			for _, c := range []byte{alphabet[(strings.IndexByte(alphabet, text[i])+1)%64], alphabet[(strings.IndexByte(alphabet, text[i])+32)%64]} {
				altered := text[:i] + string(c) + text[i+1:]
				if _, _, err := DecodeCheckpoint(altered, fp, key); !refused(err) {
					t.Fatalf("key %q: character %d of %d changed to %q: %v", key, i, len(text), c, err)
				}
			}
		}
	}
}

// A checkpoint of an earlier version is refused, saying so.
func TestCheckpointOfEarlierVersion(t *testing.T) {
	fp := NewFingerprint("ks", "SCAN t", nil)
	// testRanges' checkpoint, as the previous version ('t') wrote it.
	_, _, err := DecodeCheckpoint("dAD0WJcDDPSVdx5s_HBex631ZAMJAg4BAwECA_7__________wEAlKK3nA", fp, nil)
	if !refused(err) || !strings.Contains(err.Error(), "earlier version") {
		t.Fatalf("a checkpoint of version 't': %v", err)
	}
}

// checkpointBound is the length package cqlseq's doc.go states for a
// checkpoint of a scan split into ranges ranges, with open of them open at
// paging states of state bytes at most: 16 characters per range, 4/3 of
// (the paging state and 16 bytes) per open range, and 80 characters.
func checkpointBound(ranges, open, state int) int {
	return 80 + 16*ranges + (open*(state+16)*4+2)/3
}

// With the longest keys Cassandra takes (paging states of 131,090 bytes)
// and as many open ranges as the largest parallelism has workers, a
// checkpoint is accepted, no longer than doc.go says, and resumes where it
// was made.
func TestCheckpointOfLongestKeys(t *testing.T) {
	t.Parallel() // CPU-bound, on no node: beside the other parallel tests, after the serial ones
	const n, open, state = 4 * MaxOpenRanges, MaxOpenRanges, 131_090
	src := rand.NewChaCha8([32]byte{3, 4})
	r := rand.New(src)
	fp := NewFingerprint("ks", "SCAN t", nil)
	var ranges []ring.Task
	for i, x := range ring.Cut(ring.Range{Start: ring.MinToken, End: ring.MaxToken}, n) {
		w := ring.Task{Range: x}
		switch {
		case i%4 == 1: // the open ranges amid done and pending ones
			w.State = make([]byte, state)
			src.Read(w.State)
		case r.IntN(2) == 0:
			w.Done = true
		}
		ranges = append(ranges, w)
	}
	// Signed: the longer of the two kinds (37 characters more).
	key := []byte("k")
	text := encodeCheckpoint(fp, 1, ranges, nil, key)
	bound := checkpointBound(n, open, state)
	if len(text) > bound {
		t.Fatalf("%d bytes, more than the bound of %d", len(text), bound)
	}
	got, _, err := DecodeCheckpoint(text, fp, key)
	if err != nil {
		t.Fatalf("a checkpoint of %d bytes: %v", len(text), err)
	}
	var want []ring.Task
	for _, x := range ranges {
		if k := len(want) - 1; k >= 0 && Status(&x) != Open && Status(&x) == Status(&want[k]) {
			want[k].End = x.End
			continue
		}
		want = append(want, x)
	}
	// Compared by hand: go-cmp takes minutes over 134 MB of paging states.
	if len(got) != len(want) {
		t.Fatalf("%d ranges, want %d", len(got), len(want))
	}
	for i, w := range want {
		if g := got[i]; g.Range.String() != w.Range.String() || g.Done != w.Done || !bytes.Equal(g.State, w.State) {
			t.Fatalf("range %d is %v done=%v with a %d-byte paging state, want %v done=%v with %d bytes", i, g.Range, g.Done, len(g.State), w.Range, w.Done, len(w.State))
		}
	}
	t.Logf("%d open ranges of %d-byte paging states: %d bytes (the bound: %d)", open, state, len(text), bound)
}

// A checkpoint that claims more ranges than it can hold is refused before
// anything is allocated for them.
func TestCheckpointRangeCount(t *testing.T) {
	fp := NewFingerprint("ks", "SCAN t", nil)
	b := []byte{checkpointVersion, 0}
	b = append(b, fp[:]...)
	b = binary.AppendUvarint(b, 100)
	b = binary.AppendUvarint(b, 1<<40)
	b = append(b, make([]byte, 64)...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if _, _, err := DecodeCheckpoint(base64.RawURLEncoding.EncodeToString(b), fp, nil); !refused(err) {
		t.Fatalf("2^40 ranges in 64 bytes: %v", err)
	}
}

// A checkpoint as fragmented as a large ring allows (100,000 ranges, done
// and pending in turn, so that no two merge into one run) resumes: encode
// writes nothing decode refuses.
func TestCheckpointOfManyRanges(t *testing.T) {
	fp := NewFingerprint("ks", "SCAN t", nil)
	var ranges []ring.Task
	for i, r := range ring.Cut(ring.Range{Start: ring.MinToken, End: ring.MaxToken}, 100_000) {
		ranges = append(ranges, ring.Task{Range: r, Done: i%2 == 0})
	}
	got, _, err := DecodeCheckpoint(encodeCheckpoint(fp, 100, ranges, nil, nil), fp, nil)
	if err != nil {
		t.Fatal(err)
	}
	// reflect.DeepEqual first: go-cmp takes seconds over 100,000 ranges
	// (under -race), and tells the same nil and empty slices apart.
	if !reflect.DeepEqual(ranges, got) {
		t.Fatalf("(-want +got):\n%s", gocmp.Diff(ranges, got, gocmp.AllowUnexported(ring.Task{}, ring.Range{})))
	}
}

// FuzzDecodeCheckpoint: any text is a checkpoint or an [*Error], never a
// panic.
func FuzzDecodeCheckpoint(f *testing.F) {
	fp := NewFingerprint("ks", "SCAN t", nil)
	f.Add(encodeCheckpoint(fp, 100, testRanges(), nil, nil))
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		if _, _, err := DecodeCheckpoint(text, fp, nil); err != nil && !refused(err) {
			t.Fatalf("%v is not an *Error", err)
		}
	})
}

// A checkpoint of any split of a random ring, with ranges done, open and
// pending at random, resumes against the same ring or another one into
// work that partitions the ring, with every done and open range as it was
// and every pending token in a piece that lies in one range of the ring it
// resumes on, with that range's replicas. A checkpoint of ranges read in
// token order holds the open ranges and a run on each side, not every
// range.
func TestCheckpointResumesOnAnyRing(t *testing.T) {
	t.Parallel() // CPU-bound, on no node: beside the other parallel tests, after the serial ones
	r := rand.New(rand.NewPCG(5, 6))
	fp := NewFingerprint("ks", "SCAN t", nil)
	for iter := range 300 {
		ringOf := func() []ring.Range {
			hosts, rep := randomHosts(t, r, 1+r.IntN(6), []int{1, 16, 256}[r.IntN(3)], 1+r.IntN(3))
			built, err := ring.Build(hosts, rep)
			if err != nil {
				t.Fatal(err)
			}
			return built
		}
		before := ringOf()
		var work []ring.Task
		for _, x := range ring.SpreadByReplica(ring.Split(before, 1+r.IntN(200))) {
			w := ring.Task{Range: x}
			switch r.IntN(3) {
			case 0:
				w.Done = true
			case 1:
				w.State = []byte{byte(r.IntN(256)), 1}
			}
			work = append(work, w)
		}
		order := ring.TokenOrder(work)
		got, _, err := DecodeCheckpoint(encodeCheckpoint(fp, 10, work, order, nil), fp, nil)
		if err != nil {
			t.Fatal(err)
		}
		after := before
		if iter%2 == 1 {
			after = ringOf()
		}
		resumed := ring.Resume(after, got, 1+r.IntN(64))
		if err := ring.CheckCoverage(ring.ByToken(resumed)); err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		kept := func(ranges []ring.Task) []ring.Task {
			var out []ring.Task
			for _, x := range ranges {
				if Status(&x) != Pending {
					x.Replicas = nil
					out = append(out, x)
				}
			}
			slices.SortFunc(out, func(a, b ring.Task) int { return cmp.Compare(a.Start, b.Start) })
			// Neighbouring done ranges merge.
			var merged []ring.Task
			for _, x := range out {
				if n := len(merged); n > 0 && x.Done && merged[n-1].Done && merged[n-1].End == x.Start {
					merged[n-1].End = x.End
					continue
				}
				merged = append(merged, x)
			}
			return merged
		}
		if before, after := kept(work), kept(resumed); !reflect.DeepEqual(before, after) { // as go-cmp would, in a tenth of the time
			t.Fatalf("iteration %d: done and open ranges (-before +resumed):\n%s", iter, gocmp.Diff(before, after, gocmp.AllowUnexported(ring.Task{}, ring.Range{})))
		}
		for _, x := range resumed {
			if Status(&x) != Pending {
				continue
			}
			j := ring.RangeOf(after, x.End)
			if j == len(after) || x.Start < after[j].Start || !slices.Equal(x.Replicas, after[j].Replicas) {
				t.Fatalf("iteration %d: pending piece %v is not in one ring range with its replicas", iter, x)
			}
		}
	}

	// Read in token order: a done run, the open ranges, a pending run.
	ranges := make([]ring.Task, 1000)
	step := uint64(math.MaxUint64) / 1000
	for i := range ranges {
		ranges[i].Start = int64(uint64(i)*step + 1<<63)
		ranges[i].End = int64(uint64(i+1)*step + 1<<63)
		switch {
		case i < 400:
			ranges[i].Done = true
		case i < 416:
			ranges[i].State = []byte{1}
		}
	}
	ranges[999].End = ring.MaxToken
	got, _, err := DecodeCheckpoint(encodeCheckpoint(fp, 10, ranges, nil, nil), fp, nil)
	if err != nil || len(got) != 18 {
		t.Fatalf("1000 ranges, 400 done, 16 open: %d ranges in the checkpoint (%v), want 18", len(got), err)
	}
}

// each, and SimpleStrategy with factor rf.
func randomHosts(t *testing.T, r *rand.Rand, n, k, rf int) ([]ring.Host, ring.Replication) {
	seen := map[int64]bool{}
	hosts := make([]ring.Host, n)
	for i := range hosts {
		hosts[i] = ring.Host{ID: fmt.Sprint("host", i), DC: "dc0", Rack: "rack0"}
		for len(hosts[i].Tokens) < k {
			tok := int64(r.Uint64())
			switch r.IntN(20) { // the ends of the ring, now and then
			case 0:
				tok = ring.MinToken
			case 1:
				tok = ring.MaxToken
			}
			if !seen[tok] {
				seen[tok] = true
				hosts[i].Tokens = append(hosts[i].Tokens, tok)
			}
		}
	}
	rep, err := ring.ParseReplication("ks", "SimpleStrategy", map[string]any{"replication_factor": rf})
	if err != nil {
		t.Fatal(err)
	}
	return hosts, rep
}

// A text longer than any checkpoint is refused before it is decoded
// (tried at a bound of 100 bytes: MaxCheckpointLen is hundreds of
// megabytes).
func TestCheckpointTooLong(t *testing.T) {
	fp := NewFingerprint("ks", "SCAN t", nil)
	text := encodeCheckpoint(fp, 100, testRanges(), nil, nil)
	if _, _, err := decodeCheckpoint(text, fp, nil, len(text)); err != nil {
		t.Fatalf("a checkpoint as long as the bound: %v", err)
	}
	_, _, err := decodeCheckpoint(text+"AAAA", fp, nil, len(text))
	if !refused(err) || err.Error() != fmt.Sprintf("%d bytes long, more than a checkpoint can be", len(text)+4) {
		t.Fatalf("a checkpoint longer than the bound: %v", err)
	}
	if _, _, err := DecodeCheckpoint(strings.Repeat("A", 1000), fp, nil); err == nil || strings.Contains(err.Error(), "long") {
		t.Fatalf("a text of 1000 bytes is refused for what it holds, not for its length: %v", err)
	}
}

// Each hostile checkpoint gets an [*Error] that says what is wrong
// (package cqlseq's TestRefusalsAreListed checks that each reason reaches
// the user as "cqlseq: invalid scan checkpoint: " and the reason, matching
// ErrInvalidCursor and ErrInvalidArgument).
func TestHostileCheckpoints(t *testing.T) {
	fp := NewFingerprint("ks", "SCAN t", nil)
	key := []byte("k1")
	good := encodeCheckpoint(fp, 100, testRanges(), nil, nil)
	signed := encodeCheckpoint(fp, 100, testRanges(), nil, key)
	plain, _ := base64.RawURLEncoding.DecodeString(good)
	b64 := base64.RawURLEncoding.EncodeToString
	with := func(i int, v byte) string {
		b := bytes.Clone(plain)
		b[i] = v
		return b64(b)
	}
	// made returns a checkpoint of the header, parts and a check of zeros
	// (wrong, but read after the parts).
	made := func(parts ...[]byte) string {
		b := bytes.Clone(plain[:HeaderLen])
		for _, p := range parts {
			b = append(b, p...)
		}
		return b64(append(b, 0, 0, 0, 0))
	}
	// ends returns a checkpoint, rightly checked, of done runs that end at
	// ends.
	ends := func(ends ...int64) string {
		e := NewCheckpointEncoder(fp, 100, nil)
		var runs []*Run
		for _, end := range ends {
			r := e.Run(&ring.Task{Range: ring.Range{End: end}, Done: true})
			runs = append(runs, &r)
		}
		return e.Text(runs)
	}
	oneRun := []byte{100, 1, 0} // page size 100, 1 run, a zero to fill the header
	tests := []struct {
		name, text string
		key        []byte
		msg        string
	}{
		{"not base64", "!!!", nil, "not base64url text"},
		{"padded", good + "==", nil, "not base64url text"},
		{"truncated", b64(plain[:10]), nil, "truncated: 10 bytes"},
		{"earlier version", with(0, 't'), nil, "made by an earlier version of cqlseq"},
		{"a cursor", Encode(fp, 100, []byte("state"), nil), nil, "not a scan checkpoint"},
		{"unknown flags", with(1, 0x80), nil, "unknown flags 0x80"},
		{"signed, no key here", signed, nil, "it is signed, and no cursor key is configured"},
		{"unsigned, key here", good, key, "it is not signed, and a cursor key is configured"},
		{"check cut off", b64(plain[:HeaderLen+1]), nil, "truncated: too short for its check"},
		{"page size", made(binary.AppendUvarint(nil, 1<<40)), nil, "its page size is malformed"},
		{"no runs", made([]byte{100, 0, 0}), nil, "its range count is malformed"},
		{"more runs than bytes", made([]byte{100, 9, 0}, make([]byte, 6)), nil, "its range count is malformed"},
		{"header not filled with zeros", made([]byte{100, 1, 0xff, 0, 0, 0}), nil, "its header is malformed"},
		{"run cut short", made(oneRun, []byte{0x80, 0x80, 0x80}), nil, "truncated in range 0"},
		{"empty paging state", made(oneRun, []byte{0x0a, Open, 0}), nil, "the paging state of range 0 is malformed"},
		{"paging state past the end", made(oneRun, []byte{0x0a, Open, 9}), nil, "the paging state of range 0 is malformed"},
		{"unknown status", made(oneRun, []byte{0x0a, 7, 0}), nil, "range 0 has an unknown status 7"},
		{"run not filled with zeros", made(oneRun, []byte{0x0a, Pending, 5}), nil, "range 0 is malformed"},
		{"bytes after the runs", made(oneRun, []byte{0x0a, Pending, 0}, []byte{0, 0, 0}), nil, "3 bytes after its last range"},
		{"signed with another key", signed, []byte("k2"), "signature does not match: the checkpoint was altered or signed with another key"},
		{"damaged", with(5, plain[5]^1), nil, "checksum does not match: the checkpoint was damaged or altered"},
		{"another scan", encodeCheckpoint(NewFingerprint("ks", "SCAN u", nil), 100, testRanges(), nil, nil), nil, "made for another table, other columns or another filter"},
		{"ranges out of order", ends(5, 3), nil, "range 1 ends at 3, not after 5 where it starts"},
		{"a range from -2^63 to -2^63", ends(ring.MinToken, ring.MaxToken), nil, "range 0 ends at -9223372036854775808"},
		{"ranges short of the ring's end", ends(5), nil, "its ranges end at 5, not at the end of the ring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeCheckpoint(tt.text, fp, tt.key)
			if !refused(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want an *Error that says %q", err, tt.msg)
			}
		})
	}
}
