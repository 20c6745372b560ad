package cqlseq

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/ring"
	"golang.org/x/time/rate"
)

// scanMsg is what a worker hands to the consumer.
type scanMsg[T any] struct {
	rng   int
	page  Page[T]
	done  bool // the range was read to its end; page.Warnings are those of its trailing pages without rows
	err   error
	panic any
}

// scan is one range over a scan: its workers and its consumer.
type scan[T any] struct {
	cfg    *config
	tbl    driver.Cluster
	table  string // the table's name, for a tracer
	ranges []ring.Task
	order  []int           // indexes of ranges in token order, for checkpoints
	hosts  []string        // host IDs, by ring host index
	local  map[string]bool // by host ID: in WithDataCenter's data center (all without it)
	cql    string
	fp     cursor.Fingerprint
	after  bool      // call the page callback after yielding
	rows   *rowLevel // a row-level Scan's, for the trace; nil for ScanPages
	// check makes the pages' checkpoints, from the first page on: nil
	// until then, and for a scan whose checkpoints nobody reads.
	check *checkpointer

	limiter *rate.Limiter // WithRateLimit's, shared by the workers
	live    *liveness     // which nodes are up, shared by the workers
	lost    atomic.Pointer[lostPanic]
	// bufs, for a row-level Scan, holds the row slices of pages whose rows
	// were all yielded (by value), for the workers' next pages: the
	// scan's pages then allocate no rows, as a Stream's do not.
	bufs chan []T
}

// run runs the scan with workers workers and yields its pages. A panic of a
// worker (a tracer's hook, a driver's observer) that it could not hand to
// the consumer, because the scan was stopping, is raised here once every
// worker has returned: it reaches the caller however the scan ended, unless
// the loop body's own panic is already on its way.
func (s *scan[T]) run(ctx context.Context, workers int, yield func(Page[T], error) bool) {
	s.runPages(ctx, workers, yield)
	if p := s.lost.Load(); p != nil {
		panic(p.v)
	}
}

// lostPanic is a worker's panic that no consumer received.
type lostPanic struct{ v any }

