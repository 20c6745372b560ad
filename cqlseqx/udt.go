package cqlseqx

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/gocql/gocql"
	"github.com/scylladb/go-reflectx"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/gocqlsource"
)

// gocqlx decodes a value whose type embeds gocqlx.UDT by its own rules,
// not the driver's: Iterx wraps the field's address in a gocql.UDTUnmarshaler
// (udt.go, makeUDT) that gives each element of the UDT to the struct field
// the query's mapper names so (a db tag, else the field name in
// snake_case), skips an element with no field or, when strict, fails, and
// that is tried before any Unmarshaler of the type. Before each value it
// also builds the mapper's map of fields with reflectx.FieldMap, which
// allocates every nil pointer and nil map on the way to a mapped field:
// those stay allocated when the UDT is NULL or has no element for them.
//
// gocqlx wraps only the destinations it is given: a field of the row (and
// the row itself when it is a single UDT column), or an argument of Scan.
// A UDT nested in such a struct, behind a pointer, in a collection or
// in a struct for a tuple is decoded by the driver, for gocqlx and here
// alike: udtDest hands it to gocql.Unmarshal as gocqlx does.

var gocqlxUDTType = reflect.TypeFor[gocqlx.UDT]()

// isUDT reports whether gocqlx decodes a *t as a UDT by its own rules.
func isUDT(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(gocqlxUDTType)
}

// udtLayout is what decoding a gocqlx UDT type needs of its mapping, made
// once per (type, mapper).
type udtLayout struct {
	typ    reflect.Type
	names  map[string]int // element name -> index in fields
	fields []udtField
	// alloc lists the shortest paths on which reflectx.FieldByIndexes
	// allocates all the nil pointers and maps that FieldMap would.
	alloc [][]int
}

type udtField struct {
	index []int
	fixed bool // no pointer on the way: the field's address is that of the value plus an offset
}

type udtKey struct {
	t reflect.Type
	m *reflectx.Mapper
}

var udtLayouts sync.Map // udtKey -> *udtLayout

func layoutFor(t reflect.Type, m *reflectx.Mapper) *udtLayout {
	key := udtKey{t, m}
	if l, ok := udtLayouts.Load(key); ok {
		return l.(*udtLayout)
	}
	tm := m.TypeMap(t)
	l := &udtLayout{typ: t, names: make(map[string]int, len(tm.Names))}
	seen := make(map[string]bool)
	for name, fi := range tm.Names {
		f := udtField{index: fi.Index, fixed: true}
		last := -1 // the last step that FieldByIndexes allocates at
		ft := t
		for i, x := range fi.Index {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
				f.fixed = false
			}
			ft = ft.Field(x).Type
			if k := ft.Kind(); k == reflect.Pointer || k == reflect.Map {
				last = i
			}
		}
		if last >= 0 {
			path := fi.Index[:last+1]
			if k := fmt.Sprint(path); !seen[k] {
				seen[k] = true
				l.alloc = append(l.alloc, path)
			}
		}
		l.names[name] = len(l.fields)
		l.fields = append(l.fields, f)
	}
	// The element names are those of the type, so the cache is bounded by
	// the program's types and mappers.
	actual, _ := udtLayouts.LoadOrStore(key, l)
	return actual.(*udtLayout)
}

// udtDest decodes a column (or tuple element) into a value of a type that
// embeds gocqlx.UDT, by gocqlx's rules. It is made once per stream; per
// value it does what gocqlx's wrapper does, with the mapper's lookups done
// in advance: the allocations of FieldMap, then one map lookup per element.
type udtDest struct {
	d    *driver.Dest
	v    reflect.Value // the value, inside the row: its address is fixed
	l    *udtLayout
	ptrs []any // the address of each fixed field, else nil
}

func newUDTDest(d *driver.Dest, v reflect.Value, m *reflectx.Mapper) *udtDest {
	l := layoutFor(v.Type(), m)
	u := &udtDest{d: d, v: v, l: l, ptrs: make([]any, len(l.fields))}
	for i, f := range l.fields {
		if f.fixed {
			u.ptrs[i] = v.FieldByIndex(f.index).Addr().Interface()
		}
	}
	return u
}

func (u *udtDest) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	*u.d.At = u.d.Slot
	for _, path := range u.l.alloc {
		reflectx.FieldByIndexes(u.v, path)
	}
	if info.Type() != gocql.TypeUDT {
		return fmt.Errorf("%v embeds gocqlx.UDT, so it takes a user-defined type, not %s", u.l.typ, gocqlsource.TypeName(info))
	}
	// The driver walks the UDT's elements and calls UnmarshalUDT for each,
	// as it does for gocqlx's wrapper. elements is not a gocql.Unmarshaler,
	// so the driver takes the UDTUnmarshaler path.
	return gocql.Unmarshal(info, data, elements{u})
}

// elements receives the elements of one UDT value.
type elements struct{ u *udtDest }

func (e elements) UnmarshalUDT(name string, info gocql.TypeInfo, data []byte) error {
	u := e.u
	i, ok := u.l.names[name]
	if !ok {
		if !u.d.Strict {
			return nil
		}
		return fmt.Errorf("element %q of the UDT has no field in %v (strict mapping)", name, u.l.typ)
	}
	p := u.ptrs[i]
	if p == nil {
		// Behind a pointer, allocated above for this value.
		p = reflectx.FieldByIndexes(u.v, u.l.fields[i].index).Addr().Interface()
	}
	return gocql.Unmarshal(info, data, p)
}
