package cqlseq

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// fakeColumn accepts the destinations a driver would for its type.
func fakeColumn(name, typ string, elems int) driver.Column {
	accepts := map[string][]reflect.Type{
		"int":  {reflect.TypeFor[int](), reflect.TypeFor[int64](), reflect.TypeFor[int32](), reflect.TypeFor[any]()},
		"text": {reflect.TypeFor[string](), reflect.TypeFor[[]byte](), reflect.TypeFor[any]()},
		"ts":   {reflect.TypeFor[time.Time](), reflect.TypeFor[int64](), reflect.TypeFor[any]()},
	}[typ]
	return driver.Column{Name: name, Type: typ, Elems: elems, UDT: typ == "udt",
		Info: func(dst any) error {
			t := reflect.TypeOf(dst).Elem()
			if typ == "udt" && t.Kind() == reflect.Struct {
				return nil
			}
			for _, a := range accepts {
				if t == a {
					return nil
				}
			}
			return fmt.Errorf("cannot decode %s into %T", typ, dst)
		}}
}

type planSource struct{ driver.Source }

func (planSource) Scannable(reflect.Type) bool      { return false }
func (planSource) Dest(d *driver.Dest) any          { return d.Ptr }
func (planSource) Discard(*driver.Dest) any         { return new(int) }
func (planSource) Sample(driver.Column, int) []byte { return nil }

// Decode runs the fake column's check, kept in its Info.
func (planSource) Decode(c driver.Column, _ int, _ []byte, dst any) error {
	return c.Info.(func(any) error)(dst)
}

func TestDuplicateAndUnexportedFields(t *testing.T) {
	type Base struct{ Name string }
	type Dup struct {
		Name  string
		Other string `db:"name"`
	}
	type Promoted struct {
		Base
		FullName string `db:"name"`
	}
	type Hidden struct {
		ID int
		//lint:ignore U1000 never read: the test shows that no column writes it
		name string
	}
	cols := []driver.Column{fakeColumn("id", "int", 0), fakeColumn("name", "text", 0)}
	for _, tt := range []struct {
		t   reflect.Type
		msg string
	}{
		{reflect.TypeFor[Dup](), `column "name" maps to two fields of cqlseq.Dup, Name and Other`},
		{reflect.TypeFor[Promoted](), `column "name" maps to two fields of cqlseq.Promoted`},
	} {
		_, err := buildPlan(planSource{}, defaultMapper, tt.t, cols, false)
		if !errors.Is(err, ErrMapping) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%v: got %v, want ErrMapping with %q", tt.t, err, tt.msg)
		}
	}
	// An unexported field is never written, even when a column has its name;
	// in strict mode that column is an error.
	pl, err := buildPlan(planSource{}, defaultMapper, reflect.TypeFor[Hidden](), cols, false)
	if err != nil || !pl.slots[1].skip {
		t.Fatalf("unexported field: plan %+v, %v; want column name skipped", pl, err)
	}
	_, err = buildPlan(planSource{}, defaultMapper, reflect.TypeFor[Hidden](), cols, true)
	if !errors.Is(err, ErrMapping) || !strings.Contains(err.Error(), `column "name" has no field in cqlseq.Hidden`) {
		t.Fatalf("unexported field, strict: %v", err)
	}
}

