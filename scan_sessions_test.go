package cqlseq

import (
	"context"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// Every session that can Stream a table can Scan it, however the user set
// it up: behind NAT, Docker or Kubernetes a session is made with
// DisableInitialHostLookup, and then the driver lists each node twice, the
// entry with the node's host ID and tokens without a connection pool. A
// scan's requests pinned to that host ID cannot be sent; they go where the
// driver's own routing sends them. On the node (and, in
// TestClusterScanOnUsersSessions, on the cluster), with other settings
// users make beside it.
func TestScanOnUsersSessions(t *testing.T) {
	table, want := scanFixture(t, cqlseqtest.Session(t), 300)
	for _, st := range usersSetups {
		t.Run(st.name, func(t *testing.T) {
			c := cqlseqtest.Cluster()
			st.set(c)
			s, err := c.CreateSession()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkUsersSession(t, s, table, want)
		})
	}
}

// TestScanOnUsersSessions on the cluster.
func TestClusterScanOnUsersSessions(t *testing.T) {
	admin := clusterSession(t, nil)
	table := clusterTable(t, admin, "sessions", "p int, c int, v text, PRIMARY KEY (p, c)")
	if err := cqlseqtest.Seed(context.Background(), admin, "INSERT INTO "+table+" (p, c, v) VALUES (?, ?, ?)", 3000, 8,
		func(i int) []any { return []any{i / 3, i % 3, "v"} }); err != nil {
		t.Fatal(err)
	}
	want := selectScanRows(t, admin, table)
	for _, st := range usersSetups {
		t.Run(st.name, func(t *testing.T) {
			c := cqlseqtest.Cluster()
			c.Hosts = cqlseqtest.ClusterHosts()
			c.Consistency = gocql.Quorum
			st.set(c)
			s, err := c.CreateSession()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkUsersSession(t, s, table, want)
		})
	}
}

// usersSetups are the settings of users' sessions a scan is tried on.
var usersSetups = []struct {
	name string
	set  func(c *gocql.ClusterConfig)
}{
	{"DisableInitialHostLookup", func(c *gocql.ClusterConfig) { c.DisableInitialHostLookup = true }},
	{"DisableInitialHostLookup, token-aware policy, page size 7", func(c *gocql.ClusterConfig) {
		c.DisableInitialHostLookup = true
		c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
		c.PageSize = 7
	}},
	{"the driver's defaults", func(*gocql.ClusterConfig) {}},
}

// checkUsersSession checks that on s, Scan at parallelism 1 and 8, and
// Stream, read want from table.
func checkUsersSession(t *testing.T, s *gocql.Session, table string, want []scanRow) {
	t.Helper()
	for _, p := range []int{1, 8} {
		got := scanAll(t, Scan[scanRow](context.Background(), s, table, WithParallelism(p), WithFetchSize(50)), compareScanRows)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("parallelism %d: Scan differs from SELECT (-want +got):\n%s", p, diff)
		}
		var n int
		for _, err := range Stream[scanRow](context.Background(), s, CQL("SELECT p, c, v FROM "+table)) {
			if err != nil {
				t.Fatalf("Stream on the same session: %v", err)
			}
			n++
		}
		if n != len(want) {
			t.Fatalf("Stream read %d rows, want %d", n, len(want))
		}
	}
	t.Logf("%d rows at parallelism 1 and 8, as a SELECT; the session lists %d hosts", len(want), len(s.GetHosts()))
}
