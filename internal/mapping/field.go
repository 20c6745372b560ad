package mapping

import (
	"fmt"
	"reflect"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// fieldSlot checks that column c can be decoded into a field of type ft,
// at path in T, and returns its slot.
func fieldSlot(src driver.Source, c driver.Column, ci int, path []int, ft reflect.Type, name string) (slot, error) {
	return elemSlot(src, c, ci, -1, path, ft, name)
}

// elemSlot checks that column c, or its tuple element elem if elem >= 0,
// can be decoded into a field of type ft, and returns its slot.
func elemSlot(src driver.Source, c driver.Column, ci, elem int, path []int, ft reflect.Type, name string) (slot, error) {
	s := slot{col: ci, path: path, elem: elem, field: name}
	if ft.Kind() == reflect.Interface {
		if ft.NumMethod() > 0 {
			return s, errorf(c.Name, name, "%s cannot be scanned into %s (%v): the driver decodes only into the empty interface (any) or a concrete type", what(c, elem), name, ft)
		}
		s.iface = true // the drivers decode every type into any; a NULL gives nil
		return s, nil
	}
	return s, probe(src, c, elem, ft, name)
}

// what names column c, or its tuple element elem if elem >= 0, for
// messages.
func what(c driver.Column, elem int) string {
	if elem >= 0 {
		return fmt.Sprintf("element %d of tuple column %q (%s)", elem, c.Name, c.Type)
	}
	return fmt.Sprintf("column %q (%s)", c.Name, c.Type)
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
		return &Error{Column: c.Name, Field: name, Msg: fmt.Sprintf("%s cannot be scanned into %s (%v)", what(c, elem), name, ft), Err: err}
	}
	return nil
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
