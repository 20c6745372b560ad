package cqlseq_test

// The differential test: generated tables over every CQL type, read through
// Stream and Pages into a fixed set of row types, every row compared with
// what a hand-written driver loop reads from the same statement.
//
// Rows are written with CQL literals, so that every failure can print the
// statements that wrote the row it is about. The driver loop (diffReference)
// scans each row into freshly allocated values of the row type's field
// types and builds the expected row by hand: the column a field takes is
// found by gocqlx's rules (db tag, else the name in snake_case), a column
// with no field is read and dropped, a struct for a single UDT or tuple
// column that no field takes is that column's value, and a NULL gives the
// field's zero value (nil for pointers and interfaces) whatever the driver
// would decode, as the package documents. Where the driver loop itself
// cannot read a row, cqlseq must stop there with an error.
//
// go test -run TestDifferential -diff.seed=N -diff.cases=M picks other
// tables and cases; FuzzDifferential runs one small case per seed.

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net"
	"reflect"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/scylladb/go-reflectx"
	"gopkg.in/inf.v0"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

var (
	diffSeed  = flag.Uint64("diff.seed", 1, "TestDifferential: seed of the generated tables, rows and cases")
	diffCases = flag.Int("diff.cases", 400, "TestDifferential: number of cases (table, row type, SELECT, fetch size, prefetch, API)")
)

// ---------------------------------------------------------------------------
// Row types. Each table family reads into several of them; which columns a
// SELECT lists, in which order, is chosen by the generator, so that fields
// go without columns and columns without fields.

type diffAddr struct {
	Street string `cql:"street"`
	Zip    int    `cql:"zip"`
}

type diffPerson struct {
	Name string   `cql:"name"`
	Home diffAddr `cql:"home"`
	Tags []string `cql:"tags"`
	Pt   [2]int   `cql:"pt"`
}

// diffZip knows only one field of addr, and one that addr does not have.
type diffZip struct {
	Zip     int    `cql:"zip"`
	Country string `cql:"country"`
}

type diffPersonFew struct {
	Home diffZip `cql:"home"`
	Name *string `cql:"name"`
	Nick string  `cql:"nick"`
}

type diffPair struct {
	N int
	S string
}

type diffSN struct {
	S string
	N int
}

// DiffID is embedded by value: its field is promoted.
type DiffID struct {
	ID int `db:"id"`
}

// scal: every native type. Fields in another order than the columns.
type diffScalVals struct {
	CBlob      []byte
	CInet      net.IP
	CTimeuuid  gocql.UUID
	UUID       gocql.UUID `db:"c_uuid"`
	CDuration  gocql.Duration
	CTime      time.Duration
	CDate      time.Time
	CTimestamp time.Time
	CBoolean   bool
	CDouble    float64
	CFloat     float32
	CDecimal   *inf.Dec
	CVarint    *big.Int
	CBigint    int64
	CInt       int32
	CSmallint  int16
	CTinyint   int8
	CVarchar   string
	CText      string
	CAscii     string
	ID         int
}

type diffScalPtrs struct {
	Ts      *time.Time      `db:"c_timestamp"`
	Ascii   *string         `db:"c_ascii"`
	Text    *string         `db:"c_text"`
	Varchar *string         `db:"c_varchar"`
	Tiny    *int8           `db:"c_tinyint"`
	Small   *int16          `db:"c_smallint"`
	Int     *int32          `db:"c_int"`
	Big     *int64          `db:"c_bigint"`
	Varint  *big.Int        `db:"c_varint"`
	Dec     *inf.Dec        `db:"c_decimal"`
	Float   *float32        `db:"c_float"`
	Double  *float64        `db:"c_double"`
	Bool    *bool           `db:"c_boolean"`
	Date    *time.Time      `db:"c_date"`
	Time    *time.Duration  `db:"c_time"`
	Dur     *gocql.Duration `db:"c_duration"`
	UUID    *gocql.UUID     `db:"c_uuid"`
	TimeU   *gocql.UUID     `db:"c_timeuuid"`
	Inet    *net.IP         `db:"c_inet"`
	Blob    *[]byte         `db:"c_blob"`
	DiffID
	Skipped *string `db:"-"`
	Missing *int
}

type diffScalAny struct {
	Blob    any `db:"c_blob"`
	Inet    any `db:"c_inet"`
	Ascii   any `db:"c_ascii"`
	Text    any `db:"c_text"`
	Varchar any `db:"c_varchar"`
	Tiny    any `db:"c_tinyint"`
	Small   any `db:"c_smallint"`
	Int     any `db:"c_int"`
	Big     any `db:"c_bigint"`
	Varint  any `db:"c_varint"`
	Dec     any `db:"c_decimal"`
	Float   any `db:"c_float"`
	Double  any `db:"c_double"`
	Bool    any `db:"c_boolean"`
	Ts      any `db:"c_timestamp"`
	Date    any `db:"c_date"`
	Time    any `db:"c_time"`
	Dur     any `db:"c_duration"`
	UUID    any `db:"c_uuid"`
	TimeU   any `db:"c_timeuuid"`
	ID      any `db:"id"`
}

// diffScalAlt takes columns into the other Go types the driver converts to
// (not varint into string: the driver fails for values beyond int64).
type diffScalAlt struct {
	Tiny   int       `db:"c_tinyint"`
	Small  int32     `db:"c_smallint"`
	Int    int64     `db:"c_int"`
	Big    string    `db:"c_bigint"`
	Ts     int64     `db:"c_timestamp"`
	Date   string    `db:"c_date"`
	Time   int64     `db:"c_time"`
	UUID   string    `db:"c_uuid"`
	TimeU  time.Time `db:"c_timeuuid"`
	Inet   string    `db:"c_inet"`
	Text   []byte    `db:"c_text"`
	Ascii  []byte    `db:"c_ascii"`
	Float  *float32  `db:"c_float"`
	Double **float64 `db:"c_double"`
	Bool   **bool    `db:"c_boolean"`
	ID     int64     `db:"id"`
}

// diffScalDec holds decimal and varint by value.
type diffScalDec struct {
	Dec    inf.Dec `db:"c_decimal"`
	Varint big.Int `db:"c_varint"`
	ID     int
}

type diffScalFew struct {
	CText   string
	CInt    *int32
	Missing string
}

// coll: collections and vectors.
type diffCollVals struct {
	ID int
	L  []int
	S  []string
	M  map[string]int
	Fl []int64
	Fs []gocql.UUID
	Fm map[int]string
	Ll [][]int
	Ms map[string][]int
	Lt []diffPair
	Ma map[int]diffAddr
	Mm map[gocql.UUID]map[string]float64
	Sd []time.Time
	Mi map[string][]byte
	V  []float32
	Vt []string
}

type diffCollPtrs struct {
	Vt *[]string                          `db:"vt"`
	V  *[]float32                         `db:"v"`
	Mm *map[gocql.UUID]map[string]float64 `db:"mm"`
	Ma map[int]*diffAddr                  `db:"ma"`
	Lt []*diffPair                        `db:"lt"`
	Sd []*time.Time                       `db:"sd"`
	M  *map[string]int                    `db:"m"`
	S  *[]string                          `db:"s"`
	L  *[]int                             `db:"l"`
	Fl *[]int64                           `db:"fl"`
	ID *int                               `db:"id"`
}

type diffCollArrays struct {
	V  [3]float32
	Vt [2]string
	Lt [][2]any
	Ll [][]any
	Fl []any
	M  map[string]any
	S  []any
}

type diffCollAny struct {
	ID any
	L  any
	S  any
	M  any
	Fl any
	Fs any
	Fm any
	Ll any
	Ms any
	Lt any
	Ma any
	Mm any
	Sd any
	Mi any
	V  any
	Vt any
}

// tup: tuples (nested too) between scalar columns, so that a tuple column
// read into no field shows in the columns after it.
type diffTupStructs struct {
	ID int
	T1 diffPair
	A  string
	T2 struct {
		Big int64
		In  diffSN
		B   bool
	}
	B  int32
	T3 struct {
		U gocql.UUID
		L []int
		M map[string]int
	}
	C  int64
	T4 struct {
		Ad diffAddr
		D  float64
	}
	T5 struct{ N int }
}

type diffTupArrays struct {
	T5 [1]any
	T4 [2]any
	T3 [3]any
	T2 [3]any
	T1 [2]any
	A  any
	B  any
	C  any
	ID any
}

type diffTupPtrs struct {
	T1 struct {
		N *int
		S *string
	}
	T2 struct {
		Big *int64
		In  *diffSN
		B   *bool
	}
	T3 struct {
		U *gocql.UUID
		L *[]int
		M map[string]int
	}
	T4 struct {
		Ad *diffAddr
		D  *float64
	}
	T5 [1]*int
	A  *string
	B  *int32
	C  *int64
}

// diffTupScalars has no field for any tuple column.
type diffTupScalars struct {
	ID int
	A  string
	B  int32
	C  int64
}

type diffTupSome struct {
	T3 [3]any
	B  *int32
	A  string
	T5 struct{ N *int }
}

// udt: frozen, nested and non-frozen UDTs.
type diffUdtVals struct {
	ID int
	A  diffAddr
	P  diffPerson
	An diffAddr
	La []diffAddr
	Mp map[string]diffPerson
	Sa []diffAddr
	X  string
}

type diffUdtPtrs struct {
	X  *string                `db:"x"`
	Mp map[string]*diffPerson `db:"mp"`
	La []*diffAddr            `db:"la"`
	An *diffAddr              `db:"an"`
	P  *diffPerson            `db:"p"`
	A  *diffAddr              `db:"a"`
	ID *int                   `db:"id"`
}

type diffUdtMaps struct {
	A  map[string]any
	P  map[string]any
	An map[string]any
	La []map[string]any
	X  any
}

