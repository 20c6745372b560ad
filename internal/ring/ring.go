// Package ring is the token ring of a Murmur3 cluster and a scan's plan
// over it, in one place: the ring built from the nodes' tokens and the
// keyspace's replication ([Build]), cut into ranges ([Split]), spread
// across replicas ([SpreadByReplica]), resumed from a checkpoint
// ([Resume]) and checked to cover the ring exactly ([CheckCoverage]).
// Package cqlseq runs the plan; internal/cursor encodes its progress in
// checkpoints.
//
// Murmur3Partitioner gives every partition key a token in (-2^63, 2^63-1]:
// a key that hashes to -2^63 gets 2^63-1 instead, so -2^63 is never a
// key's token. A node owns the range from the token before its own,
// exclusive, to its own, inclusive; the range of the smallest token wraps
// around the end of the ring. Scan reads each range with
// "token(k) > start AND token(k) <= end", so every range here is
// start-exclusive and end-inclusive, never wraps (the wrapping one is cut
// in two at the end of the ring), and never ends at -2^63, which Cassandra
// would read as the end of the ring.
package ring

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

const (
	MinToken int64 = math.MinInt64 // no key's token; the start of the ring
	MaxToken int64 = math.MaxInt64 // the last token
)

// Host is a node of the ring.
type Host struct {
	ID, DC, Rack string
	Tokens       []int64
}

// Replication is a keyspace's Replication strategy: SimpleStrategy with
// factor rf, or NetworkTopologyStrategy with a factor per data center.
type Replication struct {
	simple bool
	rf     int
	dcs    map[string]int
}

// Range is the tokens in (start, end]. replicas are indexes into the
// hosts the ring was built from, the primary replica first.
type Range struct {
	Start, End int64
	Replicas   []int
}

func (r Range) String() string { return fmt.Sprintf("(%d, %d]", r.Start, r.End) }

// Width returns the number of tokens in r.
func (r Range) Width() uint64 { return uint64(r.End) - uint64(r.Start) }

// ParseReplication reads a keyspace's strategy as the drivers report it.
func ParseReplication(keyspace, class string, options map[string]any) (Replication, error) {
	short := class[strings.LastIndexByte(class, '.')+1:]
	factor := func(k string, v any) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(v)))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("keyspace %s: replication factor %s=%v is not a number of replicas", keyspace, k, v)
		}
		return n, nil
	}
	switch short {
	case "SimpleStrategy":
		n, err := factor("replication_factor", options["replication_factor"])
		if err != nil {
			return Replication{}, err
		}
		return Replication{simple: true, rf: n}, nil
	case "NetworkTopologyStrategy":
		r := Replication{dcs: map[string]int{}}
		for k, v := range options {
			if k == "class" {
				continue
			}
			n, err := factor(k, v)
			if err != nil {
				return Replication{}, err
			}
			r.dcs[k] = n
		}
		return r, nil
	}
	return Replication{}, fmt.Errorf("keyspace %s has replication %s: Scan reads keyspaces with SimpleStrategy or NetworkTopologyStrategy (a LocalStrategy keyspace is each node's own)", keyspace, class)
}

// Build returns the ranges the nodes' tokens make, in token order, each
// with its replicas under rep. The wrapping range is cut in two at the end
// of the ring; a range with no tokens is left out.
func Build(hosts []Host, rep Replication) ([]Range, error) {
	type owned struct {
		token int64
		host  int
	}
	var ring []owned
	for i, h := range hosts {
		for _, t := range h.Tokens {
			ring = append(ring, owned{t, i})
		}
	}
	if len(ring) == 0 {
		return nil, errors.New("the cluster reports no tokens")
	}
	slices.SortFunc(ring, func(a, b owned) int { return cmp.Compare(a.token, b.token) })
	for i := 1; i < len(ring); i++ {
		if ring[i].token == ring[i-1].token {
			return nil, fmt.Errorf("token %d is owned by two nodes, %s and %s", ring[i].token, hosts[ring[i-1].host].ID, hosts[ring[i].host].ID)
		}
	}
	tokens := make([]int64, len(ring))
	owners := make([]int, len(ring))
	for i, o := range ring {
		tokens[i], owners[i] = o.token, o.host
	}
	replicas := func(i int) []int { return placeReplicas(hosts, owners, i, rep) }
	var ranges []Range
	add := func(start, end int64, i int) {
		if start < end {
			ranges = append(ranges, Range{start, end, replicas(i)})
		}
	}
	// The first token's range wraps: (last, max] and (min, first].
	add(MinToken, tokens[0], 0)
	for i := 1; i < len(tokens); i++ {
		add(tokens[i-1], tokens[i], i)
	}
	if last := tokens[len(tokens)-1]; last != MaxToken {
		add(last, MaxToken, 0)
	}
	for _, r := range ranges {
		if len(r.Replicas) == 0 {
			return nil, fmt.Errorf("range %v has no replica under the keyspace's replication", r)
		}
	}
	return ranges, nil
}

