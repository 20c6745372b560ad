package cqlseq

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/driver"
)

// source runs one query a page at a time over the v2 driver. Every page is
// its own request on a private copy of the query, resumed from the previous
// page's paging state, so the caller's *gocql.Query is never modified and the
// driver's automatic paging and prefetching stay off: cqlseq does both.
type source struct {
	*driver.Codec[gocql.TypeInfo, gocql.Type]
	base  gocql.Query
	query driver.Query
	hosts []string // route requests to these hosts (IDs), the next on each retry
}

func (s *source) Query() driver.Query { return s.query }

func (s *source) Fetch(ctx context.Context, r driver.Request) driver.Iter {
	q := s.base // a value copy: setters below touch only this page's query
	if r.PageSize > 0 {
		q.PageSize(r.PageSize)
	}
	if r.HasConsistency {
		q.Consistency(gocql.Consistency(r.Consistency))
	}
	if len(s.hosts) > 0 {
		q.SetHostID(s.hosts[r.Attempt%len(s.hosts)])
	}
	return q.PageState(r.State).IterContext(ctx)
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
func (s *source) Retryable(err error) driver.Retryability {
	return driver.Classify(err, []error{gocql.ErrNoConnections, gocql.ErrNoStreams},
		[]error{gocql.ErrConnectionClosed, gocql.ErrTimeoutNoResponse, gocql.ErrTooManyTimeouts})
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

// v2Table is what a scan needs of the v2 driver.
type v2Table struct{ session *gocql.Session }

func (t *v2Table) topology(keyspace, table string) (scanTopology, error) {
	var top scanTopology
	fail := func(err error) (scanTopology, error) {
		return top, fmt.Errorf("cqlseq: scanning %s.%s: %w", keyspace, table, err)
	}
	// Read from system_schema rather than the driver's metadata cache,
	// which lags behind a keyspace or table just created and holds no
	// tables in KeyspaceOnly mode.
	var rep map[string]string
	if err := t.session.Query("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?", keyspace).Scan(&rep); err != nil {
		if errors.Is(err, gocql.ErrNotFound) {
			return fail(fmt.Errorf("no keyspace %s", keyspace))
		}
		return fail(err)
	}
	options := make(map[string]any, len(rep))
	for k, v := range rep {
		options[k] = v
	}
	var err error
	if top.rep, err = parseReplication(keyspace, rep["class"], options); err != nil {
		return top, fmt.Errorf("cqlseq: %w", err)
	}
	it := t.session.Query("SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?", keyspace, table).Iter()
	type keyColumn struct {
		name string
		pos  int
	}
	var keys []keyColumn
	var name, kind string
	var pos int
	for it.Scan(&name, &kind, &pos) {
		if kind == "partition_key" {
			keys = append(keys, keyColumn{name, pos})
		}
	}
	if err := it.Close(); err != nil {
		return fail(err)
	}
	if len(keys) == 0 {
		return fail(fmt.Errorf("keyspace %s has no table %s", keyspace, table))
	}
	slices.SortFunc(keys, func(a, b keyColumn) int { return a.pos - b.pos })
	for _, k := range keys {
		top.partitionKey = append(top.partitionKey, k.name)
	}
	for _, h := range t.session.GetHosts() {
		if p := h.Partitioner(); p != "" && !strings.HasSuffix(p, ".Murmur3Partitioner") {
			return top, fmt.Errorf("cqlseq: scanning %s.%s: the cluster's partitioner is %s; Scan reads Murmur3Partitioner's tokens only", keyspace, table, p)
		}
		rh := ringHost{id: h.HostID(), dc: h.DataCenter(), rack: h.Rack()}
		for _, s := range h.Tokens() {
			tok, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return top, fmt.Errorf("cqlseq: scanning %s.%s: host %s has token %q, not a Murmur3 token", keyspace, table, h.ConnectAddress(), s)
			}
			rh.tokens = append(rh.tokens, tok)
		}
		top.hosts = append(top.hosts, rh)
	}
	return top, nil
}

func (t *v2Table) rangeSource(cql string, values []any, hosts []string) driver.Source {
	src := newSource(*t.session.Query(cql, values...))
	src.hosts = hosts
	return src
}
