package cqlseq

import (
	"context"
	"fmt"
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

var (
	unmarshalerType    = reflect.TypeFor[gocql.Unmarshaler]()
	udtUnmarshalerType = reflect.TypeFor[gocql.UDTUnmarshaler]()
	durationType       = reflect.TypeFor[gocql.Duration]()
)

func (s *source) Scannable(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(unmarshalerType) || p.Implements(udtUnmarshalerType) || t == durationType
}

var nativeNames = map[gocql.Type]string{
	gocql.TypeAscii: "ascii", gocql.TypeBigInt: "bigint", gocql.TypeBlob: "blob",
	gocql.TypeBoolean: "boolean", gocql.TypeCounter: "counter", gocql.TypeDecimal: "decimal",
	gocql.TypeDouble: "double", gocql.TypeFloat: "float", gocql.TypeInt: "int",
	gocql.TypeText: "text", gocql.TypeTimestamp: "timestamp", gocql.TypeUUID: "uuid",
	gocql.TypeVarchar: "varchar", gocql.TypeVarint: "varint", gocql.TypeTimeUUID: "timeuuid",
	gocql.TypeInet: "inet", gocql.TypeDate: "date", gocql.TypeTime: "time",
	gocql.TypeSmallInt: "smallint", gocql.TypeTinyInt: "tinyint", gocql.TypeDuration: "duration",
}

// typeName spells a column's type the way CQL does, for error messages.
func typeName(info gocql.TypeInfo) string {
	switch t := info.(type) {
	case gocql.CollectionType:
		switch t.Type() {
		case gocql.TypeMap:
			return "map<" + typeName(t.Key) + ", " + typeName(t.Elem) + ">"
		case gocql.TypeList:
			return "list<" + typeName(t.Elem) + ">"
		default:
			return "set<" + typeName(t.Elem) + ">"
		}
	case gocql.TupleTypeInfo:
		s := "tuple<"
		for i, e := range t.Elems {
			if i > 0 {
				s += ", "
			}
			s += typeName(e)
		}
		return s + ">"
	case gocql.UDTTypeInfo:
		return t.Keyspace + "." + t.Name
	case gocql.VectorType:
		return fmt.Sprintf("vector<%s, %d>", typeName(t.SubType), t.Dimensions)
	}
	if n, ok := nativeNames[info.Type()]; ok {
		return n
	}
	return fmt.Sprint(info)
}
