package cqlseq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"golang.org/x/time/rate"

	"github.com/cqlseq/cqlseq/driver"
)

// Scan returns every row of table ("keyspace.table"), decoded into T, read
// by token range in parallel (see [WithParallelism]): the ring is cut into
// ranges, each read by its own paged query routed to a replica of the
// range, several at once. Rows of different ranges interleave, in no
// particular order; the rows of one range arrive in token order.
//
// The contract is Stream's: nothing needs closing; however the loop ends,
// every worker stops, its requests are cancelled and every goroutine has
// returned before the range statement completes. [WithColumns] and
// [WithFilter] narrow what is read. The page callback ([WithPageCallback])
// runs after a page's last row, with the scan's progress
// ([PageInfo.Scan]) and a checkpoint ([PageInfo.Cursor]) that resumes the
// scan with [WithCursor]: the resumed scan yields exactly the rows of the
// pages whose callback had not run, so a loop that stops in the middle of a
// page gets that page's rows again.
func Scan[T any](ctx context.Context, session *gocql.Session, table string, opts ...Option) iter.Seq2[T, error] {
	if session == nil {
		return fail[T](invalidf("nil session"))
	}
	return scanRows(ctx, scanPages[T](ctx, v2Cluster{session}, table, opts))
}

// ScanPages is [Scan] a page at a time: each element is a page of one
// range, whose Cursor resumes the scan right after it: the resumed scan
// yields exactly the pages not yet yielded (see [WithCursor]). The page
// callback runs before the page is yielded.
func ScanPages[T any](ctx context.Context, session *gocql.Session, table string, opts ...Option) iter.Seq2[Page[T], error] {
	if session == nil {
		return fail[Page[T]](invalidf("nil session"))
	}
	return scanPages[T](ctx, v2Cluster{session}, table, opts)(nil)
}

// ScanFrom is [Scan] over another driver, adapted by a front end such as
// [github.com/cqlseq/cqlseq/cqlseqx] (see [driver.Cluster]). Applications
// call Scan.
func ScanFrom[T any](ctx context.Context, cluster driver.Cluster, table string, opts ...Option) iter.Seq2[T, error] {
	if cluster == nil {
		return fail[T](invalidf("nil cluster"))
	}
	return scanRows(ctx, scanPages[T](ctx, cluster, table, opts))
}

// ScanPagesFrom is [ScanPages] over another driver (see [ScanFrom]).
func ScanPagesFrom[T any](ctx context.Context, cluster driver.Cluster, table string, opts ...Option) iter.Seq2[Page[T], error] {
	if cluster == nil {
		return fail[Page[T]](invalidf("nil cluster"))
	}
	return scanPages[T](ctx, cluster, table, opts)(nil)
}