// FuzzPlan builds plans for random struct shapes and column sets: a plan
// or a clear ErrMapping, never a panic, and a plan whose destinations bind.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []byte{2, 0, 1, 2, 3}, false)
	f.Add([]byte{1, 9, 9, 9}, []byte{1, 5, 5}, true)
	f.Add([]byte{0}, []byte{0}, false)
	f.Add([]byte{8, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4}, []byte{6, 1, 2, 3, 4, 5, 6, 7}, true)
	names := []string{"ID", "Name", "Score", "UserID", "X", "At", "Pair", "Tags"}
	tags := []string{"", `db:"id"`, `db:"name"`, `db:"-"`, `db:"score"`, `db:"pair"`}
	types := []reflect.Type{
		reflect.TypeFor[int](), reflect.TypeFor[string](), reflect.TypeFor[*int](), reflect.TypeFor[[]int](),
		reflect.TypeFor[time.Time](), reflect.TypeFor[struct{ A, B int }](), reflect.TypeFor[[2]int](),
		reflect.TypeFor[any](), reflect.TypeFor[**string](), reflect.TypeFor[map[string]int](),
	}
	colNames := []string{"id", "name", "score", "user_id", "x", "at", "pair", "[applied]", "tags"}
	colTypes := []string{"int", "text", "ts", "udt", "tuple"}
	f.Fuzz(func(t *testing.T, shape, colSpec []byte, strict bool) {
		at := func(b []byte, i int) int {
			if i < len(b) {
				return int(b[i])
			}
			return 0
		}
		var fields []reflect.StructField
		used := map[string]bool{}
		for i := range at(shape, 0) % 9 {
			name := names[at(shape, 1+3*i)%len(names)]
			if used[name] {
				continue // reflect.StructOf refuses duplicate names
			}
			used[name] = true
			fields = append(fields, reflect.StructField{
				Name: name, Type: types[at(shape, 2+3*i)%len(types)],
				Tag: reflect.StructTag(tags[at(shape, 3+3*i)%len(tags)]),
			})
		}
		rt := reflect.StructOf(fields)
		if at(shape, 0)&0x80 != 0 {
			rt = types[at(shape, 1)%len(types)] // a non-struct T
		}
		var cols []driver.Column
		for i := range at(colSpec, 0) % 7 {
			typ := colTypes[at(colSpec, 1+2*i)%len(colTypes)]
			elems := 0
			if typ == "tuple" {
				typ, elems = "int", 2
			}
			cols = append(cols, fakeColumn(colNames[at(colSpec, 2+2*i)%len(colNames)], typ, elems))
		}
		pl, err := buildPlan(planSource{}, defaultMapper, rt, cols, strict)
		if err != nil {
			if !errors.Is(err, ErrMapping) || !strings.HasPrefix(err.Error(), "cqlseq: ") {
				t.Fatalf("unclear error for %v and %d columns: %v", rt, len(cols), err)
			}
			return
		}
		if pl.isMap {
			return
		}
		want := 0
		for _, c := range cols {
			want += max(c.Elems, 1)
		}
		var slot int
		dest := pl.bind(reflect.New(rt).Interface(), planSource{}, &slot)
		if len(dest) != want {
			t.Fatalf("%d destinations for %d columns' values", len(dest), want)
		}
		for i, d := range dest {
			if d != nil && reflect.TypeOf(d).Kind() != reflect.Pointer {
				t.Fatalf("destination %d is %T, not a pointer", i, d)
			}
		}
	})
}

// driver.Column lists that a separator-joined text would run together get
// distinct cache keys: quoted identifiers may hold any character.
func TestPlanSignatureIsUnambiguous(t *testing.T) {
	a := []driver.Column{{Name: "a int,b", Type: "text"}}
	b := []driver.Column{{Name: "a", Type: "int"}, {Name: "b", Type: "text"}}
	c := []driver.Column{{Name: "a", Type: "int,b text"}}
	d := []driver.Column{{Name: "a", Type: "int", Elems: 2}}
	e := []driver.Column{{Name: "a", Type: "int", UDT: true}}
	sigs := map[string]bool{}
	for _, cols := range [][]driver.Column{a, b, c, d, e, nil} {
		sigs[signature(cols)] = true
	}
	if len(sigs) != 6 {
		t.Fatalf("%d distinct signatures for 6 column lists", len(sigs))
	}
}

// The plan cache stays bounded however many column sets a program streams.
func TestPlanCacheIsBounded(t *testing.T) {
	type row struct{ ID int }
	cfg := &config{}
	for i := range maxPlans + 100 {
		cols := []driver.Column{fakeColumn("id", "int", 0), fakeColumn(fmt.Sprint("c", i), "int", 0)}
		if _, err := planFor[row](planSource{}, cols, cfg); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	plans.Range(func(any, any) bool { n++; return true })
	if n > maxPlans {
		t.Fatalf("%d plans cached, bound %d", n, maxPlans)
	}
}
