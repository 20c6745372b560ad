package cqlseqx

import (
	"context"
	"reflect"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/go-reflectx"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// source runs one gocql query a page at a time: every page is its own
// request on a copy of the query, resumed from the previous page's paging
// state, with the driver's automatic paging off.
type source struct {
	*driver.Codec[gocql.TypeInfo, gocql.Type]
	// base is the caller's query as it was when Stream or Pages was
	// called, with values of its own. It is never executed, nor modified
	// after prepare: it is read by every ranging of the sequence, and by
	// their prefetches, at once.
	base   gocql.Query
	mapper *reflectx.Mapper // the query's, for fields that embed gocqlx.UDT
	query  driver.Query
	// turn lets one request at a time run on a copy of base: see Fetch.
	turn chan struct{}
}

func (s *source) Query() driver.Query { return s.query }

// Fetch sends the query for one page, on a copy of base made for that
// request alone (WithContext copies). The copy shares with base, as the
// fork's own copies do, the query's metrics and its routing information,
// which the fork writes under a lock during a request and reads without
// one (Query.Keyspace, in its token-aware policy): two requests of copies
// of one query at once are a data race in the driver. So the requests of a
// source run one at a time: those of one ranging do anyway (a ranging has
// one request in flight at most), and concurrent rangings of one sequence
// take turns.
func (s *source) Fetch(ctx context.Context, r driver.Request) driver.Iter {
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return failed{context.Cause(ctx)}
	}
	defer func() { <-s.turn }()
	q := s.base.WithContext(ctx)
	return driver.Apply[*gocql.Query, gocql.Consistency](q, r).PageState(r.State).Iter()
}

// failed is a page request that was never sent: its error is err.
type failed struct{ err error }

func (f failed) Scan(...any) bool            { return false }
func (f failed) MapScan(map[string]any) bool { return false }
func (f failed) PageState() []byte           { return nil }
func (f failed) NumRows() int                { return 0 }
func (f failed) Warnings() []string          { return nil }
func (f failed) Close() error                { return f.err }

func (s *source) Columns(it driver.Iter) []driver.Column {
	gi, ok := it.(*gocql.Iter)
	if !ok {
		return nil // a request that was never sent
	}
	infos := gi.Columns()
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
