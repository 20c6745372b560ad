package cqlseq

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	gocmp "github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/internal/ring"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// clusterSession connects to the multi-node cluster (see
// cqlseqtest.ClusterHosts), with observer recording the host of every
// request; it fails the test if the cluster cannot be reached, or if the
// test is not named TestCluster*: testing/test.sh runs those in a process
// of their own, one module after another, beside the other tests, which
// must not meet a node of the cluster down.
func clusterSession(t *testing.T, observer gocql.QueryObserver) *gocql.Session {
	t.Helper()
	cqlseqtest.NeedCassandra(t)
	if !strings.HasPrefix(t.Name(), "TestCluster") {
		t.Fatalf("%s uses the multi-node cluster: name it TestCluster*, for testing/test.sh", t.Name())
	}
	c := cqlseqtest.Cluster()
	c.Hosts = cqlseqtest.ClusterHosts()
	c.Consistency = gocql.Quorum
	c.QueryObserver = observer
	s, err := c.CreateSession()
	if err != nil {
		t.Fatalf("cannot reach the cluster at %v: %v; start it with testing/cassandra/cassandra.sh cluster start (or set %s)", c.Hosts, err, cqlseqtest.ClusterHostsEnv)
	}
	t.Cleanup(s.Close)
	if n := len(s.GetHosts()); n < 2 {
		t.Fatalf("the cluster at %v has %d node(s); the scan tests need several", c.Hosts, n)
	}
	return s
}

// clusterTable creates table t of the given columns in a new keyspace of
// the cluster, replicated twice, dropped at the end of the test, and
// returns "keyspace.t".
func clusterTable(t *testing.T, s *gocql.Session, prefix, columns string) string {
	t.Helper()
	ks := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	cqlseqtest.Exec(t, s,
		"CREATE KEYSPACE "+ks+" WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 2}",
		"CREATE TABLE "+ks+".t ("+columns+")")
	t.Cleanup(func() { s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec() })
	return ks + ".t"
}

// routes records the host of every page request of a scan's ranges, by
// the range's end token.
type routes struct {
	sync.Mutex
	hosts map[int64][]string
}

func (r *routes) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	if !strings.Contains(q.Statement, "token(") || len(q.Values) < 2 || q.Host == nil {
		return
	}
	end, ok := q.Values[1].(int64)
	if !ok {
		return
	}
	r.Lock()
	defer r.Unlock()
	r.hosts[end] = append(r.hosts[end], q.Host.HostID())
}