// scanRows yields the rows of a scan's pages one by one. Each ranging has
// its own rowLevel, so that a sequence ranged twice at once keeps its
// rangings apart.
func scanRows[T any](ctx context.Context, pages func(*rowLevel) iter.Seq2[Page[T], error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var done <-chan struct{}
		if ctx != nil { // a nil one fails the scan before any row
			done = ctx.Done()
		}
		rl := new(rowLevel)
		for p, err := range pages(rl) {
			if err != nil {
				yield(zero, err)
				return
			}
			for i, r := range p.Rows {
				// As in Stream: a cancelled context ends the scan within a
				// row, not at the end of the page in hand.
				select {
				case <-done:
					err := ctxError("cqlseq: ", ctx)
					*rl = rowLevel{unyielded: len(p.Rows) - i, untouched: i == 0, err: err}
					yield(zero, err)
					return
				default:
				}
				// Before the row is yielded: a loop body that panics
				// unwinds through the scan's trace before this function.
				rl.unyielded = len(p.Rows) - i - 1
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

// rowLevel is what a row-level Scan tells its scan's trace of how its loop
// left the last page: the rows it did not yield, whether it yielded none,
// and the context's error if that was why.
type rowLevel struct {
	unyielded int
	untouched bool
	err       error
}

type scanTopology struct {
	hosts        []ringHost
	rep          replication
	partitionKey []string
}

// scanRange is one range of a scan and how far it was read.
type scanRange struct {
	tokenRange
	state []byte // paging state after the last page yielded; nil: from the start
	done  bool
}

// scanMsg is what a worker hands to the consumer.
type scanMsg[T any] struct {
	rng   int
	page  Page[T]
	info  PageInfo // the page's request: its Retries, Latency and Host
	done  bool     // the range was read to its end; page.Warnings are those of its trailing pages without rows
	err   error
	panic any
}

var identifier = regexp.MustCompile(`^([A-Za-z0-9_]+|"([^"]|"")+")$`)

// parseTable splits "keyspace.table" into its names as Cassandra stores
// them: unquoted names are lower-cased, quoted ones kept.
func parseTable(s string) (keyspace, table string, err error) {
	name := func(p string) (string, error) {
		p = strings.TrimSpace(p)
		if !identifier.MatchString(p) {
			return "", fmt.Errorf("table %q: %q is not a CQL name", s, p)
		}
		if strings.HasPrefix(p, `"`) {
			return strings.ReplaceAll(p[1:len(p)-1], `""`, `"`), nil
		}
		return strings.ToLower(p), nil
	}
	ks, t, ok := strings.Cut(s, ".")
	if !ok || strings.Count(s, ".") != 1 && !strings.Contains(s, `"`) {
		return "", "", fmt.Errorf("table %q: name it keyspace.table", s)
	}
	if keyspace, err = name(ks); err == nil {
		table, err = name(t)
	}
	return keyspace, table, err
}

// quote returns name as a quoted CQL identifier.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// scanQuery returns the CQL of one range's query and its bound values
// after the range's two tokens.
func scanQuery(keyspace, table string, pk []string, cfg *config) string {
	cols := "*"
	if len(cfg.scanColumns) > 0 {
		cols = strings.Join(cfg.scanColumns, ", ")
	}
	keys := make([]string, len(pk))
	for i, k := range pk {
		keys[i] = quote(k)
	}
	token := "token(" + strings.Join(keys, ", ") + ")"
	q := "SELECT " + cols + " FROM " + quote(keyspace) + "." + quote(table) + " WHERE " + token + " > ? AND " + token + " <= ?"
	if cfg.scanFilter != "" {
		q += " AND " + cfg.scanFilter + " ALLOW FILTERING"
	}
	return q
}

// readTopology reads the ring from the driver and the keyspace's
// replication and the table's partition key from system_schema (not from
// a driver's metadata cache, which lags behind a keyspace or table just
// created, and may hold no tables at all).
func readTopology(ctx context.Context, c driver.Cluster, keyspace, table string) (scanTopology, error) {
	var top scanTopology
	fail := func(err error) (scanTopology, error) {
		return top, fmt.Errorf("cqlseq: scanning %s.%s: %w", keyspace, table, err)
	}
	hosts, err := c.Hosts()
	if err != nil {
		return fail(err)
	}
	for _, h := range hosts {
		if p := h.Partitioner; p != "" && !strings.HasSuffix(p, ".Murmur3Partitioner") {
			return fail(fmt.Errorf("the cluster's partitioner is %s; Scan reads Murmur3Partitioner's tokens only", p))
		}
		rh := ringHost{id: h.ID, dc: h.DataCenter, rack: h.Rack}
		for _, s := range h.Tokens {
			t, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fail(fmt.Errorf("host %s has token %q, not a Murmur3 token", h.ID, s))
			}
			rh.tokens = append(rh.tokens, t)
		}
		top.hosts = append(top.hosts, rh)
	}
	type keyspaceRow struct{ Replication map[string]string }
	var rep *keyspaceRow
	for r, err := range StreamFrom[keyspaceRow](ctx, c.Query("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?", []any{keyspace}, nil)) {
		if err != nil {
			return fail(err)
		}
		rep = &r
	}
	if rep == nil {
		return fail(fmt.Errorf("no keyspace %s", keyspace))
	}
	options := make(map[string]any, len(rep.Replication))
	for k, v := range rep.Replication {
		options[k] = v
	}
	if top.rep, err = parseReplication(keyspace, rep.Replication["class"], options); err != nil {
		return top, fmt.Errorf("cqlseq: %w", err)
	}
	type columnRow struct {
		ColumnName string
		Kind       string
		Position   int
	}
	var keys []columnRow
	for r, err := range StreamFrom[columnRow](ctx, c.Query("SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?", []any{keyspace, table}, nil)) {
		if err != nil {
			return fail(err)
		}
		if r.Kind == "partition_key" {
			keys = append(keys, r)
		}
	}
	if len(keys) == 0 {
		return fail(fmt.Errorf("keyspace %s has no table %s", keyspace, table))
	}
	slices.SortFunc(keys, func(a, b columnRow) int { return a.Position - b.Position })
	for _, k := range keys {
		top.partitionKey = append(top.partitionKey, k.ColumnName)
	}
	return top, nil
}

// scanPages checks a scan's arguments and returns its pages, for ScanPages
// with a nil rowLevel. With one, for a ranging of a row-level Scan, the
// page callback runs after a page was yielded (and the loop asked for
// more), not before, and rl says how the rows' loop ended, for the trace.
func scanPages[T any](ctx context.Context, tbl driver.Cluster, table string, opts []Option) func(rl *rowLevel) iter.Seq2[Page[T], error] {
	failed := func(err error) func(*rowLevel) iter.Seq2[Page[T], error] {
		return func(*rowLevel) iter.Seq2[Page[T], error] { return fail[Page[T]](err) }
	}
	if ctx == nil {
		return failed(invalidf("nil context"))
	}
	keyspace, name, err := parseTable(table)
	if err != nil {
		return failed(invalid(err))
	}
	cfg, err := resolve(append([]Option{optionFunc(func(c *config) { c.scan = true })}, opts...), driver.Query{Keyspace: keyspace, CQL: "SCAN " + quote(keyspace) + "." + quote(name)})
	if err != nil {
		return failed(err)
	}
	fp := newFingerprint(keyspace, "SCAN "+quote(name)+" "+strings.Join(cfg.scanColumns, ", ")+" WHERE "+cfg.scanFilter, cfg.scanValues)
	var resumed []scanRange
	if cfg.Cursor != "" {
		var size int
		if resumed, size, err = decodeCheckpoint(cfg.Cursor, fp, cfg.CursorKey); err != nil {
			return failed(err)
		}
		if !cfg.fetchSizeSet {
			cfg.FetchSize, cfg.PageSize = size, size
		}
	}
	return func(rl *rowLevel) iter.Seq2[Page[T], error] {
		return func(yield func(Page[T], error) bool) {
			// A scan that fails before its ranges are read is traced as a
			// stream that failed at once.
			fail := func(err error) {
				if t := cfg.tracer; t != nil {
					d := cfg.traceStart(0)
					d.Table, d.Statement = name, ""
					tctx := t.TraceStreamStart(ctx, d)
					reason := EndError
					if ctx.Err() != nil {
						reason = EndCanceled
					}
					t.TraceStreamEnd(tctx, TraceStreamEndData{Reason: reason, Err: err})
				}
				yield(Page[T]{}, err)
			}
			top, err := readTopology(ctx, tbl, keyspace, name)
			if err != nil {
				fail(err)
				return
			}
			ring, err := buildRing(top.hosts, top.rep)
			if err != nil {
				fail(fmt.Errorf("cqlseq: scanning %s.%s: %w", keyspace, name, err))
				return
			}
			parallel := cfg.parallelism
			if parallel == 0 {
				parallel = min(4*len(top.hosts), maxParallelism)
			}
			var work []scanRange
			if resumed != nil {
				work = resume(ring, resumed, 4*parallel)
			} else {
				for _, r := range spreadByReplica(splitRanges(ring, 4*parallel)) {
					work = append(work, scanRange{tokenRange: r})
				}
			}
			if err := checkCoverage(byToken(work)); err != nil {
				fail(fmt.Errorf("cqlseq: scanning %s.%s: the ranges do not cover the ring, so no query was sent: %w", keyspace, name, err))
				return
			}
			hostIDs, local, inDC := make([]string, len(top.hosts)), map[string]bool{}, false
			for i, h := range top.hosts {
				hostIDs[i] = h.id
				local[h.id] = cfg.scanDC == "" || h.dc == cfg.scanDC
				inDC = inDC || h.dc == cfg.scanDC
			}
			if cfg.scanDCSet && !inDC {
				fail(invalidf("WithDataCenter(%q): the cluster has no node in that data center", cfg.scanDC))
				return
			}
			s := &scan[T]{
				cfg: cfg, tbl: tbl, table: name, ranges: work, order: tokenOrder(work), hosts: hostIDs, local: local, fp: fp, after: rl != nil, rows: rl,
				cql: scanQuery(keyspace, name, top.partitionKey, cfg),
			}
			s.run(ctx, min(parallel, len(work)), yield)
		}
	}
}

// spreadByReplica orders ranges so that consecutive ones have different
// primary replicas where it can: workers that take ranges in order then
// load every node.
func spreadByReplica(ranges []tokenRange) []tokenRange {
	byHost := map[int][]tokenRange{}
	var order []int
	for _, r := range ranges {
		h := -1
		if len(r.replicas) > 0 {
			h = r.replicas[0]
		}
		if _, ok := byHost[h]; !ok {
			order = append(order, h)
		}
		byHost[h] = append(byHost[h], r)
	}
	out := make([]tokenRange, 0, len(ranges))
	for len(out) < len(ranges) {
		for _, h := range order {
			if q := byHost[h]; len(q) > 0 {
				out = append(out, q[0])
				byHost[h] = q[1:]
			}
		}
	}
	return out
}

// byToken returns the token ranges of work in token order.
func byToken(work []scanRange) []tokenRange {
	out := make([]tokenRange, len(work))
	for i, w := range work {
		out[i] = w.tokenRange
	}
	slices.SortFunc(out, func(a, b tokenRange) int { return cmp.Compare(a.start, b.start) })
	return out
}

// resume returns the work of a scan resumed from the ranges of a
// checkpoint, against the ring as it is now: open and done ranges as they
// were, with the replicas of the ring range that holds their end token
// (an open range cannot be cut: its paging state belongs to it); pending
// ranges cut at the ring's tokens, each piece with its ring range's
// replicas, then into at least pieces pieces, spread by replica as a new
// scan's are.
func resume(ring []tokenRange, ranges []scanRange, pieces int) []scanRange {
	var out []scanRange
	var pending []tokenRange
	for _, r := range ranges {
		if r.status() == rangePending {
			pending = append(pending, overlap(ring, r.tokenRange)...)
			continue
		}
		if j := rangeOf(ring, r.end); j < len(ring) {
			r.replicas = ring[j].replicas
		}
		out = append(out, r)
	}
	for _, r := range spreadByReplica(splitRanges(pending, pieces)) {
		out = append(out, scanRange{tokenRange: r})
	}
	return out
}

// overlap returns r cut at the tokens of ring (which partitions the ring,
// in token order): the pieces each lie in one ring range, whose replicas
// they get.
func overlap(ring []tokenRange, r tokenRange) []tokenRange {
	var out []tokenRange
	for j := rangeOf(ring, r.start+1); j < len(ring) && ring[j].start < r.end; j++ {
		out = append(out, tokenRange{start: max(r.start, ring[j].start), end: min(r.end, ring[j].end), replicas: ring[j].replicas})
	}
	return out
}

// tokenOrder returns the indexes of ranges in token order.
func tokenOrder(ranges []scanRange) []int {
	order := make([]int, len(ranges))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ranges[a].start, ranges[b].start) })
	return order
}

