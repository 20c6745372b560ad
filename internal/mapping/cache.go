package mapping

import (
	"encoding/binary"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/scylladb/go-reflectx"
)

// planKey is what a plan depends on.
type planKey struct {
	src    reflect.Type // the front end: plans are checked with its driver
	t      reflect.Type
	mapper *reflectx.Mapper
	strict Strict
	cols   string // the columns' signature
}

// plans caches plans by front end, row type, mapper, strictness and column
// signature: the reflection is paid once per (type, columns). The cache is
// emptied when it reaches maxPlans entries, so that programs that stream
// ever new column sets (dynamic queries) do not grow it without bound.
var (
	plans     sync.Map // planKey -> *Plan
	planCount atomic.Int64
)

const maxPlans = 4096

// For returns the plan that maps cols, the columns of a page src fetched,
// onto the row type t with mapper m (nil: gocqlx's rules, the db tag, else
// the field name in snake_case), from the cache or made and checked now;
// strict says which columns and fields without a match it refuses. It
// returns an [*Error] if t cannot hold the result.
func For(src driver.Source, t reflect.Type, cols []driver.Column, m *reflectx.Mapper, strict Strict) (*Plan, error) {
	if m == nil {
		m = defaultMapper
	}
	key := planKey{reflect.TypeOf(src), t, m, strict, signature(cols)}
	if pl, ok := plans.Load(key); ok {
		return pl.(*Plan), nil
	}
	pl, err := build(src, m, t, cols, strict)
	if err != nil {
		return nil, err
	}
	if planCount.Add(1) > maxPlans {
		plans.Clear()
		planCount.Store(1)
	}
	plans.Store(key, pl)
	return pl, nil
}

// signature encodes cols unambiguously: every name and type is length
// prefixed, so no identifier (quoted ones may hold any character) can make
// two column lists look alike.
func signature(cols []driver.Column) string {
	var b []byte
	for _, c := range cols {
		b = binary.AppendUvarint(b, uint64(len(c.Name)))
		b = append(b, c.Name...)
		b = binary.AppendUvarint(b, uint64(len(c.Type)))
		b = append(b, c.Type...)
		b = binary.AppendUvarint(b, uint64(c.Elems))
		if c.UDT {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return string(b)
}
