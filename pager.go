package cqlseq

import (
	"bytes"
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/mapping"
)

// pager walks the pages of one query. It is used by one goroutine; the only
// other goroutine is a prefetch, which touches nothing but its channel.
type pager struct {
	ctx    context.Context // the caller's (the stream's trace's, if traced)
	fctx   context.Context // for fetches; cancelled by close
	cancel context.CancelFunc
	src    driver.Source
	cfg    *config
	link   *rangeLink // a scan's range's tie to its scan; nil for Stream and Pages

	// onColumns is called, before its rows are read, with the first page
	// that did not fail and with every later page whose columns differ from
	// the previous one's: it makes the scanning plan for them.
	onColumns func(cols []driver.Column, page int) error
	cols      []driver.Column // the columns of the last page planned for
	pages     bool            // the stream yields pages, which carry their PageInfo

	cur     driver.Iter
	state   []byte // paging state that follows cur; empty after the last page
	started bool
	number  int           // pages finished
	total   int64         // rows in finished pages
	retries int           // retries for the current page
	failing pageFailures  // the current page's failed requests
	route   *replicaRoute // a scan's range's: the node of each request
	latency time.Duration // of the current page's request (its last attempt)
	warned  []string      // warnings of pages without rows, for the next page
	pending chan fetched
	wg      sync.WaitGroup

	trace streamTrace // the tracing of the stream and its requests

	// limiter holds the stream to WithRateLimit's rate: its own, or, for
	// a scan's range, the scan's.
	limiter *rate.Limiter
}

// fetched is a prefetched page, or the panic its request raised.
type fetched struct {
	it      driver.Iter
	req     driver.Request
	latency time.Duration
	trace   pageTrace
	panic   any
}

// rangeLink is what the stream of a scan's range shares with its scan.
type rangeLink struct {
	limiter *rate.Limiter // the scan's WithRateLimit, which its workers share
	route   *replicaRoute // chooses the node of each request
	// rowBufs, on a row-level Scan's ranges, is a chan []T of row slices
	// the consumer is done with, for the ranges' pages to reuse (a nil
	// one on ScanPages' ranges).
	rowBufs any
}

// newPager returns the pager of one ranging of src's stream, or of a
// scan's range with link.
func newPager(ctx context.Context, src driver.Source, cfg *config, link *rangeLink) *pager {
	p := &pager{src: src, cfg: cfg, link: link, trace: streamTrace{tracer: cfg.tracer}}
	switch {
	case link != nil:
		p.limiter, p.route = link.limiter, link.route
	case cfg.rateSet:
		p.limiter = newRowLimiter(cfg.rateLimit) // each ranging's own
	}
	if p.trace.tracer != nil && link == nil {
		ctx = p.trace.tracer.TraceStreamStart(ctx, cfg.traceStart(0))
		p.trace.traced, p.trace.ctx = true, ctx
	}
	p.ctx = ctx
	p.fctx, p.cancel = context.WithCancel(p.ctx)
	return p
}

// each is the outer loop of every stream: it calls page with each page
// that has rows, once the rate limit allows its rows, until page returns
// false (the loop stopped), the rows end, or a request or a row fails. It
// returns the error to yield, if any, having recorded for the trace why
// the stream ended.
func (p *pager) each(page func(it driver.Iter) (more bool, err error)) error {
	for {
		it, err := p.next()
		if err != nil {
			return p.endWith(err)
		}
		if it == nil {
			p.end(EndComplete, nil)
			return nil
		}
		if err := p.throttle(it.NumRows()); err != nil {
			return p.endWith(err)
		}
		more, err := page(it)
		if err != nil {
			return p.endWith(err)
		}
		if !more {
			p.end(EndBreak, nil)
			return nil
		}
	}
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
func (p *pager) next() (driver.Iter, error) {
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
		if cols := p.src.Columns(it); p.cols == nil || !mapping.SameColumns(p.cols, cols) {
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
		err := f.it.Close()
		switch {
		case err != nil:
			p.pageEnd(f.trace, f.it, f.latency, w, err)
			return false
		case end:
			p.pageEnd(f.trace, f.it, f.latency, w, nil)
		default: // a page the stream will not use
			p.pageEnd(f.trace, f.it, f.latency, w, context.Canceled)
		}
		p.warned = append(p.warned, w...)
		return end
	default:
		return false
	}
}

// warnings returns the warnings of the page it and of the pages without rows
// skipped before it.
func (p *pager) warnings(it driver.Iter) []string {
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
		f.req = p.request(state, 0)
		f.it, f.latency, f.trace = p.send(f.req, page)
	}()
}

// finish closes the current page after read rows were taken from it by s,
// and reports the page to the callback. It returns the driver's error, if
// any, as s describes it: a row that could not be decoded.
func (p *pager) finish(read int, warnings []string, s scanner) (PageInfo, error) {
	// Someone reads the page's PageInfo: the page, or the callback.
	report := p.pages || p.cfg.PageCallback != nil
	var host string
	if report {
		host = p.src.Host(p.cur)
	}
	if err := s.scanErr(read, p.closeCur()); err != nil {
		if p.ctx.Err() != nil {
			return PageInfo{}, p.ctxErr()
		}
		return PageInfo{}, err
	}
	p.number++
	p.total += int64(read)
	if !report {
		return PageInfo{}, nil
	}
	info := PageInfo{Number: p.number, RowCount: read, TotalRows: p.total, Retries: p.retries, Latency: p.latency, Host: host, Warnings: warnings}
	if len(p.state) > 0 {
		info.PageState = bytes.Clone(p.state)
		// A cursor costs a hash and an encoding: a scan's range has none
		// (the scan makes its checkpoints).
		if p.link == nil {
			info.Cursor = p.makeCursor()
		}
	}
	if p.cfg.PageCallback != nil {
		p.cfg.PageCallback(info)
	}
	return info, nil
}

// makeCursor returns the cursor for the paging state after the current
// page. The statement's fingerprint is computed on the first cursor only
// (config.fingerprint is computed once).
func (p *pager) makeCursor() string {
	return cursor.Encode(p.cfg.fingerprint(), p.cfg.FetchSize, p.state, p.cfg.CursorKey)
}

func (p *pager) closeCur() error {
	if p.cur == nil {
		return nil
	}
	err := p.cur.Close()
	p.cur = nil
	return err
}

func (p *pager) ctxErr() error { return ctxError("cqlseq: ", p.ctx) }

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
			p.pageEnd(f.trace, f.it, f.latency, nil, context.Canceled)
		} else {
			p.pageEnd(f.trace, nil, f.latency, nil, context.Canceled)
		}
		p.pending = nil
	}
	if p.trace.traced {
		d := TraceStreamEndData{Rows: p.total, Pages: p.number, Reason: p.trace.reason, Err: p.trace.err}
		if p.trace.partial > 0 { // left in the middle of a page
			d.Rows += int64(p.trace.partial)
			d.Pages++
		}
		if d.Reason == 0 {
			d.Reason = EndPanic
		}
		p.trace.tracer.TraceStreamEnd(p.trace.ctx, d)
	}
	p.closeCur()
}
