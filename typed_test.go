package cqlseq

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// These tests drive the row scanner with fixed columns and rows, for what
// the user sees of the mapping: the MappingError of a row type that does
// not fit, word for word; the DecodeError of a row, naming its column and
// field; and a row path that allocates nothing.

// errRefused is what colSource's Decode wraps when it refuses a field.
var errRefused = errors.New("refused")

// colSource describes fixed columns: a column's Info lists the Go types
// its values decode into (a tuple column's, each element's). Its sample
// value is refused as its NULL is, so that a refusal is final.
type colSource struct{ driver.Source }

// Query says that strict mapping refuses fields without a column too, as
// for the v2 driver's queries.
func (colSource) Query() driver.Query { return driver.Query{StrictFields: true} }

func (colSource) Scannable(reflect.Type) bool      { return false }
func (colSource) Dest(d *driver.Dest) any          { return d.Ptr }
func (colSource) Discard(*driver.Dest) any         { return new(int) }
func (colSource) Sample(driver.Column, int) []byte { return []byte{0} }

func (colSource) Decode(c driver.Column, _ int, _ []byte, dst any) error {
	t := reflect.TypeOf(dst).Elem()
	for _, a := range c.Info.([]reflect.Type) {
		if t == a {
			return nil
		}
	}
	return fmt.Errorf("cannot decode %s into %T: %w", c.Type, dst, errRefused)
}

var (
	intCol  = []reflect.Type{reflect.TypeFor[int](), reflect.TypeFor[int64]()}
	textCol = []reflect.Type{reflect.TypeFor[string]()}
)

func col(name, typ string, accepts []reflect.Type) driver.Column {
	return driver.Column{Name: name, Type: typ, Info: accepts}
}

func tupleCol(name string, elems int) driver.Column {
	return driver.Column{Name: name, Type: "tuple<int, int>", Elems: elems, Info: intCol}
}

// The row types of the tests below.
type (
	fitRow struct {
		ID   int
		Name string
	}
	fitWrongType struct {
		ID   int
		Name int
	}
	fitStringer struct {
		ID   int
		Name fmt.Stringer
	}
	fitDup struct {
		Name  string
		Other string `db:"name"`
	}
	fitEmbedded struct {
		*fitBase
		Name string
	}
	fitBase struct{ ID int }
	fitTypo struct {
		ID   int
		Nmae string
	}
	fitPointerTo struct {
		B    *fitBase
		Name string
	}
	fitTuple struct {
		ID   int
		Pair struct{ A, B int }
	}
	fitTuple3 struct {
		Pair struct{ A, B, C int }
	}
	fitTupleHidden struct {
		Pair struct {
			A int
			b int
		}
	}
	fitTupleInt struct{ Pair int }
)

// rowsScanner returns a row scanner for T on a pager that has read pages
// pages with total rows in them.
func rowsScanner[T any](strict bool, pages int, total int64) *rowScanner[T] {
	p := &pager{src: colSource{}, cfg: &config{Strict: strict}, number: pages, total: total}
	return newRowScanner[T](p)
}

// replanErr plans T for cols, after planning it for first unless first is
// nil, and returns the error of the last plan.
func replanErr[T any](strict bool, first, cols []driver.Column) error {
	s := rowsScanner[T](strict, 0, 0)
	page := 1
	if first != nil {
		if err := s.replan(first, 1); err != nil {
			return fmt.Errorf("first columns: %w", err)
		}
		page = 2
	}
	return s.replan(cols, page)
}