type diffUdtAny struct {
	ID any
	A  any
	P  any
	An any
	La any
	Mp any
	Sa any
	X  any
}

type diffUdtFew struct {
	A  diffZip
	An *diffZip
	P  diffPersonFew
	X  *string
}

// cnt: counters.
type diffCntVals struct {
	ID int
	C1 int64
	C2 int
	C3 int64
}

type diffCntAlt struct {
	C1 string
	C2 *big.Int
	C3 **int64
}

type diffCntAny struct {
	ID any
	C1 any
	C2 any
	C3 any
}

// stat: static columns, clustering keys, partitions with no rows.
type diffStatVals struct {
	Pk  int
	Ck  int
	Ck2 string
	St  string
	Sn  int
	Sl  []int
	V   int
	W   string
	Tu  diffPair
}

type diffStatPtrs struct {
	Pk  *int
	Ck  *int
	Ck2 *string
	St  *string
	Sn  *int32
	Sl  *[]int
	V   *int64
	W   *string
}

type diffStatAny struct {
	Pk  any
	Ck  any
	Ck2 any
	St  any
	Sn  any
	Sl  any
	V   any
	W   any
	Tu  [2]any
}

// rnd: columns of random types, read into interfaces.
type diffRndAny struct {
	ID any
	K0 any
	K1 any
	A0 any
	A1 any
	A2 any
	A3 any
	A4 any
	A5 any
	A6 any
	A7 any
}

type diffRndFew struct {
	A3 any `db:"a3"`
	K1 any `db:"k1"`
	A0 any `db:"a0"`
	Zz any `db:"zz"`
}

// diffSchRow reads the table whose schema changes between pages.
type diffSchRow struct {
	ID int
	A  *string
	B  *string
	C  *string
	D  *string
}

// ---------------------------------------------------------------------------
// CQL types.

type diffType struct {
	kind   string // a native type, or list, set, map, tuple, udt, vector
	frozen bool
	elems  []*diffType
	udt    *diffUDT
	dim    int
}

type diffUDT struct {
	name   string
	fields []diffField
}

type diffField struct {
	name string
	typ  *diffType
}

var diffNatives = []string{"ascii", "text", "varchar", "tinyint", "smallint", "int", "bigint", "varint",
	"decimal", "float", "double", "boolean", "timestamp", "date", "time", "duration", "uuid", "timeuuid", "inet", "blob"}

func (t *diffType) String() string {
	var s string
	switch t.kind {
	case "list", "set":
		s = t.kind + "<" + t.elems[0].String() + ">"
	case "map":
		s = "map<" + t.elems[0].String() + ", " + t.elems[1].String() + ">"
	case "tuple":
		parts := make([]string, len(t.elems))
		for i, e := range t.elems {
			parts[i] = e.String()
		}
		s = "tuple<" + strings.Join(parts, ", ") + ">"
	case "vector":
		s = fmt.Sprintf("vector<%s, %d>", t.elems[0], t.dim)
	case "udt":
		s = t.udt.name
	default:
		s = t.kind
	}
	if t.frozen {
		return "frozen<" + s + ">"
	}
	return s
}

// diffParseType parses a CQL type such as "map<text, frozen<set<int>>>".
func diffParseType(s string, udts map[string]*diffUDT) *diffType {
	var toks []string
	cur := ""
	for _, r := range s {
		switch r {
		case '<', '>', ',', ' ':
			if cur != "" {
				toks = append(toks, cur)
				cur = ""
			}
			if r != ' ' {
				toks = append(toks, string(r))
			}
		default:
			cur += string(r)
		}
	}
	if cur != "" {
		toks = append(toks, cur)
	}
	i := 0
	next := func() string {
		if i == len(toks) {
			panic("diffParseType: unexpected end of " + s)
		}
		i++
		return toks[i-1]
	}
	expect := func(want string) {
		if got := next(); got != want {
			panic(fmt.Sprintf("diffParseType: %q: got %q, want %q", s, got, want))
		}
	}
	var parse func() *diffType
	parse = func() *diffType {
		name := next()
		switch name {
		case "frozen":
			expect("<")
			t := parse()
			expect(">")
			t.frozen = true
			return t
		case "list", "set":
			expect("<")
			e := parse()
			expect(">")
			return &diffType{kind: name, elems: []*diffType{e}}
		case "map":
			expect("<")
			k := parse()
			expect(",")
			v := parse()
			expect(">")
			return &diffType{kind: "map", elems: []*diffType{k, v}}
		case "tuple":
			expect("<")
			t := &diffType{kind: "tuple"}
			for {
				t.elems = append(t.elems, parse())
				if next() == ">" {
					return t
				}
			}
		case "vector":
			expect("<")
			e := parse()
			expect(",")
			n, err := strconv.Atoi(next())
			if err != nil {
				panic(err)
			}
			expect(">")
			return &diffType{kind: "vector", elems: []*diffType{e}, dim: n}
		}
		if u, ok := udts[name]; ok {
			return &diffType{kind: "udt", udt: u}
		}
		if !slices.Contains(diffNatives, name) && name != "counter" {
			panic("diffParseType: unknown type " + name)
		}
		return &diffType{kind: name}
	}
	t := parse()
	if i != len(toks) {
		panic("diffParseType: trailing tokens in " + s)
	}
	return t
}

// The UDTs every keyspace of this test has.
var diffUDTs, diffUDTList = func() (map[string]*diffUDT, []*diffUDT) {
	m := map[string]*diffUDT{}
	addr := &diffUDT{name: "addr", fields: []diffField{
		{"street", diffParseType("text", m)}, {"zip", diffParseType("int", m)}}}
	m["addr"] = addr
	person := &diffUDT{name: "person", fields: []diffField{
		{"name", diffParseType("text", m)}, {"home", diffParseType("frozen<addr>", m)},
		{"tags", diffParseType("frozen<list<text>>", m)}, {"pt", diffParseType("tuple<int, int>", m)}}}
	m["person"] = person
	return m, []*diffUDT{addr, person}
}()

func (u *diffUDT) ddl(ks string) string {
	parts := make([]string, len(u.fields))
	for i, f := range u.fields {
		parts[i] = f.name + " " + f.typ.String()
	}
	return fmt.Sprintf("CREATE TYPE %s.%s (%s)", ks, u.name, strings.Join(parts, ", "))
}

// ---------------------------------------------------------------------------
// Values, as CQL literals.

type diffGen struct {
	r     *rand.Rand
	noNaN int // > 0 while making a map key: Go maps and cmp cannot compare NaN keys
}