func (s *scan[T]) runPages(ctx context.Context, workers int, yield func(Page[T], error) bool) {
	number, total, left := 0, int64(0), 0
	var reason EndReason // why the scan ended, for its trace: the first given
	var endErr error
	end := func(r EndReason, err error) {
		if reason == 0 {
			reason, endErr = r, err
		}
	}
	if t := s.cfg.tracer; t != nil {
		d := s.cfg.traceStart(workers)
		d.Table, d.Statement = s.table, s.cql
		ctx = t.TraceStreamStart(ctx, d)
		tctx := ctx
		// Deferred first, so it runs last: after every worker was joined.
		defer func() {
			rows, pages := total, number
			if rl := s.rows; rl != nil && (reason == EndBreak || reason == 0) {
				// The rows' loop left the last page (broken off, or its
				// body panicked): count what it yielded, and a cancel for
				// what it was.
				rows -= int64(rl.unyielded)
				if rl.untouched {
					pages--
				}
				if rl.err != nil {
					reason, endErr = EndCanceled, rl.err
				}
			}
			if reason == 0 {
				reason = EndPanic
			}
			t.TraceStreamEnd(tctx, TraceStreamEndData{Rows: rows, Pages: pages, Reason: reason, Err: endErr})
		}()
	}
	s.live = newLiveness(s.tbl)
	if s.cfg.rateSet {
		// One limit for this ranging's workers, counted from now.
		s.limiter = newRowLimiter(s.cfg.rateLimit)
	}
	if s.after {
		// As many as can be in use: two pages per worker and the one the
		// consumer holds.
		s.bufs = make(chan []T, 2*workers+1)
	}
	wctx, cancel := context.WithCancel(ctx)
	out := make(chan scanMsg[T])
	var next atomic.Int64
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(wctx, &next, out)
		}()
	}
	var ringDone float64 // tokens of the ranges read to their end
	for _, r := range s.ranges {
		if r.Done {
			ringDone += float64(r.Width())
		} else {
			left++
		}
	}
	start, startDone := time.Now(), ringDone
	finish := func(r *ring.Task) {
		r.Done, r.State = true, nil
		ringDone += float64(r.Width())
		left--
	}
	var warned []string
	reported := -1 // the ranges done at the last page callback
	defer func() {
		// A complete scan's last report says so: every range done. The
		// range whose last page had no rows, or held no rows at all, was
		// done after the last page's callback; warnings of pages without
		// rows may wait for it too.
		cb := s.cfg.PageCallback
		if cb == nil || reason != EndComplete || len(warned) == 0 && reported == len(s.ranges) {
			return
		}
		if s.check == nil {
			s.check = newCheckpointer(s.fp, s.cfg.FetchSize, s.ranges, s.order, s.cfg.CursorKey)
		}
		cb(PageInfo{Number: number + 1, TotalRows: total, Warnings: warned, Cursor: s.check.text(),
			Scan: progress(len(s.ranges), len(s.ranges), ringDone, startDone, total, time.Since(start))})
	}()
	for left > 0 {
		var m scanMsg[T]
		select {
		case m = <-out:
		case <-ctx.Done():
			err := ctxError("cqlseq: ", ctx)
			end(EndCanceled, err)
			yield(Page[T]{}, err)
			return
		}
		switch {
		case m.panic != nil:
			panic(m.panic) // as if the request had run on this goroutine
		case m.err != nil:
			if ctx.Err() != nil {
				end(EndCanceled, m.err)
			} else {
				end(EndError, m.err)
			}
			yield(Page[T]{}, m.err)
			return
		case m.done:
			if !s.ranges[m.rng].Done {
				finish(&s.ranges[m.rng])
			}
			s.check.moved(m.rng)
			// Warnings of the range's trailing pages without rows go with
			// the next page of any range, or to the callback at the end.
			warned = append(warned, m.page.Warnings...)
			continue
		}
		r := &s.ranges[m.rng]
		r.State = m.page.PageState
		if r.State == nil {
			finish(r)
		}
		number++
		total += int64(len(m.page.Rows))
		if len(warned) > 0 {
			m.page.Warnings = append(warned, m.page.Warnings...)
			warned = nil
		}
		page := Page[T]{Rows: m.page.Rows, PageInfo: PageInfo{Number: number, RowCount: len(m.page.Rows), TotalRows: total, Warnings: m.page.Warnings,
			Retries: m.page.Retries, Latency: m.page.Latency, Host: m.page.Host}}
		cb := s.cfg.PageCallback
		if !s.after || cb != nil { // read by someone
			s.check.moved(m.rng)
			if s.check == nil {
				s.check = newCheckpointer(s.fp, s.cfg.FetchSize, s.ranges, s.order, s.cfg.CursorKey)
			}
			page.Cursor = s.check.text()
			page.Scan = progress(len(s.ranges), len(s.ranges)-left, ringDone, startDone, total, time.Since(start))
			reported = page.Scan.RangesDone
		}
		info := page.PageInfo
		if cb != nil && !s.after {
			cb(info)
		}
		if !yield(page, nil) {
			end(EndBreak, nil)
			return
		}
		if s.bufs != nil {
			// Every row was yielded, by value: the slice is free. Cleared,
			// so that it keeps no row's strings alive.
			clear(page.Rows)
			select {
			case s.bufs <- page.Rows:
			default:
			}
		}
		if cb != nil && s.after {
			cb(info)
		}
	}
	end(EndComplete, nil)
}

