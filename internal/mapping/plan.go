// Package mapping plans how the columns of a result map onto a row type
// T: which field of T each column (each element of a tuple column) is
// decoded into, checked against the column's type before the first row
// is read ([For]), and the destinations that decode a row into a T with no
// reflection per row ([Plan.Bind]). The rules are gocqlx's (the db tag,
// else the field name in snake_case; strict mode for columns without a
// field), as package cqlseq's documentation ("Row types") states them,
// and pgx's strictness for fields without a column ([StrictFields]).
// Plans are cached by front end, row type, mapper, strictness and columns.
//
// It is internal to this repository: package [github.com/cqlseq/cqlseq]
// maps the rows of every stream with it, whatever the front end, and turns
// an [*Error] into its MappingError, with the page. Nothing here is API.
package mapping

import (
	"reflect"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/scylladb/go-reflectx"
)

// defaultMapper applies gocqlx's rules: the db tag, else the field name in
// snake_case. gocqlx's own default mapper is built the same way.
var defaultMapper = reflectx.NewMapperFunc("db", reflectx.CamelToSnakeASCII)

var mapType = reflect.TypeFor[map[string]any]()

// Strict says which names without a match a plan refuses; 0 refuses none.
type Strict uint8

const (
	// StrictColumns refuses a column that no field takes (but a
	// conditional statement's "[applied]"), as gocqlx's strict mode does,
	// and a UDT's element without a field where the front end maps UDTs
	// itself (driver.Dest.Strict).
	StrictColumns Strict = 1 << iota
	// StrictFields refuses a field of a row struct that no column fills,
	// as pgx's RowToStructByName does: one of the struct's own fields or
	// of the structs it embeds (not the members of a struct field, which
	// belong to its UDT or tuple column), neither tagged db:"-" nor
	// unexported.
	StrictFields
)

// A Plan says where each destination of a row goes in a T. It is made for
// one list of columns, never changes after, and is shared by every stream
// that finds it in the cache.
type Plan struct {
	isMap  bool            // T is map[string]any, filled by MapScan
	cols   []driver.Column // the columns the plan was made for
	slots  []slot          // one per destination; a tuple column has one per element
	strict bool            // StrictColumns: a UDT's element without a field is an error
}

// slot is one destination of a row: a column, or an element of a tuple
// column, and where in T it goes.
type slot struct {
	col   int    // the column's index in cols
	skip  bool   // no field: a nil destination, or discards for a tuple
	iface bool   // the field is an empty interface
	path  []int  // field indexes from T; empty for T itself
	elem  int    // tuple element within the field, or -1
	field string // the field's name for messages: Type.Field, Type.Field[i]
}

// IsMap reports whether T is map[string]any: a row is then read with the
// driver's MapScan, into a new map, and Bind returns no destinations.
func (pl *Plan) IsMap() bool { return pl.isMap }

// Columns returns the columns the plan was made for. The slice belongs to
// the plan.
func (pl *Plan) Columns() []driver.Column { return pl.cols }

// Describe returns the column and the field of destination i of the row,
// as Bind numbers them, for an error in its decoding: the field is "" for
// a column or tuple element that no field takes, and both are "" when i is
// no destination.
func (pl *Plan) Describe(i int) (column, field string) {
	if i < 0 || i >= len(pl.slots) {
		return "", ""
	}
	s := pl.slots[i]
	return pl.cols[s.col].Name, s.field
}

// Bind returns the destinations for Scan that write into *row, a *T,
// through the source's adapters, which record the destination being
// decoded in *at. A stream calls it when it makes or changes its plan:
// the per-row path only zeroes *row and calls Scan.
func (pl *Plan) Bind(row any, src driver.Source, at *int) []any {
	if pl.isMap {
		return nil
	}
	v := reflect.ValueOf(row).Elem()
	dest := make([]any, len(pl.slots))
	for i, s := range pl.slots {
		if s.skip {
			// The drivers skip a column whose destination is nil, and count
			// it as one destination; a tuple column takes one destination
			// per element, so its elements are discarded one by one.
			if pl.cols[s.col].Elems > 0 {
				dest[i] = src.Discard(&driver.Dest{Slot: i, At: at})
			}
			continue
		}
		f := v
		if len(s.path) > 0 {
			f = v.FieldByIndex(s.path)
		}
		if s.elem >= 0 {
			if f.Kind() == reflect.Array {
				f = f.Index(s.elem)
			} else {
				f = f.Field(s.elem)
			}
		}
		d := &driver.Dest{Ptr: f.Addr().Interface(), Slot: i, At: at, Strict: pl.strict}
		if s.iface {
			// A pointer to any empty interface type converts to *any:
			// their underlying types are identical.
			d.Any = f.Addr().Convert(anyPtr).Interface().(*any)
			d.Ptr = d.Any
		}
		dest[i] = src.Dest(d)
	}
	return dest
}

var anyPtr = reflect.TypeFor[*any]()

// build makes the plan that maps cols onto t with mapper m, checking every
// field against its column through src; strict says what else it refuses.
// It returns an *Error if t cannot hold the result.
func build(src driver.Source, m *reflectx.Mapper, t reflect.Type, cols []driver.Column, strict Strict) (*Plan, error) {
	pl, err := buildSlots(src, m, t, cols, strict)
	if err != nil {
		return nil, err
	}
	pl.cols, pl.strict = cols, strict&StrictColumns != 0
	return pl, nil
}

// buildSlots returns build's plan with only its slots (or isMap) set.
func buildSlots(src driver.Source, m *reflectx.Mapper, t reflect.Type, cols []driver.Column, strict Strict) (*Plan, error) {
	if len(cols) == 0 {
		return nil, errorf("", "", "the statement returned no columns; only queries that return rows can be streamed")
	}
	if t == mapType {
		return &Plan{isMap: true}, nil
	}
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && !scalar(src, t.Elem()) {
		return nil, errorf("", t.String(), "row type %v is a pointer to a struct; use %v, the stream yields rows by value", t, t.Elem())
	}
	if t.Kind() == reflect.Interface {
		return nil, errorf("", t.String(), "row type %v is an interface; use a struct, a scalar type or map[string]any", t)
	}
	if !scalar(src, t) && !singleComposite(m, t, cols) {
		return structPlan(src, m, t, cols, strict)
	}
	if len(cols) != 1 {
		return nil, errorf("", t.String(), "row type %v holds one column, the query returns %d (%s)", t, len(cols), names(cols))
	}
	c := cols[0]
	if c.Elems == 0 {
		sl, err := fieldSlot(src, c, 0, nil, t, t.String())
		if err != nil {
			return nil, err
		}
		return &Plan{slots: []slot{sl}}, nil
	}
	slots, err := tupleSlots(src, c, 0, nil, t, t.String())
	if err != nil {
		return nil, err
	}
	return &Plan{slots: slots}, nil
}

// scalar reports whether a T is decoded from a single column as a whole.
func scalar(src driver.Source, t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return true
	}
	if src.Scannable(t) {
		return true
	}
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			return false
		}
	}
	return true // time.Time, big.Int, inf.Dec: no exported fields
}

// singleComposite reports whether a struct T stands for the value of a
// single UDT or tuple column rather than for a row: no field maps to it.
func singleComposite(m *reflectx.Mapper, t reflect.Type, cols []driver.Column) bool {
	if len(cols) != 1 || (!cols[0].UDT && cols[0].Elems == 0) {
		return false
	}
	return m.TypeMap(t).GetByPath(cols[0].Name) == nil
}