func newDiffGen(seed uint64) *diffGen {
	return &diffGen{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

func diffQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var diffTextPieces = []string{"a", "b", "Z", "0", "9", " ", "'", "''", "ë", "✓", "日本", "🙂", "\\", "\"", "$$", "%", "\t", "é"}

func (g *diffGen) text(key bool) string {
	n := g.r.IntN(8)
	if key && n == 0 {
		n = 1
	}
	var b strings.Builder
	for range n {
		b.WriteString(diffTextPieces[g.r.IntN(len(diffTextPieces))])
	}
	return b.String()
}

func (g *diffGen) ascii(key bool) string {
	n := g.r.IntN(10)
	if key && n == 0 {
		n = 1
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(0x20 + g.r.IntN(0x7f-0x20))
	}
	return string(b)
}

func (g *diffGen) intLit(lo, hi int64) string {
	switch g.r.IntN(8) {
	case 0:
		return strconv.FormatInt(lo, 10)
	case 1:
		return strconv.FormatInt(hi, 10)
	case 2:
		return "0"
	case 3:
		return "-1"
	}
	if hi == math.MaxInt64 {
		return strconv.FormatInt(int64(g.r.Uint64()), 10)
	}
	return strconv.FormatInt(lo+g.r.Int64N(hi-lo+1), 10)
}

func (g *diffGen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	if n > 1 && b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

func (g *diffGen) sign() string {
	if g.r.IntN(2) == 0 {
		return "-"
	}
	return ""
}

func (g *diffGen) floatLit(bits int) string {
	if g.r.IntN(5) == 0 && g.noNaN == 0 {
		if bits == 32 {
			return []string{"0", "-0.0", "NaN", "Infinity", "-Infinity", "3.4028235E38", "-1.4E-45", "1.17549435E-38", "1"}[g.r.IntN(9)]
		}
		return []string{"0", "-0.0", "NaN", "Infinity", "-Infinity", "1.7976931348623157E308", "4.9E-324", "-2.2250738585072014E-308", "1"}[g.r.IntN(9)]
	}
	v := (g.r.Float64()*2 - 1) * math.Pow(10, float64(g.r.IntN(17)-8))
	if bits == 32 {
		return strconv.FormatFloat(float64(float32(v)), 'g', -1, 32)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (g *diffGen) uuid(version byte) string {
	var u gocql.UUID
	for i := range u {
		u[i] = byte(g.r.Uint32())
	}
	u[6] = u[6]&0x0f | version<<4
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// lit returns a literal of type t; key says it is (part of) a primary key.
func (g *diffGen) lit(t *diffType, key bool) string { return g.litAt(t, key, 0) }

// litAt returns a literal of type t at depth in a value.
func (g *diffGen) litAt(t *diffType, key bool, depth int) string {
	r := g.r
	switch t.kind {
	case "ascii":
		return diffQuote(g.ascii(key))
	case "text", "varchar":
		return diffQuote(g.text(key))
	case "tinyint":
		return g.intLit(math.MinInt8, math.MaxInt8)
	case "smallint":
		return g.intLit(math.MinInt16, math.MaxInt16)
	case "int":
		return g.intLit(math.MinInt32, math.MaxInt32)
	case "bigint":
		return g.intLit(math.MinInt64, math.MaxInt64)
	case "varint":
		if r.IntN(6) == 0 {
			return []string{"0", "-1", "9223372036854775808", "-9223372036854775809"}[r.IntN(4)]
		}
		return g.sign() + g.digits(1+r.IntN(40))
	case "decimal":
		s := g.sign() + g.digits(1+r.IntN(20))
		if r.IntN(3) > 0 {
			s += "." + g.digits(1+r.IntN(12))
		}
		if r.IntN(6) == 0 {
			s += "E" + []string{"+", "-", ""}[r.IntN(3)] + strconv.Itoa(r.IntN(30))
		}
		return s
	case "float":
		return g.floatLit(32)
	case "double":
		return g.floatLit(64)
	case "boolean":
		return strconv.FormatBool(r.IntN(2) == 0)
	case "timestamp":
		const lo, hi = -62135596800000, 253402300799999 // years 1 to 9999
		ms := lo + r.Int64N(hi-lo+1)
		switch r.IntN(6) {
		case 0:
			return diffQuote(time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000-0700"))
		case 1:
			return "0"
		}
		return strconv.FormatInt(ms, 10)
	case "date":
		if r.IntN(6) == 0 {
			return strconv.FormatUint(uint64(r.Uint32()), 10) // days since -5877641-06-23
		}
		return diffQuote(fmt.Sprintf("%04d-%02d-%02d", 1+r.IntN(9999), 1+r.IntN(12), 1+r.IntN(28)))
	case "time":
		ns := r.Int64N(86400 * int64(time.Second))
		if r.IntN(2) == 0 {
			return strconv.FormatInt(ns, 10)
		}
		d := time.Duration(ns)
		return fmt.Sprintf("'%02d:%02d:%02d.%09d'", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60, ns%int64(time.Second))
	case "duration":
		mo, d, ns := r.Int64N(1000), r.Int64N(1000), r.Int64N(1e15)
		switch r.IntN(5) {
		case 0:
			return "0s"
		case 1:
			mo, d = 0, 0
		case 2:
			ns = 0
		}
		return fmt.Sprintf("%s%dmo%dd%dns", g.sign(), mo, d, ns)
	case "uuid":
		return g.uuid(4)
	case "timeuuid":
		return g.uuid(1)
	case "inet":
		switch r.IntN(6) {
		case 0:
			return diffQuote([]string{"::1", "::ffff:1.2.3.4", "0.0.0.0", "255.255.255.255", "::"}[r.IntN(5)])
		case 1, 2, 3:
			return diffQuote(net.IPv4(byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())).String())
		}
		ip := make(net.IP, 16)
		for i := range ip {
			ip[i] = byte(r.Uint32())
		}
		return diffQuote(ip.String())
	case "blob":
		n := r.IntN(13)
		if key && n == 0 {
			n = 1
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return "0x" + hex.EncodeToString(b)
	case "counter":
		return strconv.FormatInt(r.Int64N(1<<41)-1<<40, 10)
	case "list", "set", "map":
		n := r.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			if t.kind == "map" {
				g.noNaN++
				k := g.litAt(t.elems[0], key, depth+1)
				g.noNaN--
				parts[i] = k + ": " + g.litAt(t.elems[1], key, depth+1)
			} else {
				parts[i] = g.litAt(t.elems[0], key, depth+1)
			}
		}
		if t.kind == "list" {
			return "[" + strings.Join(parts, ", ") + "]"
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case "vector":
		parts := make([]string, t.dim)
		for i := range parts {
			parts[i] = g.litAt(t.elems[0], key, depth+1)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case "tuple":
		parts := make([]string, len(t.elems))
		for i, e := range t.elems {
			// The driver cannot decode a NULL element of a tuple inside
			// another value into an interface (it panics): rarer there.
			if !key && (depth == 0 && r.IntN(5) == 0 || r.IntN(60) == 0) {
				parts[i] = "null"
			} else {
				parts[i] = g.litAt(e, key, depth+1)
			}
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case "udt":
		var parts []string
		for _, f := range t.udt.fields {
			switch {
			case r.IntN(4) == 0:
			case !key && r.IntN(5) == 0:
				parts = append(parts, f.name+": null")
			default:
				parts = append(parts, f.name+": "+g.litAt(f.typ, key, depth+1))
			}
		}
		if len(parts) == 0 {
			f := t.udt.fields[0]
			parts = append(parts, f.name+": "+g.litAt(f.typ, key, depth+1))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	panic("diffGen.lit: no literal for " + t.String())
}

// Types whose empty value (zero bytes, not NULL) Cassandra accepts.
var diffEmptyable = map[string]bool{"int": true, "bigint": true, "boolean": true, "double": true, "float": true,
	"timestamp": true, "uuid": true, "timeuuid": true, "inet": true, "varint": true}

// cell returns the literal of a column's value in one row: "" to leave the
// column out of the statement (NULL), "null", an empty value, or a value.
func (g *diffGen) cell(t *diffType, pNull float64) string {
	if g.r.Float64() < pNull {
		if g.r.IntN(2) == 0 {
			return ""
		}
		return "null"
	}
	if diffEmptyable[t.kind] && g.r.IntN(250) == 0 {
		return "blobAs" + t.kind + "(0x)"
	}
	return g.lit(t, false)
}

// randType returns a random CQL type: key for a primary key column (all
// frozen, no duration, no vector); noDur where durations are not allowed
// (set elements and map keys); depth 0 for a column's own type.
func (g *diffGen) randType(depth int, key, noDur bool) *diffType {
	n := g.r.IntN(100)
	if depth >= 2 {
		n = 0
	}
	frozen := depth > 0 || key || g.r.IntN(2) == 0
	switch {
	case n < 55:
		for {
			k := diffNatives[g.r.IntN(len(diffNatives))]
			if k == "duration" && (key || noDur) {
				continue
			}
			return &diffType{kind: k}
		}
	case n < 65:
		return &diffType{kind: "list", frozen: frozen, elems: []*diffType{g.randType(depth+1, key, noDur || key)}}
	case n < 73:
		return &diffType{kind: "set", frozen: frozen, elems: []*diffType{g.randType(depth+1, key, true)}}
	case n < 81:
		// The driver cannot decode a map whose Go key would be a slice or a
		// map (inet, blob, collections, UDTs) into an interface (it panics
		// in reflect.MapOf): such keys are rarer.
		k := g.randType(depth+1, key, true)
		for tries := 0; tries < 3 && (k.kind == "inet" || k.kind == "blob" || !slices.Contains(diffNatives, k.kind)); tries++ {
			k = g.randType(depth+1, key, true)
		}
		return &diffType{kind: "map", frozen: frozen, elems: []*diffType{k, g.randType(depth+1, key, noDur || key)}}
	case n < 88 && depth > 0:
		t := &diffType{kind: "tuple"}
		for range 1 + g.r.IntN(3) {
			t.elems = append(t.elems, g.randType(depth+1, key, noDur || key))
		}
		return t
	case n < 95 || key || depth > 0:
		return &diffType{kind: "udt", frozen: frozen, udt: diffUDTList[g.r.IntN(len(diffUDTList))]}
	}
	sub := []string{"float", "float", "float", "double", "int", "text"}[g.r.IntN(6)]
	return &diffType{kind: "vector", elems: []*diffType{{kind: sub}}, dim: 1 + g.r.IntN(6)}
}

// ---------------------------------------------------------------------------
// Tables.

type diffColumn struct {
	name   string
	typ    *diffType
	key    bool
	static bool
}

type diffTable struct {
	family  string
	ks      string
	name    string
	ddl     string
	cols    []diffColumn
	idCol   string   // the int column that tells a row's partition
	pkCols  []string // the partition key
	statics []string // static columns, for SELECT DISTINCT
	shapes  []*diffShape
	writes  map[int][]string // partition -> the statements that wrote it, in order
	parts   []int
	rows    int // rows written (about as many as a full scan returns)
}

// newTable declares a table: defs are "name type [static]", keys the
// columns of the primary key, pk the PRIMARY KEY clause.
func (g *diffGen) newTable(family, ks, name string, defs []string, keys []string, pk, with string) *diffTable {
	tb := &diffTable{family: family, ks: ks, name: name, idCol: keys[0], pkCols: keys[:1], writes: map[int][]string{}}
	var parts []string
	for _, d := range defs {
		f := strings.Fields(d)
		c := diffColumn{name: f[0], key: slices.Contains(keys, f[0])}
		if f[len(f)-1] == "static" {
			c.static = true
			f = f[:len(f)-1]
			tb.statics = append(tb.statics, c.name)
		}
		c.typ = diffParseType(strings.Join(f[1:], " "), diffUDTs)
		tb.cols = append(tb.cols, c)
		parts = append(parts, d)
	}
	tb.ddl = fmt.Sprintf("CREATE TABLE %s.%s (%s, PRIMARY KEY (%s))%s", ks, name, strings.Join(parts, ", "), pk, with)
	return tb
}

// colType returns the CQL type of column name.
func (tb *diffTable) colType(name string) string {
	for _, c := range tb.cols {
		if c.name == name {
			return c.typ.String()
		}
	}
	return "?"
}

func (tb *diffTable) write(id int, stmt string) {
	if _, ok := tb.writes[id]; !ok {
		tb.parts = append(tb.parts, id)
	}
	tb.writes[id] = append(tb.writes[id], stmt)
}

func (tb *diffTable) insert(id int, names, lits []string) {
	tb.write(id, fmt.Sprintf("INSERT INTO %s.%s (%s) VALUES (%s)", tb.ks, tb.name, strings.Join(names, ", "), strings.Join(lits, ", ")))
}

// schema returns the statements that create the table and its types.
func (tb *diffTable) schema() []string {
	var out []string
	if strings.Contains(tb.ddl, "addr") || strings.Contains(tb.ddl, "person") {
		for _, u := range diffUDTList {
			out = append(out, u.ddl(tb.ks))
		}
	}
	return append(out, tb.ddl)
}

func (g *diffGen) rowCount(small bool, lo, hi int) int {
	if small {
		return 3 + g.r.IntN(12)
	}
	return lo + g.r.IntN(hi-lo+1)
}

func (g *diffGen) pNull() float64 { return []float64{0.05, 0.2, 0.5, 0.8}[g.r.IntN(4)] }

// cells returns the names and literals of cols for one row; allNull
// leaves every one of them NULL.
func (g *diffGen) cells(cols []diffColumn, pNull float64, allNull bool) (names, lits []string) {
	for _, c := range cols {
		if allNull {
			continue
		}
		if v := g.cell(c.typ, pNull); v != "" {
			names, lits = append(names, c.name), append(lits, v)
		}
	}
	return names, lits
}

// simpleRows writes n rows of a table keyed by "id" alone, and overwrites
// a column of some of them afterwards.
func (g *diffGen) simpleRows(tb *diffTable, n int) {
	pNull := g.pNull()
	for id := range n {
		names, lits := g.cells(tb.cols[1:], pNull, g.r.IntN(15) == 0)
		tb.insert(id, append([]string{"id"}, names...), append([]string{strconv.Itoa(id)}, lits...))
		if g.r.IntN(6) == 0 {
			c := tb.cols[1+g.r.IntN(len(tb.cols)-1)]
			v := g.cell(c.typ, pNull)
			if v == "" {
				v = "null"
			}
			tb.write(id, fmt.Sprintf("UPDATE %s.%s SET %s = %s WHERE id = %d", tb.ks, tb.name, c.name, v, id))
		}
	}
	tb.rows = n
}

func diffShapes(s ...*diffShape) []*diffShape { return s }

func (g *diffGen) scalTable(ks, name string, small bool) *diffTable {
	tb := g.newTable("scal", ks, name, []string{"id int", "c_ascii ascii", "c_text text", "c_varchar varchar",
		"c_tinyint tinyint", "c_smallint smallint", "c_int int", "c_bigint bigint", "c_varint varint",
		"c_decimal decimal", "c_float float", "c_double double", "c_boolean boolean", "c_timestamp timestamp",
		"c_date date", "c_time time", "c_duration duration", "c_uuid uuid", "c_timeuuid timeuuid",
		"c_inet inet", "c_blob blob"}, []string{"id"}, "id", "")
	tb.shapes = diffShapes(diffShapeOf[diffScalVals](), diffShapeOf[diffScalPtrs](), diffShapeOf[diffScalAny](),
		diffShapeOf[diffScalAlt](), diffShapeOf[diffScalDec](), diffShapeOf[diffScalFew](), diffShapeOf[map[string]any]())
	g.simpleRows(tb, g.rowCount(small, 50, 120))
	return tb
}

func (g *diffGen) collTable(ks, name string, small bool) *diffTable {
	tb := g.newTable("coll", ks, name, []string{"id int", "l list<int>", "s set<text>", "m map<text, int>",
		"fl frozen<list<bigint>>", "fs frozen<set<uuid>>", "fm frozen<map<int, text>>", "ll list<frozen<list<int>>>",
		"ms map<text, frozen<set<int>>>", "lt list<frozen<tuple<int, text>>>", "ma map<int, frozen<addr>>",
		"mm map<timeuuid, frozen<map<text, double>>>", "sd set<date>", "mi map<inet, blob>",
		"v vector<float, 3>", "vt vector<text, 2>"}, []string{"id"}, "id", "")
	tb.shapes = diffShapes(diffShapeOf[diffCollVals](), diffShapeOf[diffCollPtrs](), diffShapeOf[diffCollArrays](),
		diffShapeOf[diffCollAny](), diffShapeOf[map[string]any]())
	g.simpleRows(tb, g.rowCount(small, 40, 80))
	return tb
}

func (g *diffGen) tupTable(ks, name string, small bool) *diffTable {
	tb := g.newTable("tup", ks, name, []string{"id int", "t1 tuple<int, text>", "a text",
		"t2 tuple<bigint, tuple<text, int>, boolean>", "b int",
		"t3 tuple<uuid, frozen<list<int>>, frozen<map<text, int>>>", "c bigint",
		"t4 tuple<frozen<addr>, double>", "t5 tuple<int>"}, []string{"id"}, "id", "")
	tb.shapes = diffShapes(diffShapeOf[diffTupStructs](), diffShapeOf[diffTupArrays](), diffShapeOf[diffTupPtrs](),
		diffShapeOf[diffTupScalars](), diffShapeOf[diffTupSome](), diffShapeOf[map[string]any]())
	g.simpleRows(tb, g.rowCount(small, 50, 120))
	return tb
}

func (g *diffGen) udtTable(ks, name string, small bool) *diffTable {
	tb := g.newTable("udt", ks, name, []string{"id int", "a frozen<addr>", "p frozen<person>", "an addr",
		"la list<frozen<addr>>", "mp map<text, frozen<person>>", "sa set<frozen<addr>>", "x text"},
		[]string{"id"}, "id", "")
	tb.shapes = diffShapes(diffShapeOf[diffUdtVals](), diffShapeOf[diffUdtPtrs](), diffShapeOf[diffUdtMaps](),
		diffShapeOf[diffUdtAny](), diffShapeOf[diffUdtFew](), diffShapeOf[map[string]any]())
	g.simpleRows(tb, g.rowCount(small, 40, 80))
	return tb
}

func (g *diffGen) cntTable(ks, name string, small bool) *diffTable {
	tb := g.newTable("cnt", ks, name, []string{"id int", "c1 counter", "c2 counter", "c3 counter"},
		[]string{"id"}, "id", "")
	tb.shapes = diffShapes(diffShapeOf[diffCntVals](), diffShapeOf[diffCntAlt](), diffShapeOf[diffCntAny](),
		diffShapeOf[map[string]any]())
	n := g.rowCount(small, 50, 120)
	for id := range n {
		for range 1 + g.r.IntN(3) {
			var sets []string
			for _, c := range tb.cols[1:] {
				if g.r.IntN(2) == 0 {
					continue
				}
				d := g.r.Int64N(1<<41) - 1<<40
				if g.r.IntN(4) == 0 {
					d = g.r.Int64N(3) - 1
				}
				op := "+"
				if d < 0 {
					op, d = "-", -d
				}
				sets = append(sets, fmt.Sprintf("%s = %s %s %d", c.name, c.name, op, d))
			}
			if len(sets) == 0 {
				sets = append(sets, "c2 = c2 + 1")
			}
			tb.write(id, fmt.Sprintf("UPDATE %s.%s SET %s WHERE id = %d", ks, name, strings.Join(sets, ", "), id))
		}
	}
	tb.rows = n
	return tb
}

func (g *diffGen) statTable(ks, name string, small bool) *diffTable {
	tb := g.newTable("stat", ks, name, []string{"pk int", "ck int", "ck2 text", "st text static", "sn int static",
		"sl list<int> static", "v int", "w text", "tu tuple<int, text>"}, []string{"pk", "ck", "ck2"},
		"pk, ck, ck2", " WITH CLUSTERING ORDER BY (ck DESC, ck2 ASC)")
	tb.shapes = diffShapes(diffShapeOf[diffStatVals](), diffShapeOf[diffStatPtrs](), diffShapeOf[diffStatAny](),
		diffShapeOf[map[string]any]())
	statics, regular := tb.cols[3:6], tb.cols[6:]
	pNull := g.pNull()
	for pk := range g.rowCount(small, 20, 40) {
		n := g.r.IntN(7)
		if g.r.IntN(6) == 0 {
			n = 0
		}
		if n == 0 {
			names, lits := g.cells(statics, pNull, false)
			if len(names) == 0 {
				names, lits = []string{"st"}, []string{"null"}
			}
			tb.insert(pk, append([]string{"pk"}, names...), append([]string{strconv.Itoa(pk)}, lits...))
			tb.rows++
			continue
		}
		for range n {
			names := []string{"pk", "ck", "ck2"}
			lits := []string{strconv.Itoa(pk), strconv.Itoa(g.r.IntN(100) - 50), g.lit(tb.cols[2].typ, true)}
			cols := regular
			if g.r.IntN(3) == 0 {
				cols = tb.cols[3:]
			}
			ns, ls := g.cells(cols, pNull, g.r.IntN(15) == 0)
			tb.insert(pk, append(names, ns...), append(lits, ls...))
			tb.rows++
		}
	}
	return tb
}

func (g *diffGen) rndTable(ks, name string, small bool) *diffTable {
	k0, k1 := g.randType(0, true, true), g.randType(0, true, true)
	defs := []string{"id int", "k0 " + k0.String(), "k1 " + k1.String()}
	for i := range 8 {
		d := fmt.Sprintf("a%d %s", i, g.randType(0, false, false))
		if i == 0 && g.r.IntN(2) == 0 {
			d += " static"
		}
		defs = append(defs, d)
	}
	tb := g.newTable("rnd", ks, name, defs, []string{"id", "k0", "k1"}, "(id, k0), k1", "")
	tb.pkCols = []string{"id", "k0"}
	tb.shapes = diffShapes(diffShapeOf[diffRndAny](), diffShapeOf[diffRndFew](), diffShapeOf[map[string]any]())
	pNull := g.pNull()
	for id := range g.rowCount(small, 15, 35) {
		key := g.lit(tb.cols[1].typ, true)
		for range 1 + g.r.IntN(4) {
			names, lits := g.cells(tb.cols[3:], pNull, g.r.IntN(15) == 0)
			tb.insert(id, append([]string{"id", "k0", "k1"}, names...),
				append([]string{strconv.Itoa(id), key, g.lit(tb.cols[2].typ, true)}, lits...))
			tb.rows++
		}
	}
	return tb
}

type diffFamily struct {
	name string
	make func(g *diffGen, ks, name string, small bool) *diffTable
}

var diffFamilies = []diffFamily{
	{"scal", (*diffGen).scalTable}, {"coll", (*diffGen).collTable}, {"tup", (*diffGen).tupTable},
	{"udt", (*diffGen).udtTable}, {"cnt", (*diffGen).cntTable}, {"stat", (*diffGen).statTable},
	{"rnd", (*diffGen).rndTable},
}

// diffKeyspace creates a keyspace of this test's own, with its UDTs, and
// drops it when the test ends.
func diffKeyspace(tb testing.TB, s *gocql.Session) string {
	tb.Helper()
	ks, err := cqlseqtest.CreateKeyspace(context.Background(), s, "differential")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := cqlseqtest.DropKeyspace(context.Background(), s, ks); err != nil {
			tb.Errorf("differential: %v", err)
		}
	})
	for _, u := range diffUDTList {
		cqlseqtest.Exec(tb, s, u.ddl(ks))
	}
	return ks
}

// diffWrite creates the tables and writes their rows: partitions at once,
// the statements of one partition in order.
func diffWrite(ctx context.Context, tb testing.TB, s *gocql.Session, tables ...*diffTable) {
	tb.Helper()
	for _, t := range tables {
		cqlseqtest.Exec(tb, s, t.ddl)
	}
	jobs := make(chan []string)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for stmts := range jobs {
				for _, st := range stmts {
					if err := s.Query(st).ExecContext(ctx); err != nil {
						mu.Lock()
						if first == nil {
							first = fmt.Errorf("%s: %w", st, err)
						}
						mu.Unlock()
						break
					}
				}
			}
		}()
	}
	for _, t := range tables {
		for _, id := range t.parts {
			jobs <- t.writes[id]
		}
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		tb.Fatalf("differential: writing the rows: %v", first)
	}
}

// ---------------------------------------------------------------------------
// Cases.

var diffMapType = reflect.TypeFor[map[string]any]()

// A diffShape is a row type with the functions that stream into it.
type diffShape struct {
	name string
	typ  reflect.Type
	run  func(ctx context.Context, s *gocql.Session, c *diffCase) *diffGot
}

func diffShapeOf[T any]() *diffShape {
	t := reflect.TypeFor[T]()
	return &diffShape{name: strings.ReplaceAll(t.String(), "cqlseq_test.", ""), typ: t, run: diffRunLib[T]}
}

type diffCase struct {
	n        int
	seed     string // how to run the case again
	table    *diffTable
	shape    *diffShape
	stmt     string
	keyStmt  string // the partition of each row of stmt, in the same order
	fetch    int
	prefetch float64
	pages    bool
}

func (c *diffCase) api() string {
	if c.pages {
		return "Pages"
	}
	return "Stream"
}

func (g *diffGen) subset(names []string) []string {
	q := 0.2 + 0.8*g.r.Float64()
	var out []string
	for _, n := range names {
		if g.r.Float64() < q {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = append(out, names[g.r.IntN(len(names))])
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func (g *diffGen) newCase(n int, seed string, tb *diffTable, sh *diffShape) *diffCase {
	c := &diffCase{n: n, seed: seed, table: tb, shape: sh}
	from := " FROM " + tb.ks + "." + tb.name
	var sel, keySel, suffix string
	switch {
	case len(tb.statics) > 0 && g.r.IntN(6) == 0:
		cols := append(slices.Clone(tb.pkCols), g.subset(tb.statics)...)
		g.r.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
		sel, keySel = "DISTINCT "+strings.Join(cols, ", "), "DISTINCT "+tb.idCol
	case g.r.IntN(8) == 0:
		sel, keySel = "*", tb.idCol
	default:
		names := make([]string, len(tb.cols))
		for i, col := range tb.cols {
			names[i] = col.name
		}
		sel, keySel = strings.Join(g.subset(names), ", "), tb.idCol
		if len(tb.statics) > 0 && g.r.IntN(6) == 0 {
			suffix += fmt.Sprintf(" PER PARTITION LIMIT %d", 1+g.r.IntN(3))
		}
	}
	if g.r.IntN(10) == 0 {
		suffix += fmt.Sprintf(" LIMIT %d", 1+g.r.IntN(tb.rows+5))
	}
	c.stmt, c.keyStmt = "SELECT "+sel+from+suffix, "SELECT "+keySel+from+suffix
	if g.r.IntN(3) == 0 {
		c.fetch = 1 + g.r.IntN(5)
	} else {
		c.fetch = 1 + g.r.IntN(tb.rows+5)
	}
	c.prefetch = []float64{0, 0.25, 1}[g.r.IntN(3)]
	c.pages = g.r.IntN(2) == 0
	return c
}

// ---------------------------------------------------------------------------
// The driver loop.

// diffFields maps column names to the fields of struct type t by gocqlx's
// rules: the db tag, else the name in snake_case; "-" skips a field; the
// fields of an embedded struct are promoted.
func diffFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(slices.Clone(prefix), i)
			tag := f.Tag.Get("db")
			if tag == "-" {
				continue
			}
			if f.Anonymous && f.Type.Kind() == reflect.Struct && tag == "" {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() {
				continue
			}
			name := tag
			if name == "" {
				name = reflectx.CamelToSnakeASCII(f.Name)
			}
			if old, ok := out[name]; !ok || len(idx) < len(old) {
				out[name] = idx
			}
		}
	}
	walk(t, nil)
	return out
}

// diffCell is one destination of the driver loop's Scan: it records whether
// the value was NULL and decodes any other value with the driver into dst, a
// new value of the field's type (or of a tuple element's); no dst: a column
// with no field. A NULL is not decoded: its expected value is the field's
// zero value (nil for pointers and interfaces), as the package documents.
type diffCell struct {
	dst  reflect.Value
	null bool
}

func (c *diffCell) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	c.null = data == nil
	if !c.dst.IsValid() || data == nil {
		return nil
	}
	return gocql.Unmarshal(info, data, c.dst.Interface())
}

// diffBuilder builds the rows of one page's columns by hand.
type diffBuilder struct {
	typ   reflect.Type
	cols  []gocql.ColumnInfo
	paths [][]int // the field of each column, nil for none, empty for the row itself
	cells [][]*diffCell
}

// errDiffMapping says that the row type cannot hold the result: cqlseq must
// report ErrMapping before the first row.
var errDiffMapping = errors.New("the row type cannot hold the result")

func newDiffBuilder(typ reflect.Type, cols []gocql.ColumnInfo) (*diffBuilder, error) {
	fields := diffFields(typ)
	b := &diffBuilder{typ: typ, cols: cols, paths: make([][]int, len(cols))}
	for i, c := range cols {
		b.paths[i] = fields[c.Name]
	}
	// As the package documents: a struct for a single UDT or tuple column
	// that no field takes is that column's value.
	if len(cols) == 1 && b.paths[0] == nil {
		switch cols[0].TypeInfo.(type) {
		case gocql.TupleTypeInfo, gocql.UDTTypeInfo:
			b.paths[0] = []int{}
		}
	}
	for i, c := range cols {
		tup, ok := c.TypeInfo.(gocql.TupleTypeInfo)
		if !ok || b.paths[i] == nil {
			continue
		}
		ft := b.fieldType(i)
		if !(ft.Kind() == reflect.Array && ft.Len() == len(tup.Elems)) && !(ft.Kind() == reflect.Struct && ft.NumField() == len(tup.Elems)) {
			if len(b.paths[i]) == 0 {
				return nil, fmt.Errorf("%w: %v for the single tuple column %q of %d elements", errDiffMapping, typ, c.Name, len(tup.Elems))
			}
			return nil, fmt.Errorf("test bug: tuple column %q has no array or struct of %d in %v", c.Name, len(tup.Elems), typ)
		}
	}
	return b, nil
}

// fieldType returns the type of the field of column i.
func (b *diffBuilder) fieldType(i int) reflect.Type {
	if len(b.paths[i]) == 0 {
		return b.typ
	}
	return b.typ.FieldByIndex(b.paths[i]).Type
}

// next returns the destinations for the next row.
func (b *diffBuilder) next() []any {
	var dest []any
	b.cells = make([][]*diffCell, len(b.cols))
	for i, col := range b.cols {
		var ft reflect.Type
		if b.paths[i] != nil {
			ft = b.fieldType(i)
		}
		tup, isTuple := col.TypeInfo.(gocql.TupleTypeInfo)
		n := 1
		if isTuple {
			n = len(tup.Elems)
		}
		for e := range n {
			cell := &diffCell{}
			if ft != nil {
				et := ft
				switch {
				case isTuple && ft.Kind() == reflect.Array:
					et = ft.Elem()
				case isTuple:
					et = ft.Field(e).Type
				}
				cell.dst = reflect.New(et)
			}
			b.cells[i] = append(b.cells[i], cell)
			dest = append(dest, cell)
		}
	}
	return dest
}

// build returns the row scanned into the destinations of next, and which
// columns were NULL.
func (b *diffBuilder) build() (any, []bool) {
	row := reflect.New(b.typ).Elem()
	nulls := make([]bool, len(b.cols))
	for i, cells := range b.cells {
		nulls[i] = true
		for _, c := range cells {
			nulls[i] = nulls[i] && c.null
		}
		if b.paths[i] == nil {
			continue
		}
		f := row.FieldByIndex(b.paths[i])
		if _, isTuple := b.cols[i].TypeInfo.(gocql.TupleTypeInfo); !isTuple {
			if !cells[0].null {
				f.Set(cells[0].dst.Elem())
			}
			continue
		}
		for e, c := range cells {
			switch {
			case c.null:
			case f.Kind() == reflect.Array:
				f.Index(e).Set(c.dst.Elem())
			default:
				f.Field(e).Set(c.dst.Elem())
			}
		}
	}
	return row.Interface(), nulls
}

// diffRef is what the driver loop read.
type diffRef struct {
	cols    []gocql.ColumnInfo
	paths   [][]int
	rows    []any
	nulls   [][]bool
	err     error // after len(rows) rows
	mapping error // cqlseq must refuse the row type before the first row
	bug     error // the test itself is wrong
}

// diffReference reads stmt with the driver alone, fetch rows a page.
func diffReference(ctx context.Context, s *gocql.Session, stmt string, fetch int, typ reflect.Type) (ref *diffRef) {
	ref = &diffRef{}
	iter := s.Query(stmt).PageSize(fetch).IterContext(ctx)
	defer func() {
		if p := recover(); p != nil {
			ref.err = fmt.Errorf("the driver panicked: %v", p)
		}
		if err := iter.Close(); err != nil && ref.err == nil {
			ref.err = err
		}
	}()
	ref.cols = iter.Columns()
	if typ == diffMapType {
		for {
			m := make(map[string]any, len(ref.cols))
			if !iter.MapScan(m) {
				return ref
			}
			ref.rows = append(ref.rows, m)
		}
	}
	b, err := newDiffBuilder(typ, ref.cols)
	if errors.Is(err, errDiffMapping) {
		ref.mapping = err
		return ref
	}
	if err != nil {
		ref.bug = err
		return ref
	}
	ref.paths = b.paths
	for {
		if !iter.Scan(b.next()...) {
			return ref
		}
		row, nulls := b.build()
		ref.rows = append(ref.rows, row)
		ref.nulls = append(ref.nulls, nulls)
	}
}

// ---------------------------------------------------------------------------
// cqlseq.

// diffGot is what a stream yielded.
type diffGot struct {
	rows     []any
	pageEnds []int // rows yielded at the end of each page
	err      error
	panic    string
	stack    string
	notes    []string // paging contract violations
}

func diffRunLib[T any](ctx context.Context, s *gocql.Session, c *diffCase) (got *diffGot) {
	got = &diffGot{}
	defer func() {
		if p := recover(); p != nil {
			got.panic = fmt.Sprint(p)
			got.stack = diffStack(string(debug.Stack()))
		}
	}()
	st := cqlseq.CQL(c.stmt)
	opts := []cqlseq.StreamOption{cqlseq.WithFetchSize(c.fetch), cqlseq.WithPrefetch(c.prefetch)}
	if c.pages {
		for p, err := range cqlseq.Pages[T](ctx, s, st, opts...) {
			if err != nil {
				got.err = err
				return got
			}
			number := len(got.pageEnds) + 1
			for _, r := range p.Rows {
				got.rows = append(got.rows, r)
			}
			got.pageEnds = append(got.pageEnds, len(got.rows))
			if p.Number != number || len(p.Rows) == 0 || len(p.Rows) > c.fetch || p.TotalRows != int64(len(got.rows)) {
				got.notes = append(got.notes, fmt.Sprintf("page %d has Number %d, %d rows (fetch size %d), TotalRows %d after %d rows",
					number, p.Number, len(p.Rows), c.fetch, p.TotalRows, len(got.rows)))
			}
		}
		return got
	}
	opts = append(opts, cqlseq.WithPageCallback(func(pi cqlseq.PageInfo) {
		if pi.RowCount == 0 {
			return
		}
		number := len(got.pageEnds) + 1
		got.pageEnds = append(got.pageEnds, len(got.rows))
		if pi.Number != number || pi.RowCount > c.fetch || pi.TotalRows != int64(len(got.rows)) {
			got.notes = append(got.notes, fmt.Sprintf("page callback %d: Number %d, Rows %d (fetch size %d), TotalRows %d after %d rows",
				number, pi.Number, pi.RowCount, c.fetch, pi.TotalRows, len(got.rows)))
		}
	}))
	for r, err := range cqlseq.Stream[T](ctx, s, st, opts...) {
		if err != nil {
			got.err = err
			return got
		}
		got.rows = append(got.rows, r)
	}
	return got
}

// diffStack keeps the frames of a panic's stack from the panic on.
func diffStack(stack string) string {
	lines := strings.Split(stack, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") {
			lines = lines[i:]
			break
		}
	}
	if len(lines) > 24 {
		lines = lines[:24]
	}
	return strings.Join(lines, "\n")
}

// ---------------------------------------------------------------------------
// Comparing and reporting.

var diffCmp = []cmp.Option{
	cmp.Comparer(func(a, b *big.Int) bool { return (a == nil) == (b == nil) && (a == nil || a.Cmp(b) == 0) }),
	cmp.Comparer(func(a, b *inf.Dec) bool { return (a == nil) == (b == nil) && (a == nil || a.Cmp(b) == 0) }),
	cmp.Comparer(func(a, b big.Int) bool { return a.Cmp(&b) == 0 }),
	cmp.Comparer(func(a, b inf.Dec) bool { return a.Cmp(&b) == 0 }),
	cmp.Comparer(func(a, b net.IP) bool { return (a == nil) == (b == nil) && a.Equal(b) }),
	cmpopts.EquateNaNs(),
	// Maps keyed by *big.Int or *inf.Dec (varint and decimal keys) compare
	// by the keys' values, not their addresses.
	cmp.FilterPath(func(p cmp.Path) bool {
		t := p.Last().Type()
		return t != nil && t.Kind() == reflect.Map && t.Key().Kind() == reflect.Pointer
	}, cmp.Transformer("KeysByValue", func(m any) map[string]any {
		v := reflect.ValueOf(m)
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			out[fmt.Sprint(it.Key().Interface())] = it.Value().Interface()
		}
		return out
	})),
}

// diffEqual is cmp.Equal; a value cmp cannot compare is unequal.
func diffEqual(a, b any) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return cmp.Equal(a, b, diffCmp...)
}

// diffDiff is cmp.Diff; for values cmp cannot compare it prints both.
func diffDiff(a, b any) (d string) {
	defer func() {
		if p := recover(); p != nil {
			d = fmt.Sprintf("cmp cannot compare them (%v):\n- %#v\n+ %#v", p, a, b)
		}
	}()
	return cmp.Diff(a, b, diffCmp...)
}

// diffReport prints a failure in full the first time it is seen, and in a
// line after that.
type diffReport struct {
	mu     sync.Mutex
	seen   map[string]int
	failed int
	notes  map[string]bool
}

func newDiffReport() *diffReport {
	return &diffReport{seen: map[string]int{}, notes: map[string]bool{}}
}

func (rp *diffReport) fail(t *testing.T, c *diffCase, kind, head string, details func() string) {
	t.Helper()
	key := c.table.family + "|" + c.shape.name + "|" + diffDigits.ReplaceAllString(kind, "#")
	rp.mu.Lock()
	first, seen := rp.seen[key]
	if !seen {
		rp.seen[key] = c.n
	}
	rp.failed++
	rp.mu.Unlock()
	if seen {
		t.Errorf("case %d: %s[%s] fetch size %d: %s (the same failure as case %d)", c.n, c.api(), c.shape.name, c.fetch, head, first)
		return
	}
	t.Errorf("case %d: %s\n%s", c.n, head, details())
}

// note logs, once per kind of error, a row that the driver loop and cqlseq
// both could not read: a limit of the driver, not a discrepancy.
func (rp *diffReport) note(t *testing.T, c *diffCase, ref *diffRef) {
	key := diffDigits.ReplaceAllString(diffTrunc(ref.err.Error(), 50), "#")
	rp.mu.Lock()
	seen := rp.notes[key]
	rp.notes[key] = true
	rp.mu.Unlock()
	if !seen {
		t.Logf("case %d: %s[%s] %s: both the driver loop and cqlseq stop after %d rows; driver loop: %v",
			c.n, c.api(), c.shape.name, c.stmt, len(ref.rows), ref.err)
	}
}

var diffDigits = regexp.MustCompile(`[0-9]+`)

func diffTrunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func diffIndent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// diffCheck compares what cqlseq yielded with the driver loop's rows and
// reports the first difference. It returns the number of rows compared.
func diffCheck(t *testing.T, s *gocql.Session, c *diffCase, ref *diffRef, got *diffGot, rp *diffReport) int {
	t.Helper()
	if ref.bug != nil {
		t.Fatalf("case %d: %v", c.n, ref.bug)
	}
	n := min(len(ref.rows), len(got.rows))
	var bad []int
	for i := range n {
		if !diffEqual(ref.rows[i], got.rows[i]) {
			bad = append(bad, i)
		}
	}
	refErr := ""
	if ref.err != nil {
		refErr = fmt.Sprintf(", then failed: %v", ref.err)
	}
	at, kind, head := -1, "", ""
	switch {
	case got.panic != "":
		at, kind = len(got.rows), "panic: "+diffTrunc(got.panic, 60)
		head = fmt.Sprintf("the stream panicked after %d rows (the driver loop read %d rows%s): %s", len(got.rows), len(ref.rows), refErr, got.panic)
	case ref.mapping != nil && (len(got.rows) > 0 || !errors.Is(got.err, cqlseq.ErrMapping)):
		kind = "mapping"
		head = fmt.Sprintf("%v, so the stream must fail with ErrMapping before the first row; it yielded %d rows and the error %v", ref.mapping, len(got.rows), got.err)
	case ref.mapping != nil:
		return 0
	case len(bad) > 0:
		at, kind = bad[0], "value "+diffColumnsThatDiffer(ref, got, bad[0])
		head = fmt.Sprintf("%d of %d rows differ from the driver loop's, the first is row %d", len(bad), n, bad[0])
	case ref.err == nil && got.err != nil:
		at, kind = len(got.rows), "error: "+diffTrunc(got.err.Error(), 60)
		if r := diffErrRow(got.err); r > len(got.rows) && r <= len(ref.rows) {
			at = r - 1 // Pages: the row in the page that failed
		}
		head = fmt.Sprintf("the stream failed after %d of %d rows: %v", len(got.rows), len(ref.rows), got.err)
	case ref.err != nil && got.err == nil:
		at, kind = len(ref.rows), "no error"
		head = fmt.Sprintf("the driver loop read %d rows%s; the stream yielded %d rows and no error", len(ref.rows), refErr, len(got.rows))
	case ref.err != nil && !diffSameStop(c, len(ref.rows), len(got.rows)):
		at, kind = n, "row count"
		head = fmt.Sprintf("the driver loop read %d rows%s; the stream yielded %d rows, then failed: %v", len(ref.rows), refErr, len(got.rows), got.err)
	case ref.err == nil && len(ref.rows) != len(got.rows):
		at, kind = n, "row count"
		head = fmt.Sprintf("the stream yielded %d rows (error: %v), the driver loop %d%s", len(got.rows), got.err, len(ref.rows), refErr)
	case len(got.notes) > 0:
		kind = "paging"
		head = "the pages break their contract: " + strings.Join(got.notes, "; ")
	default:
		if ref.err != nil {
			rp.note(t, c, ref)
		}
		return n
	}
	rp.fail(t, c, kind, head, func() string { return diffDetails(s, c, ref, got, at, bad) })
	return n
}

// diffErrRow returns the number (from 1) of the row a stream's error is
// about (the Row of a cqlseq.DecodeError), or 0.
func diffErrRow(err error) int {
	for ; err != nil; err = errors.Unwrap(err) {
		v := reflect.ValueOf(err)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			continue
		}
		if f := v.FieldByName("Row"); f.IsValid() && f.CanInt() {
			return int(f.Int())
		}
	}
	return 0
}

// diffSameStop reports whether a stream that yielded got rows before an
// error stopped where it should, when the driver loop failed after ref
// rows: Stream at the same row, Pages at the start of the page that holds
// the row.
func diffSameStop(c *diffCase, ref, got int) bool {
	if c.pages {
		return got <= ref && ref-got < c.fetch
	}
	return got == ref
}

// diffColumnsThatDiffer names the columns whose fields differ in row i.
func diffColumnsThatDiffer(ref *diffRef, got *diffGot, i int) string {
	if ref.paths == nil {
		var keys []string
		w, g := ref.rows[i].(map[string]any), got.rows[i].(map[string]any)
		for k := range w {
			if _, ok := g[k]; !ok || !diffEqual(w[k], g[k]) {
				keys = append(keys, k)
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		return strings.Join(keys, ",")
	}
	var names []string
	w, g := reflect.ValueOf(ref.rows[i]), reflect.ValueOf(got.rows[i])
	for k, p := range ref.paths {
		if p != nil && !diffEqual(w.FieldByIndex(p).Interface(), g.FieldByIndex(p).Interface()) {
			names = append(names, ref.cols[k].Name)
		}
	}
	return strings.Join(names, ",")
}

func diffDetails(s *gocql.Session, c *diffCase, ref *diffRef, got *diffGot, at int, bad []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s[%s] with WithFetchSize(%d), WithPrefetch(%v); rerun: %s\n", c.api(), c.shape.name, c.fetch, c.prefetch, c.seed)
	fmt.Fprintf(&b, "schema:\n%s\n", diffIndent(strings.Join(c.table.schema(), ";\n")+";"))
	fmt.Fprintf(&b, "select:\n%s\n", diffIndent(c.stmt))
	fmt.Fprintf(&b, "row type:\n%s\n", diffIndent(diffGoDecl(c.shape.typ)))
	if at >= 0 && at < len(ref.rows) {
		page := fmt.Sprintf("page %d by the fetch size", at/c.fetch+1)
		for p, end := range got.pageEnds {
			if at < end {
				page = fmt.Sprintf("page %d", p+1)
				break
			}
		}
		fmt.Fprintf(&b, "row %d (%s); %s\n", at, page, diffWrittenBy(s, c, at))
		b.WriteString(diffRowColumns(c.table, ref, at))
		if at < len(got.rows) {
			if ref.paths == nil {
				fmt.Fprintf(&b, "row %d (-want +got):\n%s\n", at, diffIndent(diffDiff(ref.rows[at], got.rows[at])))
			} else {
				w, g := reflect.ValueOf(ref.rows[at]), reflect.ValueOf(got.rows[at])
				for k, p := range ref.paths {
					if p == nil {
						continue
					}
					if d := diffDiff(w.FieldByIndex(p).Interface(), g.FieldByIndex(p).Interface()); d != "" {
						fmt.Fprintf(&b, "column %q (%s) -> field %s (-want +got):\n%s\n", ref.cols[k].Name, c.table.colType(ref.cols[k].Name),
							diffFieldName(c.shape.typ, p), diffIndent(d))
					}
				}
				if d := diffDiff(ref.rows[at], got.rows[at]); d != "" {
					fmt.Fprintf(&b, "whole row (-want +got):\n%s\n", diffIndent(d))
				}
			}
		}
	}
	if len(bad) > 1 {
		var list []string
		for _, i := range bad[:min(len(bad), 30)] {
			list = append(list, fmt.Sprintf("%d (%s)", i, diffColumnsThatDiffer(ref, got, i)))
		}
		fmt.Fprintf(&b, "rows that differ (columns): %s\n", strings.Join(list, ", "))
	}
	if got.err != nil {
		fmt.Fprintf(&b, "the stream's error: %v\n", got.err)
	}
	if ref.err != nil {
		fmt.Fprintf(&b, "the driver loop's error after %d rows: %v\n", len(ref.rows), ref.err)
	}
	if got.stack != "" {
		fmt.Fprintf(&b, "stack:\n%s\n", diffIndent(got.stack))
	}
	return b.String()
}

// diffRowColumns lists the columns of row i as the driver loop read them.
func diffRowColumns(tb *diffTable, ref *diffRef, i int) string {
	var b strings.Builder
	b.WriteString("the driver loop's row:\n")
	if ref.paths == nil {
		fmt.Fprintf(&b, "    %s\n", diffTrunc(fmt.Sprintf("%#v", ref.rows[i]), 2000))
		return b.String()
	}
	v := reflect.ValueOf(ref.rows[i])
	for k, col := range ref.cols {
		null := ""
		if ref.nulls[i][k] {
			null = " NULL"
		}
		field := "no field"
		if p := ref.paths[k]; p != nil {
			field = fmt.Sprintf("%s = %s", diffFieldName(v.Type(), p), diffTrunc(diffShow(v.FieldByIndex(p)), 300))
		}
		fmt.Fprintf(&b, "    %s %s%s: %s\n", col.Name, tb.colType(col.Name), null, field)
	}
	return b.String()
}

// diffShow prints v as Go syntax, following pointers.
func diffShow(v reflect.Value) string {
	switch {
	case v.Kind() == reflect.Pointer && v.IsNil():
		return "nil"
	case v.Kind() == reflect.Pointer:
		return "&" + diffShow(v.Elem())
	case v.Kind() == reflect.Interface && !v.IsNil():
		return diffShow(v.Elem())
	}
	return fmt.Sprintf("%#v", v.Interface())
}

func diffFieldName(t reflect.Type, path []int) string {
	if len(path) == 0 {
		return "(the row itself)"
	}
	var parts []string
	for _, i := range path {
		f := t.Field(i)
		parts = append(parts, f.Name)
		t = f.Type
	}
	return strings.Join(parts, ".")
}

// diffWrittenBy finds the partition of row i of the case's statement and
// returns the statements that wrote it.
func diffWrittenBy(s *gocql.Session, c *diffCase, i int) string {
	it := s.Query(c.keyStmt).PageSize(10000).Iter()
	var id, n int
	found := false
	for it.Scan(&id) {
		if n == i {
			found = true
			break
		}
		n++
	}
	if err := it.Close(); err != nil {
		return fmt.Sprintf("cannot tell its partition: %s: %v", c.keyStmt, err)
	}
	if !found {
		return fmt.Sprintf("cannot tell its partition: %s returned %d rows", c.keyStmt, n)
	}
	w := c.table.writes[id]
	more := ""
	if len(w) > 10 {
		more = fmt.Sprintf("\n    ... and %d more", len(w)-10)
		w = w[:10]
	}
	return fmt.Sprintf("partition %s=%d, written by:\n%s%s\n", c.table.idCol, id, diffIndent(strings.Join(w, ";\n")+";"), more)
}

// diffGoDecl returns the Go declaration of t and of this package's named
// struct types it uses.
func diffGoDecl(t reflect.Type) string {
	pkg := reflect.TypeFor[diffAddr]().PkgPath()
	clean := func(t reflect.Type) string { return strings.ReplaceAll(t.String(), "cqlseq_test.", "") }
	if t.Kind() != reflect.Struct {
		return clean(t)
	}
	var decls []string
	seen := map[reflect.Type]bool{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			visit(t.Elem())
		case reflect.Map:
			visit(t.Key())
			visit(t.Elem())
		case reflect.Struct:
			if t.Name() != "" && (t.PkgPath() != pkg || seen[t]) {
				return
			}
			var b strings.Builder
			if t.Name() != "" {
				seen[t] = true
				b.WriteString("type " + t.Name() + " struct {\n")
				for i := range t.NumField() {
					f := t.Field(i)
					name := f.Name + " "
					if f.Anonymous {
						name = ""
					}
					tag := ""
					if f.Tag != "" {
						tag = " `" + string(f.Tag) + "`"
					}
					fmt.Fprintf(&b, "\t%s%s%s\n", name, clean(f.Type), tag)
				}
				b.WriteString("}")
				decls = append(decls, b.String())
			}
			for i := range t.NumField() {
				visit(t.Field(i).Type)
			}
		}
	}
	visit(t)
	return strings.Join(decls, "\n")
}

func diffThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// diffRunCase runs one case: the driver loop, then cqlseq, then compares.
func diffRunCase(t *testing.T, s *gocql.Session, c *diffCase, rp *diffReport) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ref := diffReference(ctx, s, c.stmt, c.fetch, c.shape.typ)
	got := c.shape.run(ctx, s, c)
	return diffCheck(t, s, c, ref, got, rp)
}

// ---------------------------------------------------------------------------
// The tests.

// TestDifferential streams generated tables over every CQL type through
// Stream and Pages and compares every row with a hand-written driver loop.
func TestDifferential(t *testing.T) {
	s := cqlseqtest.Session(t)
	seed := *diffSeed
	rerun := fmt.Sprintf("go test -run 'TestDifferential' -diff.seed=%d -diff.cases=%d", seed, *diffCases)
	g := newDiffGen(seed)
	ks := diffKeyspace(t, s)
	var tables []*diffTable
	for _, fam := range diffFamilies {
		n := 1
		if fam.name == "rnd" {
			n = 3
		}
		for i := range n {
			tables = append(tables, fam.make(g, ks, fmt.Sprintf("%s%d", fam.name, i), false))
		}
	}
	start := time.Now()
	diffWrite(t.Context(), t, s, tables...)
	t.Logf("differential: %d tables written in %v", len(tables), time.Since(start).Round(time.Millisecond))

	byTable := map[*diffTable][]*diffCase{}
	for i := range *diffCases {
		tb := tables[i%len(tables)]
		k := len(byTable[tb])
		byTable[tb] = append(byTable[tb], g.newCase(i, rerun, tb, tb.shapes[k%len(tb.shapes)]))
	}
	rp := newDiffReport()
	var cases, rows atomic.Int64
	t.Run("cases", func(t *testing.T) {
		for _, tb := range tables {
			t.Run(tb.name, func(t *testing.T) {
				t.Parallel()
				for _, c := range byTable[tb] {
					rows.Add(int64(diffRunCase(t, s, c, rp)))
					cases.Add(1)
				}
			})
		}
	})
	t.Run("schema-change", func(t *testing.T) {
		n, r := diffSchemaChange(t, s, ks, g, rerun)
		cases.Add(int64(n))
		rows.Add(int64(r))
	})
	t.Logf("differential: %d cases, %s rows, seed %d; %d cases failed (%d distinct failures)",
		cases.Load(), diffThousands(rows.Load()), seed, rp.failed, len(rp.seen))
}

// diffSchemaChange reads a table whose columns change between the first and
// the second page (a column dropped, another added and filled) with Stream
// and Pages, and compares the rows with a driver loop that reads each page
// by its own columns. The row type holds both shapes, so the stream must go
// on by the new columns' names.
func diffSchemaChange(t *testing.T, s *gocql.Session, ks string, g *diffGen, rerun string) (cases, rows int) {
	ctx := t.Context()
	n := 20 + g.r.IntN(20)
	fetch := 2 + g.r.IntN(n/3)
	textT := diffParseType("text", nil)
	const table = "{table}"
	var writes, change []string
	for id := range n {
		names, lits := []string{"id"}, []string{strconv.Itoa(id)}
		for _, col := range []string{"a", "b", "c"} {
			if v := g.cell(textT, 0.2); v != "" {
				names, lits = append(names, col), append(lits, v)
			}
		}
		writes = append(writes, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(names, ", "), strings.Join(lits, ", ")))
	}
	change = append(change, "ALTER TABLE "+table+" DROP b", "ALTER TABLE "+table+" ADD d text")
	for id := range n {
		if v := g.cell(textT, 0.2); v != "" {
			change = append(change, fmt.Sprintf("UPDATE %s SET d = %s WHERE id = %d", table, v, id))
		}
	}
	ddl := "CREATE TABLE " + table + " (id int PRIMARY KEY, a text, b text, c text)"
	run := func(tb string, stmts ...string) {
		for _, st := range stmts {
			cqlseqtest.Exec(t, s, strings.ReplaceAll(st, table, tb))
		}
	}
	create := func(name string) string {
		tb := ks + "." + name
		run(tb, ddl)
		run(tb, writes...)
		return tb
	}
	describe := func(api, tb string) string {
		list := func(stmts []string) string {
			return diffIndent(strings.ReplaceAll(strings.Join(stmts, ";\n")+";", table, tb))
		}
		return fmt.Sprintf("%s[diffSchRow] with WithFetchSize(%d), WithPrefetch(0); rerun: %s\nschema and rows:\n%s\n"+
			"select:\n    SELECT * FROM %s\nbetween pages 1 and 2:\n%s\nrow type:\n%s\n",
			api, fetch, rerun, list(append([]string{ddl}, writes...)), tb, list(change),
			diffIndent(diffGoDecl(reflect.TypeFor[diffSchRow]())))
	}

	// The driver loop: each page by its own columns.
	refTable := create("sch_ref")
	var want []any
	var state []byte
	typ := reflect.TypeFor[diffSchRow]()
	for page := 1; ; page++ {
		it := s.Query("SELECT * FROM " + refTable).PageSize(fetch).PageState(state).IterContext(ctx)
		b, err := newDiffBuilder(typ, it.Columns())
		if err != nil {
			t.Fatal(err)
		}
		for range it.NumRows() {
			if !it.Scan(b.next()...) {
				break
			}
			row, _ := b.build()
			want = append(want, row)
		}
		state = it.PageState()
		if err := it.Close(); err != nil {
			t.Fatalf("the driver loop: page %d: %v", page, err)
		}
		if page == 1 {
			run(refTable, change...)
		}
		if len(state) == 0 {
			break
		}
	}

	check := func(api, tb string, got []diffSchRow, err error, panicked any) {
		cases++
		rows += min(len(got), len(want))
		gotAny := make([]any, len(got))
		for i, r := range got {
			gotAny[i] = r
		}
		wantAny := want
		switch {
		case panicked != nil:
			t.Errorf("schema change: the stream panicked after %d rows: %v\n%s", len(got), panicked, describe(api, tb))
			wantAny = want[:min(len(want), len(got))]
		case err != nil:
			t.Errorf("schema change: the stream failed after %d rows (the driver loop read %d): %v\n%s", len(got), len(want), err, describe(api, tb))
			wantAny = want[:min(len(want), len(got))]
		}
		if d := cmp.Diff(wantAny, gotAny); d != "" {
			t.Errorf("schema change: %s: rows (-want +got):\n%s\n%s", api, d, describe(api, tb))
		}
	}

	streamTable := create("sch_stream")
	var got []diffSchRow
	panicked, err := func() (panicked any, err error) {
		defer func() { panicked = recover() }()
		for r, err := range cqlseq.Stream[diffSchRow](ctx, s, cqlseq.CQL("SELECT * FROM "+streamTable),
			cqlseq.WithFetchSize(fetch), cqlseq.WithPrefetch(0), cqlseq.WithPageCallback(func(pi cqlseq.PageInfo) {
				if pi.Number == 1 {
					run(streamTable, change...)
				}
			})) {
			if err != nil {
				return nil, err
			}
			got = append(got, r)
		}
		return nil, nil
	}()
	check("Stream", streamTable, got, err, panicked)

	pagesTable := create("sch_pages")
	got = nil
	panicked, err = func() (panicked any, err error) {
		defer func() { panicked = recover() }()
		for p, err := range cqlseq.Pages[diffSchRow](ctx, s, cqlseq.CQL("SELECT * FROM "+pagesTable),
			cqlseq.WithFetchSize(fetch), cqlseq.WithPrefetch(0)) {
			if err != nil {
				return nil, err
			}
			got = append(got, p.Rows...)
			if p.Number == 1 {
				run(pagesTable, change...)
			}
		}
		return nil, nil
	}()
	check("Pages", pagesTable, got, err, panicked)
	return cases, rows
}

// FuzzDifferential runs one small generated case per seed: a table of a
// random family, a row type, a SELECT, a fetch size, a prefetch and an API.
func FuzzDifferential(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6, 7, 0xc0ffee} {
		f.Add(seed)
	}
	s := cqlseqtest.Session(f)
	ks := diffKeyspace(f, s)
	var tables atomic.Int64
	f.Fuzz(func(t *testing.T, seed uint64) {
		g := newDiffGen(seed)
		fam := diffFamilies[g.r.IntN(len(diffFamilies))]
		tb := fam.make(g, ks, fmt.Sprintf("fz%d_%s", tables.Add(1), fam.name), true)
		t.Cleanup(func() {
			if err := s.Query("DROP TABLE IF EXISTS " + tb.ks + "." + tb.name).Exec(); err != nil {
				t.Errorf("differential: %v", err)
			}
		})
		diffWrite(t.Context(), t, s, tb)
		rerun := fmt.Sprintf("go test -run 'FuzzDifferential' with the seed %d (f.Add(uint64(%d)))", seed, seed)
		c := g.newCase(0, rerun, tb, tb.shapes[g.r.IntN(len(tb.shapes))])
		rows := diffRunCase(t, s, c, newDiffReport())
		t.Logf("differential: 1 case, %d rows, seed %d: %s[%s] fetch size %d: %s", rows, seed, c.api(), c.shape.name, c.fetch, c.stmt)
	})
}
