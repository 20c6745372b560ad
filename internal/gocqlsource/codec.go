package gocqlsource

import (
	"reflect"
	"time"

	"github.com/gocql/gocql"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// Codec is what gocql knows of types, decoded by package cqlseq's rules:
// a NULL leaves a field its zero value (the row is zeroed before each
// Scan) unless the field's type has its own Unmarshaler, and a value read
// into an empty interface gets the Go type the driver's MapScan gives it
// (text as a string, a user-defined type as a map[string]any). Package
// cqlseqx decodes by gocqlx's rules instead, with a codec of its own made
// of the functions below.
var Codec = &driver.Codec[gocql.TypeInfo, gocql.Type]{
	Unmarshal:   gocql.Unmarshal,
	TupleElems:  TupleElems,
	TypeName:    TypeName,
	SampleValue: Sample,
	Struct:      func(t reflect.Type) bool { return t == reflect.TypeFor[gocql.Duration]() },
	DecodeAny:   decodeAny,
}

// decodeAny decodes a value into an empty interface as MapScan does: into
// a new value of the type's default Go type (TypeInfo.NewWithError), which
// the interface then holds. A type without one (a custom type) is
// decoded by Unmarshal into the interface itself.
func decodeAny(info gocql.TypeInfo, data []byte, ptr *any) error {
	p, err := info.NewWithError()
	if err != nil {
		return gocql.Unmarshal(info, data, ptr)
	}
	if err := gocql.Unmarshal(info, data, p); err != nil {
		return err
	}
	*ptr = reflect.ValueOf(p).Elem().Interface()
	return nil
}

// Sample encodes the zero value of type ti, or returns nil.
func Sample(ti gocql.TypeInfo) []byte {
	p, err := ti.NewWithError()
	if err != nil {
		return nil
	}
	v := reflect.ValueOf(p).Elem().Interface()
	if ti.Type() == gocql.TypeTimeUUID {
		v = gocql.UUIDFromTime(time.Unix(0, 0)) // the zero UUID is not a time UUID
	}
	data, err := gocql.Marshal(ti, v)
	if err != nil {
		return nil
	}
	return data
}

// TupleElems returns the element types of a tuple type, nil for any other.
func TupleElems(info gocql.TypeInfo) []gocql.TypeInfo {
	if t, ok := info.(gocql.TupleTypeInfo); ok {
		return t.Elems
	}
	return nil
}

// TypeName spells a column's type for error messages.
func TypeName(info gocql.TypeInfo) string {
	if s, ok := info.(interface{ String() string }); ok {
		return s.String()
	}
	return info.Type().String()
}