// On the cluster, a scan equals a SELECT of the whole table at every
// parallelism; every range's requests go to its primary replica; and the
// replicas computed from the ring are those Cassandra reports (nodetool
// getendpoints) for keys across the ring.
func TestClusterScan(t *testing.T) {
	rec := &routes{hosts: map[int64][]string{}}
	s := clusterSession(t, rec)
	ctx := context.Background()
	table := clusterTable(t, s, "scan", "p int, c int, v text, PRIMARY KEY (p, c)")
	ks, _, _ := strings.Cut(table, ".")
	if err := cqlseqtest.Seed(ctx, s, "INSERT INTO "+table+" (p, c, v) VALUES (?, ?, ?)", 6000, 8,
		func(i int) []any { return []any{i / 2, i % 2, fmt.Sprint("v", i)} }); err != nil {
		t.Fatal(err)
	}
	want := selectScanRows(t, s, table)
	if len(want) != 6000 {
		t.Fatalf("SELECT read %d rows", len(want))
	}

	top, err := readTopology(ctx, v2Cluster{s}, ks, "t")
	if err != nil {
		t.Fatal(err)
	}
	rings, err := ring.Build(top.hosts, top.rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{1, 4, 16} {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		rec.Lock()
		clear(rec.hosts)
		rec.Unlock()
		served := map[string]int{} // pages by PageInfo.Host
		longest := 0               // checkpoint
		got := scanAll(t, Scan[scanRow](ctx, s, table, WithParallelism(p), WithFetchSize(100),
			WithPageCallback(func(i PageInfo) { served[i.Host]++; longest = max(longest, len(i.Cursor)) })), compareScanRows)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("parallelism %d: Scan differs from SELECT (-want +got):\n%s", p, diff)
		}
		// Routing: every request of a range went to the range's primary
		// replica (no failure here, so no failover).
		rec.Lock()
		requests := 0
		for end, hosts := range rec.hosts {
			i := ring.RangeOf(rings, end)
			if i == len(rings) {
				t.Fatalf("a request for a range ending at %d, outside the ring", end)
			}
			primary := top.hosts[rings[i].Replicas[0]].ID
			for _, h := range hosts {
				requests++
				if h != primary {
					t.Errorf("parallelism %d: a request for the range ending at %d went to %s, not to its primary replica %s", p, end, h, primary)
				}
			}
		}
		rec.Unlock()
		// PageInfo.Host names the nodes, each serving pages.
		nodes := map[string]bool{}
		for _, h := range s.GetHosts() {
			nodes[h.ConnectAddressAndPort()] = true
		}
		for h := range served {
			if !nodes[h] {
				t.Errorf("parallelism %d: pages served by %q, not a node of %v", p, h, nodes)
			}
		}
		if len(served) != len(nodes) {
			t.Errorf("parallelism %d: pages served by %v; every node is a primary replica of some range", p, served)
		}
		t.Logf("parallelism %d: %d rows, %d range requests, each to its range's primary replica; pages by host %v; checkpoints up to %d bytes", p, len(got), requests, served, longest)
	}

	// A column list and a filter, on the cluster.
	type key struct{ P, C int }
	var filtered []key
	for _, r := range want {
		if r.V == "v3" || r.V == "v4" {
			filtered = append(filtered, key{r.P, r.C})
		}
	}
	gotKeys := scanAll(t, Scan[key](ctx, s, table, WithColumns("p", "c"), WithFilter("v IN (?, ?)", "v3", "v4"), WithParallelism(6)),
		func(a, b key) int { return cmp.Or(cmp.Compare(a.P, b.P), cmp.Compare(a.C, b.C)) })
	if diff := gocmp.Diff(filtered, gotKeys); diff != "" || len(filtered) != 2 {
		t.Fatalf("columns p, c where v in (v3, v4): %d rows wanted (-want +got):\n%s", len(filtered), diff)
	}

	// Stopped at random pages and resumed from the checkpoint each time,
	// at a random parallelism and fetch size (a scan's token ranges resume
	// exactly at any), on the cluster: every row exactly once.
	seed := time.Now().UnixNano()
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("random stops: seed %d", seed)
	for round := range 3 {
		resumed, stops := scanWithStops(t, r, 25, func(cursor string) iter.Seq2[Page[scanRow], error] {
			return ScanPages[scanRow](ctx, s, table, WithParallelism(1+r.IntN(12)), WithFetchSize(20+r.IntN(100)), WithCursor(cursor))
		})
		if diff := gocmp.Diff(want, resumed); diff != "" {
			t.Fatalf("seed %d, round %d, %d stops and resumptions: (-want +got):\n%s", seed, round, stops, diff)
		}
		if stops < 5 {
			t.Fatalf("seed %d, round %d: only %d stops: the test proves little", seed, round, stops)
		}
		t.Logf("seed %d, round %d: every row once over %d random stops, each resumed from its checkpoint", seed, round, stops)
	}

	// The replicas of keys, as Cassandra places them.
	addr := map[string]string{} // host ID by address
	for _, h := range s.GetHosts() {
		addr[h.ConnectAddress().String()] = h.HostID()
	}
	// Each nodetool is a JVM that takes seconds to start: all at once.
	keys := []int{0, 1, 77, 512, 1999, 2999}
	type endpoints struct {
		out []byte
		err error
	}
	asked := make([]chan endpoints, len(keys))
	var wg sync.WaitGroup
	defer wg.Wait() // before the leak checks above, if the test ends early
	for k, key := range keys {
		asked[k] = make(chan endpoints, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command("testing/cassandra/cassandra.sh", "cluster", "nodetool", "1", "getendpoints", ks, "t", fmt.Sprint(key)).CombinedOutput()
			asked[k] <- endpoints{out, err}
		}()
	}
	for k, key := range keys {
		answer := <-asked[k]
		var tok int64
		if err := s.Query("SELECT token(p) FROM "+table+" WHERE p = ? LIMIT 1", key).Scan(&tok); err != nil {
			t.Fatal(err)
		}
		i := ring.RangeOf(rings, tok)
		var ours []string
		for _, h := range rings[i].Replicas {
			ours = append(ours, top.hosts[h].ID)
		}
		out, err := answer.out, answer.err
		if err != nil {
			t.Fatalf("nodetool getendpoints: %v\n%s", err, out)
		}
		var theirs []string
		for _, line := range strings.Fields(string(out)) {
			if ip := net.ParseIP(line); ip != nil {
				theirs = append(theirs, addr[ip.String()])
			}
		}
		slices.Sort(ours)
		slices.Sort(theirs)
		if !slices.Equal(ours, theirs) || len(ours) != 2 {
			t.Fatalf("key %d (token %d): replicas %v computed, Cassandra says %v (%s)", key, tok, ours, theirs, out)
		}
	}
}

