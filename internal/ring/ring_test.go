package ring

import (
	"cmp"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomRing returns hosts with random tokens: n nodes with k tokens each,
// spread over dcs data centers and up to 3 racks per data center, and a
// replication for them, SimpleStrategy or NetworkTopologyStrategy.
func randomRing(r *rand.Rand, n, k, dcs int, simple bool, rf int) ([]Host, Replication) {
	seen := map[int64]bool{}
	hosts := make([]Host, n)
	for i := range hosts {
		h := Host{ID: fmt.Sprint("host", i), DC: fmt.Sprint("dc", i%dcs), Rack: fmt.Sprint("rack", r.IntN(3))}
		for len(h.Tokens) < k {
			t := int64(r.Uint64())
			switch r.IntN(20) { // the ends of the ring, now and then
			case 0:
				t = MinToken
			case 1:
				t = MaxToken
			case 2:
				t = MinToken + 1
			}
			if !seen[t] {
				seen[t] = true
				h.Tokens = append(h.Tokens, t)
			}
		}
		hosts[i] = h
	}
	rep := Replication{simple: simple, rf: rf}
	if !simple {
		rep.dcs = map[string]int{}
		for d := range dcs {
			rep.dcs[fmt.Sprint("dc", d)] = 1 + r.IntN(3)
		}
	}
	return hosts, rep
}

// TestRingProperties builds random rings (1-6 nodes; 1, 16 or 256 tokens
// each; SimpleStrategy or NetworkTopologyStrategy over 1-3 data centers;
// replication factors 1-3), splits them for random parallelism and checks
// the ranges and their replicas with code independent of Build's.
func TestRingProperties(t *testing.T) {
	t.Parallel() // CPU-bound, on no node: beside the other parallel tests, after the serial ones
	r := rand.New(rand.NewPCG(1, 2))
	for c := range 400 {
		n := 1 + r.IntN(6)
		k := []int{1, 16, 256}[r.IntN(3)]
		dcs := 1 + r.IntN(3)
		simple := r.IntN(2) == 0
		hosts, rep := randomRing(r, n, k, dcs, simple, 1+r.IntN(3))
		name := fmt.Sprintf("case %d: %d nodes, %d tokens, %d DCs, %+v", c, n, k, dcs, rep)
		ranges, err := Build(hosts, rep)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkPartition(t, name, ranges)
		checkReplicas(t, name, hosts, rep, ranges)
		for _, p := range []int{1, len(ranges), len(ranges) + 1 + r.IntN(50), 4 * len(ranges)} {
			split := Split(ranges, p)
			if len(split) < max(p, len(ranges)) {
				t.Fatalf("%s: %d pieces for parallelism %d and %d ranges", name, len(split), p, len(ranges))
			}
			checkPartition(t, name, split)
			// Every piece lies in one range, with that range's replicas.
			// The ranges partition the ring in order (checkPartition): the
			// one a piece can lie in is the first that ends at or after it.
			for _, s := range split {
				i, _ := slices.BinarySearchFunc(ranges, s.End, func(x Range, end int64) int { return cmp.Compare(x.End, end) })
				if i == len(ranges) || ranges[i].Start > s.Start || !slices.Equal(ranges[i].Replicas, s.Replicas) {
					t.Fatalf("%s: piece %v is in no range, or has other replicas", name, s)
				}
			}
		}
	}
}

// checkPartition checks that ranges partition (-2^63, 2^63-1]: CheckCoverage
// says so, the widths add up to 2^64-1, and tokens at and around every
// boundary (and at random) lie in exactly one range.
func checkPartition(t *testing.T, name string, ranges []Range) {
	t.Helper()
	if err := CheckCoverage(ranges); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var sum big.Int
	probes := []int64{MinToken + 1, MaxToken, 0, -1, 1}
	for _, x := range ranges {
		if x.End == MinToken {
			t.Fatalf("%s: range %v ends at -2^63", name, x)
		}
		sum.Add(&sum, new(big.Int).SetUint64(x.Width()))
		probes = append(probes, x.End, x.Start+1)
		if x.End < MaxToken {
			probes = append(probes, x.End+1)
		}
	}
	if want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(1)); sum.Cmp(want) != 0 {
		t.Fatalf("%s: widths add up to %v, want %v", name, &sum, want)
	}
	// Whatever their order: sorted by end, the ranges that end at or after
	// a token p are a suffix, and p lies in those of them that start before
	// it. So p lies in exactly one range when the smallest start in that
	// suffix is below p and the second smallest is not. first[i] and
	// second[i] are the two smallest starts of byEnd[i:] (MaxToken for
	// none: no token lies above it).
	byEnd := slices.SortedFunc(slices.Values(ranges), func(a, b Range) int { return cmp.Compare(a.End, b.End) })
	first, second := make([]int64, len(byEnd)+1), make([]int64, len(byEnd)+1)
	first[len(byEnd)], second[len(byEnd)] = MaxToken, MaxToken
	for i := len(byEnd) - 1; i >= 0; i-- {
		s := byEnd[i].Start
		first[i], second[i] = first[i+1], second[i+1]
		if s < first[i] {
			first[i], second[i] = s, first[i]
		} else if s < second[i] {
			second[i] = s
		}
	}
	for _, p := range probes {
		i, _ := slices.BinarySearchFunc(byEnd, p, func(x Range, p int64) int { return cmp.Compare(x.End, p) })
		if first[i] < p && second[i] >= p {
			continue
		}
		n := 0
		for _, x := range ranges {
			if x.Start < p && p <= x.End {
				n++
			}
		}
		t.Fatalf("%s: token %d lies in %d ranges", name, p, n)
	}
}

