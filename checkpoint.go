package cqlseq

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"math"
	"math/bits"
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
// ring (a resumed scan cuts pending runs again, see resume).
//
// The header and every run fill whole groups of 3 bytes, so the text of a
// checkpoint is the base64 texts of its parts end to end, and the check
// covers each run through its digest. A scan keeps each run's text and
// digest from page to page (checkpointer) and encodes again only the runs
// of the ranges that moved: a page's checkpoint costs those runs, a pass
// over the runs' digests and a copy of the text, however long the paging
// states of the other open ranges. A run's SHA-256 stands for it in the
// HMAC as surely as its bytes would (a second run with the same SHA-256
// is not to be found), so a signed checkpoint is as hard to forge.
//
// How long a checkpoint is: a run is at most 12 bytes, an open range 16
// bytes more than its paging state; the header and the check are at most
// 27 and 32 bytes; the text is 4/3 of that. A scan reads one range per
// worker at a time, and a resumed one gives its workers the checkpoint's
// open ranges first: it has at most as many open ranges as its parallelism
// or as the checkpoint it resumed from, whichever is more, so never more
// than maxParallelism. Cassandra refuses a partition key longer than 65,535
// bytes and clustering values longer than 65,535 bytes together, and a
// paging state holds the last row's: 131,090 bytes with both at 65,535
// (measured on Cassandra 5.0), a few bytes more per clustering column.
const (
	checkpointVersion = 'u'
	rangePending      = 0
	rangeOpen         = 1
	rangeDone         = 2
	// maxRanges bounds the runs of a checkpoint: far more than encode
	// writes for a real ring (a split has one range per vnode range at
	// least: 300 nodes of 256 vnodes make 76,800, and in the worst case
	// every range is a run), and few enough that a forged unsigned
	// checkpoint cannot make a scan of millions of ranges.
	maxRanges = 1 << 20
	// maxPagingState is twice the paging state of the longest keys
	// Cassandra takes, and maxCheckpointLen the text of maxRanges runs and
	// maxParallelism open ranges with such states: more than any scan
	// writes. It bounds what a forged checkpoint can make decode allocate
	// (about the text's length, and at most maxRanges ranges).
	maxPagingState   = 256 << 10
	maxCheckpointLen = (maxRanges*12 + maxParallelism*(maxPagingState+16) + 27 + macLen + 2) / 3 * 4
)

// status returns the status byte of r.
func status(r *ring.Task) byte {
	switch {
	case r.Done:
		return rangeDone
	case len(r.State) > 0:
		return rangeOpen
	}
	return rangePending
}

// checkpointer makes the checkpoints of one ranging of a scan. It keeps
// the base64 text and the digest of every run, by the position in token
// order of the range that ends it; moved(i) says that range i changed (its
// status or its paging state), and text encodes again only the runs that
// ended, or end now, at i or just before it.
type checkpointer struct {
	fp       fingerprint
	pageSize int
	key      []byte
	ranges   []ring.Task // the scan's: read, never written
	order    []int       // indexes of ranges in token order; nil if ranges are in it
	pos      []int       // order's inverse: the position of each range
	runs     []ckRun     // by position: the run that ends there, if one does
	ends     []uint64    // bit p: a run ends at position p
	count    int         // runs
	size     int         // length of the runs' texts
	moves    []int       // indexes of the ranges moved since the last text
	inMoves  []uint64    // bit i: i is in moves
	encoded  int         // runs encoded so far, for tests
	raw, buf []byte      // scratch
	mac      hash.Hash   // HMAC-SHA256 under key, made once
}

// ckRun is one run of a checkpoint: its base64 text and its digest, a
// SHA-256 with a key, else a CRC-32C in the first 4 bytes.
type ckRun struct {
	text string
	sum  [sha256.Size]byte
}

