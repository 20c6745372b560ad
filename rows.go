package cqlseq

import (
	"errors"
	"fmt"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// rowScanner decodes rows into one T through a plan bound to s.row. The
// plan is made for the first page's columns and made again, by name, for a
// page whose columns differ (a schema change between pages).
type rowScanner[T any] struct {
	row   T
	dest  []any // the destinations of Scan, inside row
	pl    *plan
	at    int // the slot being decoded, set by the destinations
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
	pl, err := planFor[T](s.src, cols, s.p.cfg)
	if err != nil {
		var me *MappingError
		if errors.As(err, &me) {
			me.Page = page
			if s.pl != nil {
				me.Msg = "the result's columns changed at page " + fmt.Sprint(page) + " (" + changes(s.pl.cols, cols) + "): " + me.Msg
			}
		}
		return err
	}
	s.pl = pl
	s.dest = pl.bind(&s.row, s.src, &s.at)
	return nil
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
	if s.pl.isMap {
		m := make(map[string]any, s.pl.ncols)
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
	if s.at >= 0 && s.at < len(s.pl.slots) {
		sl := s.pl.slots[s.at]
		e.Column, e.Field = s.pl.cols[sl.col].Name, sl.field
	}
	return e
}

// scanner is what finish needs of a rowScanner, whatever its T.
type scanner interface {
	scanErr(read int, err error) error
}
