// Package engine is the paging engine shared by cqlseq's front ends: the
// page loop, prefetching, options, callbacks, cleanup and the typed scanning
// plan. It knows no driver; each front end adapts its driver to Source.
package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"
)

// Iter is one page of a query's result as a driver returns it. Both
// github.com/apache/cassandra-gocql-driver/v2 and github.com/gocql/gocql
// *Iter values satisfy it once the query's automatic paging is off.
type Iter interface {
	Scan(dest ...any) bool
	MapScan(m map[string]any) bool
	PageState() []byte
	NumRows() int
	Warnings() []string
	Close() error
}

// Source runs one query a page at a time.
type Source interface {
	// Fetch sends the query for the page that starts at state (nil: the
	// first page) and blocks until that page has arrived or failed. A failure
	// is reported by the returned Iter's Close, as drivers do. Fetch must
	// return promptly once ctx is done, and must not keep automatic paging on.
	Fetch(ctx context.Context, state []byte) Iter
	// Columns describes the columns of a page returned by Fetch. It is
	// called for every page, to see whether the columns changed: it should
	// allocate no more than the slice it returns.
	Columns(it Iter) []Column
	// Decode decodes data, a value of column c (or of its tuple element
	// elem, if elem >= 0), into dst with the driver: the plan's type check.
	Decode(c Column, elem int, data []byte, dst any) error
	// Sample returns the encoding of a non-NULL value of column c (or of
	// its tuple element elem), or nil if the driver cannot make one.
	Sample(c Column, elem int) []byte
	// Retryable classifies a failed page request: whether it may succeed if
	// sent again, and whether the request may have reached Cassandra.
	Retryable(err error) Retryability
	// Scannable reports whether the driver decodes one column straight into
	// a *t although t is a struct (it implements the driver's Unmarshaler or
	// UDTUnmarshaler, or is a struct the driver knows, like a duration).
	Scannable(t reflect.Type) bool
	// Dest returns the destination that Scan decodes one column (or tuple
	// element) into: an adapter to the driver's Unmarshaler that sets
	// *d.At = d.Slot, then sets *d.Any to nil for a NULL or else decodes into
	// d.Ptr with the driver's Unmarshal. It is called once per plan: once per
	// stream, and again when a page's columns change.
	Dest(d *Dest) any
	// Discard returns a destination that takes any value and keeps none
	// (it only sets *d.At = d.Slot),
	// for the elements of a tuple column that no field takes.
	Discard(d *Dest) any
}

// Dest is the destination of one column or tuple element, bound to a row
// once per stream.
type Dest struct {
	Ptr  any  // the field's address
	Any  *any // the field's address when it is an empty interface, else nil
	Slot int  // the index of this destination
	At   *int // set to Slot before decoding, to name the column of an error
}

// Page is one page of rows.
type Page[T any] struct {
	// Rows holds the page's rows in the order the server sent them. The
	// slice is new for every page and belongs to the caller.
	Rows []T
	// Number is the page's number in this stream, counting from 1. A stream
	// resumed from a paging state counts from 1 again.
	Number int
	// TotalRows is the number of rows read so far, this page included.
	TotalRows int64
	// Warnings are the warnings the server sent with this page, and with
	// the pages without rows that Cassandra sent just before it.
	Warnings []string
	// PageState resumes the query right after this page (see WithPageState).
	// It is nil when Cassandra marked this page the last. When the rows end
	// exactly on a page boundary Cassandra cannot know yet, and the last
	// page carries a state from which the query resumes to no rows. The
	// slice belongs to the caller.
	PageState []byte
	// Cursor is PageState as text, tied to the statement, its bound values
	// and the page size (and checked, or signed with WithCursorKey): resume
	// with WithCursor. It is empty exactly when PageState is nil.
	Cursor string
}

// Stream returns the rows of the query run by src, one at a time.
func Stream[T any](ctx context.Context, src Source, cfg Config) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		p := newPager(ctx, src, &cfg)
		s := newRowScanner[T](p)
		defer p.close()
		done := p.ctx.Done()
		for {
			it, err := p.next()
			if err != nil {
				yield(zero, err)
				return
			}
			if it == nil {
				return
			}
			// The next page is requested once (1 - prefetch) of this page
			// has been read, as the drivers do; with prefetch 0, never.
			at := -1
			if n := it.NumRows(); cfg.Prefetch > 0 {
				at = max(int((1-cfg.Prefetch)*float64(n)), 0)
			}
			read := 0
			for {
				if read == at {
					p.prefetch(p.number + 2) // the page after the current one
				}
				if !s.scan(it) {
					break
				}
				// A non-blocking receive on an open channel takes no lock.
				// Checked after the row is read, so that a context cancelled
				// after the last row does not spoil a complete read.
				select {
				case <-done:
					yield(zero, p.ctxErr())
					return
				default:
				}
				read++
				if !yield(s.row, nil) {
					return
				}
			}
			if err := p.finish(read, p.warnings(it), s); err != nil {
				yield(zero, err)
				return
			}
		}
	}
}

