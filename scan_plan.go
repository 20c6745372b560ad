package cqlseq

import (
	"cmp"
	"slices"
)

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
