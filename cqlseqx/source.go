package cqlseqx

import (
	"context"
	"reflect"
	"unsafe"

	"github.com/gocql/gocql"

	"github.com/cqlseq/cqlseq/internal/engine"
)

// source runs one gocql query a page at a time: every page is its own
// request on a private copy of the query, resumed from the previous page's
// paging state, with the driver's automatic paging off.
type source struct {
	base gocql.Query
}

func (s *source) Fetch(ctx context.Context, state []byte) engine.Iter {
	// WithContext returns a copy; PageState then touches only that copy.
	return s.base.WithContext(ctx).PageState(state).Iter()
}

func (s *source) Columns(it engine.Iter) []engine.Column {
	infos := it.(*gocql.Iter).Columns()
	cols := make([]engine.Column, len(infos))
	for i, c := range infos {
		info := c.TypeInfo
		col := engine.Column{
			Name:   c.Name,
			Type:   typeName(info),
			UDT:    info.Type() == gocql.TypeUDT,
			Decode: func(elem int, data []byte, dst any) error { return gocql.Unmarshal(elemType(info, elem), data, dst) },
			Sample: func(elem int) []byte { return sample(elemType(info, elem)) },
		}
		if t, ok := info.(gocql.TupleTypeInfo); ok {
			col.Elems = len(t.Elems)
		}
		cols[i] = col
	}
	return cols
}

var (
	unmarshalerType    = reflect.TypeFor[gocql.Unmarshaler]()
	udtUnmarshalerType = reflect.TypeFor[gocql.UDTUnmarshaler]()
	durationType       = reflect.TypeFor[gocql.Duration]()
)

func (s *source) Scannable(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(unmarshalerType) || p.Implements(udtUnmarshalerType) || t == durationType
}

// Layout identifies a page's column metadata: pages of a prepared statement
// share the driver's, until the schema changes.
func (s *source) Layout(it engine.Iter) any {
	return unsafe.SliceData(it.(*gocql.Iter).Columns())
}

// Retryable classifies a failed page request (see engine.Classify).
func (s *source) Retryable(err error) engine.Retryability {
	return engine.Classify(err,
		[]error{gocql.ErrNoConnections, gocql.ErrNoStreams},
		[]error{gocql.ErrConnectionClosed, gocql.ErrTimeoutNoResponse, gocql.ErrTooManyTimeouts})
}

func (s *source) Dest(d *engine.Dest) any { return &dest{d} }

func (s *source) Discard() any { return discard{} }

// dest decodes one column into a field of the row, and records which one,
// so that an error names it.
type dest struct{ *engine.Dest }

func (d *dest) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	*d.At = d.Slot
	if d.Any != nil && data == nil {
		// The driver panics on a NULL into an interface that holds nil.
		*d.Any = nil
		return nil
	}
	return gocql.Unmarshal(info, data, d.Ptr)
}

// discard takes a tuple element that no field takes.
type discard struct{}

func (discard) UnmarshalCQL(gocql.TypeInfo, []byte) error { return nil }

func elemType(info gocql.TypeInfo, elem int) gocql.TypeInfo {
	if elem < 0 {
		return info
	}
	return info.(gocql.TupleTypeInfo).Elems[elem]
}

// sample encodes the zero value of type ti, or returns nil.
func sample(ti gocql.TypeInfo) []byte {
	p, err := ti.NewWithError()
	if err != nil {
		return nil
	}
	data, err := gocql.Marshal(ti, reflect.ValueOf(p).Elem().Interface())
	if err != nil {
		return nil
	}
	return data
}

// typeName spells a column's type for error messages.
func typeName(info gocql.TypeInfo) string {
	if s, ok := info.(interface{ String() string }); ok {
		return s.String()
	}
	return info.Type().String()
}
