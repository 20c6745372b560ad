package cqlseq

import (
	"context"
	"testing"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// A complete scan's last report has every range done and Fraction 1,
// whatever the fetch size (ranges that end on a page without rows, and
// ranges without rows at all), for Scan and ScanPages; RangesDone and
// Fraction never go back.
func TestScanProgressEndsComplete(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, want := scanFixture(t, s, 40) // fewer partitions than ranges: some are empty
	for _, fetch := range []int{1, 3, 7, 1000} {
		for _, pages := range []bool{false, true} {
			var infos []PageInfo
			opts := []ScanOption{WithParallelism(4), WithFetchSize(fetch), WithPageCallback(func(i PageInfo) { infos = append(infos, i) })}
			rows := 0
			if pages {
				for p, err := range ScanPages[scanRow](context.Background(), s, table, opts...) {
					if err != nil {
						t.Fatal(err)
					}
					rows += len(p.Rows)
				}
			} else {
				for _, err := range Scan[scanRow](context.Background(), s, table, opts...) {
					if err != nil {
						t.Fatal(err)
					}
					rows++
				}
			}
			if rows != len(want) {
				t.Fatalf("fetch %d, pages %v: %d rows, want %d", fetch, pages, rows, len(want))
			}
			for i := 1; i < len(infos); i++ {
				a, b := infos[i-1].Scan, infos[i].Scan
				if b.RangesDone < a.RangesDone || b.Fraction < a.Fraction {
					t.Fatalf("fetch %d, pages %v: report %d went back: %+v after %+v", fetch, pages, i, b, a)
				}
			}
			last := infos[len(infos)-1]
			if last.Scan.RangesDone != last.Scan.Ranges || last.Scan.Fraction != 1 || last.TotalRows != int64(len(want)) {
				t.Fatalf("fetch %d, pages %v: the last report says %+v after %d rows; want every range done, Fraction 1, %d rows", fetch, pages, last.Scan, last.TotalRows, len(want))
			}
			// Its checkpoint resumes a scan with nothing left to read.
			for _, err := range Scan[scanRow](context.Background(), s, table, WithCursor(last.Cursor)) {
				t.Fatalf("fetch %d, pages %v: resumed from the last report's checkpoint: got a row or %v, want nothing", fetch, pages, err)
			}
		}
	}
}