// newCheckpointer returns the checkpointer of ranges (see encodeCheckpoint),
// its runs encoded.
func newCheckpointer(fp fingerprint, pageSize int, ranges []ring.Task, order []int, key []byte) *checkpointer {
	n := len(ranges)
	c := &checkpointer{fp: fp, pageSize: max(pageSize, 0), key: key, ranges: ranges, order: order,
		runs: make([]ckRun, n), ends: make([]uint64, (n+63)/64), inMoves: make([]uint64, (n+63)/64)}
	if order != nil {
		c.pos = make([]int, n)
		for p, i := range order {
			c.pos[i] = p
		}
	}
	for p := range n {
		c.update(p, true)
	}
	return c
}

// at returns the range at position p in token order.
func (c *checkpointer) at(p int) *ring.Task {
	if c.order != nil {
		return &c.ranges[c.order[p]]
	}
	return &c.ranges[p]
}

// endsRun reports whether a run ends at position p: at an open range, at
// the last range, and where the status changes.
func (c *checkpointer) endsRun(p int) bool {
	s := status(c.at(p))
	return s == rangeOpen || p == len(c.ranges)-1 || status(c.at(p+1)) != s
}

// moved records that range i changed since the last text. On a nil
// checkpointer (a scan whose checkpoints nobody reads) it does nothing.
func (c *checkpointer) moved(i int) {
	if c == nil || c.inMoves[i/64]&(1<<(i%64)) != 0 {
		return
	}
	c.inMoves[i/64] |= 1 << (i % 64)
	c.moves = append(c.moves, i)
}

// update brings the run at position p up to date: none if no run ends
// there, else encoded again if force or if none ended there before (a
// run's bytes are those of the range that ends it: unless that range
// moved, they stay the same).
func (c *checkpointer) update(p int, force bool) {
	w, bit := p/64, uint64(1)<<(p%64)
	had := c.ends[w]&bit != 0
	if !c.endsRun(p) {
		if had {
			c.size -= len(c.runs[p].text)
			c.runs[p] = ckRun{}
			c.ends[w] &^= bit
			c.count--
		}
		return
	}
	if had && !force {
		return
	}
	r := c.at(p)
	b := binary.AppendVarint(c.raw[:0], r.End)
	b = append(b, status(r))
	if status(r) == rangeOpen {
		b = binary.AppendUvarint(b, uint64(len(r.State)))
		b = append(b, r.State...)
	}
	for len(b)%3 != 0 {
		b = append(b, 0)
	}
	c.raw = b
	var run ckRun
	if len(c.key) > 0 {
		run.sum = sha256.Sum256(b)
	} else {
		binary.BigEndian.PutUint32(run.sum[:], crc32.Checksum(b, castagnoli))
	}
	c.buf = base64.RawURLEncoding.AppendEncode(c.buf[:0], b)
	run.text = string(c.buf)
	c.size += len(run.text) - len(c.runs[p].text)
	c.runs[p] = run
	c.encoded++
	if !had {
		c.ends[w] |= bit
		c.count++
	}
}

// each calls f with the position of every run, in token order.
func (c *checkpointer) each(f func(p int)) {
	for w, word := range c.ends {
		for word != 0 {
			f(w*64 + bits.TrailingZeros64(word))
			word &= word - 1
		}
	}
}

