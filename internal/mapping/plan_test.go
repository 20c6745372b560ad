package mapping

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// FuzzPlan builds plans for random struct shapes and column sets: a plan
// or an *Error that says what is wrong, never a panic, and a plan whose
// destinations bind, each described by one of the columns.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []byte{2, 0, 1, 2, 3}, uint8(0))
	f.Add([]byte{1, 9, 9, 9}, []byte{1, 5, 5}, uint8(StrictColumns))
	f.Add([]byte{0}, []byte{0}, uint8(StrictFields))
	f.Add([]byte{8, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4}, []byte{6, 1, 2, 3, 4, 5, 6, 7}, uint8(StrictColumns|StrictFields))
	names := []string{"ID", "Name", "Score", "UserID", "X", "At", "Pair", "Tags"}
	tags := []string{"", `db:"id"`, `db:"name"`, `db:"-"`, `db:"score"`, `db:"pair"`}
	types := []reflect.Type{
		reflect.TypeFor[int](), reflect.TypeFor[string](), reflect.TypeFor[*int](), reflect.TypeFor[[]int](),
		reflect.TypeFor[time.Time](), reflect.TypeFor[struct{ A, B int }](), reflect.TypeFor[[2]int](),
		reflect.TypeFor[any](), reflect.TypeFor[**string](), reflect.TypeFor[map[string]int](),
	}
	colNames := []string{"id", "name", "score", "user_id", "x", "at", "pair", "[applied]", "tags"}
	colTypes := []string{"int", "text", "ts", "udt", "tuple"}
	f.Fuzz(func(t *testing.T, shape, colSpec []byte, strict uint8) {
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
		pl, err := build(planSource{}, defaultMapper, rt, cols, Strict(strict)&(StrictColumns|StrictFields))
		if err != nil {
			// Package cqlseq prefixes Msg with "cqlseq: " (rows_test.go).
			var me *Error
			if !errors.As(err, &me) || me.Msg == "" || strings.HasPrefix(me.Msg, "cqlseq: ") {
				t.Fatalf("unclear error for %v and %d columns: %v", rt, len(cols), err)
			}
			return
		}
		if pl.IsMap() {
			return
		}
		want := 0
		for _, c := range cols {
			want += max(c.Elems, 1)
		}
		var slot int
		dest := pl.Bind(reflect.New(rt).Interface(), planSource{}, &slot)
		if len(dest) != want {
			t.Fatalf("%d destinations for %d columns' values", len(dest), want)
		}
		for i, d := range dest {
			if d != nil && reflect.TypeOf(d).Kind() != reflect.Pointer {
				t.Fatalf("destination %d is %T, not a pointer", i, d)
			}
			if col, _ := pl.Describe(i); !slices.ContainsFunc(cols, func(c driver.Column) bool { return c.Name == col }) {
				t.Fatalf("destination %d is described as column %q, not one of the result's", i, col)
			}
		}
	})
}

// A field of an empty interface type, named or not, is bound as the *any
// the drivers decode into, and that pointer writes the field itself.
func TestEmptyInterfaceFields(t *testing.T) {
	type anything interface{}
	type row struct {
		A any
		B anything
	}
	cols := []driver.Column{fakeColumn("a", "int", 0), fakeColumn("b", "text", 0)}
	pl, err := For(planSource{}, reflect.TypeFor[row](), cols, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var r row
	at := -1
	dest := pl.Bind(&r, planSource{}, &at)
	a, okA := dest[0].(*any)
	b, okB := dest[1].(*any)
	if !okA || !okB {
		t.Fatalf("destinations %T and %T, want *any for both", dest[0], dest[1])
	}
	*a, *b = 7, "seven"
	if r.A != 7 || r.B != "seven" {
		t.Fatalf("the row after writing through its destinations: %+v", r)
	}
}
