package cqlseq

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// A scan's checkpoint is the Cursor of its pages: text that resumes the
// scan right after that page. Like a cursor it is base64url without
// padding, checked by a CRC-32C or signed with HMAC-SHA256 (WithCursorKey),
// and tied by a fingerprint to the table, the columns, the filter and its
// values:
//
//	version (1 byte, 's') | flags (1 byte) | fingerprint (16 bytes) |
//	page size (uvarint) | ranges (uvarint) |
//	for each range: start (varint) | end (varint) | status (1 byte) |
//	    for an open range: paging state length (uvarint) | paging state |
//	check
//
// It records the ranges themselves, not the ring: a scan resumed after the
// ring changed still reads each range once. A range is pending (not
// started), open (read up to its paging state) or done.
const (
	checkpointVersion = 's'
	rangePending      = 0
	rangeOpen         = 1
	rangeDone         = 2
	// maxCheckpointLen bounds the text accepted: a paging state per open
	// range, each up to the size of a key; maxRanges the ranges, far more
	// than any split of a real ring (see maxParallelism).
	maxCheckpointLen = 16 << 20
	maxRanges        = 1 << 16
)

// encodeCheckpoint returns the checkpoint of ranges.
func encodeCheckpoint(fp fingerprint, pageSize int, ranges []scanRange, key []byte) string {
	b := []byte{checkpointVersion, 0}
	if len(key) > 0 {
		b[1] |= flagSigned
	}
	b = append(b, fp[:]...)
	b = binary.AppendUvarint(b, uint64(max(pageSize, 0)))
	b = binary.AppendUvarint(b, uint64(len(ranges)))
	for _, r := range ranges {
		b = binary.AppendVarint(b, r.start)
		b = binary.AppendVarint(b, r.end)
		switch {
		case r.done:
			b = append(b, rangeDone)
		case len(r.state) > 0:
			b = append(b, rangeOpen)
			b = binary.AppendUvarint(b, uint64(len(r.state)))
			b = append(b, r.state...)
		default:
			b = append(b, rangePending)
		}
	}
	if len(key) > 0 {
		m := hmac.New(sha256.New, key)
		m.Write(b)
		b = m.Sum(b)
	} else {
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	}
	return base64.RawURLEncoding.EncodeToString(b)
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
	if len(raw) < 2+fingerprintLen {
		return nil, 0, bad("truncated: %d bytes", len(raw))
	}
	if raw[0] != checkpointVersion {
		return nil, 0, bad("not a scan checkpoint (a cursor of Stream or Pages?)")
	}
	flags := raw[1]
	if flags&^flagSigned != 0 {
		return nil, 0, bad("unknown flags %#x", flags)
	}
	signed := flags&flagSigned != 0
	switch {
	case signed && len(key) == 0:
		return nil, 0, bad("it is signed, and no cursor key is configured to check it")
	case !signed && len(key) > 0:
		return nil, 0, bad("it is not signed, and a cursor key is configured")
	}
	var body []byte
	if signed {
		if len(raw) < 2+fingerprintLen+macLen {
			return nil, 0, bad("truncated: too short for its signature")
		}
		body = raw[:len(raw)-macLen]
		m := hmac.New(sha256.New, key)
		m.Write(body)
		if !hmac.Equal(m.Sum(nil), raw[len(body):]) {
			return nil, 0, bad("signature does not match: the checkpoint was altered or signed with another key")
		}
	} else {
		if len(raw) < 2+fingerprintLen+crcLen {
			return nil, 0, bad("truncated: too short for its checksum")
		}
		body = raw[:len(raw)-crcLen]
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(raw[len(body):]) {
			return nil, 0, bad("checksum does not match: the checkpoint was damaged or altered")
		}
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
	if !ok || n == 0 || n > maxRanges || n > uint64(len(rest)/3) { // at least 3 bytes a range
		return nil, 0, bad("its range count is malformed")
	}
	var ranges []scanRange
	for range n {
		var r scanRange
		var ok1, ok2 bool
		r.start, ok1 = varint()
		r.end, ok2 = varint()
		if !ok1 || !ok2 || len(rest) == 0 {
			return nil, 0, bad("truncated in range %d", len(ranges))
		}
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
	return ranges, int(size), nil
}