// scan is one range over a scan: its workers and its consumer.
type scan[T any] struct {
	cfg    *config
	tbl    driver.Cluster
	table  string // the table's name, for a tracer
	ranges []scanRange
	order  []int           // indexes of ranges in token order, for checkpoints
	hosts  []string        // host IDs, by ring host index
	local  map[string]bool // by host ID: in WithDataCenter's data center (all without it)
	cql    string
	fp     fingerprint
	after  bool      // call the page callback after yielding
	rows   *rowLevel // a row-level Scan's, for the trace; nil for ScanPages

	limiter *rate.Limiter // WithRateLimit's, shared by the workers
	// bufs, for a row-level Scan, holds the row slices of pages whose rows
	// were all yielded (by value), for the workers' next pages: the
	// scan's pages then allocate no rows, as a Stream's do not.
	bufs chan []T
}

func (s *scan[T]) run(ctx context.Context, workers int, yield func(Page[T], error) bool) {
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
		if r.done {
			ringDone += float64(r.width())
		} else {
			left++
		}
	}
	start, startDone := time.Now(), ringDone
	finish := func(r *scanRange) {
		r.done, r.state = true, nil
		ringDone += float64(r.width())
		left--
	}
	var warned []string
	defer func() {
		if len(warned) > 0 && left == 0 && s.cfg.PageCallback != nil {
			s.cfg.PageCallback(PageInfo{Number: number + 1, TotalRows: total, Warnings: warned,
				Scan: progress(len(s.ranges), len(s.ranges), ringDone, startDone, total, time.Since(start))})
		}
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
			if !s.ranges[m.rng].done {
				finish(&s.ranges[m.rng])
			}
			// Warnings of the range's trailing pages without rows go with
			// the next page of any range, or to the callback at the end.
			warned = append(warned, m.page.Warnings...)
			continue
		}
		r := &s.ranges[m.rng]
		r.state = m.page.PageState
		if r.state == nil {
			finish(r)
		}
		number++
		total += int64(len(m.page.Rows))
		if len(warned) > 0 {
			m.page.Warnings = append(warned, m.page.Warnings...)
			warned = nil
		}
		page := Page[T]{Rows: m.page.Rows, Number: number, TotalRows: total, Warnings: m.page.Warnings}
		cb := s.cfg.PageCallback
		if !s.after || cb != nil { // read by someone
			page.Cursor = encodeCheckpoint(s.fp, s.cfg.PageSize, s.ranges, s.order, s.cfg.CursorKey)
		}
		var info PageInfo
		if cb != nil {
			info = PageInfo{Number: number, RowCount: len(page.Rows), TotalRows: total, Cursor: page.Cursor, Retries: m.info.Retries,
				Latency: m.info.Latency, Host: m.info.Host, Warnings: page.Warnings}
			info.Scan = progress(len(s.ranges), len(s.ranges)-left, ringDone, startDone, total, time.Since(start))
		}
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
			send(scanMsg[T]{panic: r})
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
		if r.done {
			continue
		}
		if !s.readRange(ctx, i, r, send) {
			return
		}
	}
}

