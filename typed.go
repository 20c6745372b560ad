package cqlseq

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/mapping"
)

// rowScanner decodes rows into one T through a plan bound to s.row. The
// plan is made for the first page's columns and made again, by name, for a
// page whose columns differ (a schema change between pages).
type rowScanner[T any] struct {
	row   T
	dest  []any // the destinations of Scan, inside row
	pl    *mapping.Plan
	at    int // the destination being decoded, set by the destinations
	fault error
	p     *pager
	src   driver.Source
}

func newRowScanner[T any](p *pager) *rowScanner[T] {
	s := &rowScanner[T]{p: p, src: p.src}
	p.onColumns = s.replan
	return s
}

// replan makes (or finds) the plan for T and cols, the columns of page
// number page, and binds it to s.row.
func (s *rowScanner[T]) replan(cols []driver.Column, page int) error {
	pl, err := mapping.For(s.src, reflect.TypeFor[T](), cols, s.p.cfg.Mapper, s.strict())
	if err != nil {
		return mappingError(err, s.pl, cols, page)
	}
	s.pl = pl
	s.dest = pl.Bind(&s.row, s.src, &s.at)
	return nil
}

// strict says what the stream's strict mapping refuses: a column without
// a field, and, where the front end says so (this package's own queries),
// a field without a column too.
func (s *rowScanner[T]) strict() mapping.Strict {
	if !s.p.cfg.Strict {
		return 0
	}
	if s.src.Query().StrictFields {
		return mapping.StrictColumns | mapping.StrictFields
	}
	return mapping.StrictColumns
}

// mappingError turns err, the refusal of a plan for cols, the columns of
// page number page, into the MappingError the caller sees. prev is the
// plan of the pages before, if any: the message then says what changed.
func mappingError(err error, prev *mapping.Plan, cols []driver.Column, page int) error {
	var me *mapping.Error
	if !errors.As(err, &me) {
		return err
	}
	msg := me.Msg
	if prev != nil {
		msg = "the result's columns changed at page " + fmt.Sprint(page) + " (" + mapping.Changes(prev.Columns(), cols) + "): " + msg
	}
	return &MappingError{Column: me.Column, Field: me.Field, Page: page, Msg: msg, Err: me.Err}
}

// scan decodes the next row of it into s.row, and reports false at the end
// of the page or on a failure (see err). For a struct or a scalar it zeroes
// s.row, so that a NULL gives the zero value and no slice is reused, and
// calls Scan into the bound destinations: no reflection, no allocation of
// its own. For map[string]any it makes the new map MapScan needs. A panic
// in the driver's decoding becomes an error: no value Cassandra sends may
// crash the caller's loop.
func (s *rowScanner[T]) scan(it driver.Iter) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.fault = errPanic{r}
			ok = false
		}
	}()
	s.at = -1
	if s.pl.IsMap() {
		m := make(map[string]any, len(s.pl.Columns()))
		if !it.MapScan(m) {
			return false
		}
		s.row = any(m).(T)
		return true
	}
	var zero T
	s.row = zero
	return it.Scan(s.dest...)
}

// scanErr turns err, the driver's failure of the page just read after read
// good rows (or a panic scan caught), into a DecodeError naming the column
// and field. A failure that no destination saw (a truncated frame) keeps
// the column empty.
func (s *rowScanner[T]) scanErr(read int, err error) error {
	if err == nil {
		err = s.fault
	}
	if err == nil {
		return nil
	}
	e := &DecodeError{Page: s.p.number + 1, Row: s.p.total + int64(read) + 1, Err: err}
	e.Column, e.Field = s.pl.Describe(s.at)
	return e
}

// scanner is what finish needs of a rowScanner, whatever its T.
type scanner interface {
	scanErr(read int, err error) error
}
