package cursor

import (
	"math/big"
	"reflect"
	"testing"
	"time"

	"gopkg.in/inf.v0"
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

// A big.Int or an inf.Dec, whose state is unexported, is written by its
// MarshalText: of different values, different fingerprints; of one value
// however it was made, the same. Bound as a field of a struct too.
func TestFingerprintOfMarshalers(t *testing.T) {
	dec := func(s string) *inf.Dec {
		d, ok := new(inf.Dec).SetString(s)
		if !ok {
			t.Fatalf("%q is not a decimal", s)
		}
		return d
	}
	type amount struct{ Value *big.Int }
	same := [][2]any{
		{big.NewInt(10), new(big.Int).Add(big.NewInt(4), big.NewInt(6))},
		{new(big.Int), new(big.Int).Sub(big.NewInt(5), big.NewInt(5))}, // no digits, and an empty slice of them
		{new(big.Int).Lsh(big.NewInt(1), 200), new(big.Int).Exp(big.NewInt(2), big.NewInt(200), nil)},
		{*big.NewInt(7), *new(big.Int).SetUint64(7)}, // by value: marshaled through a copy
		{inf.NewDec(15, 1), dec("1.5")},
		{inf.NewDec(15, 1), inf.NewDecBig(big.NewInt(15), 1)},
		{new(inf.Dec), inf.NewDec(0, 0)},
		{amount{big.NewInt(3)}, amount{new(big.Int).SetInt64(3)}},
	}
	for i, s := range same {
		if NewFingerprint("ks", "q", []any{s[0]}) != NewFingerprint("ks", "q", []any{s[1]}) {
			t.Errorf("case %d: %v and %v fingerprint differently", i, s[0], s[1])
		}
	}
	differ := [][2]any{
		{big.NewInt(10), big.NewInt(11)},
		{big.NewInt(1), big.NewInt(-1)},
		{new(big.Int).Lsh(big.NewInt(1), 200), new(big.Int).Lsh(big.NewInt(1), 201)},
		{big.NewInt(7), *big.NewInt(7)}, // another type: *big.Int and big.Int
		{inf.NewDec(15, 1), inf.NewDec(16, 1)},
		{inf.NewDec(15, 1), inf.NewDec(-15, 1)},
		{inf.NewDec(15, 1), inf.NewDec(15, 2)},
		// The same number at another scale: another decimal to
		// Cassandra, whose partitioner hashes its bytes.
		{inf.NewDec(15, 1), inf.NewDec(150, 2)},
		{big.NewInt(15), inf.NewDec(15, 0)},
		{amount{big.NewInt(3)}, amount{big.NewInt(4)}},
		{amount{big.NewInt(3)}, amount{}},
	}
	for i, d := range differ {
		if NewFingerprint("ks", "q", []any{d[0]}) == NewFingerprint("ks", "q", []any{d[1]}) {
			t.Errorf("case %d: %v and %v fingerprint the same", i, d[0], d[1])
		}
	}
}

type (
	inner    struct{ X int }
	promoted struct {
		inner // X is promoted from an unexported embedded struct
		Y     int
	}
	promotedPtr struct{ *inner }
	exported    struct{ Inner } // written with Inner, once
	Inner       struct{ X int }
	mixed       struct {
		Public  int
		private int
	}
	opaque      struct{ a, b int } // all state unexported, no marshaler
	otherOpaque struct{ a, b int }
)

// Pointers are followed, promoted fields read, and maps in any order of
// insertion fingerprint alike.
func TestFingerprintFollows(t *testing.T) {
	m1, m2 := map[int]string{}, map[int]string{}
	for i := range 100 {
		m1[i] = string(rune('a' + i%26))
		m2[99-i] = string(rune('a' + (99-i)%26))
	}
	a, b := 5, 5
	pa, pb := &a, &b
	same := [][2]any{
		{&a, &b},
		{&pa, &pb},
		{m1, m2},
		{map[string][]int{"a": {1}, "b": {2}}, map[string][]int{"b": {2}, "a": {1}}},
		{promoted{inner{1}, 2}, promoted{inner{1}, 2}},
		{promotedPtr{&inner{1}}, promotedPtr{&inner{1}}},
		{exported{Inner{1}}, exported{Inner{1}}},
		{mixed{Public: 1}, mixed{Public: 1}},
	}
	for i, s := range same {
		if NewFingerprint("ks", "q", []any{s[0]}) != NewFingerprint("ks", "q", []any{s[1]}) {
			t.Errorf("case %d: %#v and %#v fingerprint differently", i, s[0], s[1])
		}
	}
	c := 6
	pc := &c
	m2[0] = "z"
	differ := [][2]any{
		{&a, &c},
		{&pa, &pc},
		{m1, m2},
		{promoted{inner{1}, 2}, promoted{inner{3}, 2}},
		{promoted{inner{1}, 2}, promoted{inner{1}, 3}},
		{promotedPtr{&inner{1}}, promotedPtr{&inner{2}}},
		{promotedPtr{&inner{0}}, promotedPtr{}},
		{exported{Inner{1}}, exported{Inner{2}}},
		{mixed{Public: 1}, mixed{Public: 2}},
	}
	for i, d := range differ {
		if NewFingerprint("ks", "q", []any{d[0]}) == NewFingerprint("ks", "q", []any{d[1]}) {
			t.Errorf("case %d: %#v and %#v fingerprint the same", i, d[0], d[1])
		}
	}
}

// Unexported state of plain data (an ID type such as struct{ v uint64 })
// counts, as fmt writes it, and a type defined as a time.Time is its time;
// the documented limit is state behind a pointer or an interface in
// unexported fields, with no MarshalBinary or MarshalText: such values
// fingerprint by their type and exported fields alone. gocqlx binds a UDT
// so: in a wrapper whose fields, all unexported, are reflect.Values
// (wrapper, below, holds one the same way).
func TestFingerprintOfUnexportedState(t *testing.T) {
	type accountID struct{ v uint64 }
	type myTime time.Time
	at := time.Date(2026, 12, 8, 6, 0, 0, 0, time.UTC)
	differ := [][2]any{
		{opaque{1, 2}, opaque{3, 4}},
		{&opaque{1, 2}, &opaque{3, 4}},
		{mixed{Public: 1, private: 2}, mixed{Public: 1, private: 3}},
		{accountID{1}, accountID{2}},
		{myTime(at), myTime(at.Add(time.Second))},
	}
	for i, d := range differ {
		if NewFingerprint("ks", "q", []any{d[0]}) == NewFingerprint("ks", "q", []any{d[1]}) {
			t.Errorf("case %d: %#v and %#v fingerprint the same", i, d[0], d[1])
		}
	}
	if NewFingerprint("ks", "q", []any{myTime(at)}) != NewFingerprint("ks", "q", []any{myTime(at.In(time.FixedZone("x", 3600)))}) {
		t.Error("a time.Time-defined value fingerprints by its zone, not its instant")
	}
	same := [][2]any{
		{wrap(&name{"Ann", "Lee"}), wrap(&name{"Bob", "Ray"})},
		{reflect.ValueOf(1), reflect.ValueOf("one")},
		{behind{&name{"Ann", "Lee"}}, behind{&name{"Bob", "Ray"}}},
	}
	for i, s := range same {
		if NewFingerprint("ks", "q", []any{s[0]}) != NewFingerprint("ks", "q", []any{s[1]}) {
			t.Errorf("case %d: %#v and %#v fingerprint differently", i, s[0], s[1])
		}
	}
	// The type still counts.
	if NewFingerprint("ks", "q", []any{opaque{1, 2}}) == NewFingerprint("ks", "q", []any{otherOpaque{1, 2}}) {
		t.Error("values of two struct types fingerprint the same")
	}
	if NewFingerprint("ks", "q", []any{wrap(&name{"Ann", "Lee"})}) == NewFingerprint("ks", "q", []any{name{"Ann", "Lee"}}) {
		t.Error("a wrapped value fingerprints as the value")
	}
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

// wrapper holds a value the way gocqlx's UDT wrapper does: in unexported
// reflect.Value fields, whose own fields are pointers.
type wrapper struct {
	fields map[string]reflect.Value
	value  reflect.Value
}

type name struct{ First, Last string }

// behind holds its state behind a pointer in an unexported field.
type behind struct{ n *name }

func wrap(n *name) wrapper {
	v := reflect.ValueOf(n).Elem()
	return wrapper{fields: map[string]reflect.Value{"first": v.Field(0), "last": v.Field(1)}, value: v}
}
