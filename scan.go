package cqlseq

import (
	"context"
	"fmt"
	"iter"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/ring"
)

// Scan returns every row of table ("keyspace.table"), decoded into T, read
// by token range in parallel (see [WithParallelism]): the ring is cut into
// ranges, each read by its own paged query routed to a replica of the
// range, several at once. Rows of different ranges interleave, in no
// particular order; the rows of one range arrive in token order.
//
// The contract is [Stream]'s: nothing needs closing; however the loop ends,
// every worker stops, its requests are cancelled and every goroutine has
// returned before the range statement completes. [WithColumns] and
// [WithFilter] narrow what is read. The page callback ([WithPageCallback])
// runs after a page's last row, with the scan's progress
// ([PageInfo.Scan]) and a checkpoint ([PageInfo.Cursor]) that resumes the
// scan with [WithCursor]: the resumed scan yields exactly the rows of the
// pages whose callback had not run, so a loop that stops in the middle of a
// page gets that page's rows again.
func Scan[T any](ctx context.Context, session *gocql.Session, table string, opts ...ScanOption) iter.Seq2[T, error] {
	return scanRows(ctx, scanPages[T](ctx, sessionCluster(session), table, opts))
}

// ScanPages is [Scan] a page at a time: each element is a page of one
// range, whose Cursor resumes the scan right after it: the resumed scan
// yields exactly the pages not yet yielded (see [WithCursor]). The page
// callback runs before the page is yielded.
func ScanPages[T any](ctx context.Context, session *gocql.Session, table string, opts ...ScanOption) iter.Seq2[Page[T], error] {
	return scanPages[T](ctx, sessionCluster(session), table, opts)(nil)
}

// sessionCluster returns what a scan needs of session; nil if it is nil.
func sessionCluster(session *gocql.Session) driver.Cluster {
	if session == nil {
		return nil
	}
	return v2Cluster{session}
}

func init() {
	driver.ScanOn = func(c driver.Cluster) any { return scanOption(func(cfg *config) { cfg.cluster = c }) }
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

// scanPages checks a scan's arguments and returns its pages, for ScanPages
// with a nil rowLevel. With one, for a ranging of a row-level Scan, the
// page callback runs after a page was yielded (and the loop asked for
// more), not before, and rl says how the rows' loop ended, for the trace.
func scanPages[T any](ctx context.Context, tbl driver.Cluster, table string, opts []ScanOption) func(rl *rowLevel) iter.Seq2[Page[T], error] {
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
	cfg, err := resolveScan(opts, driver.Query{Keyspace: keyspace, CQL: "SCAN " + quote(keyspace) + "." + quote(name)})
	if err != nil {
		return failed(err)
	}
	if cfg.cluster != nil { // a front end's
		tbl = cfg.cluster
	}
	if tbl == nil {
		return failed(invalidf("nil session"))
	}
	fp := cursor.NewFingerprint(keyspace, "SCAN "+quote(name)+" "+strings.Join(cfg.scanColumns, ", ")+" WHERE "+cfg.scanFilter, cfg.scanValues)
	var resumed []ring.Task
	if cfg.Cursor != "" {
		var size int
		if resumed, size, err = decodeCheckpoint(cfg.Cursor, fp, cfg.CursorKey); err != nil {
			return failed(err)
		}
		// A range's statement has no LIMIT: its paging state resumes
		// exactly at any fetch size (see fetchSizeHeld), so WithFetchSize
		// may ask for another than the checkpoint's.
		if !cfg.fetchSizeSet {
			cfg.FetchSize = size
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
			if err := checkColumns(keyspace, name, cfg.scanColumns, top); err != nil {
				fail(err)
				return
			}
			rings, err := ring.Build(top.hosts, top.rep)
			if err != nil {
				fail(fmt.Errorf("cqlseq: scanning %s.%s: %w", keyspace, name, err))
				return
			}
			parallel := cfg.parallelism
			if parallel == 0 {
				parallel = min(4*len(top.hosts), maxParallelism)
			}
			var work []ring.Task
			if resumed != nil {
				work = ring.Resume(rings, resumed, 4*parallel)
			} else {
				for _, r := range ring.SpreadByReplica(ring.Split(rings, 4*parallel)) {
					work = append(work, ring.Task{Range: r})
				}
			}
			if err := ring.CheckCoverage(ring.ByToken(work)); err != nil {
				fail(fmt.Errorf("cqlseq: scanning %s.%s: the ranges do not cover the ring, so no query was sent: %w", keyspace, name, err))
				return
			}
			hostIDs, local, inDC := make([]string, len(top.hosts)), map[string]bool{}, false
			for i, h := range top.hosts {
				hostIDs[i] = h.ID
				local[h.ID] = cfg.scanDC == "" || h.DC == cfg.scanDC
				inDC = inDC || h.DC == cfg.scanDC
			}
			if cfg.scanDCSet && !inDC {
				fail(invalidf("WithDataCenter(%q): the cluster has no node in that data center", cfg.scanDC))
				return
			}
			cql := scanQuery(keyspace, name, top.partitionKey, cfg)
			if cfg.scanColumnsSet || cfg.scanFilterSet {
				if err := tryStatement(ctx, tbl, keyspace, name, cql, cfg); err != nil {
					fail(err)
					return
				}
			}
			// The rows are mapped as the front end maps its own queries'
			// (a gocqlx session's mapper), in this ranging's copy: cfg is
			// every ranging's.
			mapped := *cfg
			mapped.Mapper, mapped.Strict = top.mapper, cfg.Strict || top.strict
			s := &scan[T]{
				cfg: &mapped, tbl: tbl, table: name, ranges: work, order: ring.TokenOrder(work), hosts: hostIDs, local: local, fp: fp, after: rl != nil, rows: rl,
				cql: cql,
			}
			s.run(ctx, min(parallel, len(work)), yield)
		}
	}
}