// RangeOf returns the index of the range of ring, in token order, that
// holds token (len(ring) if none does).
func RangeOf(ring []Range, token int64) int {
	i, _ := slices.BinarySearchFunc(ring, token, func(r Range, t int64) int { return cmp.Compare(r.End, t) })
	return i
}

// placeReplicas returns the replicas of the range that ends at the i-th
// token of the ring, as Cassandra places them: walking the ring from that
// token, SimpleStrategy takes the first rf distinct nodes;
// NetworkTopologyStrategy takes, in each data center, its factor of nodes
// (or all it has), on distinct racks while racks remain, taking a node of a
// rack already used only as long as the racks left can still fill the rest.
func placeReplicas(hosts []Host, owners []int, i int, rep Replication) []int {
	var out []int
	taken := make(map[int]bool)
	if rep.simple {
		for k := range len(owners) {
			h := owners[(i+k)%len(owners)]
			if len(out) == rep.rf {
				break
			}
			if !taken[h] {
				taken[h] = true
				out = append(out, h)
			}
		}
		return out
	}
	type dcState struct {
		left, repeats int
		racks         map[string]bool
	}
	nodes, racks := map[string]int{}, map[string]map[string]bool{}
	for _, h := range hosts {
		if racks[h.DC] == nil {
			racks[h.DC] = map[string]bool{}
		}
		nodes[h.DC]++
		racks[h.DC][h.Rack] = true
	}
	dcs := map[string]*dcState{}
	for dc, rf := range rep.dcs {
		if rf <= 0 || nodes[dc] == 0 {
			continue
		}
		dcs[dc] = &dcState{left: min(rf, nodes[dc]), repeats: rf - len(racks[dc]), racks: map[string]bool{}}
	}
	fill := len(dcs)
	for k := 0; fill > 0 && k < len(owners); k++ {
		h := owners[(i+k)%len(owners)]
		d := dcs[hosts[h].DC]
		if d == nil || d.left == 0 || taken[h] {
			continue
		}
		if !d.racks[hosts[h].Rack] {
			d.racks[hosts[h].Rack] = true
		} else if d.repeats > 0 {
			d.repeats--
		} else {
			continue
		}
		taken[h] = true
		out = append(out, h)
		if d.left--; d.left == 0 {
			fill--
		}
	}
	return out
}

// Split cuts ranges into at least n pieces, each range into one or
// more, the extra pieces given to ranges by their share of the ring (the
// largest remainders first), each range cut into pieces of equal width.
// The pieces keep their range's replicas.
func Split(ranges []Range, n int) []Range {
	if n <= len(ranges) {
		return slices.Clone(ranges)
	}
	var total big.Int
	for _, r := range ranges {
		total.Add(&total, new(big.Int).SetUint64(r.Width()))
	}
	// pieces[i] = max(1, floor(width_i * n / total)), then the remaining
	// pieces by largest remainder.
	type share struct {
		i   int
		rem big.Int
	}
	pieces := make([]uint64, len(ranges))
	shares := make([]share, len(ranges))
	used := 0
	for i, r := range ranges {
		var q, m big.Int
		q.Mul(new(big.Int).SetUint64(r.Width()), big.NewInt(int64(n)))
		q.DivMod(&q, &total, &m)
		pieces[i] = max(q.Uint64(), 1)
		used += int(pieces[i])
		shares[i] = share{i: i, rem: m}
	}
	slices.SortStableFunc(shares, func(a, b share) int { return b.rem.Cmp(&a.rem) })
	for k := 0; used < n && k < len(shares); k++ {
		pieces[shares[k].i]++
		used++
	}
	var out []Range
	for i, r := range ranges {
		out = append(out, Cut(r, pieces[i])...)
	}
	return out
}