// work reads ranges, taken in order, until none is left or ctx is done,
// and hands their pages to out.
func (s *scan[T]) work(ctx context.Context, next *atomic.Int64, out chan<- scanMsg[T]) {
	send := func(m scanMsg[T]) bool {
		select {
		case out <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	finished := false
	defer func() {
		switch r := recover(); {
		case r != nil:
			if !send(scanMsg[T]{panic: r}) {
				s.lost.CompareAndSwap(nil, &lostPanic{r})
			}
		case !finished:
			// runtime.Goexit in a request (t.FailNow in a query observer):
			// the consumer must not wait for this worker's ranges forever.
			send(scanMsg[T]{err: errors.New("cqlseq: a scan worker's goroutine exited in the middle of a request (runtime.Goexit)")})
		}
	}()
	s.loop(ctx, next, send)
	finished = true
}

// loop reads ranges for work.
func (s *scan[T]) loop(ctx context.Context, next *atomic.Int64, send func(scanMsg[T]) bool) {
	for {
		i := int(next.Add(1) - 1)
		if i >= len(s.ranges) || ctx.Err() != nil {
			return
		}
		r := s.ranges[i] // a copy: the consumer updates s.ranges
		if r.Done {
			continue
		}
		if !s.readRange(ctx, i, r, send) {
			return
		}
	}
}

// readRange reads r, the i-th range, and hands its pages to send; it
// reports whether the worker may go on to another range.
func (s *scan[T]) readRange(ctx context.Context, i int, r ring.Task, send func(scanMsg[T]) bool) bool {
	hosts := make([]string, len(r.Replicas)) // in ring order
	for k, h := range r.Replicas {
		hosts[k] = s.hosts[h]
	}
	var d TraceRangeEndData // for a RangeTracer
	returned := false
	if rt, ok := s.cfg.tracer.(RangeTracer); ok {
		ctx = rt.TraceRangeStart(ctx, TraceRangeStartData{Start: r.Start, End: r.End, Replicas: hosts, Resumed: r.State != nil})
		defer func() {
			switch {
			case d.Done || d.Err != nil:
			case !returned:
				d.Err = errors.New("cqlseq: the range's request panicked (or called runtime.Goexit)")
			default:
				d.Err = ctx.Err() // the scan stopped
			}
			rt.TraceRangeEnd(ctx, d)
		}()
	}
	more := s.readPages(ctx, i, r, hosts, send, &d)
	returned = true
	return more
}

// readPages reads the pages of r for readRange, noting in d what a
// RangeTracer is told.
func (s *scan[T]) readPages(ctx context.Context, i int, r ring.Task, hosts []string, send func(scanMsg[T]) bool, d *TraceRangeEndData) bool {
	src := s.tbl.Query(s.cql, append([]any{r.Start, r.End}, s.cfg.scanValues...))
	// Two pages at most per worker: the one it hands over, and the next,
	// requested as the hand-off starts (prefetch), so that Cassandra works
	// while the worker waits for the consumer. A range's query is a
	// SELECT, so a failed request may be sent again (Idempotent). Each
	// page carries its retries, latency and host; the callback, the
	// range's own, gives the warnings of trailing pages without rows. The
	// consumer reports both with the scan's pages.
	cfg := *s.cfg
	var trailing []string
	cfg.PageState, cfg.Prefetch, cfg.Idempotent = r.State, 1, true
	cfg.PageCallback = func(info PageInfo) {
		if info.RowCount == 0 {
			trailing = info.Warnings
		}
	}
	link := &rangeLink{limiter: s.limiter, rowBufs: s.bufs}
	if u, ok := s.tbl.(driver.Unrouted); !ok || !u.Unrouted() {
		link.route = newReplicaRoute(s.live, hosts, s.local)
	}
	for p, err := range streamPages[T](ctx, src, &cfg, link) {
		if err != nil {
			// A row type that does not fit the columns is no failure of
			// the range: reported as Stream reports it.
			var me *MappingError
			if ctx.Err() == nil && !errors.As(err, &me) {
				addrs := make([]string, len(hosts))
				for k, h := range hosts {
					addrs[k] = s.live.addr(h)
				}
				err = &RangeError{Start: r.Start, End: r.End, Replicas: hosts, Err: err, addrs: addrs}
			}
			d.Err = err
			send(scanMsg[T]{rng: i, err: err})
			return false
		}
		d.Rows += int64(len(p.Rows))
		d.Pages++
		if !send(scanMsg[T]{rng: i, page: p}) {
			return false
		}
	}
	d.Done = true
	return send(scanMsg[T]{rng: i, page: Page[T]{PageInfo: PageInfo{Warnings: trailing}}, done: true})
}
