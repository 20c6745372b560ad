package faults_test

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// A scan's checkpoint outlives a change of the ring: taken on three nodes
// and resumed after a fourth joined (cassandra.sh cluster add-node), then
// taken on the four and resumed after that node left again (cluster
// remove-node, a decommission), the rows read before the stop and those of
// the resumed scan are the table, every row exactly once. The resumed
// scan's requests go to the ring as it is now: ranges the new node owns
// (as their primary replica) are served by it, and after it left, the
// ranges it owned are served by the nodes that took them over, never by it.
func TestClusterScanResumesAfterRingChange(t *testing.T) {
	const (
		n     = 4_000
		rf    = 3
		fetch = 50
		stop  = 15 // pages read before the checkpoint is kept
	)
	opts := []cqlseq.ScanOption{cqlseq.WithFetchSize(fetch), cqlseq.WithParallelism(4)}
	step := time.Now()
	took := func(what string) {
		t.Logf("%s: %v", what, time.Since(step).Round(time.Millisecond))
		step = time.Now()
	}

	onCluster(t)
	hosts := clusterHosts(t)
	s := ringSession(t, nil)
	if got := len(s.GetHosts()); got != len(hosts) {
		t.Fatalf("the local cluster's ring has %d nodes, cassandra.sh cluster hosts lists %d (%v)", got, len(hosts), hosts)
	}
	if len(hosts) != 3 {
		t.Fatalf("the local cluster has %d nodes (%v), want 3: a node added by an earlier run? cassandra.sh cluster status says which", len(hosts), hosts)
	}
	table := clusterTable(t, s, rf, n)
	took(fmt.Sprintf("table %s of %d rows, RF %d, flushed on every node", table, n, rf))

	// A checkpoint on the ring of three nodes.
	before, cursor := scanThenStop(t, s, table, stop, opts)
	took(fmt.Sprintf("checkpoint on 3 nodes after %d pages (%d rows, %d bytes)", stop, len(before), len(cursor)))

	// A fourth node joins. It leaves again when the test ends, whatever
	// happens before.
	out := clusterNode(t, "add-node")
	t.Logf("cassandra.sh cluster add-node:\n%s", strings.TrimSpace(out))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	num := strings.TrimSpace(lines[len(lines)-1])
	if _, err := strconv.Atoi(num); err != nil {
		t.Fatalf("cluster add-node did not end with the new node's number: %q", lines[len(lines)-1])
	}
	joined := true
	t.Cleanup(func() {
		if joined {
			t0 := time.Now()
			t.Logf("cassandra.sh cluster remove-node %s (cleanup):\n%s", num, strings.TrimSpace(clusterNode(t, "remove-node", num)))
			t.Logf("cleanup: node %s removed in %v", num, time.Since(t0).Round(time.Millisecond))
		}
	})
	addr := newHost(t, hosts, clusterHosts(t))
	took("cluster add-node " + num + " (" + addr + ")")

	obsAdded := &ringRequests{}
	s4 := ringSession(t, obsAdded)
	newID := waitJoined(t, addr, s, s4)
	took(fmt.Sprintf("node %s (%s) in the ring of both sessions, with tokens, and answering the new one", num, newID))

	rest := resumeScan(t, s4, table, cursor, opts)
	took(fmt.Sprintf("resumed on the 4-node ring: %d rows", len(rest)))
	onceEach(t, "checkpoint on 3 nodes, resumed after a node joined", append(before, rest...), n)
	ring4 := ringOf(t, s4)
	spans := map[[2]int64]bool{}
	for _, a := range obsAdded.since(0) {
		if ring4.overlaps(newID)(a.start, a.end) {
			spans[[2]int64{a.start, a.end}] = true
		}
	}
	t.Logf("resumed after the join: %d ranges hold tokens the new node owns", len(spans))
	if owned := servedByPrimary(t, "resumed after the join", obsAdded.since(0), ring4, ring4.owns(newID)); owned == 0 {
		t.Fatalf("no request of the resumed scan was for a range the new node owns: the test shows nothing")
	}

	// The opposite: a checkpoint on the four nodes, resumed once the fourth
	// left.
	reads := len(obsAdded.since(0))
	before, cursor = scanThenStop(t, s4, table, stop, opts)
	onNew := 0
	for _, a := range obsAdded.since(reads) {
		if a.host == newID && a.err == nil {
			onNew++
		}
	}
	took(fmt.Sprintf("checkpoint on 4 nodes after %d pages (%d rows, %d bytes; %d of its requests served by node %s)",
		stop, len(before), len(cursor), onNew, num))

	t.Logf("cassandra.sh cluster remove-node %s:\n%s", num, strings.TrimSpace(clusterNode(t, "remove-node", num)))
	joined = false
	took("cluster remove-node " + num)
	if got := clusterHosts(t); !slices.Equal(got, hosts) {
		t.Fatalf("after remove-node, cluster hosts lists %v, want %v", got, hosts)
	}

	obsLeft := &ringRequests{}
	s3 := ringSession(t, obsLeft)
	waitLeft(t, newID, s, s4, s3)
	took(fmt.Sprintf("node %s gone from the ring of all three sessions", num))

	rest = resumeScan(t, s3, table, cursor, opts)
	took(fmt.Sprintf("resumed on the 3-node ring: %d rows", len(rest)))
	onceEach(t, "checkpoint on 4 nodes, resumed after a node left", append(before, rest...), n)
	resumed := obsLeft.since(0)
	for _, a := range resumed {
		if a.host == newID {
			t.Errorf("range ending at %d: a request sent to the node that left", a.end)
		}
	}
	// The ranges that hold tokens the node owned on the 4-node ring are
	// served by their primary replica on the ring as it is now.
	if owned := servedByPrimary(t, "resumed after the node left", resumed, ringOf(t, s3), ring4.overlaps(newID)); owned == 0 {
		t.Fatalf("no request of the resumed scan was for a range the node that left had owned: the test shows nothing")
	}
}