// Cut cuts r into k pieces of equal width (the first ones one token
// wider when k does not divide it), or into width pieces if k is larger.
func Cut(r Range, k uint64) []Range {
	w := r.Width()
	k = max(min(k, w), 1)
	size, extra := w/k, w%k
	out := make([]Range, 0, k)
	start := r.Start
	for j := range k {
		step := size
		if j < extra {
			step++
		}
		end := int64(uint64(start) + step)
		out = append(out, Range{start, end, r.Replicas})
		start = end
	}
	return out
}

// CheckCoverage reports whether ranges partition (-2^63, 2^63-1] exactly,
// in order: the first starts at -2^63, each starts where the one before it
// ends, the last ends at 2^63-1, none is empty or ends at -2^63, and their
// widths add up to 2^64-1, counted in math/big.
func CheckCoverage(ranges []Range) error {
	if len(ranges) == 0 {
		return errors.New("no token ranges")
	}
	var sum big.Int
	for i, r := range ranges {
		want := MinToken
		if i > 0 {
			want = ranges[i-1].End
		}
		switch {
		case r.Start != want:
			return fmt.Errorf("range %d %v starts at %d, want %d: a gap or an overlap", i, r, r.Start, want)
		case r.End <= r.Start:
			return fmt.Errorf("range %d %v is empty or wraps", i, r)
		}
		sum.Add(&sum, new(big.Int).Sub(big.NewInt(r.End), big.NewInt(r.Start)))
	}
	if last := ranges[len(ranges)-1].End; last != MaxToken {
		return fmt.Errorf("the last range ends at %d, not at %d", last, MaxToken)
	}
	want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(1))
	if sum.Cmp(want) != 0 {
		return fmt.Errorf("the ranges hold %v tokens, the ring %v", &sum, want)
	}
	return nil
}

// Task is one range of a scan and how far it was read.
type Task struct {
	Range
	State []byte // paging state after the last page yielded; nil: from the start
	Done  bool
}

// SpreadByReplica orders ranges so that consecutive ones have different
// primary replicas where it can: workers that take ranges in order then
// load every node.
func SpreadByReplica(ranges []Range) []Range {
	byHost := map[int][]Range{}
	var order []int
	for _, r := range ranges {
		h := -1
		if len(r.Replicas) > 0 {
			h = r.Replicas[0]
		}
		if _, ok := byHost[h]; !ok {
			order = append(order, h)
		}
		byHost[h] = append(byHost[h], r)
	}
	out := make([]Range, 0, len(ranges))
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

// ByToken returns the token ranges of work in token order.
func ByToken(work []Task) []Range {
	out := make([]Range, len(work))
	for i, w := range work {
		out[i] = w.Range
	}
	slices.SortFunc(out, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

// Resume returns the work of a scan resumed from the ranges of a
// checkpoint, against the ring as it is now: open and done ranges as they
// were, with the replicas of the ring range that holds their end token
// (an open range cannot be cut: its paging state belongs to it); pending
// ranges cut at the ring's tokens, each piece with its ring range's
// replicas, then into at least pieces pieces, spread by replica as a new
// scan's are.
func Resume(ring []Range, ranges []Task, pieces int) []Task {
	var out []Task
	var pending []Range
	for _, r := range ranges {
		if !r.Done && len(r.State) == 0 { // pending
			pending = append(pending, overlap(ring, r.Range)...)
			continue
		}
		if j := RangeOf(ring, r.End); j < len(ring) {
			r.Replicas = ring[j].Replicas
		}
		out = append(out, r)
	}
	for _, r := range SpreadByReplica(Split(pending, pieces)) {
		out = append(out, Task{Range: r})
	}
	return out
}

// overlap returns r cut at the tokens of ring (which partitions the ring,
// in token order): the pieces each lie in one ring range, whose replicas
// they get.
func overlap(ring []Range, r Range) []Range {
	var out []Range
	for j := RangeOf(ring, r.Start+1); j < len(ring) && ring[j].Start < r.End; j++ {
		out = append(out, Range{Start: max(r.Start, ring[j].Start), End: min(r.End, ring[j].End), Replicas: ring[j].Replicas})
	}
	return out
}

// TokenOrder returns the indexes of ranges in token order.
func TokenOrder(ranges []Task) []int {
	order := make([]int, len(ranges))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ranges[a].Start, ranges[b].Start) })
	return order
}
