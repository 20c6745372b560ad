package driver

import "reflect"

// typeUDT is the protocol's code of a user-defined type.
const typeUDT = 0x0030

// Codec implements the type-related methods of [Source] (Decode, Sample,
// Scannable, Dest, Discard) and describes columns, from a few functions of a
// driver whose TypeInfo interface is TI, whose Type method returns the
// type's code as the protocol numbers them, in K (both drivers' Type). A
// front end embeds a *Codec[TI, K] in its Source.
//
// The functions must be safe for concurrent use, as the drivers' are.
// Unmarshal, TupleElems, TypeName and SampleValue are required; Struct,
// DecodeNull and DecodeAny are optional. A field whose address has the
// driver's Unmarshaler (a method UnmarshalCQL(TI, []byte) error) decodes
// itself, NULLs included.
type Codec[TI interface{ Type() K }, K ~int] struct {
	// Unmarshal decodes data, a value of type info, into dst, as the
	// driver's Unmarshal does.
	Unmarshal func(info TI, data []byte, dst any) error
	// TupleElems returns the element types of a tuple type, and nil for
	// any other type.
	TupleElems func(info TI) []TI
	// TypeName spells info for messages.
	TypeName func(info TI) string
	// SampleValue returns the encoding of a non-NULL value of type info, or
	// nil if the driver cannot make one.
	SampleValue func(info TI) []byte
	// Struct reports whether the driver decodes one column into a *t
	// although t is a struct without the driver's Unmarshaler or
	// UDTUnmarshaler (a duration, say). Nil: no such type.
	Struct func(t reflect.Type) bool
	// DecodeNull decodes a NULL into ptr, a field's address that has no
	// Unmarshaler and is not an empty interface. Nil leaves the field its
	// zero value: the row is zeroed before each Scan.
	DecodeNull func(info TI, ptr any) error
	// DecodeAny decodes a non-NULL value into an empty interface field.
	// Nil uses Unmarshal. A NULL sets the field to nil.
	DecodeAny func(info TI, data []byte, ptr *any) error
}

// unmarshaler and udtUnmarshaler are the drivers' Unmarshaler and
// UDTUnmarshaler interfaces for a TypeInfo of TI.
type (
	unmarshaler[TI any] interface {
		UnmarshalCQL(info TI, data []byte) error
	}
	udtUnmarshaler[TI any] interface {
		UnmarshalUDT(name string, info TI, data []byte) error
	}
)

// Scannable implements [Source].Scannable: *t has the driver's Unmarshaler
// or UDTUnmarshaler, or Struct accepts t.
func (c *Codec[TI, K]) Scannable(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(reflect.TypeFor[unmarshaler[TI]]()) || p.Implements(reflect.TypeFor[udtUnmarshaler[TI]]()) ||
		c.Struct != nil && c.Struct(t)
}

// Describe describes n columns for [Source].Columns; at returns the name
// and type of column i.
func (c *Codec[TI, K]) Describe(n int, at func(i int) (string, TI)) []Column {
	cols := make([]Column, n)
	for i := range cols {
		name, info := at(i)
		cols[i] = Column{Name: name, Type: c.TypeName(info), UDT: info.Type() == typeUDT, Elems: len(c.TupleElems(info)), Info: info}
	}
	return cols
}

// elemType returns the type of col, or of its tuple element elem if elem >= 0.
func (c *Codec[TI, K]) elemType(col Column, elem int) TI {
	info := col.Info.(TI)
	if elem < 0 {
		return info
	}
	return c.TupleElems(info)[elem]
}

// Decode implements [Source].Decode with Unmarshal.
func (c *Codec[TI, K]) Decode(col Column, elem int, data []byte, dst any) error {
	return c.Unmarshal(c.elemType(col, elem), data, dst)
}

// Sample implements [Source].Sample with SampleValue.
func (c *Codec[TI, K]) Sample(col Column, elem int) []byte {
	return c.SampleValue(c.elemType(col, elem))
}

// Dest implements [Source].Dest: the destination records its slot in *d.At,
// then decodes a NULL as DecodeNull says (or into a field with its own
// Unmarshaler, by that Unmarshaler), and a value with Unmarshal (or
// DecodeAny).
func (c *Codec[TI, K]) Dest(d *Dest) any {
	_, self := d.Ptr.(unmarshaler[TI])
	return &dest[TI, K]{Dest: d, c: c, self: self && d.Any == nil}
}

// Discard implements [Source].Discard.
func (c *Codec[TI, K]) Discard(d *Dest) any { return discard[TI]{d} }

// dest decodes one column into a field of the row. Its UnmarshalCQL method
// makes it the driver's Unmarshaler when TI is the driver's TypeInfo.
type dest[TI interface{ Type() K }, K ~int] struct {
	*Dest
	c    *Codec[TI, K]
	self bool // the field has its own Unmarshaler: it decides what a NULL is
}

func (d *dest[TI, K]) UnmarshalCQL(info TI, data []byte) error {
	*d.At = d.Slot
	switch {
	case d.Any != nil && data == nil:
		// The drivers panic on a NULL into an interface that holds nil.
		*d.Any = nil
		return nil
	case d.Any != nil && d.c.DecodeAny != nil:
		return d.c.DecodeAny(info, data, d.Any)
	case data == nil && !d.self:
		if d.c.DecodeNull != nil {
			return d.c.DecodeNull(info, d.Ptr)
		}
		return nil
	}
	return d.c.Unmarshal(info, data, d.Ptr)
}

// discard takes a tuple element that no field takes; it records which, so
// that an error in a later element of the tuple is not blamed on it.
type discard[TI any] struct{ *Dest }

func (d discard[TI]) UnmarshalCQL(TI, []byte) error {
	*d.At = d.Slot
	return nil
}

// Apply sets on q, a driver's query made for one page request, what r asks
// besides the paging state: its fetch size, its consistency if set, and
// the host to send it to, if r names one (Query.SetHostID). Q is the
// driver's *Query and C its Consistency:
// Apply[*gocql.Query, gocql.Consistency](q, r).
func Apply[Q interface {
	PageSize(int) Q
	Consistency(C) Q
	SetHostID(string) Q
}, C ~uint16](q Q, r Request) Q {
	q.PageSize(r.FetchSize)
	if r.HasConsistency {
		q.Consistency(C(r.Consistency))
	}
	if r.HostID != "" {
		q.SetHostID(r.HostID)
	}
	return q
}