// clusterHosts returns the local cluster's nodes as cassandra.sh cluster
// hosts lists them.
func clusterHosts(t *testing.T) []string {
	t.Helper()
	return strings.Split(strings.TrimSpace(clusterNode(t, "hosts")), ",")
}

// newHost returns the address (without port) of the one host in after that
// is not in before.
func newHost(t *testing.T, before, after []string) string {
	t.Helper()
	var added []string
	for _, h := range after {
		if !slices.Contains(before, h) {
			added = append(added, h)
		}
	}
	if len(added) != 1 {
		t.Fatalf("cluster hosts was %v and is %v: want one host more", before, after)
	}
	if host, _, err := net.SplitHostPort(added[0]); err == nil {
		return host
	}
	return added[0]
}

// ringSession opens a new session to the local cluster at QUORUM whose
// requests obs (if not nil) sees. Its contact points are the cluster's
// first nodes; it finds the others (a node that joined) from them. Its
// timeouts are those of cqlseqtest.Cluster, not the 5 s of the fault
// tests' sessions: nothing is frozen here, and a schema change on a busy
// machine may take longer.
func ringSession(t *testing.T, obs gocql.QueryObserver) *gocql.Session {
	t.Helper()
	c := cluster(cqlseqtest.ClusterHosts()...)
	c.Timeout, c.ConnectTimeout = 20*time.Second, 10*time.Second
	c.Consistency = gocql.Quorum
	if obs != nil {
		c.QueryObserver = obs
	}
	return connect(t, c)
}

