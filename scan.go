package cqlseq

import (
	"context"

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
				return gocql.Unmarshal(ti, nil, dst)
			},
		}
		if t, ok := info.(gocql.TupleTypeInfo); ok {
			col.Elems = len(t.Elems)
		}
		cols[i] = col
	}
	return cols
}
