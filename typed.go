package cqlseq

import (
	"fmt"
	"reflect"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// What the v2 driver knows about types, as the row-mapping plan needs it:
// which Go types take a whole column, and how CQL spells a column's type.

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