// scanThenStop reads table's pages until the stop-th, and returns their
// rows and that page's checkpoint.
func scanThenStop(t *testing.T, s *gocql.Session, table string, stop int, opts []cqlseq.ScanOption) ([]kv, string) {
	t.Helper()
	var rows []kv
	cursor, pages := "", 0
	for p, err := range cqlseq.ScanPages[kv](context.Background(), s, table, opts...) {
		if err != nil {
			t.Fatalf("after %d pages: %v", pages, err)
		}
		rows = append(rows, p.Rows...)
		cursor = p.Cursor
		if pages++; pages == stop {
			break
		}
	}
	if pages != stop || cursor == "" {
		t.Fatalf("the scan ended after %d pages, before the %d-th", pages, stop)
	}
	return rows, cursor
}

// resumeScan reads the rest of table from cursor.
func resumeScan(t *testing.T, s *gocql.Session, table, cursor string, opts []cqlseq.ScanOption) []kv {
	t.Helper()
	var rows []kv
	for r, err := range cqlseq.Scan[kv](context.Background(), s, table, append(slices.Clone(opts), cqlseq.WithCursor(cursor))...) {
		if err != nil {
			t.Fatalf("resuming from the checkpoint after %d rows: %v", len(rows), err)
		}
		rows = append(rows, r)
	}
	return rows
}

// ringWait is how long the sessions may take to see a ring change before
// the test gives up: a bound against hanging, not a measure.
const ringWait = 2 * time.Minute

