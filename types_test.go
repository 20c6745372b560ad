package cqlseq_test

import (
	"context"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/inf.v0"

	"github.com/cqlseq/cqlseq"
)

type Addr struct {
	Street string `cql:"street"`
	Zip    int    `cql:"zip"`
}

type Pair struct {
	N int
	S string
}

// AllTypes has a field for every CQL type the driver decodes.
type AllTypes struct {
	ID  int
	A   string
	T   string
	Vc  string
	Ti  int8
	Si  int16
	I   int32
	Bi  int64
	Vi  *big.Int
	Dec *inf.Dec
	F   float32
	D   float64
	B   bool
	Ts  time.Time
	Dt  time.Time
	Tm  time.Duration
	Du  gocql.Duration
	U   gocql.UUID
	Tu  gocql.UUID
	IP  net.IP `db:"ip"`
	Bl  []byte
	L   []int
	S   []string
	M   map[string]int
	Tup Pair
	Ad  Addr
	Fl  []int
	Fm  map[int]string
	Fs  []Addr
	V   []float32
}

const allTypesTable = `CREATE TABLE %s.types (
	id int PRIMARY KEY, a ascii, t text, vc varchar, ti tinyint, si smallint, i int, bi bigint,
	vi varint, dec decimal, f float, d double, b boolean, ts timestamp, dt date, tm time,
	du duration, u uuid, tu timeuuid, ip inet, bl blob, l list<int>, s set<text>,
	m map<text, int>, tup tuple<int, text>, ad frozen<addr>, fl frozen<list<int>>,
	fm frozen<map<int, text>>, fs frozen<set<frozen<addr>>>, v vector<float, 3>)`

var typesCmp = []cmp.Option{
	cmp.Comparer(func(a, b *big.Int) bool { return (a == nil) == (b == nil) && (a == nil || a.Cmp(b) == 0) }),
	cmp.Comparer(func(a, b *inf.Dec) bool { return (a == nil) == (b == nil) && (a == nil || a.Cmp(b) == 0) }),
	cmp.Comparer(func(a, b net.IP) bool { return a.Equal(b) }),
}

func fullRow(id int) AllTypes {
	u, _ := gocql.ParseUUID("9b8b5a06-7f4e-4a2e-9f0b-2d7c3b1f6a11")
	return AllTypes{
		ID: id, A: "ascii", T: "tëxt ✓", Vc: "varchar", Ti: -8, Si: -16000, I: -2_000_000_000, Bi: 9_000_000_000_000_000_000 / 1000,
		Vi: new(big.Int).Lsh(big.NewInt(1), 100), Dec: inf.NewDec(-12345, 3), F: 1.5, D: -2.25, B: true,
		Ts: time.Date(2026, 11, 24, 17, 30, 15, 123_000_000, time.UTC), Dt: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC),
		Tm: 13*time.Hour + 5*time.Minute + 7*time.Nanosecond, Du: gocql.Duration{Months: 1, Days: 2, Nanoseconds: 3},
		U: u, Tu: gocql.TimeUUID(), IP: net.ParseIP("2001:db8::1"), Bl: []byte{0, 1, 2, 255},
		L: []int{3, 1, 2}, S: []string{"a", "b"}, M: map[string]int{"x": 1, "y": 2}, Tup: Pair{7, "seven"},
		Ad: Addr{"Main St", 12345}, Fl: []int{9}, Fm: map[int]string{1: "one"}, Fs: []Addr{{"A", 1}, {"B", 2}},
		V: []float32{0.5, -1, 2},
	}
}

func insertAll(t *testing.T, s *gocql.Session, ks string, r AllTypes) {
	t.Helper()
	execCQL(t, s, "INSERT INTO "+ks+`.types (id, a, t, vc, ti, si, i, bi, vi, dec, f, d, b, ts, dt, tm, du, u, tu, ip, bl,
		l, s, m, tup, ad, fl, fm, fs, v) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (?, ?), ?, ?, ?, ?, ?)`,
		r.ID, r.A, r.T, r.Vc, r.Ti, r.Si, r.I, r.Bi, r.Vi, r.Dec, r.F, r.D, r.B, r.Ts, r.Dt, r.Tm, r.Du, r.U, r.Tu, r.IP, r.Bl,
		r.L, r.S, r.M, r.Tup.N, r.Tup.S, r.Ad, r.Fl, r.Fm, r.Fs, r.V)
}

