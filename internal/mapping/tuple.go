package mapping

import (
	"fmt"
	"reflect"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// tupleSlots maps the elements of tuple column c onto the fields of a struct
// or the elements of an array of type ft: one slot per element, each
// checked as a field of its own (Field[i]).
func tupleSlots(src driver.Source, c driver.Column, ci int, path []int, ft reflect.Type, name string) ([]slot, error) {
	var n int
	switch ft.Kind() {
	case reflect.Struct:
		n = ft.NumField()
		for i := range n {
			if f := ft.Field(i); !f.IsExported() {
				return nil, errorf(c.Name, name, "tuple column %q cannot be scanned into %s (%v): field %s is unexported", c.Name, name, ft, f.Name)
			}
		}
	case reflect.Array:
		n = ft.Len()
	default:
		return nil, errorf(c.Name, name, "tuple column %q (%s) cannot be scanned into %s (%v): use a struct with %d fields or an array [%d]T", c.Name, c.Type, name, ft, c.Elems, c.Elems)
	}
	if n != c.Elems {
		return nil, errorf(c.Name, name, "tuple column %q (%s) has %d elements, %s (%v) has %d", c.Name, c.Type, c.Elems, name, ft, n)
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
