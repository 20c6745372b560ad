package cqlseq

import (
	"context"
	"reflect"

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

// Retryable reports whether a failed page request may succeed if sent again:
// timeouts, an unavailable, overloaded or restarting node, a lost connection.
func (s *source) Retryable(err error) bool {
	return engine.Retryable(err, gocql.ErrNoConnections, gocql.ErrConnectionClosed,
		gocql.ErrTimeoutNoResponse, gocql.ErrNoStreams, gocql.ErrTooManyTimeouts)
}

func elemType(info gocql.TypeInfo, elem int) gocql.TypeInfo {
	if elem < 0 {
		return info
	}
	return info.(gocql.TupleTypeInfo).Elems[elem]
}

// sample encodes the zero value of type ti, or returns nil.
func sample(ti gocql.TypeInfo) []byte {
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
