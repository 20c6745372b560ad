package cursor

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"math"
	"strings"

	"github.com/cqlseq/cqlseq/internal/ring"
)

// A scan's checkpoint is the Cursor of its pages: text that resumes the
// scan right after that page. Like a cursor it is base64url without
// padding, checked by a CRC-32C or signed with HMAC-SHA256 (WithCursorKey),
// and tied by a fingerprint to the table, the columns, the filter and its
// values:
//
//	header: version (1 byte, 'u') | flags (1 byte) | fingerprint (16 bytes) |
//	    page size (uvarint) | runs (uvarint) | zeros to a multiple of 3 bytes
//	for each run, in token order: end (varint) | status (1 byte) |
//	    for an open range: paging state length (uvarint) | paging state |
//	    zeros to a multiple of 3 bytes
//	check: without a key, the CRC-32C (4 bytes) of the header followed by
//	    the CRC-32C of each run; with one, the HMAC-SHA256 (32 bytes) of the
//	    header followed by the SHA-256 of each run
//
// The ranges partition the ring: the first starts at -2^63, each of the
// others where the one before ends, the last ends at 2^63-1. It records the
// ranges themselves, not the ring: a scan resumed after the ring changed
// still reads each range once. A range is pending (not started), open
// (read up to its paging state) or done. Neighbouring ranges both done or
// both pending are written as one, so a checkpoint holds the open ranges
// and the runs between them, not every range of the split: reading ranges
// roughly in token order, as a scan does, keeps it short however large the
// ring (a resumed scan cuts pending runs again, see ring.Resume).
//
// The header and every run fill whole groups of 3 bytes, so the text of a
// checkpoint is the base64 texts of its parts end to end, and the check
// covers each run through its digest. A scan keeps each run ([Run]: its
// text and digest) from page to page and encodes again only the runs of
// the ranges that moved: a page's checkpoint ([CheckpointEncoder.Text])
// costs those runs, a pass over the runs' digests and a copy of the text,
// however long the paging states of the other open ranges. A run's SHA-256
// stands for it in the HMAC as surely as its bytes would (a second run with
// the same SHA-256 is not to be found), so a signed checkpoint is as hard
// to forge.
//
// How long a checkpoint is: a run is at most 12 bytes, an open range 16
// bytes more than its paging state; the header and the check are at most
// 27 and 32 bytes; the text is 4/3 of that. A scan reads one range per
// worker at a time, and a resumed one gives its workers the checkpoint's
// open ranges first: it has at most as many open ranges as its parallelism
// or as the checkpoint it resumed from, whichever is more, so never more
// than MaxOpenRanges. Cassandra refuses a partition key longer than 65,535
// bytes and clustering values longer than 65,535 bytes together, and a
// paging state holds the last row's: 131,090 bytes with both at 65,535
// (measured on Cassandra 5.0), a few bytes more per clustering column.
const (
	checkpointVersion = 'u'

	// MaxOpenRanges is the most ranges a scan has open: one per worker,
	// and a scan has at most package cqlseq's maxParallelism, which
	// checks that the two are equal.
	MaxOpenRanges = 1024
	// maxRanges bounds the runs of a checkpoint: far more than a scan
	// writes for a real ring (a split has one range per vnode range at
	// least: 300 nodes of 256 vnodes make 76,800, and in the worst case
	// every range is a run), and few enough that a forged unsigned
	// checkpoint cannot make a scan of millions of ranges.
	maxRanges = 1 << 20
	// maxPagingState is twice the paging state of the longest keys
	// Cassandra takes, and MaxCheckpointLen the text of maxRanges runs and
	// MaxOpenRanges open ranges with such states: more than any scan
	// writes. It bounds what a forged checkpoint can make DecodeCheckpoint
	// allocate (about the text's length, and at most maxRanges ranges).
	maxPagingState   = 256 << 10
	MaxCheckpointLen = (maxRanges*12 + MaxOpenRanges*(maxPagingState+16) + 27 + macLen + 2) / 3 * 4
)

// The status of a range in a checkpoint ([Status]).
const (
	Pending = 0 // not started
	Open    = 1 // read up to its paging state
	Done    = 2 // read to its end
)

// Status returns the status of r in a checkpoint: [Pending], [Open] or
// [Done].
func Status(r *ring.Task) byte {
	switch {
	case r.Done:
		return Done
	case len(r.State) > 0:
		return Open
	}
	return Pending
}

// A Run is one run of a checkpoint, encoded ([CheckpointEncoder.Run]): its
// base64 text and its digest, a SHA-256 with a key, else a CRC-32C in the
// first 4 bytes. The zero Run is none.
type Run struct {
	text string
	sum  [sha256.Size]byte
}

