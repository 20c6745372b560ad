package cqlseq

import (
	"context"
	"iter"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// Stream returns the rows of st, decoded into T, one at a time. Pages are
// requested as the loop needs them, the next one while the loop works on
// the current one (see [WithPrefetch]); at most two pages are held.
//
// Each range runs the query anew. Nothing needs closing. Errors are yielded
// once, as (zero T, err), and end the sequence. The package documentation
// states the contract in full.
func Stream[T any](ctx context.Context, session *gocql.Session, st Statement, opts ...StreamOption) iter.Seq2[T, error] {
	src := st.source(session)
	cfg, err := startStream(ctx, src, opts)
	if err != nil {
		return fail[T](err)
	}
	return streamRows[T](ctx, src, cfg)
}

// fail returns a sequence that yields err alone.
func fail[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}

// streamRows returns the rows of the query run by src, one at a time.
func streamRows[T any](ctx context.Context, src driver.Source, cfg *config) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		p := newPager(ctx, src, cfg, nil)
		s := newRowScanner[T](p)
		read := 0 // rows of the page in hand yielded
		defer func() {
			p.trace.partial = read // for the trace's rows: those yielded
			p.close()
		}()
		done := p.ctx.Done()
		err := p.each(func(it driver.Iter) (bool, error) {
			// The next page is requested once (1 - prefetch) of this page
			// has been read, as the drivers do; with prefetch 0, never.
			at := -1
			if n := it.NumRows(); cfg.Prefetch > 0 {
				at = max(int((1-cfg.Prefetch)*float64(n)), 0)
			}
			read = 0
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
					return false, p.ctxErr()
				default:
				}
				read++
				if !yield(s.row, nil) {
					return false, nil
				}
			}
			if _, err := p.finish(read, p.warnings(it), s); err != nil {
				return false, err
			}
			read = 0 // counted in p.total
			return true, nil
		})
		if err != nil {
			var zero T
			yield(zero, err)
		}
	}
}