// checkReplicas checks the replicas of every range against Cassandra's
// rules, computed another way: the primary replica owns the range's end
// token; SimpleStrategy takes the first rf distinct nodes from there;
// NetworkTopologyStrategy takes, per data center, the nodes on distinct
// racks first (in ring order), then any others (in ring order), up to the
// data center's factor. Cassandra's one-pass algorithm gives the same set.
func checkReplicas(t *testing.T, name string, hosts []Host, rep Replication, ranges []Range) {
	t.Helper()
	type tok struct {
		t int64
		h int
	}
	var ring []tok
	for i, h := range hosts {
		for _, x := range h.Tokens {
			ring = append(ring, tok{x, i})
		}
	}
	slices.SortFunc(ring, func(a, b tok) int { return cmp.Compare(a.t, b.t) })
	// Each data center's nodes and racks.
	nodes, racksIn := map[string]int{}, map[string]map[string]bool{}
	for _, h := range hosts {
		nodes[h.DC]++
		if racksIn[h.DC] == nil {
			racksIn[h.DC] = map[string]bool{}
		}
		racksIn[h.DC][h.Rack] = true
	}
	for _, x := range ranges {
		// The first token at or after the range's end, wrapping.
		at, _ := slices.BinarySearchFunc(ring, x.End, func(o tok, end int64) int { return cmp.Compare(o.t, end) })
		if at == len(ring) {
			at = 0
		}
		// The nodes of the ring's tokens from there, in ring order; the
		// loops below stop once nothing more can be taken.
		walk := func(yield func(int) bool) {
			for k := range ring {
				if !yield(ring[(at+k)%len(ring)].h) {
					return
				}
			}
		}
		var want []int
		if rep.simple {
			for h := range walk {
				if len(want) == rep.rf {
					break
				}
				if !slices.Contains(want, h) {
					want = append(want, h)
				}
			}
		} else {
			for dc, rf := range rep.dcs {
				var got []int
				racks := map[string]bool{}
				for pass := range 2 {
					for h := range walk {
						if len(got) >= min(rf, nodes[dc]) || pass == 0 && len(racks) == len(racksIn[dc]) {
							break // full, or every rack taken: no more in this pass
						}
						if hosts[h].DC != dc || slices.Contains(got, h) {
							continue
						}
						if pass == 0 && racks[hosts[h].Rack] {
							continue
						}
						racks[hosts[h].Rack] = true
						got = append(got, h)
					}
				}
				want = append(want, got...)
			}
		}
		if !sameSet(want, x.Replicas) {
			t.Fatalf("%s: range %v has replicas %v, want %v", name, x, x.Replicas, want)
		}
		if owner := ring[at].h; len(x.Replicas) > 0 && x.Replicas[0] != owner && rep.simple {
			t.Fatalf("%s: range %v's first replica is %d, not its owner %d", name, x, x.Replicas[0], owner)
		}
	}
}

