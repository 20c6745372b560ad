package cqlseqgocql_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqgocql"
	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/gocqlsource"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// onCluster fails t unless it is named TestCluster*, as every test on the
// multi-node cluster is: testing/test.sh runs those in a process of their
// own, one module after another, beside the other tests, which must not
// meet a node of the cluster down. Under go test -short it skips t. The
// tests here only read the cluster (and write a keyspace of their own):
// none kills a node.
func onCluster(t *testing.T) {
	t.Helper()
	cqlseqtest.NeedCassandra(t)
	if !strings.HasPrefix(t.Name(), "TestCluster") {
		t.Fatalf("%s uses the multi-node cluster: name it TestCluster*, for testing/test.sh", t.Name())
	}
}

// clusterSession returns a session on the cluster at QUORUM, closed when t
// ends.
func clusterSession(t *testing.T, disableLookup bool) *gocql.Session {
	t.Helper()
	c := newCluster(cqlseqtest.ClusterHosts()...)
	c.Consistency = gocql.Quorum
	c.DisableInitialHostLookup = disableLookup
	s, err := c.CreateSession()
	if err != nil {
		t.Fatalf("cannot reach the cluster at %v: %v; start the local one with testing/cassandra/cassandra.sh cluster start", cqlseqtest.ClusterHosts(), err)
	}
	t.Cleanup(s.Close)
	return s
}

// scanTable creates, in a keyspace of its own on the cluster at
// replication factor rf, a table of n rows (written at QUORUM with the v2
// driver, through cqlseqtest), dropped when t ends, and returns its name.
func scanTable(t *testing.T, rf, n int) string {
	t.Helper()
	ctx := context.Background()
	vs, err := cqlseqtest.ConnectCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vs.Close)
	ks := fmt.Sprintf("gocqlscan_%d", time.Now().UnixNano())
	cqlseqtest.Exec(t, vs,
		fmt.Sprintf("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}", ks, rf),
		"CREATE TABLE "+ks+".t (p int, c int, v text, PRIMARY KEY (p, c))")
	// Registered after vs.Close, so run before it.
	t.Cleanup(func() {
		if err := cqlseqtest.DropKeyspace(ctx, vs, ks); err != nil {
			t.Errorf("dropping %s: %v", ks, err)
		}
	})
	table := ks + ".t"
	if err := cqlseqtest.Seed(ctx, vs, "INSERT INTO "+table+" (p, c, v) VALUES (?, ?, ?)", n, 8,
		func(k int) []any { return []any{k / 3, k % 3, fmt.Sprint("v", k)} }); err != nil {
		t.Fatal(err)
	}
	return table
}

// On the 3-node cluster a scan reads what a SELECT of the table reads, at
// replication factor 1 (each range on one node) and 3, at parallelism 1
// and 16; the pages were served by every node.
func TestClusterScanSameAsSelect(t *testing.T) {
	onCluster(t)
	s := clusterSession(t, false)
	for _, rf := range []int{1, 3} {
		table := scanTable(t, rf, 6000)
		want := selectAll(t, s, table)
		for _, p := range []int{1, 16} {
			var got []scanRow
			served := map[string]int{}
			for page, err := range cqlseqgocql.ScanPages[scanRow](context.Background(), s, table, cqlseq.WithParallelism(p), cqlseq.WithFetchSize(100)) {
				if err != nil {
					t.Fatalf("rf %d, parallelism %d: %v", rf, p, err)
				}
				got = append(got, page.Rows...)
				served[page.Host] += len(page.Rows)
			}
			slices.SortFunc(got, compareScanRows)
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Fatalf("rf %d, parallelism %d (-SELECT +Scan):\n%s", rf, p, diff)
			}
			t.Logf("rf %d, parallelism %d: %d rows as SELECT; rows by serving node %v (routed: %v)", rf, p, len(got), served, gocqlsource.Routes())
			if len(served) != len(cqlseqtest.ClusterHosts()) {
				t.Errorf("rf %d, parallelism %d: pages served by %d nodes, want %d", rf, p, len(served), len(cqlseqtest.ClusterHosts()))
			}
			// Routed (the fork), every page was served by its range's
			// replica: at replication factor 1, the node that owns it.
			if gocqlsource.Routes() && rf == 1 {
				if diff := gocmp.Diff(ownedRows(t, s, table), served); diff != "" {
					t.Errorf("rf 1, parallelism %d: rows by serving node (-owner +served):\n%s", p, diff)
				}
			}
		}
	}
}

// ownedRows counts the rows of table by the address of the node that owns
// their token (the first node clockwise from it), on the ring the driver
// reports.
func ownedRows(t *testing.T, s *gocql.Session, table string) map[string]int {
	t.Helper()
	hosts, err := gocqlsource.Hosts(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	type token struct {
		t    int64
		addr string
	}
	var ring []token
	for _, h := range hosts {
		for _, tk := range h.Tokens {
			var v int64
			if _, err := fmt.Sscan(tk, &v); err != nil {
				t.Fatal(err)
			}
			ring = append(ring, token{v, h.Addr})
		}
	}
	slices.SortFunc(ring, func(a, b token) int { return cmp.Compare(a.t, b.t) })
	owned := map[string]int{}
	var tk int64
	it := s.Query("SELECT token(p) FROM " + table).Iter()
	for it.Scan(&tk) {
		i, _ := slices.BinarySearchFunc(ring, tk, func(e token, t int64) int { return cmp.Compare(e.t, t) })
		owned[ring[i%len(ring)].addr]++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return owned
}

// The nodes a scan reads from the driver (Session.GetHosts on the fork)
// and from the system tables (upstream) are those the v2 driver sees,
// with the same tokens, data centers and racks.
func TestClusterHosts(t *testing.T) {
	onCluster(t)
	s := clusterSession(t, false)
	want := v2Hosts(t)
	ctx := context.Background()
	hosts, err := gocqlsource.Hosts(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(want, ringOf(hosts)); diff != "" {
		t.Errorf("Hosts (-v2 driver +gocql):\n%s", diff)
	}
	// The system tables, whichever driver this is, ten times: which node
	// answers is the policy's choice each time.
	for range 10 {
		sys, err := gocqlsource.SystemHosts(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(want, ringOf(sys)); diff != "" {
			t.Fatalf("SystemHosts (-v2 driver +system tables):\n%s", diff)
		}
		for _, h := range sys {
			if !strings.HasSuffix(h.Partitioner, ".Murmur3Partitioner") || !h.Up {
				t.Fatalf("SystemHosts: %+v", h)
			}
		}
	}
	t.Logf("%d nodes, as the v2 driver sees them", len(want))
}

// hostRing is what the ring is built from.
type hostRing struct {
	ID, DC, Rack string
	Tokens       []string
}

func ringOf(hosts []driver.Host) []hostRing {
	var r []hostRing
	for _, h := range hosts {
		r = append(r, hostRing{h.ID, h.DataCenter, h.Rack, slices.Sorted(slices.Values(h.Tokens))})
	}
	slices.SortFunc(r, func(a, b hostRing) int { return strings.Compare(a.ID, b.ID) })
	return r
}

// v2Hosts returns the cluster's nodes as the v2 driver sees them.
func v2Hosts(t *testing.T) []hostRing {
	t.Helper()
	vs, err := cqlseqtest.ConnectCluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer vs.Close()
	var hosts []driver.Host
	for _, h := range vs.GetHosts() {
		hosts = append(hosts, driver.Host{ID: h.HostID(), DataCenter: h.DataCenter(), Rack: h.Rack(), Tokens: h.Tokens()})
	}
	return ringOf(hosts)
}