// Every CQL type round-trips into its Go field; a row of NULLs gives zero
// values, also when it follows a full row in the same stream (and so the
// same destinations).
func TestEveryCQLType(t *testing.T) {
	s, _ := fixture(t)
	ks := newTable(t, s, "CREATE TYPE %s.addr (street text, zip int)")
	execCQL(t, s, strings.Replace(allTypesTable, "%s", ks, 1))
	want := map[int]AllTypes{}
	for id := 1; id <= 40; id++ {
		if id%2 == 1 {
			want[id] = fullRow(id)
			insertAll(t, s, ks, want[id])
		} else {
			want[id] = AllTypes{ID: id}
			execCQL(t, s, "INSERT INTO "+ks+".types (id) VALUES (?)", id)
		}
	}
	got := map[int]AllTypes{}
	var order []int
	for r, err := range cqlseq.Stream[AllTypes](context.Background(), s, cqlseq.CQL("SELECT * FROM "+ks+".types"),
		cqlseq.WithFetchSize(3), cqlseq.WithStrict()) {
		if err != nil {
			t.Fatal(err)
		}
		got[r.ID] = r
		order = append(order, r.ID%2)
	}
	if diff := cmp.Diff(want, got, typesCmp...); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
	if !strings.Contains(fmtInts(order), "10") {
		t.Fatalf("no NULL row followed a full row in stream order %v; the test proves nothing", order)
	}
}

func fmtInts(v []int) string {
	var b strings.Builder
	for _, i := range v {
		b.WriteByte(byte('0' + i))
	}
	return b.String()
}

func TestCounter(t *testing.T) {
	s, _ := fixture(t)
	ks := newTable(t, s, "CREATE TABLE %s.counts (id int PRIMARY KEY, c counter)")
	execCQL(t, s, "UPDATE "+ks+".counts SET c = c + 5 WHERE id = 1")
	execCQL(t, s, "UPDATE "+ks+".counts SET c = c - 7 WHERE id = 1")
	type Count struct {
		ID int
		C  int64
	}
	var got []Count
	for r, err := range cqlseq.Stream[Count](context.Background(), s, cqlseq.CQL("SELECT id, c FROM "+ks+".counts")) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if diff := cmp.Diff([]Count{{1, -2}}, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// Nullable columns of types the shared suite does not cover (a timestamp,
// a UDT): pointer fields are nil for NULL, set otherwise. (drivertest's
// nulls checks that a pointer is never the previous row's.)
func TestNullablePointers(t *testing.T) {
	s, _ := fixture(t)
	ks := newTable(t, s, "CREATE TYPE %s.addr (street text, zip int)")
	execCQL(t, s, "CREATE TABLE "+ks+".n (id int PRIMARY KEY, t text, i int, ts timestamp, ad frozen<addr>, l list<int>)")
	type N struct {
		ID int
		T  *string
		I  *int32
		Ts *time.Time
		Ad *Addr
		L  []int
	}
	str, i32, ts := "x", int32(5), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := map[int]N{}
	for id := range 30 {
		if id%2 == 0 {
			execCQL(t, s, "INSERT INTO "+ks+".n (id, t, i, ts, ad, l) VALUES (?, ?, ?, ?, ?, ?)", id, str, i32, ts, Addr{"s", 1}, []int{1})
			want[id] = N{ID: id, T: &str, I: &i32, Ts: &ts, Ad: &Addr{"s", 1}, L: []int{1}}
		} else {
			execCQL(t, s, "INSERT INTO "+ks+".n (id) VALUES (?)", id)
			want[id] = N{ID: id}
		}
	}
	got := map[int]N{}
	for r, err := range cqlseq.Stream[N](context.Background(), s, cqlseq.CQL("SELECT * FROM "+ks+".n"), cqlseq.WithFetchSize(4)) {
		if err != nil {
			t.Fatal(err)
		}
		got[r.ID] = r
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// Blobs decoded into []byte are fresh for every row: the driver reuses a
// non-nil buffer, so a stream that did not reset its destination would
// overwrite rows the caller kept.
func TestBlobsAreNotReused(t *testing.T) {
	s, _ := fixture(t)
	ks := newTable(t, s, "CREATE TABLE %s.b (id int PRIMARY KEY, bl blob)")
	for id := range 10 {
		execCQL(t, s, "INSERT INTO "+ks+".b (id, bl) VALUES (?, ?)", id, []byte{byte(id), byte(id)})
	}
	type B struct {
		ID int
		Bl []byte
	}
	var kept []B
	for r, err := range cqlseq.Stream[B](context.Background(), s, cqlseq.CQL("SELECT id, bl FROM "+ks+".b")) {
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, r)
	}
	for _, r := range kept {
		if want := []byte{byte(r.ID), byte(r.ID)}; !cmp.Equal(want, r.Bl) {
			t.Errorf("row %d kept blob %v, want %v", r.ID, r.Bl, want)
		}
	}
}