func sameSet(a, b []int) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// The edges of the ring, by name.
func TestRingEdges(t *testing.T) {
	one := func(tokens ...int64) []Host { return []Host{{ID: "a", DC: "dc", Rack: "r", Tokens: tokens}} }
	simple := Replication{simple: true, rf: 1}
	for _, tt := range []struct {
		name  string
		hosts []Host
		want  []Range
	}{
		{"one token at 0: the ring in two, cut at the end", one(0),
			[]Range{{MinToken, 0, []int{0}}, {0, MaxToken, []int{0}}}},
		{"a token at -2^63: no range ends there", one(MinToken),
			[]Range{{MinToken, MaxToken, []int{0}}}},
		{"a token at 2^63-1: no empty range after it", one(MaxToken),
			[]Range{{MinToken, MaxToken, []int{0}}}},
		{"tokens at both ends", one(MinToken, MaxToken),
			[]Range{{MinToken, MaxToken, []int{0}}}},
		{"adjacent tokens: a range of one token", one(5, 6),
			[]Range{{MinToken, 5, []int{0}}, {5, 6, []int{0}}, {6, MaxToken, []int{0}}}},
		{"the wrapping range belongs to the smallest token's node",
			[]Host{{ID: "a", Tokens: []int64{-10}}, {ID: "b", Tokens: []int64{10}}},
			[]Range{{MinToken, -10, []int{0}}, {-10, 10, []int{1}}, {10, MaxToken, []int{0}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(tt.hosts, simple)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || CheckCoverage(got) != nil {
				t.Fatalf("got %v, want %v (%v)", got, tt.want, CheckCoverage(got))
			}
		})
	}
	// A range of one token cannot be cut.
	if got := Cut(Range{5, 6, nil}, 4); len(got) != 1 {
		t.Fatalf("a one-token range cut into %v", got)
	}
	// The whole ring cut in many: still exact.
	if err := CheckCoverage(Split([]Range{{MinToken, MaxToken, nil}}, 1000)); err != nil {
		t.Fatal(err)
	}
}

// CheckCoverage refuses every way a split can go wrong.
func TestCoverageRefusesGapsAndOverlaps(t *testing.T) {
	good := []Range{{MinToken, -5, nil}, {-5, 7, nil}, {7, MaxToken, nil}}
	if err := CheckCoverage(good); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]Range{
		"none":                   nil,
		"a gap":                  {{MinToken, -5, nil}, {-4, 7, nil}, {7, MaxToken, nil}},
		"an overlap":             {{MinToken, -5, nil}, {-6, 7, nil}, {7, MaxToken, nil}},
		"short of the end":       {{MinToken, -5, nil}, {-5, MaxToken - 1, nil}},
		"not from the start":     {{MinToken + 1, MaxToken, nil}},
		"an empty range":         {{MinToken, 7, nil}, {7, 7, nil}, {7, MaxToken, nil}},
		"a wrapping range":       {{MinToken, 7, nil}, {7, MinToken, nil}},
		"out of order":           {{MinToken, -5, nil}, {7, MaxToken, nil}, {-5, 7, nil}},
		"ends at -2^63 (a wrap)": {{MinToken, MaxToken, nil}, {MaxToken, MinToken, nil}},
	} {
		if err := CheckCoverage(bad); err == nil {
			t.Errorf("%s: accepted %v", name, bad)
		}
	}
}

func TestParseReplication(t *testing.T) {
	r, err := ParseReplication("ks", "org.apache.cassandra.locator.SimpleStrategy", map[string]any{"replication_factor": "3"})
	if err != nil || !r.simple || r.rf != 3 {
		t.Fatalf("SimpleStrategy: %+v, %v", r, err)
	}
	r, err = ParseReplication("ks", "NetworkTopologyStrategy", map[string]any{"class": "x", "dc1": "2", "dc2": 1})
	if err != nil || r.simple || r.dcs["dc1"] != 2 || r.dcs["dc2"] != 1 || len(r.dcs) != 2 {
		t.Fatalf("NetworkTopologyStrategy: %+v, %v", r, err)
	}
	if _, err := ParseReplication("system", "org.apache.cassandra.locator.LocalStrategy", nil); err == nil {
		t.Fatal("LocalStrategy accepted")
	}
	if _, err := ParseReplication("ks", "SimpleStrategy", map[string]any{"replication_factor": "three"}); err == nil {
		t.Fatal("a replication factor that is not a number accepted")
	}
}

// FuzzRing builds rings from fuzzed shapes: never a panic, and always a
// partition with replicas.
func FuzzRing(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(16), uint8(1), true, uint8(3), uint16(7))
	f.Add(uint64(2), uint8(1), uint8(1), uint8(1), false, uint8(1), uint16(1))
	f.Fuzz(func(t *testing.T, seed uint64, n, k, dcs uint8, simple bool, rf uint8, parallel uint16) {
		r := rand.New(rand.NewPCG(seed, 0))
		hosts, rep := randomRing(r, 1+int(n%6), 1+int(k%64), 1+int(dcs%3), simple, 1+int(rf%3))
		ranges, err := Build(hosts, rep)
		if err != nil {
			t.Fatal(err)
		}
		checkPartition(t, "fuzz", Split(ranges, int(parallel%512)))
	})
}
