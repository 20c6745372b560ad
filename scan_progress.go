package cqlseq

import (
	"math"
	"time"
)

// ScanProgress is how far a scan has come, as [PageInfo.Scan] reports it
// after each page. RangesDone and Fraction only grow; the last report of a
// complete scan has every range done and Fraction 1 (a call with no rows
// after the last page, when that page did not finish the scan).
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
	p := ScanProgress{Ranges: ranges, RangesDone: done, Fraction: min(ringDone/math.MaxUint64, 1), Elapsed: elapsed}
	if done == ranges {
		p.Fraction = 1 // whatever the float sum of the widths came to
	}
	if s := elapsed.Seconds(); s > 0 {
		p.RowsPerSecond = float64(rows) / s
	}
	if gained := ringDone - startDone; gained > 0 && p.Fraction < 1 {
		p.ETA = time.Duration(float64(elapsed) * (math.MaxUint64 - ringDone) / gained)
	}
	return p
}
