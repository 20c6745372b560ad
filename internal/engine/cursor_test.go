package engine_test

import (
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq/internal/engine"
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
	fp := engine.NewFingerprint("SELECT * FROM t WHERE a = ?", []any{42})
	state := []byte{0, 1, 2, 0xff}
	for _, key := range [][]byte{nil, []byte("secret")} {
		c := engine.EncodeCursor(fp, state, key)
		if strings.ContainsAny(c, "+/= \n") {
			t.Fatalf("cursor %q is not URL-safe text", c)
		}
		got, err := engine.DecodeCursor(c, fp, key)
		if err != nil || !cmp.Equal(got, state) {
			t.Fatalf("key %q: decoded %x, %v; want %x", key, got, err, state)
		}
	}
}

func TestFingerprintIsCanonical(t *testing.T) {
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	n := 7
	same := [][2][]any{
		{{at}, {at.In(time.FixedZone("X", 3600))}},    // the same instant in another zone
		{{time.Now().Round(0)}, nil},                  // placeholder, replaced below
		{{&n}, {func() *int { m := 7; return &m }()}}, // pointers are followed
		{{map[string]int{"a": 1, "b": 2}}, {map[string]int{"b": 2, "a": 1}}},
		{{big.NewInt(10)}, {big.NewInt(10)}},
	}
	now := time.Now()
	same[1] = [2][]any{{now}, {now.Round(0)}} // the monotonic reading does not count
	for i, s := range same {
		if engine.NewFingerprint("q", s[0]) != engine.NewFingerprint("q", s[1]) {
			t.Errorf("case %d: %v and %v fingerprint differently", i, s[0], s[1])
		}
	}
	differ := [][2][]any{
		{{1}, {2}},
		{{int32(1)}, {int64(1)}},
		{{"a", "b"}, {"ab"}},
		{{[]byte("x")}, {"x"}},
		{{nil}, {}},
	}
	for i, d := range differ {
		if engine.NewFingerprint("q", d[0]) == engine.NewFingerprint("q", d[1]) {
			t.Errorf("case %d: %v and %v fingerprint the same", i, d[0], d[1])
		}
	}
	if engine.NewFingerprint("SELECT a FROM t", nil) == engine.NewFingerprint("SELECT b FROM t", nil) {
		t.Error("two statements fingerprint the same")
	}
}

// Each hostile cursor gets an error that says what is wrong, and matches
// ErrInvalidCursor and ErrInvalidArgument.
func TestHostileCursors(t *testing.T) {
	fp := engine.NewFingerprint("SELECT * FROM t", nil)
	other := engine.NewFingerprint("SELECT * FROM t", []any{1})
	key := []byte("k1")
	good := engine.EncodeCursor(fp, []byte("state"), key)
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
		{"unknown flags", base64.RawURLEncoding.EncodeToString(append([]byte{1, 0x80}, raw[2:]...)), key, "unknown flags"},
		{"state altered", flip(len(raw) - 33), key, "signature does not match"},
		{"fingerprint altered", flip(5), key, "signature does not match"},
		{"signed with another key", good, []byte("k2"), "signature does not match"},
		{"signed, no key here", good, nil, "no cursor key is configured"},
		{"unsigned, key here", engine.EncodeCursor(fp, []byte("state"), nil), key, "not signed"},
		{"unsigned, state altered", flipIn(engine.EncodeCursor(fp, []byte("state"), nil), 19), nil, "checksum does not match"},
		{"unsigned, checksum cut off", cut(engine.EncodeCursor(fp, []byte("state"), nil), 4), nil, "checksum does not match"},
		{"another query's cursor", engine.EncodeCursor(other, []byte("state"), key), key, "another statement or other bound values"},
		{"no paging state", engine.EncodeCursor(fp, nil, key), key, "holds no paging state"},
		{"huge", strings.Repeat("A", 1<<20), key, "more than a cursor can be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.DecodeCursor(tt.cursor, fp, tt.key)
			if !errors.Is(err, engine.ErrInvalidCursor) || !errors.Is(err, engine.ErrInvalidArgument) {
				t.Fatalf("got %v, want ErrInvalidCursor and ErrInvalidArgument", err)
			}
			if !strings.HasPrefix(err.Error(), "cqlseq: invalid cursor: ") || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// FuzzDecodeCursor: whatever the text, decoding returns a state or a clear
// error, never panics, and accepts only what EncodeCursor made for the same
// fingerprint and key.
func FuzzDecodeCursor(f *testing.F) {
	fp := engine.NewFingerprint("SELECT * FROM t", nil)
	for _, key := range [][]byte{nil, []byte("k")} {
		f.Add(engine.EncodeCursor(fp, []byte("state"), key), len(key) > 0)
	}
	f.Add("", false)
	f.Add("AQ", true)
	f.Add(strings.Repeat("_", 100), false)
	f.Fuzz(func(t *testing.T, cursor string, signed bool) {
		var key []byte
		if signed {
			key = []byte("k")
		}
		state, err := engine.DecodeCursor(cursor, fp, key)
		if err != nil {
			if !errors.Is(err, engine.ErrInvalidCursor) || !strings.HasPrefix(err.Error(), "cqlseq: invalid cursor: ") {
				t.Fatalf("unclear error %v", err)
			}
			return
		}
		if len(state) == 0 {
			t.Fatal("accepted a cursor without a paging state")
		}
		if again := engine.EncodeCursor(fp, state, key); again != cursor {
			t.Fatalf("accepted %q, which is not the cursor for its own state (%q)", cursor, again)
		}
	})
}
