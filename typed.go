package cqlseq

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/scylladb/go-reflectx"
)

// defaultMapper applies gocqlx's rules: the db tag, else the field name in
// snake_case. gocqlx's own default mapper is built the same way.
var defaultMapper = reflectx.NewMapperFunc("db", reflectx.CamelToSnakeASCII)

var mapType = reflect.TypeFor[map[string]any]()

// plan says where each destination of a row goes in a T.
type plan struct {
	isMap  bool
	ncols  int
	cols   []driver.Column // the columns the plan was made for
	slots  []slot          // one per destination; a tuple column has one per element
	strict bool            // a column (or UDT element) without a field is an error
}

type slot struct {
	col   int   // the column's index in cols
	skip  bool  // no field: a nil destination, or discards for a tuple
	iface bool  // the field is an empty interface
	path  []int // field indexes from T; empty for T itself
	elem  int   // tuple element within the field, or -1
	field string
}

// bind returns the destinations for Scan that write into *row, through the
// source's adapters, which record the slot being decoded in *at. It is
// called once per plan: the per-row path only zeroes *row and calls Scan.
func (pl *plan) bind(row any, src driver.Source, at *int) []any {
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
			// Every empty interface type has the layout of any.
			d.Any = (*any)(f.Addr().UnsafePointer())
			d.Ptr = d.Any
		}
		dest[i] = src.Dest(d)
	}
	return dest
}

// sameColumns reports whether two pages' columns are the same for a plan.
func sameColumns(a, b []driver.Column) bool {
	return slices.EqualFunc(a, b, func(x, y driver.Column) bool {
		return x.Name == y.Name && x.Type == y.Type && x.Elems == y.Elems && x.UDT == y.UDT
	})
}

// changes says how the columns after differ from before, for messages.
func changes(before, after []driver.Column) string {
	old := make(map[string]string, len(before))
	for _, c := range before {
		old[c.Name] = c.Type
	}
	var parts []string
	seen := make(map[string]bool, len(after))
	for _, c := range after {
		seen[c.Name] = true
		switch t, ok := old[c.Name]; {
		case !ok:
			parts = append(parts, fmt.Sprintf("added %q %s", c.Name, c.Type))
		case t != c.Type:
			parts = append(parts, fmt.Sprintf("%q changed from %s to %s", c.Name, t, c.Type))
		}
	}
	for _, c := range before {
		if !seen[c.Name] {
			parts = append(parts, fmt.Sprintf("dropped %q", c.Name))
		}
	}
	if len(parts) == 0 {
		return "reordered: " + names(after)
	}
	return strings.Join(parts, ", ")
}

type planKey struct {
	src    reflect.Type // the front end: plans are checked with its driver
	t      reflect.Type
	mapper *reflectx.Mapper
	strict bool
	cols   string
}

// plans caches plans by row type, mapper, strictness and column signature:
// the reflection is paid once per (type, columns). The cache is emptied
// when it reaches maxPlans entries, so that programs that stream ever new
// column sets (dynamic queries) do not grow it without bound.
var (
	plans     sync.Map // planKey -> *plan
	planCount atomic.Int64
)

const maxPlans = 4096