// blobRow is a row of a table keyed by blob, whose keys are made to have
// chosen tokens (cqlseqtest.KeyWithToken).
type blobRow struct {
	K []byte
	C int
	T int64 // token(k), as the node computes it
}

func compareBlobRows(a, b blobRow) int {
	return cmp.Or(bytes.Compare(a.K, b.K), cmp.Compare(a.C, b.C))
}

// On the cluster, rows whose token is a node's token (the end of a vnode
// range), one less or one more, the smallest token and the largest (from
// both hashes that give it), three partitions sharing each of those
// tokens, are each read by a scan exactly once, at parallelism 1, 4 and 16
// and a fetch size that cuts pages inside the partitions sharing a token.
func TestClusterScanRowsOnNodeTokens(t *testing.T) {
	s := clusterSession(t, nil)
	ctx := context.Background()
	table := clusterTable(t, s, "scan_tokens", "k blob, c int, PRIMARY KEY (k, c)")
	ks, _, _ := strings.Cut(table, ".")

	top, err := readTopology(ctx, v2Cluster{s}, ks, "t")
	if err != nil {
		t.Fatal(err)
	}
	targets := []int64{ring.MinToken, ring.MaxToken}
	nodeTokens := 0
	for _, h := range top.hosts {
		for _, tok := range h.Tokens {
			nodeTokens++
			targets = append(targets, tok, tok+1, tok-1)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		targets = append(targets, int64(r.Uint64()))
	}
	var keys [][]byte
	want := map[int64]int{} // rows by token
	for _, tok := range targets {
		if tok == math.MinInt64 || tok > ring.MaxToken {
			continue
		}
		for n := range uint64(3) {
			keys = append(keys, cqlseqtest.KeyWithToken(tok, n))
			want[tok] += 2
		}
	}
	if err := cqlseqtest.Seed(ctx, s, "INSERT INTO "+table+" (k, c) VALUES (?, ?)", 2*len(keys), 8,
		func(i int) []any { return []any{keys[i/2], i % 2} }); err != nil {
		t.Fatal(err)
	}

	var all []blobRow
	it := s.Query("SELECT k, c, token(k) FROM " + table).PageSize(1000).Iter()
	var row blobRow
	for it.Scan(&row.K, &row.C, &row.T) {
		all = append(all, blobRow{K: slices.Clone(row.K), C: row.C, T: row.T})
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	got := map[int64]int{}
	for _, r := range all {
		got[r.T]++
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Fatalf("rows by token(k), as SELECT reads them (-asked +node):\n%s", diff)
	}
	slices.SortFunc(all, compareBlobRows)

	type scanned struct {
		K []byte
		C int
	}
	for _, p := range []int{1, 4, 16} {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		var rows []blobRow
		for r, err := range Scan[scanned](ctx, s, table, WithParallelism(p), WithFetchSize(5), WithColumns("k", "c")) {
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, blobRow{K: r.K, C: r.C})
		}
		slices.SortFunc(rows, compareBlobRows)
		if len(rows) != len(all) {
			t.Fatalf("parallelism %d: %d rows scanned, SELECT reads %d", p, len(rows), len(all))
		}
		for i := range rows {
			if compareBlobRows(rows[i], all[i]) != 0 {
				t.Fatalf("parallelism %d: row %d scanned is %x/%d, SELECT's is %x/%d (token %d)", p, i, rows[i].K, rows[i].C, all[i].K, all[i].C, all[i].T)
			}
		}
		t.Logf("parallelism %d: %d rows, every one once, %d of them on the %d node tokens", p, len(rows), 6*nodeTokens, nodeTokens)
	}
}