// Pages returns the rows of the query run by src, a page at a time.
func Pages[T any](ctx context.Context, src Source, cfg Config) iter.Seq2[Page[T], error] {
	return func(yield func(Page[T], error) bool) {
		p := newPager(ctx, src, &cfg)
		s := newRowScanner[T](p)
		p.cursors = true // Page.Cursor
		defer p.close()
		for {
			it, err := p.next()
			if err != nil {
				yield(Page[T]{}, err)
				return
			}
			if it == nil {
				return
			}
			rows := make([]T, 0, it.NumRows())
			for s.scan(it) {
				rows = append(rows, s.row)
			}
			warnings := p.warnings(it)
			if err := p.finish(len(rows), warnings, s); err != nil {
				yield(Page[T]{}, err)
				return
			}
			page := Page[T]{Rows: rows, Number: p.number, TotalRows: p.total, Warnings: warnings, PageState: p.resume(), Cursor: p.cursor}
			// The caller works on this page while the next one travels.
			if cfg.Prefetch > 0 {
				p.prefetch(p.number + 1)
			}
			if !yield(page, nil) {
				return
			}
		}
	}
}

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
	src   Source
}

func newRowScanner[T any](p *pager) *rowScanner[T] {
	s := &rowScanner[T]{p: p, src: p.src}
	p.onColumns = s.replan
	return s
}

