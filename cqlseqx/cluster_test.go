package cqlseqx_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// onCluster fails t unless it is named TestCluster*, as every test on the
// multi-node cluster is: testing/test.sh runs those in a process of their
// own, one module after another, beside the other tests, which must not
// meet a node of the cluster down. Under go test -short it skips t.
func onCluster(t *testing.T) {
	t.Helper()
	cqlseqtest.NeedCassandra(t)
	if !strings.HasPrefix(t.Name(), "TestCluster") {
		t.Fatalf("%s uses the multi-node cluster: name it TestCluster*, for testing/test.sh", t.Name())
	}
}

// On the local 3-node cluster, with replication factor 3, a node killed
// (SIGKILL) in the middle of a cqlseqx scan costs nothing: the gocql fork's
// own errors for a request to a down host send it to the next replica.
// The test kills and restarts a node of the local cluster, so it runs only
// on that cluster (see cqlseqtest.NeedLocalCluster).
func TestClusterScanNodeKilled(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("..", "testing", "cassandra", "cassandra.sh"))
	if err != nil {
		t.Fatal(err)
	}
	onCluster(t)
	cqlseqtest.NeedLocalCluster(t, script)
	node := func(args ...string) string {
		out, err := exec.Command(script, append([]string{"cluster"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("cassandra.sh cluster %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	c := gocql.NewCluster(cqlseqtest.ClusterHosts()...)
	c.Timeout, c.ConnectTimeout = 5*time.Second, 5*time.Second
	c.Consistency = gocql.Quorum
	s, err := gocqlx.WrapSession(c.CreateSession())
	if err != nil {
		t.Fatalf("cannot reach the local cluster: %v; start it with testing/cassandra/cassandra.sh cluster start", err)
	}
	defer s.Close()
	ks := fmt.Sprintf("xfaults_%d", time.Now().UnixNano())
	for _, stmt := range []string{
		"CREATE KEYSPACE " + ks + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
		"CREATE TABLE " + ks + ".t (k int PRIMARY KEY, v text)",
	} {
		if err := s.ExecStmt(stmt); err != nil {
			t.Fatal(err)
		}
	}
	defer s.ExecStmt("DROP KEYSPACE IF EXISTS " + ks)
	const n = 20_000
	for i := 0; i < n; i += 500 {
		b := s.Session.Batch(gocql.UnloggedBatch)
		for k := i; k < i+500; k++ {
			b.Query("INSERT INTO "+ks+".t (k, v) VALUES (?, ?)", k, fmt.Sprint("v", k))
		}
		if err := s.Session.ExecuteBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	// The three at once: each nodetool is a JVM that takes seconds to start.
	flushed := make(chan error, 3)
	for _, i := range []string{"1", "2", "3"} {
		go func() {
			out, err := exec.Command(script, "cluster", "nodetool", i, "flush", ks).CombinedOutput()
			if err != nil {
				err = fmt.Errorf("cassandra.sh cluster nodetool %s flush: %w\n%s", i, err, out)
			}
			flushed <- err
		}()
	}
	for range 3 {
		if err := <-flushed; err != nil {
			t.Fatal(err)
		}
	}
	defer node("start-node", "2")
	type kv struct {
		K int
		V string
	}
	seen := make(map[int]int, n)
	pages := 0
	for p, err := range cqlseqx.ScanPages[kv](context.Background(), s, ks+".t", cqlseq.WithParallelism(6), cqlseq.WithFetchSize(100),
		cqlseq.WithRetry(cqlseq.Retry{Attempts: 20, MinBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second})) {
		if err != nil {
			t.Fatalf("after %d pages: %v", pages, err)
		}
		for _, r := range p.Rows {
			seen[r.K]++
		}
		if pages++; pages == 30 {
			t.Log(node("kill", "2"))
		}
	}
	dups, missing := 0, 0
	for k := range n {
		switch seen[k] {
		case 0:
			missing++
		case 1:
		default:
			dups++
		}
	}
	t.Logf("RF 3, node killed mid-scan: rows expected %d vs received %d distinct (duplicated %d, missing %d), %d pages", n, len(seen), dups, missing, pages)
	if dups > 0 || missing > 0 || len(seen) != n {
		t.Fatal("not every row exactly once")
	}
}
