package driver

// Codec implements the type-related methods of Source (Decode, Sample,
// Retryable, Dest, Discard) and builds Columns, from a few functions of a
// driver whose TypeInfo interface is TI. A front end embeds a *Codec[TI] in
// its Source. The functions must be safe for concurrent use, as the drivers'
// are; all but DecodeNull and DecodeAny are required.
type Codec[TI any] struct {
	// Unmarshal decodes data, a value of type info, into dst, as the
	// driver's Unmarshal does.
	Unmarshal func(info TI, data []byte, dst any) error
	// TupleElems returns the element types of a tuple type, and nil for
	// any other type.
	TupleElems func(info TI) []TI
	// IsUDT reports whether info is a user-defined type.
	IsUDT func(info TI) bool
	// TypeName spells info for messages.
	TypeName func(info TI) string
	// SampleValue returns the encoding of a non-NULL value of type info, or
	// nil if the driver cannot make one.
	SampleValue func(info TI) []byte
	// HasUnmarshaler reports whether ptr, a field's address, has the
	// driver's Unmarshaler: it then decodes NULLs too.
	HasUnmarshaler func(ptr any) bool
	// NotSent and MaybeSent are the driver's errors for a request that
	// was not sent, and for one that may have reached Cassandra (see
	// Classify).
	NotSent, MaybeSent []error
	// DecodeNull decodes a NULL into ptr, a field's address that has no
	// Unmarshaler and is not an empty interface. Nil leaves the field its
	// zero value: the row is zeroed before each Scan.
	DecodeNull func(info TI, ptr any) error
	// DecodeAny decodes a non-NULL value into an empty interface field.
	// Nil uses Unmarshal. A NULL sets the field to nil.
	DecodeAny func(info TI, data []byte, ptr *any) error
}

// Column describes a column named name of type info.
func (c *Codec[TI]) Column(name string, info TI) Column {
	return Column{Name: name, Type: c.TypeName(info), UDT: c.IsUDT(info), Elems: len(c.TupleElems(info)), Info: info}
}

// Columns describes n columns; at returns the name and type of column i.
func (c *Codec[TI]) Columns(n int, at func(i int) (string, TI)) []Column {
	cols := make([]Column, n)
	for i := range cols {
		cols[i] = c.Column(at(i))
	}
	return cols
}

// elemType returns the type of col, or of its tuple element elem if elem >= 0.
func (c *Codec[TI]) elemType(col Column, elem int) TI {
	info := col.Info.(TI)
	if elem < 0 {
		return info
	}
	return c.TupleElems(info)[elem]
}

// Decode implements Source.Decode with Unmarshal.
func (c *Codec[TI]) Decode(col Column, elem int, data []byte, dst any) error {
	return c.Unmarshal(c.elemType(col, elem), data, dst)
}

// Sample implements Source.Sample with SampleValue.
func (c *Codec[TI]) Sample(col Column, elem int) []byte {
	return c.SampleValue(c.elemType(col, elem))
}

// Retryable implements Source.Retryable with Classify.
func (c *Codec[TI]) Retryable(err error) Retryability {
	return Classify(err, c.NotSent, c.MaybeSent)
}

// Dest implements Source.Dest: the destination records its slot in *d.At,
// then decodes a NULL as DecodeNull says (or into a field with its own
// Unmarshaler, by that Unmarshaler), and a value with Unmarshal (or
// DecodeAny).
func (c *Codec[TI]) Dest(d *Dest) any {
	return &dest[TI]{Dest: d, c: c, self: d.Any == nil && c.HasUnmarshaler(d.Ptr)}
}

// Discard implements Source.Discard.
func (c *Codec[TI]) Discard(d *Dest) any { return discard[TI]{d} }

// dest decodes one column into a field of the row. Its UnmarshalCQL method
// makes it the driver's Unmarshaler when TI is the driver's TypeInfo.
type dest[TI any] struct {
	*Dest
	c    *Codec[TI]
	self bool // the field has its own Unmarshaler: it decides what a NULL is
}

func (d *dest[TI]) UnmarshalCQL(info TI, data []byte) error {
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
