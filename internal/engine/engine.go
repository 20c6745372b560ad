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
	// Columns describes the columns of a page returned by Fetch.
	Columns(it Iter) []Column
	// Retryable reports whether a failed page request may succeed if sent
	// again: a timeout, an unavailable or overloaded node, a lost connection.
	Retryable(err error) bool
	// Scannable reports whether the driver decodes one column straight into
	// a *t although t is a struct (it implements the driver's Unmarshaler or
	// UDTUnmarshaler, or is a struct the driver knows, like a duration).
	Scannable(t reflect.Type) bool
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
	// Warnings are the warnings the server sent with this page.
	Warnings []string
	// PageState resumes the query right after this page (see WithPageState).
	// It is nil when Cassandra marked this page the last. When the rows end
	// exactly on a page boundary Cassandra cannot know yet, and the last
	// page carries a state from which the query resumes to no rows. The
	// slice belongs to the caller.
	PageState []byte
	// Cursor is PageState as text, tied to the statement and its values
	// (and checked, or signed with WithCursorKey): resume with WithCursor.
	// It is empty exactly when PageState is nil.
	Cursor string
}

// Stream returns the rows of the query run by src, one at a time.
func Stream[T any](ctx context.Context, src Source, cfg Config) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var (
			zero T
			s    rowScanner[T]
			done = ctx.Done()
		)
		p := newPager(ctx, src, &cfg)
		p.onColumns = s.planner(src, &cfg)
		defer p.close()
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
					p.prefetch()
				}
				// A non-blocking receive on an open channel takes no lock.
				select {
				case <-done:
					yield(zero, p.ctxErr())
					return
				default:
				}
				if !s.scan(it) {
					break
				}
				read++
				if !yield(s.row, nil) {
					return
				}
			}
			if err := p.finish(read); err != nil {
				yield(zero, err)
				return
			}
		}
	}
}

// Pages returns the rows of the query run by src, a page at a time.
func Pages[T any](ctx context.Context, src Source, cfg Config) iter.Seq2[Page[T], error] {
	return func(yield func(Page[T], error) bool) {
		var s rowScanner[T]
		p := newPager(ctx, src, &cfg)
		p.onColumns = s.planner(src, &cfg)
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
			page := Page[T]{Rows: rows, Warnings: it.Warnings()}
			if err := p.finish(len(rows)); err != nil {
				yield(Page[T]{}, err)
				return
			}
			page.Number, page.TotalRows, page.PageState, page.Cursor = p.number, p.total, p.resume(), p.cursor
			// The caller works on this page while the next one travels.
			if cfg.Prefetch > 0 {
				p.prefetch()
			}
			if !yield(page, nil) {
				return
			}
		}
	}
}

// rowScanner decodes rows into one T through a plan bound once per stream.
type rowScanner[T any] struct {
	row  T
	dest []any // the destinations of Scan, inside row
	pl   *plan
}

// planner returns the pager's onColumns: it builds (or finds) the plan for
// T and the first page's columns, and binds it to s.row.
func (s *rowScanner[T]) planner(src Source, cfg *Config) func(Iter) error {
	return func(it Iter) (err error) {
		if s.pl, err = planFor[T](src, src.Columns(it), cfg); err == nil {
			s.dest = s.pl.bind(&s.row)
		}
		return err
	}
}

