package cqlseqx

import (
	"context"
	"reflect"
	"time"
	"unsafe"

	"github.com/gocql/gocql"
	"github.com/scylladb/go-reflectx"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// source runs one gocql query a page at a time: every page is its own
// request on a private copy of the query, resumed from the previous page's
// paging state, with the driver's automatic paging off.
type source struct {
	*driver.Codec[gocql.TypeInfo, gocql.Type]
	// base is the caller's query as it was when Stream or Pages was called,
	// with values, custom payload, routing key, metrics and routing info of
	// its own. It is never executed, nor modified after prepare: it is read
	// by every range of the sequence, and by their prefetches, at once.
	base    gocql.Query
	session *gocql.Session
	mapper  *reflectx.Mapper // the query's, for fields that embed gocqlx.UDT
	query   driver.Query
}

func (s *source) Query() driver.Query { return s.query }

// Fetch sends the query for one page, on a copy of base made for that
// request alone.
func (s *source) Fetch(ctx context.Context, r driver.Request) driver.Iter {
	q := s.base.WithContext(ctx) // a copy
	s.private(q)
	return driver.Apply[*gocql.Query, gocql.Consistency](q, r).PageState(r.State).Iter()
}

// A struct copy of a gocql.Query (the fork's) shares two pointers with the
// original: metrics, which every execution resets and then counts attempts
// in (Query.Attempts, the count the RetryPolicy's budget is checked
// against, and ObservedQuery.Attempt), and routingInfo, which every
// execution fills in (Query.Keyspace, Table, IsLWT). Shared, a stream would
// change the caller's query, and concurrent ranges of one sequence would
// reset each other's attempt counts.
//
// The fork offers no public way to copy a query with new ones: its setters
// leave both alone, and a query built with Session.Query has them new but
// loses every setting the caller made (observer, retry policy, tracer,
// serial consistency, timestamps, custom payload ...), several of which
// have no getter. So each request's copy gets the metrics and routing info
// of a query new from the session, written into the copy's unexported
// fields. This is what the driver does itself for the pages of its own
// paging (conn.go, executeQuery: "*newQry = *qry; newQry.metrics =
// &queryMetrics{...}"), and it keeps every setting of the caller's query,
// including those this package does not know of.
var (
	metricsField, _ = reflect.TypeFor[gocql.Query]().FieldByName("metrics")
	routingField, _ = reflect.TypeFor[gocql.Query]().FieldByName("routingInfo")
	privateFields   = []reflect.StructField{metricsField, routingField}
)

// canPrivate reports whether this version of the driver has the fields
// private replaces, as pointers: the only kind a struct copy shares.
func canPrivate() bool {
	for _, f := range privateFields {
		if f.Type == nil || f.Type.Kind() != reflect.Pointer {
			return false
		}
	}
	return true
}

// private gives q, a copy of base, metrics and routing info of its own.
func (s *source) private(q *gocql.Query) {
	n := s.session.Query("")
	for _, f := range privateFields {
		queryField(q, f).Set(queryField(n, f))
	}
	// Release clears n for reuse by overwriting its fields, not what they
	// point to: q keeps the metrics and routing info n was made with.
	n.Release()
}

// queryField returns q's field f, settable although unexported.
func queryField(q *gocql.Query, f reflect.StructField) reflect.Value {
	return reflect.NewAt(f.Type, unsafe.Add(unsafe.Pointer(q), f.Offset)).Elem()
}

func (s *source) Columns(it driver.Iter) []driver.Column {
	infos := it.(*gocql.Iter).Columns()
	return s.Describe(len(infos), func(i int) (string, gocql.TypeInfo) { return infos[i].Name, infos[i].TypeInfo })
}

func (s *source) Host(it driver.Iter) string {
	if gi, ok := it.(*gocql.Iter); ok && gi.Host() != nil {
		return gi.Host().ConnectAddressAndPort()
	}
	return "" // not the driver's page: a wrapper's, in tests
}

// Retryable classifies a failed page request (see driver.Classify). The
// fork fails a request sent to a chosen host (a scan's) that is down or
// has no connections with errors of its own: not sent either.
func (s *source) Retryable(err error) driver.Retryability {
	return driver.Classify(err, []error{gocql.ErrNoConnections, gocql.ErrNoStreams, gocql.ErrHostDown, gocql.ErrNoPool, gocql.ErrNoConnectionsInPool},
		[]error{gocql.ErrConnectionClosed, gocql.ErrTimeoutNoResponse, gocql.ErrTooManyTimeouts})
}

// Dest returns the destination of one column or tuple element. A field
// whose type embeds gocqlx.UDT is decoded by gocqlx's rules, as gocqlx's
// Iterx wraps it, before any Unmarshaler the type has (see udt.go).
func (s *source) Dest(d *driver.Dest) any {
	if d.Any == nil {
		if v := reflect.ValueOf(d.Ptr).Elem(); isUDT(v.Type()) {
			return newUDTDest(d, v, s.mapper)
		}
	}
	return s.Codec.Dest(d)
}

// codec is what the gocql fork knows of types, with gocqlx's treatment of
// NULLs and of values read into an empty interface.
var codec = &driver.Codec[gocql.TypeInfo, gocql.Type]{
	Unmarshal:   gocql.Unmarshal,
	TupleElems:  tupleElems,
	TypeName:    typeName,
	SampleValue: sample,
	// Types that embed gocqlx.UDT (see udt.go), and durations.
	Struct:     func(t reflect.Type) bool { return isUDT(t) || t == reflect.TypeFor[gocql.Duration]() },
	DecodeNull: decodeNull,
	DecodeAny:  decodeAny,
}

// decodeNull decodes a NULL as gocqlx does, by the driver's rules, except
// where the driver fails or panics on it: there the field keeps the zero
// value it was given with the row, where gocqlx would fail.
func decodeNull(info gocql.TypeInfo, ptr any) error {
	defer func() {
		if recover() != nil {
			reflect.ValueOf(ptr).Elem().SetZero()
		}
	}()
	if gocql.Unmarshal(info, nil, ptr) != nil {
		reflect.ValueOf(ptr).Elem().SetZero()
	}
	return nil
}

// decodeAny decodes a value into an empty interface as gocqlx's Select
// does (text as []byte, as the fork does). Some the driver refuses (a
// user-defined type, an int as a tuple element): those get the default Go
// type that MapScan gives them (map[string]any, int) rather than an error.
func decodeAny(info gocql.TypeInfo, data []byte, ptr *any) error {
	err := gocql.Unmarshal(info, data, ptr)
	if err == nil {
		return nil
	}
	p, perr := info.NewWithError()
	if perr != nil {
		return err
	}
	if err := gocql.Unmarshal(info, data, p); err != nil {
		return err
	}
	*ptr = reflect.ValueOf(p).Elem().Interface()
	return nil
}

// sample encodes the zero value of type ti, or returns nil.
func sample(ti gocql.TypeInfo) []byte {
	p, err := ti.NewWithError()
	if err != nil {
		return nil
	}
	v := reflect.ValueOf(p).Elem().Interface()
	if ti.Type() == gocql.TypeTimeUUID {
		v = gocql.UUIDFromTime(time.Unix(0, 0)) // the zero UUID is not a time UUID
	}
	data, err := gocql.Marshal(ti, v)
	if err != nil {
		return nil
	}
	return data
}

func tupleElems(info gocql.TypeInfo) []gocql.TypeInfo {
	if t, ok := info.(gocql.TupleTypeInfo); ok {
		return t.Elems
	}
	return nil
}

// typeName spells a column's type for error messages.
func typeName(info gocql.TypeInfo) string {
	if s, ok := info.(interface{ String() string }); ok {
		return s.String()
	}
	return info.Type().String()
}
