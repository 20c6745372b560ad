package cqlseq

import (
	"cmp"
	"slices"
)

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
