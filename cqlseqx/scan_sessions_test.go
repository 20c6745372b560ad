package cqlseqx_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gocql/gocql"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// cqlseqx.Scan works on a session made with DisableInitialHostLookup (as
// behind NAT, Docker or Kubernetes), on the node and (in
// TestClusterScanDisableInitialHostLookup) on the cluster: the
// fork lists each node twice there too, and a request pinned to the host
// ID without a pool ("host does not have a pool") goes where the driver's
// own routing sends it.
func TestScanDisableInitialHostLookup(t *testing.T) {
	cqlseqtest.NeedCassandra(t)
	scanDisableInitialHostLookup(t, cqlseqtest.Hosts())
}

// TestScanDisableInitialHostLookup on the cluster.
func TestClusterScanDisableInitialHostLookup(t *testing.T) {
	onCluster(t)
	scanDisableInitialHostLookup(t, cqlseqtest.ClusterHosts())
}

func scanDisableInitialHostLookup(t *testing.T, hosts []string) {
	admin := gocql.NewCluster(hosts...)
	admin.Consistency = gocql.Quorum
	admin.Timeout = 20 * time.Second
	as, err := gocqlx.WrapSession(admin.CreateSession())
	if err != nil {
		t.Fatalf("cannot reach %v: %v; start it with testing/cassandra/cassandra.sh", hosts, err)
	}
	defer as.Close()
	ks := fmt.Sprintf("xsessions_%d", time.Now().UnixNano())
	for _, stmt := range []string{
		"CREATE KEYSPACE " + ks + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': " + fmt.Sprint(min(2, len(hosts))) + "}",
		"CREATE TABLE " + ks + ".t (p int, c int, v text, PRIMARY KEY (p, c))",
	} {
		if err := as.ExecStmt(stmt); err != nil {
			t.Fatal(err)
		}
	}
	defer as.ExecStmt("DROP KEYSPACE IF EXISTS " + ks)
	table := ks + ".t"
	for i := 0; i < 1500; i += 100 {
		b := as.Session.Batch(gocql.UnloggedBatch)
		for k := i; k < i+100; k++ {
			b.Query("INSERT INTO "+table+" (p, c, v) VALUES (?, ?, ?)", k/3, k%3, "v")
		}
		if err := as.Session.ExecuteBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	var want []scanRow
	if err := as.Query("SELECT * FROM "+table, nil).Select(&want); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, compareScanRows)

	c := gocql.NewCluster(hosts...)
	c.Consistency = gocql.Quorum
	c.DisableInitialHostLookup = true
	s, err := gocqlx.WrapSession(c.CreateSession())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []int{1, 8} {
		var got []scanRow
		for r, err := range cqlseqx.Scan[scanRow](context.Background(), s, table, cqlseq.WithParallelism(p), cqlseq.WithFetchSize(50)) {
			if err != nil {
				t.Fatalf("parallelism %d: %v", p, err)
			}
			got = append(got, r)
		}
		slices.SortFunc(got, compareScanRows)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("parallelism %d (-gocqlx +cqlseqx):\n%s", p, diff)
		}
	}
	t.Logf("%d rows at parallelism 1 and 8, as gocqlx's Select; the session lists %d hosts", len(want), len(s.Session.GetHosts()))
}
