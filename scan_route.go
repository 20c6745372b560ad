package cqlseq

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// How a scan routes a range's requests.
//
// Each request of a page goes to one of the range's replicas, chosen when
// it is sent, by the driver's view of the nodes (read at most a second
// before, or after the last failure): a replica the driver takes to be up,
// among those the one that failed this page's requests fewest times, and
// among those the first in ring order (the primary replica first). With
// WithDataCenter, only the replicas in that data center are candidates: a
// coordinator elsewhere would read at LOCAL_* consistency from its own
// data center. A node known to be down is tried only when no candidate is
// up.
//
// A request pinned to a node can fail without being sent: the node is
// down, or the driver has no connection pool to that host ID (a session
// with DisableInitialHostLookup lists each node twice, and only one entry
// has a pool). That costs nothing, so the request goes at once to the next
// candidate up, then to wherever the driver's own host selection policy
// sends it, then to the candidates known to be down; only when none of
// them can take it does the page wait (see Retry.MaxElapsed). The scan
// remembers such a host for a while (unsendableFor), so that its other
// ranges do not try it first.

// unsendableFor is how long a host whose request could not be sent ranks
// as down, and how often the scan's view of which hosts are up is read
// from the driver at most, unless a request failed since.
const (
	unsendableFor = 5 * time.Second
	refreshEvery  = time.Second
)

// liveness is a scan's view of its nodes, shared by its ranges.
type liveness struct {
	cluster driver.Cluster

	mu         sync.Mutex
	read       time.Time         // when up was read from the driver; zero: read it again
	up         map[string]bool   // by host ID, as the driver takes them
	addrs      map[string]string // by host ID, for messages
	unsendable map[string]time.Time
}

func newLiveness(c driver.Cluster) *liveness {
	return &liveness{cluster: c, unsendable: map[string]time.Time{}}
}

// down reports, for each of hosts, whether it should be tried only when no
// other can: the driver takes it to be down, or a request to it could not
// be sent a moment ago.
func (l *liveness) down(hosts []string) []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.refresh(now)
	out := make([]bool, len(hosts))
	for i, h := range hosts {
		out[i] = !l.up[h] || now.Before(l.unsendable[h])
	}
	return out
}

// refresh reads which hosts are up from the driver, if it is time to.
func (l *liveness) refresh(now time.Time) {
	if l.up != nil && now.Sub(l.read) <= refreshEvery {
		return
	}
	if hs, err := l.cluster.Hosts(); err == nil {
		l.up = make(map[string]bool, len(hs))
		l.addrs = make(map[string]string, len(hs))
		for _, h := range hs {
			l.up[h.ID] = h.Up
			l.addrs[h.ID] = h.Addr
		}
		l.read = now
	}
}

// addr returns the address of host, "" if unknown.
func (l *liveness) addr(host string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refresh(time.Now())
	return l.addrs[host]
}

// failed records a request that failed at host: read the driver's view
// again before the next choice, and rank the host as down for a while if
// the request could not be sent.
func (l *liveness) failed(host string, sent bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.read = time.Time{}
	if !sent && host != "" {
		l.unsendable[host] = time.Now().Add(unsendableFor)
	}
}

// replicaRoute chooses the node of each request of one range's pages. Its
// methods are called by the range's pager, from its goroutine and from its
// prefetch's, one at a time.
type replicaRoute struct {
	live     *liveness
	replicas []string // the candidates' host IDs, in ring order

	mu       sync.Mutex
	failures map[string]int  // this page's requests that failed at a node, by host
	tried    map[string]bool // hosts ("" the driver's routing) whose request could not be sent since the last one that was
}

// newReplicaRoute routes the requests of a range whose replicas are
// replicas (host IDs in ring order), those in WithDataCenter's data center
// only, if it was given (local).
func newReplicaRoute(live *liveness, replicas []string, local map[string]bool) *replicaRoute {
	var candidates []string
	for _, h := range replicas {
		if local[h] {
			candidates = append(candidates, h)
		}
	}
	return &replicaRoute{live: live, replicas: candidates, failures: map[string]int{}, tried: map[string]bool{}}
}

// pick returns the host ID for the page's next request: "" for the
// driver's own routing.
func (r *replicaRoute) pick() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	host, _ := r.next()
	return host
}

// next returns the first target not yet tried this round: replicas up,
// the driver's routing, replicas down; false when all were.
func (r *replicaRoute) next() (string, bool) {
	down := r.live.down(r.replicas)
	order := make([]int, len(r.replicas))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(r.failures[r.replicas[a]], r.failures[r.replicas[b]])
	})
	for _, wantDown := range []bool{false, true} {
		for _, i := range order {
			if h := r.replicas[i]; down[i] == wantDown && !r.tried[h] {
				return h, true
			}
		}
		if !wantDown && !r.tried[""] {
			return "", true
		}
	}
	return "", false
}

// failed records that the request sent to host failed, and whether it
// left the client. It reports whether another target may be tried at once:
// only after a request that was not sent, while one is left this round.
// When none is, a new round begins (after the caller's wait).
func (r *replicaRoute) failed(host string, sent bool) bool {
	r.live.failed(host, sent)
	r.mu.Lock()
	defer r.mu.Unlock()
	if sent {
		r.failures[host]++
		clear(r.tried)
		return false
	}
	r.tried[host] = true
	if _, ok := r.next(); ok {
		return true
	}
	clear(r.tried)
	return false
}

// pageDone starts the next page's choices afresh.
func (r *replicaRoute) pageDone() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.failures)
	clear(r.tried)
}
