package engine

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"reflect"
	"time"
)

// ErrInvalidCursor is wrapped by the error for a cursor that cannot be used:
// malformed, truncated, made for another statement or other bound values,
// unsigned when a key is set, or with a signature that does not match. It
// also matches ErrInvalidArgument.
var ErrInvalidCursor = errors.New("invalid cursor")

// A cursor is text-safe: base64url without padding of
//
//	version (1 byte) | flags (1 byte) | fingerprint (16 bytes) | paging state | check
//
// The fingerprint ties the cursor to one statement and its bound values.
// The check is an HMAC-SHA256 (32 bytes) when a key is configured, which
// makes the cursor tamper-evident, else a CRC-32C (4 bytes), which catches
// a cursor damaged in storage or transit but not one altered on purpose.
// The paging state itself is Cassandra's: opaque, and meaningful only to
// the same query.
const (
	cursorVersion  = 1
	flagSigned     = 1
	headerLen      = 2 + fingerprintLen
	fingerprintLen = 16
	macLen         = sha256.Size
	crcLen         = 4
	// maxCursorLen bounds the text accepted: paging states are tens of bytes.
	maxCursorLen = 8 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Fingerprint identifies a statement and its bound values, for cursors.
type Fingerprint [fingerprintLen]byte

// NewFingerprint hashes stmt and values. Values are written in a canonical
// form (pointers followed, times in UTC, maps in key order) so that the same
// values give the same fingerprint in another process.
func NewFingerprint(stmt string, values []any) Fingerprint {
	h := sha256.New()
	writeLen(h, len(stmt))
	h.Write([]byte(stmt))
	writeLen(h, len(values))
	for _, v := range values {
		var b bytes.Buffer
		canonical(&b, reflect.ValueOf(v), 0)
		writeLen(h, b.Len())
		h.Write(b.Bytes())
	}
	var fp Fingerprint
	copy(fp[:], h.Sum(nil))
	return fp
}

func writeLen(h interface{ Write([]byte) (int, error) }, n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
}

var timeType = reflect.TypeFor[time.Time]()

// canonical writes v's type and value. fmt's %v is close but prints
// pointers as addresses and times with their monotonic reading.
func canonical(b *bytes.Buffer, v reflect.Value, depth int) {
	if !v.IsValid() {
		b.WriteString("nil")
		return
	}
	fmt.Fprintf(b, "%s(", v.Type())
	defer b.WriteByte(')')
	if depth > 32 {
		b.WriteString("…")
		return
	}
	if v.Type() == timeType {
		b.WriteString(v.Interface().(time.Time).UTC().Format(time.RFC3339Nano))
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		canonical(b, v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			fmt.Fprintf(b, "%x", v.Bytes())
			return
		}
		for i := range v.Len() {
			canonical(b, v.Index(i), depth+1)
		}
	case reflect.Map:
		keys := v.MapKeys()
		enc := make([][]byte, len(keys))
		for i, k := range keys {
			var kb bytes.Buffer
			canonical(&kb, k, depth+1)
			canonical(&kb, v.MapIndex(k), depth+1)
			enc[i] = kb.Bytes()
		}
		sortBytes(enc)
		for _, e := range enc {
			b.Write(e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				canonical(b, v.Field(i), depth+1)
			} else {
				fmt.Fprintf(b, "%v", v.Field(i)) // big.Int, inf.Dec keep their state unexported
			}
		}
	case reflect.Float32, reflect.Float64:
		fmt.Fprintf(b, "%x", math.Float64bits(v.Float()))
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

func sortBytes(s [][]byte) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && bytes.Compare(s[j], s[j-1]) < 0; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// EncodeCursor returns the cursor for resuming the statement with
// fingerprint fp at paging state state, signed with key if key is not empty.
func EncodeCursor(fp Fingerprint, state []byte, key []byte) string {
	buf := make([]byte, 0, headerLen+len(state)+macLen)
	flags := byte(0)
	if len(key) > 0 {
		flags |= flagSigned
	}
	buf = append(buf, cursorVersion, flags)
	buf = append(buf, fp[:]...)
	buf = append(buf, state...)
	if len(key) > 0 {
		m := hmac.New(sha256.New, key)
		m.Write(buf)
		buf = m.Sum(buf)
	} else {
		buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

// DecodeCursor checks cursor against the statement's fingerprint fp and the
// key, and returns the paging state it holds. Errors match ErrInvalidCursor
// and ErrInvalidArgument, and say what is wrong.
func DecodeCursor(cursor string, fp Fingerprint, key []byte) ([]byte, error) {
	bad := func(format string, args ...any) error {
		return &wrapped{"cqlseq: invalid cursor: " + fmt.Sprintf(format, args...), []error{ErrInvalidCursor, ErrInvalidArgument}}
	}
	if len(cursor) > maxCursorLen {
		return nil, bad("%d bytes long, more than a cursor can be", len(cursor))
	}
	for i := range len(cursor) {
		if c := cursor[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, bad("not base64url text: byte %d is %q", i, c)
		}
	}
	// Strict: one text per cursor, no stray padding bits.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil {
		return nil, bad("not base64url text: %v", err)
	}
	if len(raw) < headerLen {
		return nil, bad("truncated: %d bytes, a cursor has at least %d", len(raw), headerLen)
	}
	if raw[0] != cursorVersion {
		return nil, bad("unknown version %d", raw[0])
	}
	flags := raw[1]
	if flags&^flagSigned != 0 {
		return nil, bad("unknown flags %#x", flags)
	}
	signed := flags&flagSigned != 0
	switch {
	case signed && len(key) == 0:
		return nil, bad("it is signed, and no cursor key is configured to check it")
	case !signed && len(key) > 0:
		return nil, bad("it is not signed, and a cursor key is configured")
	}
	var body []byte
	if signed {
		if len(raw) < headerLen+macLen {
			return nil, bad("truncated: too short for its signature")
		}
		body = raw[:len(raw)-macLen]
		m := hmac.New(sha256.New, key)
		m.Write(body)
		if !hmac.Equal(m.Sum(nil), raw[len(body):]) {
			return nil, bad("signature does not match: the cursor was altered or signed with another key")
		}
	} else {
		if len(raw) < headerLen+crcLen {
			return nil, bad("truncated: too short for its checksum")
		}
		body = raw[:len(raw)-crcLen]
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(raw[len(body):]) {
			return nil, bad("checksum does not match: the cursor was damaged or altered")
		}
	}
	if !bytes.Equal(body[2:headerLen], fp[:]) {
		return nil, bad("it was made for another statement or other bound values")
	}
	state := body[headerLen:]
	if len(state) == 0 {
		return nil, bad("it holds no paging state")
	}
	return bytes.Clone(state), nil
}