// signature encodes cols unambiguously: every name and type is length
// prefixed, so no identifier (quoted ones may hold any character) can make
// two column lists look alike.
func signature(cols []driver.Column) string {
	var b []byte
	for _, c := range cols {
		b = binary.AppendUvarint(b, uint64(len(c.Name)))
		b = append(b, c.Name...)
		b = binary.AppendUvarint(b, uint64(len(c.Type)))
		b = append(b, c.Type...)
		b = binary.AppendUvarint(b, uint64(c.Elems))
		if c.UDT {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return string(b)
}

func planFor[T any](src driver.Source, cols []driver.Column, cfg *config) (*plan, error) {
	t := reflect.TypeFor[T]()
	m := cfg.Mapper
	if m == nil {
		m = defaultMapper
	}
	key := planKey{reflect.TypeOf(src), t, m, cfg.Strict, signature(cols)}
	if pl, ok := plans.Load(key); ok {
		return pl.(*plan), nil
	}
	pl, err := buildPlan(src, m, t, cols, cfg.Strict)
	if err != nil {
		return nil, err
	}
	if planCount.Add(1) > maxPlans {
		plans.Clear()
		planCount.Store(1)
	}
	plans.Store(key, pl)
	return pl, nil
}

func mappingErr(col, field, format string, args ...any) error {
	return &MappingError{Column: col, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func buildPlan(src driver.Source, m *reflectx.Mapper, t reflect.Type, cols []driver.Column, strict bool) (*plan, error) {
	pl, err := buildPlanFor(src, m, t, cols, strict)
	if err != nil {
		return nil, err
	}
	pl.cols, pl.strict = cols, strict
	return pl, nil
}

func buildPlanFor(src driver.Source, m *reflectx.Mapper, t reflect.Type, cols []driver.Column, strict bool) (*plan, error) {
	if len(cols) == 0 {
		return nil, mappingErr("", "", "the statement returned no columns; only queries that return rows can be streamed")
	}
	if t == mapType {
		return &plan{isMap: true, ncols: len(cols)}, nil
	}
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && !scalar(src, t.Elem()) {
		return nil, mappingErr("", t.String(), "row type %v is a pointer to a struct; use %v, the stream yields rows by value", t, t.Elem())
	}
	if t.Kind() == reflect.Interface {
		return nil, mappingErr("", t.String(), "row type %v is an interface; use a struct, a scalar type or map[string]any", t)
	}
	if !scalar(src, t) && !singleComposite(m, t, cols) {
		return structPlan(src, m, t, cols, strict)
	}
	if len(cols) != 1 {
		return nil, mappingErr("", t.String(), "row type %v holds one column, the query returns %d (%s)", t, len(cols), names(cols))
	}
	c := cols[0]
	if c.Elems == 0 {
		sl, err := fieldSlot(src, c, 0, nil, t, t.String())
		if err != nil {
			return nil, err
		}
		return &plan{ncols: 1, slots: []slot{sl}}, nil
	}
	slots, err := tupleSlots(src, c, 0, nil, t, t.String())
	if err != nil {
		return nil, err
	}
	return &plan{ncols: 1, slots: slots}, nil
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

func structPlan(src driver.Source, m *reflectx.Mapper, t reflect.Type, cols []driver.Column, strict bool) (*plan, error) {
	tm := m.TypeMap(t)
	pl := &plan{ncols: len(cols)}
	for ci, c := range cols {
		fi := tm.GetByPath(c.Name)
		if fi != nil && fi.Embedded {
			// An embedded struct's own name is not a column name: its
			// fields are promoted, and gocqlx maps only those.
			fi = nil
		}
		if fi != nil {
			if other := sameName(tm, fi); other != nil {
				return nil, mappingErr(c.Name, t.Name()+"."+fieldPath(t, fi.Index),
					"column %q maps to two fields of %v, %s and %s; rename one or tag it db:\"-\"",
					c.Name, t, fieldPath(t, other.Index), fieldPath(t, fi.Index))
			}
		}
		if fi == nil {
			if strict && c.Name != "[applied]" {
				return nil, mappingErr(c.Name, "", "column %q has no field in %v (strict mapping)", c.Name, t)
			}
			for range max(c.Elems, 1) {
				pl.slots = append(pl.slots, slot{col: ci, skip: true, elem: -1})
			}
			continue
		}
		name := t.Name() + "." + fieldPath(t, fi.Index)
		if err := reachable(t, fi.Index, name, c.Name); err != nil {
			return nil, err
		}
		if c.Elems == 0 {
			sl, err := fieldSlot(src, c, ci, fi.Index, fi.Field.Type, name)
			if err != nil {
				return nil, err
			}
			pl.slots = append(pl.slots, sl)
			continue
		}
		slots, err := tupleSlots(src, c, ci, fi.Index, fi.Field.Type, name)
		if err != nil {
			return nil, err
		}
		pl.slots = append(pl.slots, slots...)
	}
	return pl, nil
}

// fieldSlot checks that column c (or its tuple element elem, in s.elem)
// can be decoded into a field of type ft, and returns its slot.
func fieldSlot(src driver.Source, c driver.Column, ci int, path []int, ft reflect.Type, name string) (slot, error) {
	return elemSlot(src, c, ci, -1, path, ft, name)
}

func elemSlot(src driver.Source, c driver.Column, ci, elem int, path []int, ft reflect.Type, name string) (slot, error) {
	s := slot{col: ci, path: path, elem: elem, field: name}
	if ft.Kind() == reflect.Interface {
		if ft.NumMethod() > 0 {
			what := fmt.Sprintf("column %q (%s)", c.Name, c.Type)
			if elem >= 0 {
				what = fmt.Sprintf("element %d of tuple column %q (%s)", elem, c.Name, c.Type)
			}
			return s, mappingErr(c.Name, name, "%s cannot be scanned into %s (%v): the driver decodes only into the empty interface (any) or a concrete type", what, name, ft)
		}
		s.iface = true // the drivers decode every type into any; a NULL gives nil
		return s, nil
	}
	return s, probe(src, c, elem, ft, name)
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
func tupleSlots(src driver.Source, c driver.Column, ci int, path []int, ft reflect.Type, name string) ([]slot, error) {
	var n int
	switch ft.Kind() {
	case reflect.Struct:
		n = ft.NumField()
		for i := range n {
			if f := ft.Field(i); !f.IsExported() {
				return nil, mappingErr(c.Name, name, "tuple column %q cannot be scanned into %s (%v): field %s is unexported", c.Name, name, ft, f.Name)
			}
		}
	case reflect.Array:
		n = ft.Len()
	default:
		return nil, mappingErr(c.Name, name, "tuple column %q (%s) cannot be scanned into %s (%v): use a struct with %d fields or an array [%d]T", c.Name, c.Type, name, ft, c.Elems, c.Elems)
	}
	if n != c.Elems {
		return nil, mappingErr(c.Name, name, "tuple column %q (%s) has %d elements, %s (%v) has %d", c.Name, c.Type, c.Elems, name, ft, n)
	}
	slots := make([]slot, n)
	for i := range n {
		et := ft.Elem
		if ft.Kind() == reflect.Struct {
			et = func() reflect.Type { return ft.Field(i).Type }
		}
		s, err := elemSlot(src, c, ci, i, path, et(), fmt.Sprintf("%s[%d]", name, i))
		if err != nil {
			return nil, err
		}
		slots[i] = s
	}
	return slots, nil
}

// probe asks the driver to decode a NULL of column c into a new value of
// type ft: drivers check the destination type before they look at the data.
// A type with the driver's Unmarshaler decodes itself and is not probed: it
// may refuse a NULL and still read every value the table holds.
func probe(src driver.Source, c driver.Column, elem int, ft reflect.Type, name string) error {
	for ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if ft.Kind() == reflect.Pointer {
		// A NULL into **X just sets nil; probe X itself.
		ft = ft.Elem()
	}
	if ft.Kind() == reflect.Interface {
		return nil // *any: the drivers decode every type into an interface
	}
	if src.Scannable(ft) {
		return nil
	}
	if err := safeProbe(src, c, elem, reflect.New(ft)); err != nil {
		what := fmt.Sprintf("column %q (%s)", c.Name, c.Type)
		if elem >= 0 {
			what = fmt.Sprintf("element %d of tuple column %q (%s)", elem, c.Name, c.Type)
		}
		return &MappingError{Column: c.Name, Field: name, Msg: fmt.Sprintf("%s cannot be scanned into %s (%v)", what, name, ft), Err: err}
	}
	return nil
}

// reachable rejects fields reached through a pointer to a struct: zeroing
// the row for every row would drop the pointer, so there is nowhere to
// write, and allocating one per row would cost what the per-row path must
// not.
func reachable(t reflect.Type, index []int, name, col string) error {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Pointer {
			if f.Anonymous {
				return mappingErr(col, name, "field %s is reached through the embedded pointer %s; embed %v by value", name, f.Name, f.Type.Elem())
			}
			return mappingErr(col, name, "field %s is reached through the pointer field %s (%v); make %s a %v value", name, f.Name, f.Type, f.Name, f.Type.Elem())
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

func names(cols []driver.Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.Name
	}
	return strings.Join(s, ", ")
}

// safeProbe asks the driver to decode a NULL of column c into dst: the
// drivers check the destination's type before they look at the data. Some
// decoders reject a NULL for a value destination (a decimal into inf.Dec,
// a vector into an array), so a failure is checked again with a real value
// of the column's type, and is a refusal only if that fails too. A driver
// that panics, or a type the front end cannot make a value of, proves
// nothing either way: decoding the rows decides.
func safeProbe(src driver.Source, c driver.Column, elem int, dst reflect.Value) (err error) {
	defer func() {
		if recover() != nil {
			err = nil
		}
	}()
	err = src.Decode(c, elem, nil, dst.Interface())
	if err == nil {
		return nil
	}
	// A NULL proves nothing for a type that decodes values but refuses a
	// NULL (a stream hands a NULL to the driver only where the front end's
	// Codec.DecodeNull says so, and zeroes the field where the driver
	// fails). A real value decides; without one, the rows decide.
	data := src.Sample(c, elem)
	if data == nil || src.Decode(c, elem, data, dst.Interface()) == nil {
		return nil
	}
	return err
}
