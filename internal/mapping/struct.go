package mapping

import (
	"reflect"
	"strings"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/scylladb/go-reflectx"
)

// structPlan maps the columns of a row onto the fields of struct t, by
// the names mapper m gives them: a column without a field is skipped, or
// refused if strict (except LWT's [applied]).
func structPlan(src driver.Source, m *reflectx.Mapper, t reflect.Type, cols []driver.Column, strict bool) (*Plan, error) {
	tm := m.TypeMap(t)
	pl := &Plan{}
	for ci, c := range cols {
		fi := tm.GetByPath(c.Name)
		if fi != nil && fi.Embedded {
			// An embedded struct's own name is not a column name: its
			// fields are promoted, and gocqlx maps only those.
			fi = nil
		}
		if fi != nil {
			if other := sameName(tm, fi); other != nil {
				return nil, errorf(c.Name, t.Name()+"."+fieldPath(t, fi.Index),
					"column %q maps to two fields of %v, %s and %s; rename one or tag it db:\"-\"",
					c.Name, t, fieldPath(t, other.Index), fieldPath(t, fi.Index))
			}
		}
		if fi == nil {
			if strict && c.Name != "[applied]" {
				return nil, errorf(c.Name, "", "column %q has no field in %v (strict mapping)", c.Name, t)
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

// reachable rejects fields reached through a pointer to a struct: zeroing
// the row for every row would drop the pointer, so there is nowhere to
// write, and allocating one per row would cost what the per-row path must
// not.
func reachable(t reflect.Type, index []int, name, col string) error {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Pointer {
			if f.Anonymous {
				return errorf(col, name, "field %s is reached through the embedded pointer %s; embed %v by value", name, f.Name, f.Type.Elem())
			}
			return errorf(col, name, "field %s is reached through the pointer field %s (%v); make %s a %v value", name, f.Name, f.Type, f.Name, f.Type.Elem())
		}
		t = f.Type
	}
	return nil
}

// fieldPath names the field at index in t, as Outer.Inner.Field.
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