// waitJoined waits until every session lists the node at addr, up and with
// its tokens, and the last one can send it a request pinned to it (its
// connection pool is open); it returns the node's host ID.
func waitJoined(t *testing.T, addr string, sessions ...*gocql.Session) string {
	t.Helper()
	deadline := time.Now().Add(ringWait)
	id := ""
	for _, s := range sessions {
		for {
			h := hostAt(s, addr)
			if h != nil && h.IsUp() && len(h.Tokens()) > 0 {
				id = h.HostID()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a session's ring has no node at %s, up and with tokens, %v after add-node: %v", addr, ringWait, describeHosts(s))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	last := sessions[len(sessions)-1]
	for {
		var got string
		err := last.Query("SELECT host_id FROM system.local").SetHostID(id).Scan(&got)
		if err == nil && got == id {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("a request pinned to the new node %s: %q, %v", id, got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitLeft waits until no session lists the node with host ID id.
func waitLeft(t *testing.T, id string, sessions ...*gocql.Session) {
	t.Helper()
	deadline := time.Now().Add(ringWait)
	for _, s := range sessions {
		for slices.ContainsFunc(s.GetHosts(), func(h *gocql.HostInfo) bool { return h.HostID() == id }) {
			if time.Now().After(deadline) {
				t.Fatalf("a session's ring still lists %s %v after remove-node: %v", id, ringWait, describeHosts(s))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func hostAt(s *gocql.Session, addr string) *gocql.HostInfo {
	for _, h := range s.GetHosts() {
		if h.ConnectAddress().String() == addr {
			return h
		}
	}
	return nil
}

func describeHosts(s *gocql.Session) []string {
	var out []string
	for _, h := range s.GetHosts() {
		out = append(out, fmt.Sprintf("%s %s up=%v tokens=%d", h.ConnectAddress(), h.HostID(), h.IsUp(), len(h.Tokens())))
	}
	return out
}

// ringRequests records every request of a scan's ranges: the range
// (start, end], the host that served it (or failed it) and the error.
type ringRequests struct {
	sync.Mutex
	log []ringRequest
}

type ringRequest struct {
	start, end int64
	host       string
	err        error
}

func (a *ringRequests) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	if !strings.Contains(q.Statement, "token(") || len(q.Values) < 2 || q.Host == nil {
		return
	}
	start, ok1 := q.Values[0].(int64)
	end, ok2 := q.Values[1].(int64)
	if !ok1 || !ok2 {
		return
	}
	a.Lock()
	defer a.Unlock()
	a.log = append(a.log, ringRequest{start: start, end: end, host: q.Host.HostID(), err: q.Err})
}

// since returns the requests recorded from the i-th on.
func (a *ringRequests) since(i int) []ringRequest {
	a.Lock()
	defer a.Unlock()
	return slices.Clone(a.log[i:])
}

// ringView is the token ring a session sees: its tokens in order, and the
// host ID that owns each.
type ringView struct {
	tokens []int64
	owners []string
}

func ringOf(t *testing.T, s *gocql.Session) ringView {
	t.Helper()
	type owned struct {
		token int64
		host  string
	}
	var all []owned
	for _, h := range s.GetHosts() {
		for _, tok := range h.Tokens() {
			v, err := strconv.ParseInt(tok, 10, 64)
			if err != nil {
				t.Fatalf("host %s has token %q", h.HostID(), tok)
			}
			all = append(all, owned{v, h.HostID()})
		}
	}
	slices.SortFunc(all, func(a, b owned) int { return cmp.Compare(a.token, b.token) })
	var r ringView
	for _, o := range all {
		r.tokens = append(r.tokens, o.token)
		r.owners = append(r.owners, o.host)
	}
	if len(r.tokens) == 0 {
		t.Fatalf("the session's ring has no tokens: %v", describeHosts(s))
	}
	return r
}

// primary returns the primary replica of the tokens up to end: the owner of
// the first token at or after end, round the ring.
func (r ringView) primary(end int64) string {
	i, _ := slices.BinarySearch(r.tokens, end)
	if i == len(r.tokens) {
		i = 0
	}
	return r.owners[i]
}

// owns returns whether a range has host as its primary replica on r: the
// scan routes a range by its end token.
func (r ringView) owns(host string) func(start, end int64) bool {
	return func(_, end int64) bool { return r.primary(end) == host }
}

// overlaps returns whether a range (start, end] holds tokens whose primary
// replica on r is host.
func (r ringView) overlaps(host string) func(start, end int64) bool {
	return func(start, end int64) bool {
		if r.primary(end) == host {
			return true
		}
		i, _ := slices.BinarySearch(r.tokens, start+1)
		for ; i < len(r.tokens) && r.tokens[i] < end; i++ {
			if r.owners[i] == host {
				return true
			}
		}
		return false
	}
}

// servedByPrimary checks that the requests for the ranges that selected
// picks, and that succeeded, were served by their range's primary replica
// on ring (every node is up, so the scan tries it first), leaving out the
// ranges that had a failed request (a retry goes to another replica). It
// logs the counts, also of the other requests served elsewhere than by
// their primary replica, and returns how many requests it checked.
func servedByPrimary(t *testing.T, what string, log []ringRequest, ring ringView, selected func(start, end int64) bool) int {
	t.Helper()
	failed := map[int64]bool{}
	for _, a := range log {
		if a.err != nil {
			failed[a.end] = true
		}
	}
	ranges, skipped, checked, onPrimary, elsewhere := map[int64]bool{}, 0, 0, 0, 0
	for _, a := range log {
		if failed[a.end] {
			skipped++
			continue
		}
		want := ring.primary(a.end)
		if !selected(a.start, a.end) {
			if a.host != want {
				elsewhere++
			}
			continue
		}
		checked++
		ranges[a.end] = true
		if a.host == want {
			onPrimary++
		} else if checked-onPrimary <= 5 {
			t.Errorf("%s: the range ending at %d was read from %s, its primary replica is %s", what, a.end, a.host, want)
		}
	}
	t.Logf("%s: %d requests (%d ranges) whose range is one of those checked, %d of them served by the range's primary replica now; %d requests of ranges that had a failed one left out; %d other requests served elsewhere than by their primary",
		what, checked, len(ranges), onPrimary, skipped, elsewhere)
	if onPrimary != checked {
		t.Errorf("%s: %d of %d requests went to another node than the range's primary replica", what, checked-onPrimary, checked)
	}
	return checked
}
