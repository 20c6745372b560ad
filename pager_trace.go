package cqlseq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// streamTrace is a pager's tracing of its stream (WithTracer).
type streamTrace struct {
	// tracer is the config's; traced says this pager traces its stream's
	// start and end (a scan traces its own, not its ranges'), with the
	// context ctx and the first reason given to end, with its error.
	tracer  Tracer
	traced  bool
	ctx     context.Context
	reason  EndReason
	err     error
	partial int // rows yielded from the page in hand, not yet in the pager's total
}

// pageTrace is a traced page request: its context and what its end
// reports. Zero when no tracer is set.
type pageTrace struct {
	ctx           context.Context
	page, attempt int
}

// send sends the request r for the stream's page number page and returns
// the page, how long it took and its trace, whose end the caller reports
// (pageEnd) once it knows the outcome.
func (p *pager) send(r driver.Request, page int) (driver.Iter, time.Duration, pageTrace) {
	ctx := p.fctx
	var tr pageTrace
	returned := false
	if p.trace.tracer != nil {
		tr = pageTrace{page: page, attempt: r.Attempt}
		ctx = p.trace.tracer.TracePageStart(ctx, TracePageStartData{Page: page, Attempt: r.Attempt})
		tr.ctx = ctx
		defer func() {
			// A request that panics or calls runtime.Goexit (a user's
			// observer or policy) still ends its trace; the panic goes on.
			if returned {
				return
			}
			v := recover()
			err := fmt.Errorf("cqlseq: the page request panicked: %v", v)
			if v == nil {
				err = errors.New("cqlseq: the page request's goroutine exited (runtime.Goexit)")
			}
			p.trace.tracer.TracePageEnd(tr.ctx, TracePageEndData{Page: page, Attempt: r.Attempt, Err: err})
			if v != nil {
				panic(v)
			}
		}()
	}
	start := time.Now()
	it := p.src.Fetch(ctx, r)
	returned = true
	return it, time.Since(start), tr
}

// pageEnd traces the end of the page request tr, if traced: it is its page
// (nil if it never came), w its warnings, err its failure.
func (p *pager) pageEnd(tr pageTrace, it driver.Iter, latency time.Duration, w []string, err error) {
	if tr.ctx == nil {
		return
	}
	d := TracePageEndData{Page: tr.page, Attempt: tr.attempt, Latency: latency, Warnings: w, Err: err}
	if it != nil {
		d.Rows, d.Host = it.NumRows(), p.src.Host(it)
	}
	p.trace.tracer.TracePageEnd(tr.ctx, d)
}

// end records why the stream ends, for its trace: the first reason given
// wins. With no reason at close, the loop body panicked.
func (p *pager) end(reason EndReason, err error) {
	if p.trace.reason == 0 {
		p.trace.reason, p.trace.err = reason, err
	}
}

// endWith records the end of a stream that yields err, and returns err:
// cancelled if its context is done, else failed.
func (p *pager) endWith(err error) error {
	if p.ctx.Err() != nil {
		p.end(EndCanceled, err)
	} else {
		p.end(EndError, err)
	}
	return err
}