// A row type that does not fit is a MappingError, before any row, with the
// words, column, field and page below; it matches ErrMapping and unwraps to
// the driver's error where the driver refused the field.
func TestMappingErrorOfRowType(t *testing.T) {
	id, name, score := col("id", "int", intCol), col("name", "text", textCol), col("score", "bigint", intCol)
	tests := []struct {
		name   string
		err    error
		want   MappingError
		driver bool // unwraps to the driver's refusal
	}{
		{"no columns", replanErr[fitRow](false, nil, nil),
			MappingError{Page: 1, Msg: "the statement returned no columns; only queries that return rows can be streamed"}, false},
		{"pointer to a struct", replanErr[*fitRow](false, nil, []driver.Column{id, name}),
			MappingError{Field: "*cqlseq.fitRow", Page: 1, Msg: "row type *cqlseq.fitRow is a pointer to a struct; use cqlseq.fitRow, the stream yields rows by value"}, false},
		{"interface", replanErr[fmt.Stringer](false, nil, []driver.Column{id}),
			MappingError{Field: "fmt.Stringer", Page: 1, Msg: "row type fmt.Stringer is an interface; use a struct, a scalar type or map[string]any"}, false},
		{"scalar for two columns", replanErr[string](false, nil, []driver.Column{id, name}),
			MappingError{Field: "string", Page: 1, Msg: "row type string holds one column, the query returns 2 (id, name)"}, false},
		{"scalar of another type", replanErr[string](false, nil, []driver.Column{id}),
			MappingError{Column: "id", Field: "string", Page: 1, Msg: `column "id" (int) cannot be scanned into string (string)`}, true},
		{"field of another type", replanErr[fitWrongType](false, nil, []driver.Column{id, name}),
			MappingError{Column: "name", Field: "fitWrongType.Name", Page: 1, Msg: `column "name" (text) cannot be scanned into fitWrongType.Name (int)`}, true},
		{"interface with methods", replanErr[fitStringer](false, nil, []driver.Column{id, name}),
			MappingError{Column: "name", Field: "fitStringer.Name", Page: 1,
				Msg: `column "name" (text) cannot be scanned into fitStringer.Name (fmt.Stringer): the driver decodes only into the empty interface (any) or a concrete type`}, false},
		{"two fields for a column", replanErr[fitDup](false, nil, []driver.Column{name}),
			MappingError{Column: "name", Field: "fitDup.Other", Page: 1,
				Msg: `column "name" maps to two fields of cqlseq.fitDup, Name and Other; rename one or tag it db:"-"`}, false},
		{"strict, a column without a field", replanErr[fitRow](true, nil, []driver.Column{id, name, score}),
			MappingError{Column: "score", Page: 1, Msg: `column "score" has no field in cqlseq.fitRow (strict mapping)`}, false},
		{"strict, a field without a column", replanErr[fitRow](true, nil, []driver.Column{id}),
			MappingError{Field: "fitRow.Name", Page: 1, Msg: `field fitRow.Name ("name") has no column in the result (strict mapping), whose columns are id`}, false},
		{"strict, a misspelt field", replanErr[fitTypo](true, nil, []driver.Column{id, name}),
			MappingError{Column: "name", Page: 1, Msg: `column "name" has no field in cqlseq.fitTypo (strict mapping), and field fitTypo.Nmae ("nmae") has no column`}, false},
		{"embedded pointer", replanErr[fitEmbedded](false, nil, []driver.Column{id, name}),
			MappingError{Column: "id", Field: "fitEmbedded.fitBase.ID", Page: 1,
				Msg: "field fitEmbedded.fitBase.ID is reached through the embedded pointer fitBase; embed cqlseq.fitBase by value"}, false},
		{"pointer field", replanErr[fitPointerTo](false, nil, []driver.Column{{Name: "b.id", Type: "int", Info: intCol}, name}),
			MappingError{Column: "b.id", Field: "fitPointerTo.B.ID", Page: 1,
				Msg: "field fitPointerTo.B.ID is reached through the pointer field B (*cqlseq.fitBase); make B a cqlseq.fitBase value"}, false},
		{"tuple into an int", replanErr[fitTupleInt](false, nil, []driver.Column{tupleCol("pair", 2)}),
			MappingError{Column: "pair", Field: "fitTupleInt.Pair", Page: 1,
				Msg: `tuple column "pair" (tuple<int, int>) cannot be scanned into fitTupleInt.Pair (int): use a struct with 2 fields or an array [2]T`}, false},
		{"tuple of another length", replanErr[fitTuple3](false, nil, []driver.Column{tupleCol("pair", 2)}),
			MappingError{Column: "pair", Field: "fitTuple3.Pair", Page: 1,
				Msg: `tuple column "pair" (tuple<int, int>) has 2 elements, fitTuple3.Pair (struct { A int; B int; C int }) has 3`}, false},
		{"tuple with an unexported field", replanErr[fitTupleHidden](false, nil, []driver.Column{tupleCol("pair", 2)}),
			MappingError{Column: "pair", Field: "fitTupleHidden.Pair", Page: 1,
				Msg: `tuple column "pair" cannot be scanned into fitTupleHidden.Pair (struct { A int; b int }): field b is unexported`}, false},
		{"tuple element of another type", replanErr[fitTuple](false, nil, []driver.Column{id, {Name: "pair", Type: "tuple<text, text>", Elems: 2, Info: textCol}}),
			MappingError{Column: "pair", Field: "fitTuple.Pair[0]", Page: 1,
				Msg: `element 0 of tuple column "pair" (tuple<text, text>) cannot be scanned into fitTuple.Pair[0] (int)`}, true},
		{"a column added, strict", replanErr[fitRow](true, []driver.Column{id, name}, []driver.Column{id, name, score}),
			MappingError{Column: "score", Page: 2,
				Msg: `the result's columns changed at page 2 (added "score" bigint): column "score" has no field in cqlseq.fitRow (strict mapping)`}, false},
		{"a column dropped, strict", replanErr[fitRow](true, []driver.Column{id, name}, []driver.Column{id}),
			MappingError{Field: "fitRow.Name", Page: 2,
				Msg: `the result's columns changed at page 2 (dropped "name"): field fitRow.Name ("name") has no column in the result (strict mapping), whose columns are id`}, false},
		{"a column changed type", replanErr[fitRow](false, []driver.Column{id, name}, []driver.Column{name, col("id", "text", textCol)}),
			MappingError{Column: "id", Field: "fitRow.ID", Page: 2,
				Msg: `the result's columns changed at page 2 ("id" changed from int to text): column "id" (text) cannot be scanned into fitRow.ID (int)`}, true},
		{"columns changed, added and dropped", replanErr[fitWrongType](false, []driver.Column{id, score}, []driver.Column{col("name", "text", textCol), id}),
			MappingError{Column: "name", Field: "fitWrongType.Name", Page: 2,
				Msg: `the result's columns changed at page 2 (added "name" text, dropped "score"): column "name" (text) cannot be scanned into fitWrongType.Name (int)`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var me *MappingError
			if !errors.As(tt.err, &me) {
				t.Fatalf("%v (%T) is not a *MappingError", tt.err, tt.err)
			}
			if !errors.Is(tt.err, ErrMapping) {
				t.Errorf("%v does not match ErrMapping", tt.err)
			}
			if tt.driver != errors.Is(tt.err, errRefused) {
				t.Errorf("%v unwraps to the driver's refusal: %v, want %v", tt.err, !tt.driver, tt.driver)
			}
			got := *me
			got.Err = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			text := "cqlseq: " + tt.want.Msg
			if me.Err != nil {
				text += ": " + me.Err.Error()
			}
			if me.Error() != text {
				t.Errorf("Error() = %q, want %q", me.Error(), text)
			}
		})
	}
}

