package cqlseqgocql_test

import (
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// Scan works on a session made with DisableInitialHostLookup (as behind
// NAT, Docker or Kubernetes), on the node and (in
// TestClusterScanDisableInitialHostLookup) on the cluster. The fork lists
// each node twice then, and a request pinned to the host ID without a pool
// ("host does not have a pool", an error this package cannot name) reached
// no node: it goes to the next replica, then where the driver's own
// routing sends it. Upstream, nothing is pinned.
func TestScanDisableInitialHostLookup(t *testing.T) {
	cqlseqtest.NeedCassandra(t)
	s := session(t)
	vs := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, vs)
	table := ks + ".t"
	cqlseqtest.Exec(t, vs, "CREATE TABLE "+table+" (p int, c int, v text, PRIMARY KEY (p, c))")
	if err := cqlseqtest.Seed(t.Context(), vs, "INSERT INTO "+table+" (p, c, v) VALUES (?, ?, ?)", 1500, 8,
		func(i int) []any { return []any{i / 3, i % 3, "v"} }); err != nil {
		t.Fatal(err)
	}
	scanDisableInitialHostLookup(t, cqlseqtest.Hosts(), table, selectAll(t, s, table))
}

// TestScanDisableInitialHostLookup on the cluster.
func TestClusterScanDisableInitialHostLookup(t *testing.T) {
	onCluster(t)
	s := clusterSession(t, false)
	table := scanTable(t, 2, 1500)
	scanDisableInitialHostLookup(t, cqlseqtest.ClusterHosts(), table, selectAll(t, s, table))
}

func scanDisableInitialHostLookup(t *testing.T, hosts []string, table string, want []scanRow) {
	c := newCluster(hosts...)
	c.DisableInitialHostLookup = true
	s, err := c.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []int{1, 8} {
		if diff := gocmp.Diff(want, scanAll(t, s, table, cqlseq.WithParallelism(p), cqlseq.WithFetchSize(50))); diff != "" {
			t.Fatalf("parallelism %d (-SELECT +Scan):\n%s", p, diff)
		}
	}
	t.Logf("%d rows at parallelism 1 and 8, as SELECT", len(want))
}