// scan decodes the next row of it into s.row, and reports false at the end
// of the page. For a struct or a scalar it zeroes s.row, so that a NULL
// gives the zero value and no slice is reused, and calls Scan into the
// bound destinations: no reflection, no allocation of its own. For
// map[string]any it makes the new map MapScan needs.
func (s *rowScanner[T]) scan(it Iter) bool {
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

// pager walks the pages of one query. It is used by one goroutine; the only
// other goroutine is a prefetch, which touches nothing but its channel.
type pager struct {
	ctx    context.Context // the caller's
	fctx   context.Context // for fetches; cancelled by close
	cancel context.CancelFunc
	src    Source
	cfg    *Config

	// onColumns is called with the first page that did not fail, before
	// its rows are read, to build the scanning plan.
	onColumns func(Iter) error
	planned   bool
	cursors   bool // make a cursor for every page, not only for the callback

	cur     Iter
	state   []byte // paging state that follows cur; empty after the last page
	started bool
	number  int    // pages finished
	total   int64  // rows in finished pages
	cursor  string // cursor after the last finished page
	retries int    // retries for the current page
	pending chan Iter
	wg      sync.WaitGroup
}

func newPager(ctx context.Context, src Source, cfg *Config) *pager {
	fctx, cancel := context.WithCancel(ctx)
	return &pager{ctx: ctx, fctx: fctx, cancel: cancel, src: src, cfg: cfg}
}

// more reports whether another page may be fetched after the current one.
func (p *pager) more() bool {
	if p.started && len(p.state) == 0 {
		return false
	}
	return p.cfg.MaxPages == 0 || p.number < p.cfg.MaxPages
}

// next returns the next page with at least one row, or nil after the last.
// Pages without rows that still carry a paging state are skipped.
func (p *pager) next() (Iter, error) {
	for {
		if p.ctx.Err() != nil {
			return nil, p.ctxErr()
		}
		if !p.more() {
			return nil, nil
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
		rows := it.NumRows()
		if !p.planned {
			// Columns stay readable after Close, so the plan is checked
			// even when the result is empty.
			if err := p.onColumns(it); err != nil {
				return nil, err
			}
			p.planned = true
		}
		if rows > 0 {
			return it, nil
		}
		p.closeCur()
	}
}

// fetch returns the page that starts at state: the prefetched one if a
// prefetch is pending, else a new request. A page without rows is the end,
// a failure, or a page the server left empty with more to come; only its
// Close tells which. A failure that Source.Retryable accepts is sent again
// from the same state, after a backoff, up to Retry.Attempts times.
func (p *pager) fetch(state []byte) (Iter, error) {
	var it Iter
	if p.pending != nil {
		it = <-p.pending
		p.pending = nil
	} else {
		it = p.src.Fetch(p.fctx, state)
	}
	p.retries = 0
	for {
		if it.NumRows() > 0 {
			return it, nil
		}
		err := it.Close()
		if err == nil {
			return it, nil
		}
		if p.ctx.Err() != nil {
			return nil, p.ctxErr()
		}
		if p.retries >= p.cfg.Retry.Attempts || !p.src.Retryable(err) {
			if p.retries > 0 {
				return nil, fmt.Errorf("cqlseq: fetching page %d, %d retries: %w", p.number+1, p.retries, err)
			}
			return nil, p.fetchErr(err)
		}
		if err := p.sleep(p.backoff()); err != nil {
			return nil, err
		}
		p.retries++
		it = p.src.Fetch(p.fctx, state)
	}
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

// prefetch starts fetching the page after the current one, if there is one.
func (p *pager) prefetch() {
	if p.pending != nil || len(p.state) == 0 || !(p.cfg.MaxPages == 0 || p.number+1 < p.cfg.MaxPages) {
		return
	}
	ch := make(chan Iter, 1)
	p.pending = ch
	state := p.state
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ch <- p.src.Fetch(p.fctx, state)
	}()
}

// finish closes the current page after read rows were taken from it, and
// reports the page to the callback. It returns the driver's error, if any:
// a failed fetch or a row that could not be decoded.
func (p *pager) finish(read int) error {
	if err := p.closeCur(); err != nil {
		if p.ctx.Err() != nil {
			return p.ctxErr()
		}
		return fmt.Errorf("cqlseq: reading page %d: %w", p.number+1, err)
	}
	p.number++
	p.total += int64(read)
	p.cursor = ""
	// A cursor costs a hash and an encoding: made only where it can be read.
	if len(p.state) > 0 && (p.cursors || p.cfg.PageCallback != nil) {
		p.cursor = EncodeCursor(p.cfg.Fingerprint, p.state, p.cfg.CursorKey)
	}
	if p.cfg.PageCallback != nil {
		p.cfg.PageCallback(PageInfo{Number: p.number, Rows: read, TotalRows: p.total, Cursor: p.cursor, Retries: p.retries})
	}
	return nil
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

func (p *pager) fetchErr(err error) error {
	if p.ctx.Err() != nil {
		return p.ctxErr()
	}
	return fmt.Errorf("cqlseq: fetching page %d: %w", p.number+1, err)
}

func (p *pager) ctxErr() error {
	err := p.ctx.Err()
	if cause := context.Cause(p.ctx); cause != nil && !errors.Is(cause, err) {
		return fmt.Errorf("cqlseq: %w: %w", err, cause)
	}
	return fmt.Errorf("cqlseq: %w", err)
}

// close releases everything the pager opened: it cancels an in-flight
// prefetch, waits for its goroutine and closes every page it holds. Errors
// from Close here cannot be delivered: the caller has stopped listening, or
// the error was delivered already.
func (p *pager) close() {
	p.cancel()
	p.wg.Wait()
	if p.pending != nil {
		(<-p.pending).Close()
		p.pending = nil
	}
	p.closeCur()
}
