package cqlseq

import (
	"context"
	"fmt"
	"reflect"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// source runs one query a page at a time over the v2 driver. Every page is
// its own request on a private copy of the query, resumed from the previous
// page's paging state, so the caller's *gocql.Query is never modified and the
// driver's automatic paging and prefetching stay off: cqlseq does both.
type source struct {
	*driver.Codec[gocql.TypeInfo, gocql.Type]
	base  gocql.Query
	query driver.Query
}

func (s *source) Query() driver.Query { return s.query }

func (s *source) Fetch(ctx context.Context, r driver.Request) driver.Iter {
	q := s.base // a value copy: setters below touch only this page's query
	return driver.Apply[*gocql.Query, gocql.Consistency](&q, r).PageState(r.State).IterContext(ctx)
}

func (s *source) Columns(it driver.Iter) []driver.Column {
	infos := it.(*gocql.Iter).Columns()
	return s.Describe(len(infos), func(i int) (string, gocql.TypeInfo) { return infos[i].Name, infos[i].TypeInfo })
}

// codec is what the v2 driver knows of types. A NULL leaves a field its
// zero value: the driver would set some types to another value (a bigint
// NULL into a string gives "0"), fail on others (a decimal into an inf.Dec,
// a vector into an array) and panic on an interface that holds nil.
var codec = &driver.Codec[gocql.TypeInfo, gocql.Type]{
	Unmarshal:   gocql.Unmarshal,
	TupleElems:  tupleElems,
	TypeName:    typeName,
	SampleValue: sample,
	Struct:      func(t reflect.Type) bool { return t == reflect.TypeFor[gocql.Duration]() },
}

// Retryable classifies a failed page request. No connection or stream to
// send it on means it was not sent; a connection closed or silent
// mid-request may have run it.
func (s *source) Host(it driver.Iter) string {
	if gi, ok := it.(*gocql.Iter); ok && gi.Host() != nil {
		return gi.Host().ConnectAddressAndPort()
	}
	return "" // not the driver's page: a wrapper's, in tests
}

func (s *source) Retryable(err error) driver.Retryability {
	return driver.Classify(err, []error{gocql.ErrNoConnections, gocql.ErrNoStreams},
		[]error{gocql.ErrConnectionClosed, gocql.ErrTimeoutNoResponse})
}

// sample encodes a value of type ti (its zero value where the type has a
// valid one), or returns nil.
func sample(ti gocql.TypeInfo) []byte {
	var v any
	switch t := ti.(type) {
	case gocql.VectorType:
		// The zero value is an empty vector, which no vector column holds;
		// a vector of an unknown type has no zero value at all.
		zero := reflect.ValueOf(t.SubType.Zero())
		if !zero.IsValid() {
			return nil
		}
		v = reflect.MakeSlice(reflect.SliceOf(zero.Type()), t.Dimensions, t.Dimensions).Interface()
	default:
		v = ti.Zero()
	}
	if ti.Type() == gocql.TypeTimeUUID {
		v = gocql.UUIDFromTime(time.Unix(0, 0)) // the zero UUID is not a time UUID
	}
	data, err := ti.Marshal(v)
	if p := reflect.ValueOf(v); err != nil && p.Kind() == reflect.Pointer && !p.IsNil() {
		data, err = ti.Marshal(p.Elem().Interface()) // decimal: Zero is *inf.Dec, Marshal takes inf.Dec
	}
	if err != nil {
		return nil
	}
	return data
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

func tupleElems(info gocql.TypeInfo) []gocql.TypeInfo {
	if t, ok := info.(gocql.TupleTypeInfo); ok {
		return t.Elems
	}
	return nil
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

// v2Cluster is what a scan needs of the v2 driver.
type v2Cluster struct{ session *gocql.Session }

func (c v2Cluster) Hosts() ([]driver.Host, error) {
	var hosts []driver.Host
	for _, h := range c.session.GetHosts() {
		hosts = append(hosts, driver.Host{ID: h.HostID(), Addr: h.ConnectAddressAndPort(), DataCenter: h.DataCenter(), Rack: h.Rack(), Partitioner: h.Partitioner(), Tokens: h.Tokens(), Up: h.IsUp()})
	}
	return hosts, nil
}

func (c v2Cluster) Query(cql string, values []any) driver.Source {
	return newSource(*c.session.Query(cql, values...))
}
