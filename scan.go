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
			Name: c.Name,
			Type: typeName(info),
			UDT:  info.Type() == gocql.TypeUDT,
			Probe: func(elem int, dst any) error {
				ti := info
				if elem >= 0 {
					ti = info.(gocql.TupleTypeInfo).Elems[elem]
				}
				return probe(ti, dst)
			},
		}
		if t, ok := info.(gocql.TupleTypeInfo); ok {
			col.Elems = len(t.Elems)
		}
		cols[i] = col
	}
	return cols
}

// probe tells whether the driver can decode a column of type ti into dst. The
// driver checks the destination's type before it looks at the data, so a
// NULL is enough for most types; some decoders reject a NULL for a value
// destination (a decimal into inf.Dec) and get the type's zero value too.
func probe(ti gocql.TypeInfo, dst any) error {
	err := gocql.Unmarshal(ti, nil, dst)
	if err == nil {
		return nil
	}
	zero := ti.Zero()
	data, merr := ti.Marshal(zero)
	if v := reflect.ValueOf(zero); merr != nil && v.Kind() == reflect.Pointer && !v.IsNil() {
		data, merr = ti.Marshal(v.Elem().Interface()) // decimal: Zero is *inf.Dec, Marshal takes inf.Dec
	}
	if merr == nil && data != nil && gocql.Unmarshal(ti, data, dst) == nil {
		return nil
	}
	return err
}
