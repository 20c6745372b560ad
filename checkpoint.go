package cqlseq

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
)

// A scan's checkpoint is the Cursor of its pages: text that resumes the
// scan right after that page. Like a cursor it is base64url without
// padding, checked by a CRC-32C or signed with HMAC-SHA256 (WithCursorKey),
// and tied by a fingerprint to the table, the columns, the filter and its
// values:
//
//	version (1 byte, 't') | flags (1 byte) | fingerprint (16 bytes) |
//	page size (uvarint) | ranges (uvarint) |
//	for each range, in token order: end (varint) | status (1 byte) |
//	    for an open range: paging state length (uvarint) | paging state |
//	check
//
// The ranges partition the ring: the first starts at -2^63, each of the
// others where the one before ends, the last ends at 2^63-1. It records the
// ranges themselves, not the ring: a scan resumed after the ring changed
// still reads each range once. A range is pending (not started), open
// (read up to its paging state) or done. Neighbouring ranges both done or
// both pending are written as one, so a checkpoint holds the open ranges
// and the runs between them, not every range of the split: reading ranges
// roughly in token order, as a scan does, keeps it short however large the
// ring (a resumed scan cuts pending runs again, see resume).
const (
	checkpointVersion = 't'
	rangePending      = 0
	rangeOpen         = 1
	rangeDone         = 2
	// maxCheckpointLen bounds the text accepted: a paging state per open
	// range, each up to the size of a key; maxRanges the runs of ranges,
	// far more than encode writes for a real ring (a split has one range
	// per vnode range at least: 300 nodes of 256 vnodes make 76,800, and
	// in the worst case every range is a run), and few enough that a
	// forged unsigned checkpoint cannot make a scan of millions of ranges.
	maxCheckpointLen = 16 << 20
	maxRanges        = 1 << 20
)

// status returns the status byte of r.
func (r *scanRange) status() byte {
	switch {
	case r.done:
		return rangeDone
	case len(r.state) > 0:
		return rangeOpen
	}
	return rangePending
}

// encodeCheckpoint returns the checkpoint of ranges, which partition the
// ring; order holds their indexes in token order (nil if ranges are in
// it). It costs a pass over the ranges and an encoding of the runs.
func encodeCheckpoint(fp fingerprint, pageSize int, ranges []scanRange, order []int, key []byte) string {
	at := func(i int) *scanRange {
		if order != nil {
			return &ranges[order[i]]
		}
		return &ranges[i]
	}
	// A run ends at an open range, at the last range, and where the status
	// changes.
	ends := func(i int) bool {
		s := at(i).status()
		return s == rangeOpen || i == len(ranges)-1 || at(i+1).status() != s
	}
	runs := 0
	for i := range ranges {
		if ends(i) {
			runs++
		}
	}
	b := []byte{checkpointVersion, 0}
	b = append(b, fp[:]...)
	b = binary.AppendUvarint(b, uint64(max(pageSize, 0)))
	b = binary.AppendUvarint(b, uint64(runs))
	for i := range ranges {
		if !ends(i) {
			continue
		}
		r := at(i)
		b = binary.AppendVarint(b, r.end)
		b = append(b, r.status())
		if len(r.state) > 0 && !r.done {
			b = binary.AppendUvarint(b, uint64(len(r.state)))
			b = append(b, r.state...)
		}
	}
	return seal(b, key)
}

// decodeCheckpoint checks text against the scan's fingerprint and key and
// returns its ranges (without replicas) and the page size it was made at.
// Its errors match ErrInvalidCursor and ErrInvalidArgument.
func decodeCheckpoint(text string, fp fingerprint, key []byte) ([]scanRange, int, error) {
	bad := func(format string, args ...any) error {
		return &wrapped{"cqlseq: invalid scan checkpoint: " + fmt.Sprintf(format, args...), []error{ErrInvalidCursor, ErrInvalidArgument}}
	}
	if len(text) > maxCheckpointLen {
		return nil, 0, bad("%d bytes long, more than a checkpoint can be", len(text))
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(text)
	if err != nil {
		return nil, 0, bad("not base64url text: %v", err)
	}
	if len(raw) < headerLen {
		return nil, 0, bad("truncated: %d bytes", len(raw))
	}
	switch raw[0] {
	case checkpointVersion:
	case 's':
		return nil, 0, bad("made by an earlier version of cqlseq, whose checkpoints this one cannot read")
	default:
		return nil, 0, bad("not a scan checkpoint (a cursor of Stream or Pages?)")
	}
	body, err := unseal(raw, key, "checkpoint", bad)
	if err != nil {
		return nil, 0, err
	}
	if !bytes.Equal(body[2:2+fingerprintLen], fp[:]) {
		return nil, 0, bad("it was made for another table, other columns or another filter")
	}
	rest := body[2+fingerprintLen:]
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
	size, ok := uvarint()
	if !ok || size > math.MaxInt32 {
		return nil, 0, bad("its page size is malformed")
	}
	n, ok := uvarint()
	if !ok || n == 0 || n > maxRanges || n > uint64(len(rest)/2) { // at least 2 bytes a range
		return nil, 0, bad("its range count is malformed")
	}
	var ranges []scanRange
	start := minToken
	for range n {
		r := scanRange{tokenRange: tokenRange{start: start}}
		var ok bool
		r.end, ok = varint()
		if !ok || len(rest) == 0 {
			return nil, 0, bad("truncated in range %d", len(ranges))
		}
		if r.end <= start {
			return nil, 0, bad("range %d ends at %d, not after %d where it starts", len(ranges), r.end, start)
		}
		start = r.end
		status := rest[0]
		rest = rest[1:]
		switch status {
		case rangePending:
		case rangeDone:
			r.done = true
		case rangeOpen:
			l, ok := uvarint()
			if !ok || l == 0 || l > uint64(len(rest)) {
				return nil, 0, bad("the paging state of range %d is malformed", len(ranges))
			}
			r.state = bytes.Clone(rest[:l])
			rest = rest[l:]
		default:
			return nil, 0, bad("range %d has an unknown status %d", len(ranges), status)
		}
		ranges = append(ranges, r)
	}
	if len(rest) != 0 {
		return nil, 0, bad("%d bytes after its last range", len(rest))
	}
	if start != maxToken {
		return nil, 0, bad("its ranges end at %d, not at the end of the ring", start)
	}
	return ranges, int(size), nil
}
