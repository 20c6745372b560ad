package cursor

import (
	"math/big"
	"reflect"
	"testing"
	"time"
)

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
		if NewFingerprint("ks", "q", s[0]) != NewFingerprint("ks", "q", s[1]) {
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
		if NewFingerprint("ks", "q", d[0]) == NewFingerprint("ks", "q", d[1]) {
			t.Errorf("case %d: %v and %v fingerprint the same", i, d[0], d[1])
		}
	}
	if NewFingerprint("ks", "SELECT a FROM t", nil) == NewFingerprint("ks", "SELECT b FROM t", nil) {
		t.Error("two statements fingerprint the same")
	}
	if NewFingerprint("ks1", "SELECT a FROM t", nil) == NewFingerprint("ks2", "SELECT a FROM t", nil) {
		t.Error("one statement in two keyspaces fingerprints the same")
	}
	if NewFingerprint("ks", "SELECT a FROM t", nil) == NewFingerprint("ksSELECT a", " FROM t", nil) {
		t.Error("keyspace and statement run together")
	}
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
		if got := NewFingerprint(ks1, st1, v1) == NewFingerprint(ks2, st2, v2); got != same {
			t.Fatalf("(%q, %q, %#v) and (%q, %q, %#v): equal fingerprints %v, equal inputs %v", ks1, st1, v1, ks2, st2, v2, got, same)
		}
	})
}

// A value wrapped in reflect.Values fingerprints by what it holds, not by
// the addresses inside the reflect.Values: the same in every process.
func TestFingerprintOfWrappedValues(t *testing.T) {
	a, b, c := &name{"Ann", "Lee"}, &name{"Ann", "Lee"}, &name{"Ann", "Lea"}
	fa := NewFingerprint("ks", "q", []any{wrap(a)})
	if fb := NewFingerprint("ks", "q", []any{wrap(b)}); fa != fb {
		t.Error("two equal wrapped values fingerprint differently")
	}
	if fc := NewFingerprint("ks", "q", []any{wrap(c)}); fa == fc {
		t.Error("two different wrapped values fingerprint the same")
	}
}
