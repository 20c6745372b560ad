package cqlseqx

import (
	"reflect"

	"github.com/gocql/gocql"
	"github.com/scylladb/go-reflectx"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/gocqlsource"
)

// A query runs through the source the gocql front ends share
// (internal/gocqlsource: one page per request, on a copy of the query,
// requests taking turns), with gocqlx's mapping and decoding.

// sourceOptions returns how the sources of queries mapped by m decode.
// gocqlx compiles only against the fork, so cqlseqx names the fork's own
// errors for a request sent to a chosen host (a scan's) that is down or
// has no connections: not sent either.
func sourceOptions(m *reflectx.Mapper) *gocqlsource.Options {
	return &gocqlsource.Options{
		Codec:   codec,
		Mapper:  m,
		Strict:  gocqlx.DefaultStrict,
		Dest:    func(d *driver.Dest) any { return gocqlxDest(d, m) },
		NotSent: []error{gocql.ErrHostDown, gocql.ErrNoPool, gocql.ErrNoConnectionsInPool},
	}
}

// gocqlxDest returns the destination of a field whose type embeds gocqlx.UDT,
// decoded by gocqlx's rules, as gocqlx's Iterx wraps it, before any
// Unmarshaler the type has (see udt.go); nil for any other field.
func gocqlxDest(d *driver.Dest, m *reflectx.Mapper) any {
	if d.Any == nil {
		if v := reflect.ValueOf(d.Ptr).Elem(); isUDT(v.Type()) {
			return newUDTDest(d, v, m)
		}
	}
	return nil
}

// codec is what the gocql fork knows of types, with gocqlx's treatment of
// NULLs and of values read into an empty interface.
var codec = &driver.Codec[gocql.TypeInfo, gocql.Type]{
	Unmarshal:   gocql.Unmarshal,
	TupleElems:  gocqlsource.TupleElems,
	TypeName:    gocqlsource.TypeName,
	SampleValue: gocqlsource.Sample,
	// Types that embed gocqlx.UDT (see udt.go), and durations.
	Struct:     func(t reflect.Type) bool { return isUDT(t) || t == reflect.TypeFor[gocql.Duration]() },
	DecodeNull: decodeNull,
	DecodeAny:  decodeAny,
}

// decodeNull decodes a NULL as gocqlx does, by the driver's rules, except
// where the driver fails or panics on it: there the field keeps the zero
// value it was given with the row, where gocqlx would fail.
func decodeNull(info gocql.TypeInfo, ptr any) error {
	defer func() {
		if recover() != nil {
			reflect.ValueOf(ptr).Elem().SetZero()
		}
	}()
	if gocql.Unmarshal(info, nil, ptr) != nil {
		reflect.ValueOf(ptr).Elem().SetZero()
	}
	return nil
}

// decodeAny decodes a value into an empty interface as gocqlx's Select
// does (text as []byte, as the fork does). Some the driver refuses (a
// user-defined type, an int as a tuple element): those get the default Go
// type that MapScan gives them (map[string]any, int) rather than an error.
func decodeAny(info gocql.TypeInfo, data []byte, ptr *any) error {
	err := gocql.Unmarshal(info, data, ptr)
	if err == nil {
		return nil
	}
	p, perr := info.NewWithError()
	if perr != nil {
		return err
	}
	if err := gocql.Unmarshal(info, data, p); err != nil {
		return err
	}
	*ptr = reflect.ValueOf(p).Elem().Interface()
	return nil
}
