package cqlseqx

import (
	"context"
	"reflect"
	"time"
	"unsafe"

	"github.com/gocql/gocql"
	"github.com/scylladb/go-reflectx"

	"github.com/cqlseq/cqlseq/internal/engine"
)

// source runs one gocql query a page at a time: every page is its own
// request on a private copy of the query, resumed from the previous page's
// paging state, with the driver's automatic paging off.
type source struct {
	// base is the caller's query as it was when Stream or Pages was called,
	// with values, custom payload, routing key, metrics and routing info of
	// its own. It is never executed, nor modified after prepare: it is read
	// by every range of the sequence, and by their prefetches, at once.
	base    gocql.Query
	session *gocql.Session
	mapper  *reflectx.Mapper // the query's, for fields that embed gocqlx.UDT
	strict  bool
}

// Fetch sends the query for one page, on a copy of base made for that
// request alone.
func (s *source) Fetch(ctx context.Context, state []byte) engine.Iter {
	q := s.base.WithContext(ctx) // a copy
	s.private(q)
	return q.PageState(state).Iter()
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

var (
	unmarshalerType    = reflect.TypeFor[gocql.Unmarshaler]()
	udtUnmarshalerType = reflect.TypeFor[gocql.UDTUnmarshaler]()
	durationType       = reflect.TypeFor[gocql.Duration]()
)

// Scannable reports whether the driver, or gocqlx, decodes a whole column
// into a *t: t embeds gocqlx.UDT (see udt.go), or has the driver's
// Unmarshaler or UDTUnmarshaler, or is gocql.Duration.
func (s *source) Scannable(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return isUDT(t) || p.Implements(unmarshalerType) || p.Implements(udtUnmarshalerType) || t == durationType
}

func (s *source) Decode(c engine.Column, elem int, data []byte, dst any) error {
	return gocql.Unmarshal(elemType(c.Info.(gocql.TypeInfo), elem), data, dst)
}

func (s *source) Sample(c engine.Column, elem int) []byte {
	return sample(elemType(c.Info.(gocql.TypeInfo), elem))
}

// Retryable classifies a failed page request (see engine.Classify).
func (s *source) Retryable(err error) engine.Retryability {
	return engine.Classify(err,
		[]error{gocql.ErrNoConnections, gocql.ErrNoStreams},
		[]error{gocql.ErrConnectionClosed, gocql.ErrTimeoutNoResponse, gocql.ErrTooManyTimeouts})
}

// Dest returns the destination of one column or tuple element. A field
// whose type embeds gocqlx.UDT is decoded by gocqlx's rules, as gocqlx's
// Iterx wraps it, before any Unmarshaler the type has (see udt.go).
func (s *source) Dest(d *engine.Dest) any {
	if d.Any == nil {
		if v := reflect.ValueOf(d.Ptr).Elem(); isUDT(v.Type()) {
			return newUDTDest(d, v, s.mapper, s.strict)
		}
	}
	_, self := d.Ptr.(gocql.Unmarshaler)
	return &dest{d, self}
}

func (s *source) Discard(d *engine.Dest) any { return discard{d} }

// dest decodes one column into a field of the row, and records which one,
// so that an error names it.
type dest struct {
	*engine.Dest
	self bool // the field has its own Unmarshaler: it decides what a NULL is
}

func (d *dest) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	*d.At = d.Slot
	if d.Any == nil {
		if data == nil {
			return d.null(info)
		}
		return gocql.Unmarshal(info, data, d.Ptr)
	}
	if data == nil {
		// The driver panics on a NULL into an interface that holds nil.
		*d.Any = nil
		return nil
	}
	// Into an interface the driver decodes a value as gocqlx's Select does
	// (text as []byte, as the fork does). Some it refuses (a user-defined
	// type, an int as a tuple element): those get the default Go type that
	// MapScan gives them (map[string]any, int) rather than an error.
	err := gocql.Unmarshal(info, data, d.Ptr)
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
	*d.Any = reflect.ValueOf(p).Elem().Interface()
	return nil
}

// null decodes a NULL as gocqlx does, by the driver's rules, except where
// the driver fails or panics on it: there the field keeps the zero value it
// was given with the row, where gocqlx would fail.
func (d *dest) null(info gocql.TypeInfo) error {
	if d.self {
		// The type's own decoder: its errors and panics are reported as for
		// any value (a ScanError), as gocqlx reports them.
		return gocql.Unmarshal(info, nil, d.Ptr)
	}
	defer func() {
		if recover() != nil {
			reflect.ValueOf(d.Ptr).Elem().SetZero()
		}
	}()
	if gocql.Unmarshal(info, nil, d.Ptr) != nil {
		reflect.ValueOf(d.Ptr).Elem().SetZero()
	}
	return nil
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

// sample encodes the zero value of type ti, or returns nil.
func sample(ti gocql.TypeInfo) []byte {
	if ti.Type() == gocql.TypeTimeUUID {
		// The zero UUID is not a time UUID.
		data, err := gocql.Marshal(ti, gocql.UUIDFromTime(time.Unix(0, 0)))
		if err != nil {
			return nil
		}
		return data
	}
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