// replan makes (or finds) the plan for T and cols, the columns of page
// number page, and binds it to s.row.
func (s *rowScanner[T]) replan(cols []Column, page int) error {
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
func (s *rowScanner[T]) scan(it Iter) (ok bool) {
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
// good rows (or a panic scan caught), into a ScanError naming the column
// and field. A failure that no destination saw (a truncated frame) keeps
// the column empty.
func (s *rowScanner[T]) scanErr(read int, err error) error {
	if err == nil {
		err = s.fault
	}
	if err == nil {
		return nil
	}
	e := &ScanError{Page: s.p.number + 1, Row: s.p.total + int64(read) + 1, Err: err}
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

// pager walks the pages of one query. It is used by one goroutine; the only
// other goroutine is a prefetch, which touches nothing but its channel.
type pager struct {
	ctx    context.Context // the caller's, joined with the query's own
	qctx   context.Context // the query's own, if any
	fctx   context.Context // for fetches; cancelled by close
	cancel context.CancelFunc
	stop   func() bool // unlinks the query's context, if any
	src    Source
	cfg    *Config

	// onColumns is called, before its rows are read, with the first page
	// that did not fail and with every later page whose columns differ from
	// the previous one's: it makes the scanning plan for them.
	onColumns func(cols []Column, page int) error
	cols      []Column // the columns of the last page planned for
	cursors   bool     // make a cursor for every page, not only for the callback

	cur     Iter
	state   []byte // paging state that follows cur; empty after the last page
	started bool
	number  int      // pages finished
	total   int64    // rows in finished pages
	cursor  string   // cursor after the last finished page
	retries int      // retries for the current page
	warned  []string // warnings of pages without rows, for the next page
	pending chan fetched
	wg      sync.WaitGroup
}

// fetched is a prefetched page, or the panic its request raised.
type fetched struct {
	it    Iter
	panic any
}

func newPager(ctx context.Context, src Source, cfg *Config) *pager {
	p := &pager{ctx: ctx, src: src, cfg: cfg, stop: func() bool { return false }}
	if q := cfg.QueryContext; q != nil && q != ctx && q.Done() != nil {
		// The query carries a context of its own (FromQuery, Queryx): the
		// stream ends when either is done, with the error of the one that
		// is (see ctxErr).
		joined, cancel := context.WithCancelCause(ctx)
		if q.Err() != nil {
			cancel(errQueryContext) // at once: AfterFunc would run later
		}
		unlink := context.AfterFunc(q, func() { cancel(errQueryContext) })
		p.ctx, p.qctx = joined, q
		p.stop = func() bool { r := unlink(); cancel(nil); return r }
	}
	p.fctx, p.cancel = context.WithCancel(p.ctx)
	return p
}

// more reports whether another page may be fetched after the current one.
func (p *pager) more() bool {
	if p.started && len(p.state) == 0 {
		return false
	}
	return p.cfg.MaxPages == 0 || p.number < p.cfg.MaxPages
}

// next returns the next page with at least one row, or nil after the last.
// Pages without rows that still carry a paging state are skipped; their
// warnings go with the next page.
func (p *pager) next() (Iter, error) {
	for {
		if !p.more() {
			p.flushWarnings()
			return nil, nil
		}
		if p.ctx.Err() != nil {
			if p.prefetchedEnd() {
				p.flushWarnings()
				return nil, nil
			}
			return nil, p.ctxErr()
		}
		state := p.cfg.PageState
		if p.started {
			state = p.state
		}
		it, err := p.fetch(state)
		if err != nil {
			return nil, err
		}
		p.cur, p.started = it, true
		p.state = it.PageState()
		// Columns stay readable after Close, so the plan is checked even
		// when the result is empty.
		if cols := p.src.Columns(it); p.cols == nil || !sameColumns(p.cols, cols) {
			if err := p.onColumns(cols, p.number+1); err != nil {
				return nil, err
			}
			p.cols = cols
		}
		if it.NumRows() > 0 {
			return it, nil
		}
		p.closeCur()
	}
}

// prefetchedEnd reports whether a prefetch that has already arrived shows
// the result complete: no rows, no error, no paging state. When the rows
// end exactly on a page boundary, that page is the only proof, and a
// context cancelled after the last row must not spoil a complete read. It
// takes the prefetch, whatever it holds: the caller ends the stream anyway.
func (p *pager) prefetchedEnd() bool {
	if p.pending == nil {
		return false
	}
	select {
	case f := <-p.pending:
		p.pending = nil
		if f.it == nil {
			return false
		}
		end := f.it.NumRows() == 0 && len(f.it.PageState()) == 0
		w := f.it.Warnings()
		if f.it.Close() != nil {
			return false
		}
		p.warned = append(p.warned, w...)
		return end
	default:
		return false
	}
}

// warnings returns the warnings of the page it and of the pages without rows
// skipped before it.
func (p *pager) warnings(it Iter) []string {
	w := it.Warnings()
	if len(p.warned) > 0 {
		w = append(p.warned, w...)
		p.warned = nil
	}
	return w
}

// flushWarnings reports the warnings of trailing pages without rows to the
// page callback, as a page of no rows: no later page will carry them.
func (p *pager) flushWarnings() {
	if len(p.warned) > 0 && p.cfg.PageCallback != nil {
		p.cfg.PageCallback(PageInfo{Number: p.number + 1, TotalRows: p.total, Warnings: p.warned})
	}
	p.warned = nil
}

// fetch returns the page that starts at state: the prefetched one if a
// prefetch is pending, else a new request. A page without rows is the end,
// a failure, or a page the server left empty with more to come; only its
// Close tells which. A failure that may pass is sent again from the same
// state, after a backoff, up to Retry.Attempts times (see retry).
func (p *pager) fetch(state []byte) (Iter, error) {
	var it Iter
	if p.pending != nil {
		f := <-p.pending
		p.pending = nil
		if f.panic != nil {
			panic(f.panic) // as if the request had run on this goroutine
		}
		it = f.it
	} else {
		it = p.src.Fetch(p.fctx, state)
	}
	p.retries = 0
	for {
		if it.NumRows() > 0 {
			return it, nil
		}
		// Closing drops the page's warnings: keep those of a page without
		// rows for the next page, or the callback.
		w := it.Warnings()
		err := it.Close()
		if err == nil {
			p.warned = append(p.warned, w...)
			return it, nil
		}
		if p.ctx.Err() != nil {
			return nil, p.ctxErr()
		}
		if p.retries >= p.cfg.Retry.Attempts || !p.retry(err) {
			return nil, &PageError{Page: p.number + 1, Retries: p.retries, Err: err}
		}
		if err := p.sleep(p.backoff()); err != nil {
			return nil, err
		}
		p.retries++
		it = p.src.Fetch(p.fctx, state)
	}
}

// retry reports whether a failed request may be sent again: the failure
// may pass, and either the request cannot have run, or running it twice is
// harmless (Config.Idempotent).
func (p *pager) retry(err error) bool {
	switch p.src.Retryable(err) {
	case NotSent:
		return true
	case MaybeSent:
		return p.cfg.Idempotent
	}
	return false
}

// backoff returns the wait before retry number p.retries+1: MinBackoff
// doubled per retry, capped at MaxBackoff, minus up to a fifth at random so
// that many streams do not retry in step.
func (p *pager) backoff() time.Duration {
	d := p.cfg.Retry.MinBackoff << min(p.retries, 30)
	if d <= 0 || d > p.cfg.Retry.MaxBackoff {
		d = p.cfg.Retry.MaxBackoff
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func (p *pager) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.ctx.Done():
		return p.ctxErr()
	}
}

// prefetch starts fetching the page after the current one, whose number in
// the stream is page, if there is such a page and WithMaxPages allows it. A
// panic in the request (a user's observer or retry policy) is carried to
// the goroutine that ranges, as it would be without prefetching.
func (p *pager) prefetch(page int) {
	if p.pending != nil || len(p.state) == 0 || !(p.cfg.MaxPages == 0 || page <= p.cfg.MaxPages) {
		return
	}
	ch := make(chan fetched, 1)
	p.pending = ch
	state := p.state
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		var f fetched
		defer func() {
			if r := recover(); r != nil {
				f.panic = r
			}
			ch <- f
		}()
		f.it = p.src.Fetch(p.fctx, state)
	}()
}

// finish closes the current page after read rows were taken from it by s,
// and reports the page to the callback. It returns the driver's error, if
// any, as s describes it: a row that could not be decoded.
func (p *pager) finish(read int, warnings []string, s scanner) error {
	if err := s.scanErr(read, p.closeCur()); err != nil {
		if p.ctx.Err() != nil {
			return p.ctxErr()
		}
		return err
	}
	p.number++
	p.total += int64(read)
	p.cursor = ""
	// A cursor costs a hash and an encoding: made only where it can be read.
	if len(p.state) > 0 && (p.cursors || p.cfg.PageCallback != nil) {
		p.cursor = p.makeCursor()
	}
	if p.cfg.PageCallback != nil {
		p.cfg.PageCallback(PageInfo{Number: p.number, Rows: read, TotalRows: p.total, Cursor: p.cursor, Retries: p.retries, Warnings: warnings})
	}
	return nil
}

// makeCursor returns the cursor for the paging state after the current
// page. The statement's fingerprint is computed on the first cursor only
// (Config.fingerprint is computed once).
func (p *pager) makeCursor() string {
	return EncodeCursor(p.cfg.fingerprint(), p.cfg.PageSize, p.state, p.cfg.CursorKey)
}

// resume returns a copy of the paging state after the current page, or nil
// when no page follows it.
func (p *pager) resume() []byte {
	if len(p.state) == 0 {
		return nil
	}
	return bytes.Clone(p.state)
}

func (p *pager) closeCur() error {
	if p.cur == nil {
		return nil
	}
	err := p.cur.Close()
	p.cur = nil
	return err
}

// errQueryContext is the cause of the joined context when the query's own
// context ended it.
var errQueryContext = errors.New("the query's context is done")

func (p *pager) ctxErr() error {
	if p.qctx != nil && errors.Is(context.Cause(p.ctx), errQueryContext) {
		// The query's context ended the stream: report its error (a
		// deadline is a deadline), not the joined context's Canceled.
		return ctxError("cqlseq: the query's context: ", p.qctx)
	}
	return ctxError("cqlseq: ", p.ctx)
}

// ctxError returns ctx's error, with its cause when that says more.
func ctxError(prefix string, ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, err) {
		return fmt.Errorf("%s%w: %w", prefix, err, cause)
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// close releases everything the pager opened: it cancels an in-flight
// prefetch, waits for its goroutine and closes every page it holds. Errors
// from Close here cannot be delivered: the caller has stopped listening, or
// the error was delivered already. A prefetched request that panicked after
// the loop stopped is dropped with its page: the loop never asked for it.
func (p *pager) close() {
	p.cancel()
	p.wg.Wait()
	if p.pending != nil {
		if f := <-p.pending; f.it != nil {
			f.it.Close()
		}
		p.pending = nil
	}
	p.closeCur()
	p.stop()
}
