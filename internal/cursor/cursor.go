// Package cursor is the text of a stream's cursors and of a scan's
// checkpoints: how they are written ([Encode], [CheckpointEncoder]),
// checked and read ([Decode], [DecodeCheckpoint]), and the [Fingerprint]
// that ties each to one statement and its bound values. Package cqlseq
// makes and reads them with it and turns its refusals ([*Error]) into its
// own errors, which match cqlseq.ErrInvalidCursor. It is internal to this
// repository: nothing here is API, and the texts are opaque to users.
package cursor

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

// A cursor is text-safe: base64url without padding of
//
//	version (1 byte) | flags (1 byte) | fingerprint (16 bytes) |
//	page size (uvarint) | paging state | check
//
// The fingerprint ties the cursor to one statement, its keyspace and its
// bound values; the page size is the one the paging state was made at,
// which Cassandra needs to resume a query with a LIMIT exactly. The check
// is an HMAC-SHA256 (32 bytes) when a key is configured, which makes the
// cursor tamper-evident, else a CRC-32C (4 bytes), which catches a cursor
// damaged in storage or transit but not one altered on purpose. The paging
// state itself is Cassandra's: opaque, and meaningful only to the same
// query.
const (
	cursorVersion = 2
	flagSigned    = 1
	// HeaderLen is the length of what cursors and checkpoints begin with:
	// their version, their flags and their fingerprint.
	HeaderLen = 2 + FingerprintLen
	macLen    = sha256.Size
	crcLen    = 4
	// maxCursorLen bounds the text accepted. A paging state holds the last
	// row's partition key (up to 64 KiB) and clustering key (up to 64 KiB
	// per component): 1 MiB of text holds any cursor a stream makes from
	// a key Cassandra accepts.
	maxCursorLen = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// An Error is why a cursor or a checkpoint cannot be used: every error of
// [Decode] and [DecodeCheckpoint] is one. Its text is the reason alone;
// package cqlseq says what was refused ("cqlseq: invalid cursor: ") and
// makes the error match its own.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return e.Reason }

// refusef returns the [*Error] of a cursor or checkpoint that cannot be
// used, its reason formatted as by fmt.Sprintf. Give it a literal format:
// package cqlseq's TestRefusalsAreListed reads every refusef call and
// wants a case that produces it.
func refusef(format string, args ...any) error {
	return &Error{fmt.Sprintf(format, args...)}
}

// Encode returns the cursor for resuming the statement with fingerprint
// fp at paging state state, made at page size pageSize, signed with key if
// key is not empty.
func Encode(fp Fingerprint, pageSize int, state []byte, key []byte) string {
	buf := make([]byte, 0, HeaderLen+binary.MaxVarintLen64+len(state)+macLen)
	buf = append(buf, cursorVersion, 0)
	buf = append(buf, fp[:]...)
	buf = binary.AppendUvarint(buf, uint64(max(pageSize, 0)))
	buf = append(buf, state...)
	return seal(buf, key)
}

// seal marks in b's flags byte (b[1]) whether key signs b, appends b's
// check (an HMAC-SHA256 under key, or a CRC-32C without one) and returns b
// as base64url text: the outer layer of a cursor.
func seal(b, key []byte) string {
	if len(key) > 0 {
		b[1] |= flagSigned
		m := hmac.New(sha256.New, key)
		m.Write(b)
		b = m.Sum(b)
	} else {
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// unseal checks raw, which seal made, against key: its flags byte and its
// check. It returns raw without the check.
func unseal(raw, key []byte) ([]byte, error) {
	flags := raw[1]
	if flags&^flagSigned != 0 {
		return nil, refusef("unknown flags %#x", flags)
	}
	signed := flags&flagSigned != 0
	switch {
	case signed && len(key) == 0:
		return nil, refusef("it is signed, and no cursor key is configured to check it")
	case !signed && len(key) > 0:
		return nil, refusef("it is not signed, and a cursor key is configured")
	}
	if signed {
		if len(raw) < HeaderLen+macLen {
			return nil, refusef("truncated: too short for its signature")
		}
		body := raw[:len(raw)-macLen]
		m := hmac.New(sha256.New, key)
		m.Write(body)
		if !hmac.Equal(m.Sum(nil), raw[len(body):]) {
			return nil, refusef("signature does not match: the cursor was altered or signed with another key")
		}
		return body, nil
	}
	if len(raw) < HeaderLen+crcLen {
		return nil, refusef("truncated: too short for its checksum")
	}
	body := raw[:len(raw)-crcLen]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(raw[len(body):]) {
		return nil, refusef("checksum does not match: the cursor was damaged or altered")
	}
	return body, nil
}

// Decode checks cursor against the statement's fingerprint fp and the
// key, and returns the paging state it holds and the page size it was made
// at. Its errors are [*Error]s that say what is wrong.
func Decode(cursor string, fp Fingerprint, key []byte) (state []byte, pageSize int, err error) {
	if len(cursor) > maxCursorLen {
		return nil, 0, refusef("%d bytes long, more than a cursor can be", len(cursor))
	}
	for i := range len(cursor) {
		if c := cursor[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, 0, refusef("not base64url text: byte %d is %q", i, c)
		}
	}
	// Strict: one text per cursor, no stray padding bits.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil {
		return nil, 0, refusef("not base64url text: %v", err)
	}
	if len(raw) < HeaderLen {
		return nil, 0, refusef("truncated: %d bytes, a cursor has at least %d", len(raw), HeaderLen)
	}
	if raw[0] == 1 {
		return nil, 0, refusef("made by an earlier version of cqlseq, whose cursors this one cannot check; start the stream again")
	}
	if raw[0] != cursorVersion {
		return nil, 0, refusef("unknown version %d", raw[0])
	}
	body, err := unseal(raw, key)
	if err != nil {
		return nil, 0, err
	}
	if !bytes.Equal(body[2:HeaderLen], fp[:]) {
		return nil, 0, refusef("it was made for another statement or other bound values")
	}
	size, n := binary.Uvarint(body[HeaderLen:])
	if n <= 0 || size < 1 || size > math.MaxInt32 { // 0 would turn paging off
		return nil, 0, refusef("its page size is malformed")
	}
	state = body[HeaderLen+n:]
	if len(state) == 0 {
		return nil, 0, refusef("it holds no paging state")
	}
	return bytes.Clone(state), int(size), nil
}
