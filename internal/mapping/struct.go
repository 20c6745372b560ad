package mapping

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/scylladb/go-reflectx"
)

// structPlan maps the columns of a row onto the fields of struct t, by
// the names mapper m gives them: a column without a field is skipped, or
// refused with StrictColumns (except LWT's [applied]); a field without a
// column stays zero, or is refused with StrictFields.
func structPlan(src driver.Source, m *reflectx.Mapper, t reflect.Type, cols []driver.Column, strict Strict) (*Plan, error) {
	tm := m.TypeMap(t)
	pl := &Plan{}
	for ci, c := range cols {
		fi := fieldOf(tm, c)
		if fi != nil {
			if other := sameName(tm, fi); other != nil {
				return nil, errorf(c.Name, t.Name()+"."+fieldPath(t, fi.Index),
					"column %q maps to two fields of %v, %s and %s; rename one or tag it db:\"-\"",
					c.Name, t, fieldPath(t, other.Index), fieldPath(t, fi.Index))
			}
		}
		if fi == nil {
			if strict&StrictColumns != 0 && c.Name != "[applied]" {
				msg := fmt.Sprintf("column %q has no field in %v (strict mapping)", c.Name, t)
				if _, desc := unfilled(tm, t, cols); strict&StrictFields != 0 && desc != "" {
					// A misspelt field is both: say so at once.
					msg += ", and " + desc
				}
				return nil, errorf(c.Name, "", "%s", msg)
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
	if strict&StrictFields != 0 {
		if first, desc := unfilled(tm, t, cols); desc != "" {
			return nil, errorf("", first, "%s in the result (strict mapping), whose columns are %s", desc, names(cols))
		}
	}
	return pl, nil
}

// fieldOf returns the field that column c maps to, or nil. An embedded
// struct's own name is not a column name: its fields are promoted, and
// gocqlx maps only those.
func fieldOf(tm *reflectx.StructMap, c driver.Column) *reflectx.FieldInfo {
	if fi := tm.GetByPath(c.Name); fi != nil && !fi.Embedded {
		return fi
	}
	return nil
}

// unfilled finds the fields of the row that no column of cols fills, and
// returns the first one's name (Type.Field) and a description of them all
// with the column each would take ("field T.Nmae ("nmae") has no column"),
// or "" if every field is filled.
//
// A row's fields are struct t's own and those of the structs it embeds, at
// any depth. reflectx also indexes the members of a struct field
// (Addr.Street for a UDT or tuple field Addr), which its column fills as a
// whole, and an embedded struct itself, which no column names: neither is
// a field of the row. Fields tagged db:"-" and unexported fields are not in
// the index. A field some of whose members a column names by their path (a
// quoted column "addr.street") is filled.
func unfilled(tm *reflectx.StructMap, t reflect.Type, cols []driver.Column) (first, desc string) {
	var filled [][]int
	for _, c := range cols {
		if fi := fieldOf(tm, c); fi != nil {
			filled = append(filled, fi.Index)
		}
	}
	var missing []string
	for _, fi := range tm.Index {
		if fi.Embedded || !ofTheRow(fi) {
			continue
		}
		if slices.ContainsFunc(filled, func(ix []int) bool { return len(ix) >= len(fi.Index) && slices.Equal(ix[:len(fi.Index)], fi.Index) }) {
			continue
		}
		name := t.Name() + "." + fieldPath(t, fi.Index)
		if first == "" {
			first = name
		}
		missing = append(missing, fmt.Sprintf("%s (%q)", name, fi.Path))
	}
	switch len(missing) {
	case 0:
		return "", ""
	case 1:
		return first, "field " + missing[0] + " has no column"
	}
	return first, "fields " + strings.Join(missing, ", ") + " have no column"
}

// ofTheRow reports whether fi is a field of the row itself: every struct
// it is reached through is embedded.
func ofTheRow(fi *reflectx.FieldInfo) bool {
	for p := fi.Parent; p != nil && p.Parent != nil; p = p.Parent {
		if !p.Embedded {
			return false
		}
	}
	return true
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