// text returns the checkpoint of the ranges as they are now.
func (c *checkpointer) text() string {
	for _, i := range c.moves {
		c.inMoves[i/64] &^= 1 << (i % 64)
		p := i
		if c.pos != nil {
			p = c.pos[i]
		}
		// A range's status decides whether a run ends at it and at the
		// range before it, nowhere else.
		c.update(p, true)
		if p > 0 {
			c.update(p-1, false)
		}
	}
	c.moves = c.moves[:0]
	var flags byte
	sumLen := crcLen
	if len(c.key) > 0 {
		flags, sumLen = flagSigned, sha256.Size
	}
	var hb [headerLen + 2*binary.MaxVarintLen64 + 2]byte
	h := append(hb[:0], checkpointVersion, flags)
	h = append(h, c.fp[:]...)
	h = binary.AppendUvarint(h, uint64(c.pageSize))
	h = binary.AppendUvarint(h, uint64(c.count))
	for len(h)%3 != 0 {
		h = append(h, 0)
	}
	// The check: of the header and the runs' digests.
	in := append(c.buf[:0], h...)
	c.each(func(p int) { in = append(in, c.runs[p].sum[:sumLen]...) })
	c.buf = in
	var cb [macLen]byte
	var check []byte
	if len(c.key) > 0 {
		if c.mac == nil {
			c.mac = hmac.New(sha256.New, c.key)
		}
		c.mac.Reset()
		c.mac.Write(in)
		check = c.mac.Sum(cb[:0])
	} else {
		check = binary.BigEndian.AppendUint32(cb[:0], crc32.Checksum(in, castagnoli))
	}
	enc := base64.RawURLEncoding
	var out strings.Builder
	out.Grow(enc.EncodedLen(len(h)) + c.size + enc.EncodedLen(len(check)))
	c.buf = enc.AppendEncode(c.buf[:0], h)
	out.Write(c.buf)
	c.each(func(p int) { out.WriteString(c.runs[p].text) })
	c.buf = enc.AppendEncode(c.buf[:0], check)
	out.Write(c.buf)
	return out.String()
}

// decodeCheckpoint checks text against the scan's fingerprint and key and
// returns its ranges (without replicas) and the page size it was made at.
// Its errors match ErrInvalidCursor and ErrInvalidArgument. It allocates
// about the text's length (the paging states share one buffer) and a
// ring.Task per run.
func decodeCheckpoint(text string, fp fingerprint, key []byte) ([]ring.Task, int, error) {
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
	case 's', 't':
		return nil, 0, bad("made by an earlier version of cqlseq, whose checkpoints this one cannot read")
	default:
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
	checkLen := crcLen
	if signed {
		checkLen = macLen
	}
	if len(raw) < headerLen+checkLen {
		return nil, 0, bad("truncated: too short for its check")
	}
	body, check := raw[:len(raw)-checkLen], raw[len(raw)-checkLen:]
	rest := body[headerLen:]
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
	if !ok || size > math.MaxInt32 {
		return nil, 0, bad("its page size is malformed")
	}
	n, ok := uvarint()
	if !ok || n == 0 || n > maxRanges || n > uint64(len(rest)/3) { // at least 3 bytes a run
		return nil, 0, bad("its range count is malformed")
	}
	if !pad(body) {
		return nil, 0, bad("its header is malformed")
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
			return nil, 0, bad("truncated in range %d", len(ranges))
		}
		status := rest[0]
		rest = rest[1:]
		switch status {
		case rangePending:
		case rangeDone:
			r.Done = true
		case rangeOpen:
			l, ok := uvarint()
			if !ok || l == 0 || l > uint64(len(rest)) {
				return nil, 0, bad("the paging state of range %d is malformed", len(ranges))
			}
			r.State = rest[:l:l]
			rest = rest[l:]
		default:
			return nil, 0, bad("range %d has an unknown status %d", len(ranges), status)
		}
		if !pad(from) {
			return nil, 0, bad("range %d is malformed", len(ranges))
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
		return nil, 0, bad("%d bytes after its last range", len(rest))
	}
	if signed {
		if !hmac.Equal(mac.Sum(nil), check) {
			return nil, 0, bad("signature does not match: the checkpoint was altered or signed with another key")
		}
	} else if crc != binary.BigEndian.Uint32(check) {
		return nil, 0, bad("checksum does not match: the checkpoint was damaged or altered")
	}
	if !bytes.Equal(body[2:2+fingerprintLen], fp[:]) {
		return nil, 0, bad("it was made for another table, other columns or another filter")
	}
	start := ring.MinToken
	for i := range ranges {
		r := &ranges[i]
		if r.End <= start {
			return nil, 0, bad("range %d ends at %d, not after %d where it starts", i, r.End, start)
		}
		r.Start, start = start, r.End
	}
	if start != ring.MaxToken {
		return nil, 0, bad("its ranges end at %d, not at the end of the ring", start)
	}
	return ranges, int(size), nil
}
