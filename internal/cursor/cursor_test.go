package cursor

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func flipIn(cursor string, i int) string {
	b, _ := base64.RawURLEncoding.DecodeString(cursor)
	b[i] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

func cut(cursor string, n int) string {
	b, _ := base64.RawURLEncoding.DecodeString(cursor)
	return base64.RawURLEncoding.EncodeToString(b[:len(b)-n])
}

func TestCursorRoundTrip(t *testing.T) {
	fp := NewFingerprint("ks", "SELECT * FROM t WHERE a = ?", []any{42})
	state := []byte{0, 1, 2, 0xff}
	for _, key := range [][]byte{nil, []byte("secret")} {
		c := Encode(fp, 100, state, key)
		if strings.ContainsAny(c, "+/= \n") {
			t.Fatalf("cursor %q is not URL-safe text", c)
		}
		got, size, err := Decode(c, fp, key)
		if err != nil || !cmp.Equal(got, state) || size != 100 {
			t.Fatalf("key %q: decoded %x, %v; want %x", key, got, err, state)
		}
	}
}

// Every cursor the engine makes, its decoder accepts: paging states hold
// the last row's keys, which Cassandra allows up to 64 KiB each.
func TestLargeCursorsRoundTrip(t *testing.T) {
	fp := NewFingerprint("ks", "SELECT * FROM t", nil)
	for _, n := range []int{0x2000, 0x10000 * 3} {
		state := []byte(strings.Repeat("k", n))
		for _, key := range [][]byte{nil, []byte("secret")} {
			got, size, err := Decode(Encode(fp, 7, state, key), fp, key)
			if err != nil || len(got) != n || size != 7 {
				t.Fatalf("state of %d bytes, key %q: got %d bytes, size %d, %v", n, key, len(got), size, err)
			}
		}
	}
}

// Each hostile cursor gets an [*Error] that says what is wrong (package
// cqlseq's TestRefusalsAreListed checks that each reason reaches the user
// as "cqlseq: invalid cursor: " and the reason, matching ErrInvalidCursor
// and ErrInvalidArgument).
func TestHostileCursors(t *testing.T) {
	fp := NewFingerprint("ks", "SELECT * FROM t", nil)
	other := NewFingerprint("ks", "SELECT * FROM t", []any{1})
	key := []byte("k1")
	good := Encode(fp, 100, []byte("state"), key)
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tests := []struct {
		name, cursor string
		key          []byte
		msg          string
	}{
		{"not base64", "!!!", key, "not base64url text"},
		{"padded base64", good + "==", key, "not base64url text"},
		{"truncated", base64.RawURLEncoding.EncodeToString(raw[:10]), key, "truncated"},
		{"line breaks", good[:8] + "\n" + good[8:], key, "not base64url text"},
		{"signature cut off", base64.RawURLEncoding.EncodeToString(raw[:len(raw)-32]), key, "truncated: too short for its signature"},
		{"unknown version", flip(0), key, "unknown version"},
		{"unknown flags", base64.RawURLEncoding.EncodeToString(append([]byte{2, 0x80}, raw[2:]...)), key, "unknown flags"},
		{"state altered", flip(len(raw) - 33), key, "signature does not match"},
		{"fingerprint altered", flip(5), key, "signature does not match"},
		{"signed with another key", good, []byte("k2"), "signature does not match"},
		{"signed, no key here", good, nil, "no cursor key is configured"},
		{"unsigned, key here", Encode(fp, 100, []byte("state"), nil), key, "not signed"},
		{"unsigned, state altered", flipIn(Encode(fp, 100, []byte("state"), nil), 19), nil, "checksum does not match"},
		{"unsigned, checksum cut off", cut(Encode(fp, 100, []byte("state"), nil), 4), nil, "checksum does not match"},
		{"another query's cursor", Encode(other, 100, []byte("state"), key), key, "another statement or other bound values"},
		{"no paging state", Encode(fp, 100, nil, key), key, "holds no paging state"},
		{"huge", strings.Repeat("A", 1<<20+4), key, "more than a cursor can be"},
		{"earlier version", base64.RawURLEncoding.EncodeToString(append([]byte{1}, raw[1:]...)), key, "earlier version of cqlseq"},
		{"stray bits", "AB", key, "not base64url text"},
		{"unsigned, too short for a checksum", cut(Encode(fp, 100, nil, nil), 4), nil, "truncated: too short for its checksum"},
		{"page size", seal(binary.AppendUvarint(append([]byte{cursorVersion, 0}, fp[:]...), 1<<40), key), key, "its page size is malformed"},
		{"page size cut short", seal(append(append([]byte{cursorVersion, 0}, fp[:]...), 0x80), nil), nil, "its page size is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(tt.cursor, fp, tt.key)
			if e := (*Error)(nil); !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// FuzzDecodeCursor: whatever the text, decoding returns a state or an
// [*Error], never panics, and accepts only what Encode made for the same
// fingerprint and key.
func FuzzDecodeCursor(f *testing.F) {
	fp := NewFingerprint("ks", "SELECT * FROM t", nil)
	for _, key := range [][]byte{nil, []byte("k")} {
		f.Add(Encode(fp, 100, []byte("state"), key), len(key) > 0)
	}
	f.Add("", false)
	f.Add("AQ", true)
	f.Add(strings.Repeat("_", 100), false)
	f.Fuzz(func(t *testing.T, cursor string, signed bool) {
		var key []byte
		if signed {
			key = []byte("k")
		}
		state, size, err := Decode(cursor, fp, key)
		if err != nil {
			if e := (*Error)(nil); !errors.As(err, &e) || e.Reason == "" {
				t.Fatalf("unclear error %v", err)
			}
			return
		}
		if len(state) == 0 {
			t.Fatal("accepted a cursor without a paging state")
		}
		if again := Encode(fp, size, state, key); again != cursor {
			t.Fatalf("accepted %q, which is not the cursor for its own state (%q)", cursor, again)
		}
	})
}
