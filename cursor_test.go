package cqlseq

import (
	"encoding/base64"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

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
	fp := newFingerprint("ks", "SELECT * FROM t WHERE a = ?", []any{42})
	state := []byte{0, 1, 2, 0xff}
	for _, key := range [][]byte{nil, []byte("secret")} {
		c := encodeCursor(fp, 100, state, key)
		if strings.ContainsAny(c, "+/= \n") {
			t.Fatalf("cursor %q is not URL-safe text", c)
		}
		got, size, err := decodeCursor(c, fp, key)
		if err != nil || !cmp.Equal(got, state) || size != 100 {
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
		if newFingerprint("ks", "q", s[0]) != newFingerprint("ks", "q", s[1]) {
			t.Errorf("case %d: %v and %v fingerprint differently", i, s[0], s[1])
		}
	}
	differ := [][2][]any{
		{{1}, {2}},
		{{int32(1)}, {int64(1)}},
		{{"a", "b"}, {"ab"}},
		{{[]byte("x")}, {"x"}},
		{{nil}, {}},
		{{[]string{"a", "b"}}, {[]string{"a)string(b"}}}, // the text form of the first version could not tell these apart
		{{[]string{"ab", "c"}}, {[]string{"a", "bc"}}},
		{{map[string]string{"a": "b"}}, {map[string]string{"ab": ""}}},
		{{[2]byte{1, 2}}, {[]byte{1, 2}}},
		{{[]int(nil)}, {[]int{}}},
	}
	for i, d := range differ {
		if newFingerprint("ks", "q", d[0]) == newFingerprint("ks", "q", d[1]) {
			t.Errorf("case %d: %v and %v fingerprint the same", i, d[0], d[1])
		}
	}
	if newFingerprint("ks", "SELECT a FROM t", nil) == newFingerprint("ks", "SELECT b FROM t", nil) {
		t.Error("two statements fingerprint the same")
	}
	if newFingerprint("ks1", "SELECT a FROM t", nil) == newFingerprint("ks2", "SELECT a FROM t", nil) {
		t.Error("one statement in two keyspaces fingerprints the same")
	}
	if newFingerprint("ks", "SELECT a FROM t", nil) == newFingerprint("ksSELECT a", " FROM t", nil) {
		t.Error("keyspace and statement run together")
	}
}

// Every cursor the engine makes, its decoder accepts: paging states hold
// the last row's keys, which Cassandra allows up to 64 KiB each.
func TestLargeCursorsRoundTrip(t *testing.T) {
	fp := newFingerprint("ks", "SELECT * FROM t", nil)
	for _, n := range []int{0x2000, 0x10000 * 3} {
		state := []byte(strings.Repeat("k", n))
		for _, key := range [][]byte{nil, []byte("secret")} {
			got, size, err := decodeCursor(encodeCursor(fp, 7, state, key), fp, key)
			if err != nil || len(got) != n || size != 7 {
				t.Fatalf("state of %d bytes, key %q: got %d bytes, size %d, %v", n, key, len(got), size, err)
			}
		}
	}
}

// Each hostile cursor gets an error that says what is wrong, and matches
// ErrInvalidCursor and ErrInvalidArgument.
func TestHostileCursors(t *testing.T) {
	fp := newFingerprint("ks", "SELECT * FROM t", nil)
	other := newFingerprint("ks", "SELECT * FROM t", []any{1})
	key := []byte("k1")
	good := encodeCursor(fp, 100, []byte("state"), key)
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
		{"unsigned, key here", encodeCursor(fp, 100, []byte("state"), nil), key, "not signed"},
		{"unsigned, state altered", flipIn(encodeCursor(fp, 100, []byte("state"), nil), 19), nil, "checksum does not match"},
		{"unsigned, checksum cut off", cut(encodeCursor(fp, 100, []byte("state"), nil), 4), nil, "checksum does not match"},
		{"another query's cursor", encodeCursor(other, 100, []byte("state"), key), key, "another statement or other bound values"},
		{"no paging state", encodeCursor(fp, 100, nil, key), key, "holds no paging state"},
		{"huge", strings.Repeat("A", 1<<20+4), key, "more than a cursor can be"},
		{"earlier version", base64.RawURLEncoding.EncodeToString(append([]byte{1}, raw[1:]...)), key, "earlier version of cqlseq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeCursor(tt.cursor, fp, tt.key)
			if !errors.Is(err, ErrInvalidCursor) || !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("got %v, want ErrInvalidCursor and ErrInvalidArgument", err)
			}
			if !strings.HasPrefix(err.Error(), "cqlseq: invalid cursor: ") || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// FuzzDecodeCursor: whatever the text, decoding returns a state or a clear
// error, never panics, and accepts only what encodeCursor made for the same
// fingerprint and key.
func FuzzDecodeCursor(f *testing.F) {
	fp := newFingerprint("ks", "SELECT * FROM t", nil)
	for _, key := range [][]byte{nil, []byte("k")} {
		f.Add(encodeCursor(fp, 100, []byte("state"), key), len(key) > 0)
	}
	f.Add("", false)
	f.Add("AQ", true)
	f.Add(strings.Repeat("_", 100), false)
	f.Fuzz(func(t *testing.T, cursor string, signed bool) {
		var key []byte
		if signed {
			key = []byte("k")
		}
		state, size, err := decodeCursor(cursor, fp, key)
		if err != nil {
			if !errors.Is(err, ErrInvalidCursor) || !strings.HasPrefix(err.Error(), "cqlseq: invalid cursor: ") {
				t.Fatalf("unclear error %v", err)
			}
			return
		}
		if len(state) == 0 {
			t.Fatal("accepted a cursor without a paging state")
		}
		if again := encodeCursor(fp, size, state, key); again != cursor {
			t.Fatalf("accepted %q, which is not the cursor for its own state (%q)", cursor, again)
		}
	})
}

// values decodes fuzz bytes into bound values of several types, so that
// the fuzzer can build lists that might encode alike.
func values(b []byte) []any {
	var vs []any
	for len(b) > 0 {
		kind, n := b[0]%6, 0
		b = b[1:]
		if len(b) > 0 {
			n = min(int(b[0]%8), len(b)-1)
			b = b[1:]
		}
		part := b[:n]
		b = b[n:]
		switch kind {
		case 0:
			vs = append(vs, string(part))
		case 1:
			vs = append(vs, append([]byte(nil), part...))
		case 2:
			vs = append(vs, int64(len(part))*int64(kind)+int64(n))
		case 3:
			vs = append(vs, nil)
		case 4:
			var ss []string
			for _, c := range part {
				ss = append(ss, string(rune('a'+c%3)))
			}
			vs = append(vs, ss)
		case 5:
			m := map[string]string{}
			if len(part) > 0 {
				m[string(part[:len(part)/2])] = string(part[len(part)/2:])
			}
			vs = append(vs, m)
		}
	}
	return vs
}

// FuzzFingerprintDistinct: distinct (keyspace, statement, values) give
// distinct fingerprints.
func FuzzFingerprintDistinct(f *testing.F) {
	f.Add("ks", "SELECT a", []byte{4, 2, 0, 1}, "ks", "SELECT a", []byte{4, 1, 9})
	f.Add("k", "sa", []byte{0, 2, 'a', 'b'}, "ks", "a", []byte{0, 1, 'a', 0, 1, 'b'})
	f.Add("", "", []byte{3}, "", "", []byte{})
	f.Add("", "q", []byte{5, 2, 'a', 'b'}, "", "q", []byte{5, 2, 'b', 'a'})
	f.Fuzz(func(t *testing.T, ks1, st1 string, b1 []byte, ks2, st2 string, b2 []byte) {
		v1, v2 := values(b1), values(b2)
		same := ks1 == ks2 && st1 == st2 && reflect.DeepEqual(v1, v2)
		if got := newFingerprint(ks1, st1, v1) == newFingerprint(ks2, st2, v2); got != same {
			t.Fatalf("(%q, %q, %#v) and (%q, %q, %#v): equal fingerprints %v, equal inputs %v", ks1, st1, v1, ks2, st2, v2, got, same)
		}
	})
}

// wrapper holds a value the way gocqlx's UDT wrapper does: in unexported
// reflect.Value fields, whose own fields are pointers.
type wrapper struct {
	fields map[string]reflect.Value
	value  reflect.Value
}

type name struct{ First, Last string }

func wrap(n *name) wrapper {
	v := reflect.ValueOf(n).Elem()
	return wrapper{fields: map[string]reflect.Value{"first": v.Field(0), "last": v.Field(1)}, value: v}
}

// A value wrapped in reflect.Values fingerprints by what it holds, not by
// the addresses inside the reflect.Values: the same in every process.
func TestFingerprintOfWrappedValues(t *testing.T) {
	a, b, c := &name{"Ann", "Lee"}, &name{"Ann", "Lee"}, &name{"Ann", "Lea"}
	fa := newFingerprint("ks", "q", []any{wrap(a)})
	if fb := newFingerprint("ks", "q", []any{wrap(b)}); fa != fb {
		t.Error("two equal wrapped values fingerprint differently")
	}
	if fc := newFingerprint("ks", "q", []any{wrap(c)}); fa == fc {
		t.Error("two different wrapped values fingerprint the same")
	}
}