// A CheckpointEncoder writes the checkpoints of one scan: its fingerprint,
// the page size its paging states are made at and the key that signs them
// (none if empty). It keeps its scratch buffers and the key's HMAC from one
// checkpoint to the next, and is not safe for concurrent use.
type CheckpointEncoder struct {
	fp       Fingerprint
	pageSize int
	key      []byte
	raw, buf []byte    // scratch
	mac      hash.Hash // HMAC-SHA256 under key, made once
}

// NewCheckpointEncoder returns the encoder of a scan's checkpoints.
func NewCheckpointEncoder(fp Fingerprint, pageSize int, key []byte) *CheckpointEncoder {
	return &CheckpointEncoder{fp: fp, pageSize: max(pageSize, 0), key: key}
}

// Run encodes the run that r ends: r's end, its status and, if r is open,
// its paging state. A run ends at an open range, at the last range, and
// where the status changes; the run of a pending or done range stands for
// it and the neighbours before it of the same status.
func (e *CheckpointEncoder) Run(r *ring.Task) Run {
	b := binary.AppendVarint(e.raw[:0], r.End)
	s := Status(r)
	b = append(b, s)
	if s == Open {
		b = binary.AppendUvarint(b, uint64(len(r.State)))
		b = append(b, r.State...)
	}
	for len(b)%3 != 0 {
		b = append(b, 0)
	}
	e.raw = b
	var run Run
	if len(e.key) > 0 {
		run.sum = sha256.Sum256(b)
	} else {
		binary.BigEndian.PutUint32(run.sum[:], crc32.Checksum(b, castagnoli))
	}
	e.buf = base64.RawURLEncoding.AppendEncode(e.buf[:0], b)
	run.text = string(e.buf)
	return run
}

// Text returns the checkpoint of runs: the runs of the ranges that
// partition the ring, in token order, each made by Run.
func (e *CheckpointEncoder) Text(runs []*Run) string {
	sumLen := crcLen
	if len(e.key) > 0 {
		sumLen = sha256.Size
	}
	// The runs' digests and the length of their texts.
	sums := e.buf[:0]
	size := 0
	for _, r := range runs {
		sums = append(sums, r.sum[:sumLen]...)
		size += len(r.text)
	}
	e.buf = sums
	var flags byte
	if len(e.key) > 0 {
		flags = flagSigned
	}
	h := append(e.raw[:0], checkpointVersion, flags)
	h = append(h, e.fp[:]...)
	h = binary.AppendUvarint(h, uint64(e.pageSize))
	h = binary.AppendUvarint(h, uint64(len(runs)))
	for len(h)%3 != 0 {
		h = append(h, 0)
	}
	e.raw = h
	// The check: of the header and the runs' digests.
	var cb [macLen]byte
	var check []byte
	if len(e.key) > 0 {
		if e.mac == nil {
			e.mac = hmac.New(sha256.New, e.key)
		}
		e.mac.Reset()
		e.mac.Write(h)
		e.mac.Write(sums)
		check = e.mac.Sum(cb[:0])
	} else {
		crc := crc32.Update(crc32.Checksum(h, castagnoli), castagnoli, sums)
		check = binary.BigEndian.AppendUint32(cb[:0], crc)
	}
	enc := base64.RawURLEncoding
	var out strings.Builder
	out.Grow(enc.EncodedLen(len(h)) + size + enc.EncodedLen(len(check)))
	e.buf = enc.AppendEncode(e.buf[:0], h)
	out.Write(e.buf)
	for _, r := range runs {
		out.WriteString(r.text)
	}
	e.buf = enc.AppendEncode(e.buf[:0], check)
	out.Write(e.buf)
	return out.String()
}

// DecodeCheckpoint checks text against the scan's fingerprint and key and
// returns its ranges (without replicas) and the page size it was made at.
// Its errors are [*Error]s that say what is wrong. It allocates about the
// text's length (the paging states share one buffer) and a ring.Task per
// run.
func DecodeCheckpoint(text string, fp Fingerprint, key []byte) ([]ring.Task, int, error) {
	return decodeCheckpoint(text, fp, key, MaxCheckpointLen)
}