// readRange reads r, the i-th range, and hands its pages to send; it
// reports whether the worker may go on to another range.
func (s *scan[T]) readRange(ctx context.Context, i int, r scanRange, send func(scanMsg[T]) bool) bool {
	hosts := s.route(r.replicas)
	var d TraceRangeEndData // for a RangeTracer
	returned := false
	if rt, ok := s.cfg.tracer.(RangeTracer); ok {
		ctx = rt.TraceRangeStart(ctx, TraceRangeStartData{Start: r.start, End: r.end, Replicas: hosts, Resumed: r.state != nil})
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
func (s *scan[T]) readPages(ctx context.Context, i int, r scanRange, hosts []string, send func(scanMsg[T]) bool, d *TraceRangeEndData) bool {
	src := s.tbl.Query(s.cql, append([]any{r.start, r.end}, s.cfg.scanValues...), hosts)
	cfg := *s.cfg
	// Two pages at most per worker: the one it hands over, and the next,
	// requested as the hand-off starts (prefetch), so that Cassandra works
	// while the worker waits for the consumer. A range's query is a
	// SELECT, so a failed request may be sent again (Idempotent). The
	// callback, the range's own, gives the retries of each page and the
	// warnings of trailing pages without rows; the consumer reports them
	// with the scan's pages.
	var last PageInfo // the range's page just read: its retries, latency and host
	var trailing []string
	cfg.PageState, cfg.Prefetch, cfg.scanRange, cfg.Idempotent, cfg.limiter, cfg.rowBufs = r.state, 1, true, true, s.limiter, s.bufs
	cfg.PageCallback = func(info PageInfo) {
		if info.RowCount == 0 {
			trailing = info.Warnings
		}
		last = info
	}
	for p, err := range streamPages[T](ctx, src, &cfg) {
		if err != nil {
			// A row type that does not fit the columns is no failure of
			// the range: reported as Stream reports it.
			var me *MappingError
			if ctx.Err() == nil && !errors.As(err, &me) {
				err = &RangeError{Start: r.start, End: r.end, Replicas: hosts, Err: err}
			}
			d.Err = err
			send(scanMsg[T]{rng: i, err: err})
			return false
		}
		d.Rows += int64(len(p.Rows))
		d.Pages++
		if !send(scanMsg[T]{rng: i, page: p, info: last}) {
			return false
		}
	}
	d.Done = true
	return send(scanMsg[T]{rng: i, page: Page[T]{Warnings: trailing}, done: true})
}

// ScanProgress is how far a scan has come, as [PageInfo.Scan] reports it
// after each page.
type ScanProgress struct {
	Ranges     int // the token ranges the ring was cut into
	RangesDone int // those read to their end
	// Fraction is the share of the ring's tokens in the ranges read to
	// their end, from 0 to 1.
	Fraction float64
	// Elapsed is the time since the scan (or its resumption) started;
	// RowsPerSecond the rows it yielded per second since.
	Elapsed       time.Duration
	RowsPerSecond float64
	// ETA is the time left at this run's pace so far, by ring fraction: 0
	// until a range is done in this run, and rough when the rows are
	// unevenly spread.
	ETA time.Duration
}

// progress reports a scan that has read ringDone tokens' worth of ranges,
// startDone of them before this run (a resumed scan's).
func progress(ranges, done int, ringDone, startDone float64, rows int64, elapsed time.Duration) ScanProgress {
	p := ScanProgress{Ranges: ranges, RangesDone: done, Fraction: ringDone / math.MaxUint64, Elapsed: elapsed}
	if s := elapsed.Seconds(); s > 0 {
		p.RowsPerSecond = float64(rows) / s
	}
	if gained := ringDone - startDone; gained > 0 && p.Fraction < 1 {
		p.ETA = time.Duration(float64(elapsed) * (math.MaxUint64 - ringDone) / gained)
	}
	return p
}

// route returns the host IDs of replicas in the order to try them: those
// the driver takes to be up first (after a node died, its ranges' requests
// go straight to a live replica instead of paying a failed request and a
// backoff every page), and among those, the ones in WithDataCenter's data
// center first.
func (s *scan[T]) route(replicas []int) []string {
	up := map[string]bool{}
	if hs, err := s.tbl.Hosts(); err == nil {
		for _, h := range hs {
			up[h.ID] = h.Up
		}
	}
	hosts := make([]string, 0, len(replicas))
	for _, h := range replicas {
		hosts = append(hosts, s.hosts[h])
	}
	rank := func(h string) int {
		r := 0
		if !up[h] {
			r += 2
		}
		if !s.local[h] {
			r++
		}
		return r
	}
	slices.SortStableFunc(hosts, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
	return hosts
}

// RangeError reports a token range of a [Scan] that could not be read: the
// range, the hosts its requests were routed to (their host IDs), and the
// error, a [*PageError] or a [*ScanError], which it unwraps to. A row type
// that does not fit the columns is a [*MappingError], not wrapped: it is
// no failure of a range.
type RangeError struct {
	Start, End int64    // the range (Start, End] of tokens
	Replicas   []string // the range's replicas, the first tried first
	Err        error
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("cqlseq: scanning token range (%d, %d] (replicas %s): %v", e.Start, e.End, strings.Join(e.Replicas, ", "), e.Err)
}

// Unwrap returns the range's error.
func (e *RangeError) Unwrap() error { return e.Err }

// maxParallelism bounds WithParallelism: a scan cuts the ring into 4
// ranges per worker at least.
const maxParallelism = 1024

// fragment reports whether s may be pasted into a scan's statement: no
// statement separator, no comment that could hide the rest of it.
func fragment(s string) bool {
	return !strings.Contains(s, ";") && !strings.Contains(s, "--") && !strings.Contains(s, "//") && !strings.Contains(s, "/*")
}

// WithParallelism sets how many token ranges a [Scan] reads at once: its
// workers, each with one page request in flight at most. The default is 4
// per node of the cluster; n must be in [1, 1024]. It is an error on Stream
// and Pages.
func WithParallelism(n int) Option {
	return optionFunc(func(c *config) { c.parallelism, c.parallelismSet = n, true })
}

// WithDataCenter makes a [Scan] send each range's requests to its replicas
// in data center dc first, as a DC-aware host policy keeps a program's
// requests in its own data center: a range's replicas are tried in the
// order up and in dc, up elsewhere, then the others. Without it they are
// tried in ring order, those the driver takes to be up first: a scan does
// not consult the session's host selection policy, so in a cluster of
// several data centers give WithDataCenter, or the scan reads from all of
// them. A data center with no node of the cluster is an error, as is the
// option on Stream and Pages.
func WithDataCenter(dc string) Option {
	return optionFunc(func(c *config) { c.scanDC, c.scanDCSet = dc, true })
}

// WithColumns makes a [Scan] read these columns (or expressions) only,
// rather than all ("*"). They are CQL, written into the statement as given
// (quote a name with capitals: `"userId"`), so they must come from the
// program, never from its users; a ";" or a comment is refused. It is an
// error on Stream and Pages.
func WithColumns(columns ...string) Option {
	columns = slices.Clone(columns)
	return optionFunc(func(c *config) { c.scanColumns, c.scanColumnsSet = columns, true })
}

// WithFilter makes a [Scan] read only the rows that match cql, a CQL
// condition on columns other than the partition key ("score > ?"), with
// values bound to its markers. Each range's query runs with ALLOW
// FILTERING: Cassandra reads every row of the range and returns the
// matching ones. cql is written into the statement as given, so it must
// come from the program, never from its users (bind their values to
// markers); a ";" or a comment is refused. It is an error on Stream and
// Pages.
func WithFilter(cql string, values ...any) Option {
	values = slices.Clone(values)
	return optionFunc(func(c *config) { c.scanFilter, c.scanValues, c.scanFilterSet = cql, values, true })
}

// checkScan validates the options that belong to Scan or to Stream and
// Pages alone.
func (c *config) checkScan() {
	if !c.scan {
		if c.parallelismSet || c.scanColumnsSet || c.scanFilterSet || c.scanDCSet {
			c.errs = append(c.errs, errors.New("WithParallelism, WithColumns, WithFilter and WithDataCenter are options of Scan"))
		}
		return
	}
	if c.scanDCSet && strings.TrimSpace(c.scanDC) == "" {
		c.errs = append(c.errs, errors.New("WithDataCenter names no data center"))
	}
	if c.parallelismSet && (c.parallelism <= 0 || c.parallelism > maxParallelism) {
		c.errs = append(c.errs, fmt.Errorf("parallelism must be in [1, %d], got %d", maxParallelism, c.parallelism))
	}
	if c.scanColumnsSet {
		if len(c.scanColumns) == 0 {
			c.errs = append(c.errs, errors.New("WithColumns names no column"))
		}
		for _, col := range c.scanColumns {
			if strings.TrimSpace(col) == "" || !fragment(col) {
				c.errs = append(c.errs, fmt.Errorf("WithColumns: %q is not a column", col))
			}
		}
	}
	if c.scanFilterSet && (strings.TrimSpace(c.scanFilter) == "" || !fragment(c.scanFilter)) {
		c.errs = append(c.errs, fmt.Errorf("WithFilter: %q is not a condition", c.scanFilter))
	}
	if len(c.PageState) > 0 || c.MaxPages > 0 {
		c.errs = append(c.errs, errors.New("WithPageState and WithMaxPages are options of Stream and Pages; a Scan resumes with WithCursor"))
	}
}
