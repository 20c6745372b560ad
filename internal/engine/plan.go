package engine

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/scylladb/go-reflectx"
)

// ErrMapping is wrapped by every error that says the row type cannot hold
// the query's result: a column with no field in strict mode, a field the
// column cannot be decoded into, a single-value type for several columns.
// Such errors arrive before the first row.
var ErrMapping = errors.New("row type does not fit the result")

// Column describes one column of a result, as the plan needs it.
type Column struct {
	Name string
	// Type is the column's CQL type, for messages.
	Type string
	// Elems is the number of elements of a tuple column, 0 otherwise. The
	// drivers decode a tuple's elements into one destination each.
	Elems int
	// UDT says the column is a user-defined type.
	UDT bool
	// Decode decodes data, a value of the column (or of its tuple element
	// elem), into dst with the driver.
	Decode func(elem int, data []byte, dst any) error
	// Sample returns the encoding of a non-NULL value of the column (or of
	// its tuple element elem), or nil if the driver cannot make one.
	Sample func(elem int) []byte
}

// DefaultMapper applies gocqlx's rules: the db tag, else the field name in
// snake_case. gocqlx's own default mapper is built the same way.
var DefaultMapper = reflectx.NewMapperFunc("db", reflectx.CamelToSnakeASCII)

var mapType = reflect.TypeFor[map[string]any]()

// plan says where each destination of a row goes in a T.
type plan struct {
	isMap bool
	ncols int
	slots []slot // one per destination; a tuple column has one per element
}

type slot struct {
	skip  bool
	path  []int // field indexes from T; empty for T itself
	elem  int   // tuple element within the field, or -1
	field string
}