// decodeCheckpoint is DecodeCheckpoint, refusing a text longer than
// maxLen.
func decodeCheckpoint(text string, fp Fingerprint, key []byte, maxLen int) ([]ring.Task, int, error) {
	if len(text) > maxLen {
		return nil, 0, refusef("%d bytes long, more than a checkpoint can be", len(text))
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(text)
	if err != nil {
		return nil, 0, refusef("not base64url text: %v", err)
	}
	if len(raw) < HeaderLen {
		return nil, 0, refusef("truncated: %d bytes", len(raw))
	}
	switch raw[0] {
	case checkpointVersion:
	case 's', 't':
		return nil, 0, refusef("made by an earlier version of cqlseq, whose checkpoints this one cannot read")
	default:
		return nil, 0, refusef("not a scan checkpoint (a cursor of Stream or Pages?)")
	}
	flags := raw[1]
	if flags&^flagSigned != 0 {
		return nil, 0, refusef("unknown flags %#x", flags)
	}
	signed := flags&flagSigned != 0
	switch {
	case signed && len(key) == 0:
		return nil, 0, refusef("it is signed, and no cursor key is configured to check it")
	case !signed && len(key) > 0:
		return nil, 0, refusef("it is not signed, and a cursor key is configured")
	}
	checkLen := crcLen
	if signed {
		checkLen = macLen
	}
	if len(raw) < HeaderLen+checkLen {
		return nil, 0, refusef("truncated: too short for its check")
	}
	body, check := raw[:len(raw)-checkLen], raw[len(raw)-checkLen:]
	rest := body[HeaderLen:]
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return 0, false
		}
		rest = rest[n:]
		return v, true
	}
	varint := func() (int64, bool) {
		v, n := binary.Varint(rest)
		if n <= 0 {
			return 0, false
		}
		rest = rest[n:]
		return v, true
	}
	// pad skips the zeros that fill the part that started at from to a
	// multiple of 3 bytes.
	pad := func(from []byte) bool {
		for (len(from)-len(rest))%3 != 0 {
			if len(rest) == 0 || rest[0] != 0 {
				return false
			}
			rest = rest[1:]
		}
		return true
	}
	size, ok := uvarint()
	if !ok || size < 1 || size > math.MaxInt32 { // 0 would turn paging off
		return nil, 0, refusef("its page size is malformed")
	}
	n, ok := uvarint()
	if !ok || n == 0 || n > maxRanges || n > uint64(len(rest)/3) { // at least 3 bytes a run
		return nil, 0, refusef("its range count is malformed")
	}
	if !pad(body) {
		return nil, 0, refusef("its header is malformed")
	}
	// The check's input: the header, then each run's digest.
	var mac hash.Hash
	var crc uint32
	if signed {
		mac = hmac.New(sha256.New, key)
		mac.Write(body[:len(body)-len(rest)])
	} else {
		crc = crc32.Update(0, castagnoli, body[:len(body)-len(rest)])
	}
	ranges := make([]ring.Task, 0, n)
	for range n {
		from := rest
		var r ring.Task
		var ok bool
		r.End, ok = varint()
		if !ok || len(rest) == 0 {
			return nil, 0, refusef("truncated in range %d", len(ranges))
		}
		status := rest[0]
		rest = rest[1:]
		switch status {
		case Pending:
		case Done:
			r.Done = true
		case Open:
			l, ok := uvarint()
			if !ok || l == 0 || l > uint64(len(rest)) {
				return nil, 0, refusef("the paging state of range %d is malformed", len(ranges))
			}
			r.State = rest[:l:l]
			rest = rest[l:]
		default:
			return nil, 0, refusef("range %d has an unknown status %d", len(ranges), status)
		}
		if !pad(from) {
			return nil, 0, refusef("range %d is malformed", len(ranges))
		}
		run := from[:len(from)-len(rest)]
		if signed {
			sum := sha256.Sum256(run)
			mac.Write(sum[:])
		} else {
			var sum [crcLen]byte
			binary.BigEndian.PutUint32(sum[:], crc32.Checksum(run, castagnoli))
			crc = crc32.Update(crc, castagnoli, sum[:])
		}
		ranges = append(ranges, r)
	}
	if len(rest) != 0 {
		return nil, 0, refusef("%d bytes after its last range", len(rest))
	}
	if signed {
		if !hmac.Equal(mac.Sum(nil), check) {
			return nil, 0, refusef("signature does not match: the checkpoint was altered or signed with another key")
		}
	} else if crc != binary.BigEndian.Uint32(check) {
		return nil, 0, refusef("checksum does not match: the checkpoint was damaged or altered")
	}
	if !bytes.Equal(body[2:HeaderLen], fp[:]) {
		return nil, 0, refusef("it was made for another table, other columns or another filter")
	}
	start := ring.MinToken
	for i := range ranges {
		r := &ranges[i]
		if r.End <= start {
			return nil, 0, refusef("range %d ends at %d, not after %d where it starts", i, r.End, start)
		}
		r.Start, start = start, r.End
	}
	if start != ring.MaxToken {
		return nil, 0, refusef("its ranges end at %d, not at the end of the ring", start)
	}
	return ranges, int(size), nil
}
