package cqlseq

import (
	"math/bits"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/ring"
)

// A scan's checkpoint is the Cursor of its pages: text that resumes the
// scan right after that page, written and read by package cursor (its
// format and its bounds are described there). The checkpointer below keeps
// a running scan's checkpoint up to date a page at a time.

// The codec bounds a checkpoint's open ranges by a scan's workers: equal,
// or this does not compile.
const _ = uint(cursor.MaxOpenRanges-maxParallelism) + uint(maxParallelism-cursor.MaxOpenRanges)

// checkpointer makes the checkpoints of one ranging of a scan. It keeps
// every run's text and digest (a cursor.Run), by the position in token
// order of the range that ends it; moved(i) says that range i changed (its
// status or its paging state), and text encodes again only the runs that
// ended, or end now, at i or just before it.
type checkpointer struct {
	enc     *cursor.CheckpointEncoder
	ranges  []ring.Task   // the scan's: read, never written
	order   []int         // indexes of ranges in token order; nil if ranges are in it
	pos     []int         // order's inverse: the position of each range
	runs    []cursor.Run  // by position: the run that ends there, if one does
	ends    []uint64      // bit p: a run ends at position p
	moves   []int         // indexes of the ranges moved since the last text
	inMoves []uint64      // bit i: i is in moves
	list    []*cursor.Run // scratch: the runs in token order
	encoded int           // runs encoded so far, for tests
}

// newCheckpointer returns the checkpointer of ranges, which partition the
// ring, with its runs encoded; order holds their indexes in token order
// (nil if ranges are in it).
func newCheckpointer(fp cursor.Fingerprint, pageSize int, ranges []ring.Task, order []int, key []byte) *checkpointer {
	n := len(ranges)
	c := &checkpointer{enc: cursor.NewCheckpointEncoder(fp, pageSize, key), ranges: ranges, order: order,
		runs: make([]cursor.Run, n), ends: make([]uint64, (n+63)/64), inMoves: make([]uint64, (n+63)/64)}
	if order != nil {
		c.pos = make([]int, n)
		for p, i := range order {
			c.pos[i] = p
		}
	}
	for p := range n {
		c.update(p, true)
	}
	return c
}

// at returns the range at position p in token order.
func (c *checkpointer) at(p int) *ring.Task {
	if c.order != nil {
		return &c.ranges[c.order[p]]
	}
	return &c.ranges[p]
}

// endsRun reports whether a run ends at position p: at an open range, at
// the last range, and where the status changes.
func (c *checkpointer) endsRun(p int) bool {
	s := cursor.Status(c.at(p))
	return s == cursor.Open || p == len(c.ranges)-1 || cursor.Status(c.at(p+1)) != s
}

// moved records that range i changed since the last text. On a nil
// checkpointer (a scan whose checkpoints nobody reads) it does nothing.
func (c *checkpointer) moved(i int) {
	if c == nil || c.inMoves[i/64]&(1<<(i%64)) != 0 {
		return
	}
	c.inMoves[i/64] |= 1 << (i % 64)
	c.moves = append(c.moves, i)
}

// update brings the run at position p up to date: none if no run ends
// there, else encoded again if force or if none ended there before (a
// run's bytes are those of the range that ends it: unless that range
// moved, they stay the same).
func (c *checkpointer) update(p int, force bool) {
	w, bit := p/64, uint64(1)<<(p%64)
	had := c.ends[w]&bit != 0
	if !c.endsRun(p) {
		if had {
			c.runs[p] = cursor.Run{}
			c.ends[w] &^= bit
		}
		return
	}
	if had && !force {
		return
	}
	c.runs[p] = c.enc.Run(c.at(p))
	c.encoded++
	c.ends[w] |= bit
}

// each returns every run, in token order, in c.list.
func (c *checkpointer) each() []*cursor.Run {
	c.list = c.list[:0]
	for w, word := range c.ends {
		for word != 0 {
			c.list = append(c.list, &c.runs[w*64+bits.TrailingZeros64(word)])
			word &= word - 1
		}
	}
	return c.list
}

// text returns the checkpoint of the ranges as they are now.
func (c *checkpointer) text() string {
	for _, i := range c.moves {
		c.inMoves[i/64] &^= 1 << (i % 64)
		p := i
		if c.pos != nil {
			p = c.pos[i]
		}
		// A range's status decides whether a run ends at it and at the
		// range before it, nowhere else.
		c.update(p, true)
		if p > 0 {
			c.update(p-1, false)
		}
	}
	c.moves = c.moves[:0]
	return c.enc.Text(c.each())
}

// decodeCheckpoint checks text, a scan's checkpoint, against the scan's
// fingerprint and key and returns its ranges (without replicas) and the
// page size it was made at (see [cursor.DecodeCheckpoint]). Its errors
// match ErrInvalidCursor and ErrInvalidArgument, and say what is wrong.
func decodeCheckpoint(text string, fp cursor.Fingerprint, key []byte) ([]ring.Task, int, error) {
	ranges, size, err := cursor.DecodeCheckpoint(text, fp, key)
	if err != nil {
		return nil, 0, refused("scan checkpoint", err)
	}
	return ranges, size, nil
}
