package cqlseq

import "iter"

// Collect ranges over seq and returns its elements in a new slice, as
// slices.Collect does for an [iter.Seq] and pgx's CollectRows for rows: for
// a result small enough to hold at once. It takes any sequence of the
// package: [Stream] and [Scan] give the rows, [Pages] and [ScanPages] the
// pages (each with its rows and [PageInfo]).
//
// Collect stops at the first error and returns it with the elements
// yielded before it, as io.ReadAll returns the bytes read before an error:
// a caller that wants all or nothing ignores them when err is not nil. A
// sequence that yields nothing gives a nil slice and a nil error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var s []T
	for v, err := range seq {
		if err != nil {
			return s, err
		}
		s = append(s, v)
	}
	return s, nil
}
