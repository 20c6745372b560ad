package cqlseq

import (
	"context"
	"reflect"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/internal/engine"
)

// source runs one query a page at a time over the v2 driver. Every page is
// its own request on a private copy of the query, resumed from the previous
// page's paging state, so the caller's *gocql.Query is never modified and the
// driver's automatic paging and prefetching stay off: cqlseq does both.
type source struct {
	base gocql.Query
}

func (s *source) Fetch(ctx context.Context, state []byte) engine.Iter {
	q := s.base // a value copy: setters below touch only this page's query
	return q.PageState(state).IterContext(ctx)
}

func (s *source) Columns(it engine.Iter) []engine.Column {
	infos := it.(*gocql.Iter).Columns()
	cols := make([]engine.Column, len(infos))
	for i, c := range infos {
		info := c.TypeInfo
		col := engine.Column{Name: c.Name, Type: typeName(info), UDT: info.Type() == gocql.TypeUDT, Info: info}
		if t, ok := info.(gocql.TupleTypeInfo); ok {
			col.Elems = len(t.Elems)
		}
		cols[i] = col
	}
	return cols
}

func (s *source) Decode(c engine.Column, elem int, data []byte, dst any) error {
	return gocql.Unmarshal(elemType(c.Info.(gocql.TypeInfo), elem), data, dst)
}

func (s *source) Sample(c engine.Column, elem int) []byte {
	return sample(elemType(c.Info.(gocql.TypeInfo), elem))
}

// Retryable classifies a failed page request (see engine.Classify). No
// connection or stream to send it on means it was not sent; a connection
// closed or silent mid-request may have run it.
func (s *source) Retryable(err error) engine.Retryability {
	return engine.Classify(err,
		[]error{gocql.ErrNoConnections, gocql.ErrNoStreams},
		[]error{gocql.ErrConnectionClosed, gocql.ErrTimeoutNoResponse, gocql.ErrTooManyTimeouts})
}

func (s *source) Dest(d *engine.Dest) any {
	_, self := d.Ptr.(gocql.Unmarshaler)
	return &dest{d, self}
}

func (s *source) Discard(d *engine.Dest) any { return discard{d} }

// dest decodes one column into a field of the row, and records which one,
// so that an error names it.
type dest struct {
	*engine.Dest
	self bool // the field has its own Unmarshaler
}

func (d *dest) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	*d.At = d.Slot
	if data == nil && !d.self {
		// A NULL: the field was zeroed with the row. The driver would set
		// some types to another value (a bigint NULL into a string gives
		// "0"), fail on others (a decimal into an inf.Dec, a vector into an
		// array) and panic on an interface that holds nil.
		return nil
	}
	return gocql.Unmarshal(info, data, d.Ptr)
}

// discard takes a tuple element that no field takes; it records which,
// so that an error in a later column of the tuple is not blamed on it.
type discard struct{ *engine.Dest }

func (d discard) UnmarshalCQL(gocql.TypeInfo, []byte) error {
	*d.At = d.Slot
	return nil
}

func elemType(info gocql.TypeInfo, elem int) gocql.TypeInfo {
	if elem < 0 {
		return info
	}
	return info.(gocql.TupleTypeInfo).Elems[elem]
}

// sample encodes a value of type ti (its zero value where the type has a
// valid one), or returns nil.
func sample(ti gocql.TypeInfo) []byte {
	switch t := ti.(type) {
	case gocql.VectorType:
		// The zero value is an empty vector, which no vector column holds.
		zero := reflect.ValueOf(t.SubType.Zero())
		if !zero.IsValid() {
			return nil
		}
		v := reflect.MakeSlice(reflect.SliceOf(zero.Type()), t.Dimensions, t.Dimensions)
		data, err := t.Marshal(v.Interface())
		if err != nil {
			return nil
		}
		return data
	}
	if ti.Type() == gocql.TypeTimeUUID {
		// The zero UUID is not a time UUID.
		data, err := ti.Marshal(gocql.UUIDFromTime(time.Unix(0, 0)))
		if err != nil {
			return nil
		}
		return data
	}
	zero := ti.Zero()
	data, err := ti.Marshal(zero)
	if v := reflect.ValueOf(zero); err != nil && v.Kind() == reflect.Pointer && !v.IsNil() {
		data, err = ti.Marshal(v.Elem().Interface()) // decimal: Zero is *inf.Dec, Marshal takes inf.Dec
	}
	if err != nil {
		return nil
	}
	return data
}