// bind returns the destinations for Scan that write into *row. It is called
// once per stream: the per-row path only zeroes *row and calls Scan.
func (pl *plan) bind(row any) []any {
	if pl.isMap {
		return nil
	}
	v := reflect.ValueOf(row).Elem()
	dest := make([]any, len(pl.slots))
	for i, s := range pl.slots {
		if s.skip {
			continue // the drivers skip a nil destination
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
		dest[i] = f.Addr().Interface()
	}
	return dest
}

type planKey struct {
	t      reflect.Type
	mapper *reflectx.Mapper
	strict bool
	cols   string
}

// plans caches plans by row type, strictness and column signature: the
// reflection is paid once per (type, columns) for the life of the process.
var plans sync.Map // planKey -> *plan

func planFor[T any](src Source, cols []Column, cfg *Config) (*plan, error) {
	t := reflect.TypeFor[T]()
	var sig strings.Builder
	for _, c := range cols {
		sig.WriteString(c.Name)
		sig.WriteByte(' ')
		sig.WriteString(c.Type)
		sig.WriteByte(',')
	}
	m := cfg.Mapper
	if m == nil {
		m = DefaultMapper
	}
	key := planKey{t, m, cfg.Strict, sig.String()}
	if pl, ok := plans.Load(key); ok {
		return pl.(*plan), nil
	}
	pl, err := buildPlan(src, m, t, cols, cfg.Strict)
	if err != nil {
		return nil, err
	}
	plans.Store(key, pl)
	return pl, nil
}

func mappingErr(format string, args ...any) error {
	return &wrapped{"cqlseq: " + fmt.Sprintf(format, args...), []error{ErrMapping}}
}

func buildPlan(src Source, m *reflectx.Mapper, t reflect.Type, cols []Column, strict bool) (*plan, error) {
	if len(cols) == 0 {
		return nil, mappingErr("the statement returned no columns; only queries that return rows can be streamed")
	}
	if t == mapType {
		return &plan{isMap: true, ncols: len(cols)}, nil
	}
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && !scalar(src, t.Elem()) {
		return nil, mappingErr("row type %v is a pointer to a struct; use %v, the stream yields rows by value", t, t.Elem())
	}
	if t.Kind() == reflect.Interface {
		return nil, mappingErr("row type %v is an interface; use a struct, a scalar type or map[string]any", t)
	}
	if !scalar(src, t) && !singleComposite(m, t, cols) {
		return structPlan(m, t, cols, strict)
	}
	if len(cols) != 1 {
		return nil, mappingErr("row type %v holds one column, the query returns %d (%s)", t, len(cols), names(cols))
	}
	c := cols[0]
	pl := &plan{ncols: 1}
	if c.Elems == 0 {
		if err := probe(c, -1, t, t.String()); err != nil {
			return nil, err
		}
		return &plan{ncols: 1, slots: []slot{{elem: -1, field: t.String()}}}, nil
	}
	slots, err := tupleSlots(c, nil, t, t.String())
	if err != nil {
		return nil, err
	}
	pl.slots = slots
	return pl, nil
}

// scalar reports whether a T is decoded from a single column as a whole.
func scalar(src Source, t reflect.Type) bool {
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
func singleComposite(m *reflectx.Mapper, t reflect.Type, cols []Column) bool {
	if len(cols) != 1 || (!cols[0].UDT && cols[0].Elems == 0) {
		return false
	}
	return m.TypeMap(t).GetByPath(cols[0].Name) == nil
}

func structPlan(m *reflectx.Mapper, t reflect.Type, cols []Column, strict bool) (*plan, error) {
	tm := m.TypeMap(t)
	pl := &plan{ncols: len(cols)}
	for _, c := range cols {
		fi := tm.GetByPath(c.Name)
		if fi != nil {
			if other := sameName(tm, fi); other != nil {
				return nil, mappingErr("column %q maps to two fields of %v, %s and %s; rename one or tag it db:\"-\"",
					c.Name, t, fieldPath(t, other.Index), fieldPath(t, fi.Index))
			}
		}
		if fi == nil {
			if strict && c.Name != "[applied]" {
				return nil, mappingErr("column %q has no field in %v (strict mapping)", c.Name, t)
			}
			for range max(c.Elems, 1) {
				pl.slots = append(pl.slots, slot{skip: true, elem: -1})
			}
			continue
		}
		name := t.Name() + "." + fieldPath(t, fi.Index)
		if err := reachable(t, fi.Index, name); err != nil {
			return nil, err
		}
		if c.Elems == 0 {
			if err := probe(c, -1, fi.Field.Type, name); err != nil {
				return nil, err
			}
			pl.slots = append(pl.slots, slot{path: fi.Index, elem: -1, field: name})
			continue
		}
		slots, err := tupleSlots(c, fi.Index, fi.Field.Type, name)
		if err != nil {
			return nil, err
		}
		pl.slots = append(pl.slots, slots...)
	}
	return pl, nil
}

// sameName returns another field that maps to the same name as fi, if
// there is one: a db tag that repeats another field's name, or a promoted
// field of an embedded struct. Which one gocqlx would fill is an accident of
// its search order, so cqlseq refuses to guess.
func sameName(tm *reflectx.StructMap, fi *reflectx.FieldInfo) *reflectx.FieldInfo {
	for _, o := range tm.Index {
		if o != fi && !o.Embedded && o.Path == fi.Path {
			return o
		}
	}
	return nil
}

// tupleSlots maps the elements of tuple column c onto the fields of a struct
// or the elements of an array of type ft.
func tupleSlots(c Column, path []int, ft reflect.Type, name string) ([]slot, error) {
	var n int
	switch ft.Kind() {
	case reflect.Struct:
		n = ft.NumField()
		for i := range n {
			if f := ft.Field(i); !f.IsExported() {
				return nil, mappingErr("tuple column %q cannot be scanned into %s (%v): field %s is unexported", c.Name, name, ft, f.Name)
			}
		}
	case reflect.Array:
		n = ft.Len()
	default:
		return nil, mappingErr("tuple column %q (%s) cannot be scanned into %s (%v): use a struct with %d fields or an array [%d]T", c.Name, c.Type, name, ft, c.Elems, c.Elems)
	}
	if n != c.Elems {
		return nil, mappingErr("tuple column %q (%s) has %d elements, %s (%v) has %d", c.Name, c.Type, c.Elems, name, ft, n)
	}
	slots := make([]slot, n)
	for i := range n {
		et := ft.Elem
		if ft.Kind() == reflect.Struct {
			et = func() reflect.Type { return ft.Field(i).Type }
		}
		if err := probe(c, i, et(), fmt.Sprintf("%s[%d]", name, i)); err != nil {
			return nil, err
		}
		slots[i] = slot{path: path, elem: i, field: name}
	}
	return slots, nil
}

// probe asks the driver to decode a NULL of column c into a new value of
// type ft: drivers check the destination type before they look at the data.
func probe(c Column, elem int, ft reflect.Type, name string) error {
	for ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if ft.Kind() == reflect.Pointer {
		// A NULL into **X just sets nil; probe X itself.
		ft = ft.Elem()
	}
	if ft.Kind() == reflect.Interface {
		return nil // the drivers decode every type into an interface
	}
	if err := safeProbe(c, elem, reflect.New(ft)); err != nil {
		what := fmt.Sprintf("column %q (%s)", c.Name, c.Type)
		if elem >= 0 {
			what = fmt.Sprintf("element %d of tuple column %q (%s)", elem, c.Name, c.Type)
		}
		msg := fmt.Sprintf("cqlseq: %s cannot be scanned into %s (%v): %v", what, name, ft, err)
		return &wrapped{msg, []error{ErrMapping, err}}
	}
	return nil
}

// reachable rejects fields reached through an embedded pointer: zeroing the
// row for every row would drop the pointer, so there is nowhere to write.
func reachable(t reflect.Type, index []int, name string) error {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Pointer {
			return mappingErr("field %s is reached through the embedded pointer %s; embed %v by value", name, f.Name, f.Type.Elem())
		}
		t = f.Type
	}
	return nil
}

func fieldPath(t reflect.Type, index []int) string {
	parts := make([]string, len(index))
	for k, i := range index {
		f := t.Field(i)
		parts[k] = f.Name
		t = f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	}
	return strings.Join(parts, ".")
}

func names(cols []Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.Name
	}
	return strings.Join(s, ", ")
}

// safeProbe asks the driver to decode a NULL of column c into dst: the
// drivers check the destination's type before they look at the data. Some
// decoders reject a NULL for a value destination (a decimal into inf.Dec),
// so a failure is checked again with a real value of the column's type. A
// driver that panics proves nothing either way: decoding the rows decides.
func safeProbe(c Column, elem int, dst reflect.Value) (err error) {
	defer func() {
		if recover() != nil {
			err = nil
		}
	}()
	err = c.Decode(elem, nil, dst.Interface())
	if err == nil || c.Sample == nil {
		return err
	}
	if data := c.Sample(elem); data != nil && c.Decode(elem, data, dst.Interface()) == nil {
		return nil
	}
	return err
}