// A front end that keeps gocqlx's strict mode (cqlseqx) leaves
// driver.Query.StrictFields false: its strict mapping refuses a column
// without a field, and leaves a field without a column zero.
func TestStrictOneWay(t *testing.T) {
	id, name, score := col("id", "int", intCol), col("name", "text", textCol), col("score", "bigint", intCol)
	for _, tt := range []struct {
		name string
		cols []driver.Column
		err  string
	}{
		{"a field without a column", []driver.Column{id}, ""},
		{"a column dropped", []driver.Column{id}, ""}, // after id, name
		{"a column without a field", []driver.Column{id, name, score}, `cqlseq: column "score" has no field in cqlseq.fitRow (strict mapping)`},
		{"a misspelt field", []driver.Column{id, name}, `cqlseq: column "name" has no field in cqlseq.fitTypo (strict mapping)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &pager{src: gocqlxSource{}, cfg: &config{Strict: true}}
			var err error
			if tt.name == "a misspelt field" {
				err = newRowScanner[fitTypo](p).replan(tt.cols, 1)
			} else {
				s := newRowScanner[fitRow](p)
				if tt.name == "a column dropped" {
					if err := s.replan([]driver.Column{id, name}, 1); err != nil {
						t.Fatal(err)
					}
				}
				err = s.replan(tt.cols, 2)
			}
			if got := fmt.Sprint(err); (tt.err == "" && err != nil) || (tt.err != "" && got != tt.err) {
				t.Fatalf("got %v, want %q", err, tt.err)
			}
		})
	}
}

// gocqlxSource is colSource for a front end that keeps gocqlx's strict
// mode.
type gocqlxSource struct{ colSource }

func (gocqlxSource) Query() driver.Query { return driver.Query{} }

// A row that fails to decode is a DecodeError naming the row, its page,
// and the column and field being decoded when the driver failed: the
// destinations record their slot, a tuple's elements each their own.
func TestDecodeErrorOfRow(t *testing.T) {
	boom := errors.New("boom")
	cols := []driver.Column{col("id", "int", intCol), tupleCol("pair", 2), tupleCol("other", 2)}
	tests := []struct {
		at   int // the slot being decoded, -1 for none
		want DecodeError
		text string
	}{
		{-1, DecodeError{Page: 3, Row: 14, Err: boom}, "cqlseq: decoding row 14 (page 3): boom"},
		{0, DecodeError{Column: "id", Field: "fitTuple.ID", Page: 3, Row: 14, Err: boom},
			`cqlseq: decoding row 14 (page 3): column "id" into fitTuple.ID: boom`},
		{2, DecodeError{Column: "pair", Field: "fitTuple.Pair[1]", Page: 3, Row: 14, Err: boom},
			`cqlseq: decoding row 14 (page 3): column "pair" into fitTuple.Pair[1]: boom`},
		{3, DecodeError{Column: "other", Page: 3, Row: 14, Err: boom}, // a tuple without a field
			`cqlseq: decoding row 14 (page 3): column "other" into : boom`},
		{5, DecodeError{Page: 3, Row: 14, Err: boom}, "cqlseq: decoding row 14 (page 3): boom"}, // past the slots
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("slot ", tt.at), func(t *testing.T) {
			s := rowsScanner[fitTuple](false, 2, 10)
			if err := s.replan(cols, 3); err != nil {
				t.Fatal(err)
			}
			s.at = tt.at
			err := s.scanErr(3, boom)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrMapping) || !errors.Is(err, boom) {
				t.Fatalf("%v: want a *DecodeError that matches ErrMapping and the driver's error", err)
			}
			if diff := cmp.Diff(tt.want, *de, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if de.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", de.Error(), tt.text)
			}
		})
	}
}

// rowIter is a page of rows that never ends: id 1, name "one".
type rowIter struct{ driver.Iter }

func (*rowIter) Scan(dest ...any) bool {
	*dest[0].(*int) = 1
	*dest[1].(*string) = "one"
	return true
}

// Per row a stream zeroes the row and calls Scan: no allocation, whatever
// the driver's decoding allocates (here, nothing).
func TestScanAllocatesNothing(t *testing.T) {
	s := rowsScanner[fitRow](false, 0, 0)
	if err := s.replan([]driver.Column{col("id", "int", intCol), col("name", "text", textCol)}, 1); err != nil {
		t.Fatal(err)
	}
	it := &rowIter{}
	if n := testing.AllocsPerRun(1000, func() { s.scan(it) }); n != 0 {
		t.Fatalf("%v allocations per row, want 0", n)
	}
	if s.row != (fitRow{1, "one"}) {
		t.Fatalf("row %+v", s.row)
	}
}

// BenchmarkRowScan measures the per-row path of a stream without a
// driver: the row scanner's zeroing and Scan into its bound destinations
// (impl=cqlseq), against a loop that calls Scan into two variables, as
// code over the driver does (impl=raw).
func BenchmarkRowScan(b *testing.B) {
	var it driver.Iter = &rowIter{}
	b.Run("impl=raw", func(b *testing.B) {
		var id int
		var name string
		dest := []any{&id, &name}
		b.ReportAllocs()
		for b.Loop() {
			it.Scan(dest...)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("impl=cqlseq", func(b *testing.B) {
		s := rowsScanner[fitRow](false, 0, 0)
		if err := s.replan([]driver.Column{col("id", "int", intCol), col("name", "text", textCol)}, 1); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			s.scan(it)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
