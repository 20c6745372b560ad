package faults_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// Scans on the local cluster (testing/cassandra/cassandra.sh cluster) with
// one of its nodes killed mid-scan. They kill and restart the cluster's
// nodes, so they run here, after every other package's tests, and only on
// the local cluster (see cqlseqtest.NeedLocalCluster).

// onCluster ends t unless it may kill nodes of the local cluster (see
// cqlseqtest.NeedLocalCluster), and fails it unless it is named
// TestCluster*: testing/test.sh runs those tests in a process of their
// own, beside the others, which must not meet a node of the cluster down.
func onCluster(t *testing.T) {
	t.Helper()
	if !strings.HasPrefix(t.Name(), "TestCluster") {
		t.Fatalf("%s uses the local cluster: name it TestCluster*, for testing/test.sh", t.Name())
	}
	cqlseqtest.NeedLocalCluster(t, theNode.script)
}

// clusterNode runs cassandra.sh cluster with args.
func clusterNode(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(theNode.script, append([]string{"cluster"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("cassandra.sh cluster %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// localCluster connects to the local cluster with short timeouts, or fails.
// An observer, if given, sees every request.
func localCluster(t *testing.T, consistency gocql.Consistency, observer ...gocql.QueryObserver) *gocql.Session {
	t.Helper()
	onCluster(t)
	c := cluster(cqlseqtest.ClusterHosts()...)
	c.Consistency = consistency
	if len(observer) > 0 {
		c.QueryObserver = observer[0]
	}
	s := connect(t, c)
	if n := len(s.GetHosts()); n != 3 {
		t.Fatalf("the local cluster has %d nodes, want 3", n)
	}
	return s
}

type kv struct {
	K int
	V string
}

// clusterTable creates a table of n rows in a new keyspace with
// replication rf and returns its name.
func clusterTable(t *testing.T, s *gocql.Session, rf, n int) string {
	t.Helper()
	ks := fmt.Sprintf("faults_%d", time.Now().UnixNano())
	cqlseqtest.Exec(t, s,
		fmt.Sprintf("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}", ks, rf),
		"CREATE TABLE "+ks+".t (k int PRIMARY KEY, v text)")
	t.Cleanup(func() { s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec() })
	if err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+ks+".t (k, v) VALUES (?, ?)", n, 8,
		func(i int) []any { return []any{i, fmt.Sprint("v", i)} }); err != nil {
		t.Fatal(err)
	}
	// Into sstables: the nodes run with cassandra.skip_sync, so a node
	// killed with SIGKILL could lose writes its commit log held, and these
	// tests are about the scan, not about that. The three at once: each
	// nodetool is a JVM that takes seconds to start.
	flushAll(t, ks)
	return ks + ".t"
}

// flushAll flushes keyspace ks on the three nodes, at once.
func flushAll(t *testing.T, ks string) {
	t.Helper()
	errs := make(chan error, 3)
	for _, i := range []string{"1", "2", "3"} {
		go func() {
			out, err := runCluster("nodetool", i, "flush", ks)
			if err != nil {
				err = fmt.Errorf("cassandra.sh cluster nodetool %s flush %s: %w\n%s", i, ks, err, out)
			}
			errs <- err
		}()
	}
	var failed []error
	for range 3 {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		t.Fatal(errors.Join(failed...))
	}
}

// onceEach checks that got holds keys 0..n-1 once each.
func onceEach(t *testing.T, what string, got []kv, n int) {
	t.Helper()
	seen := make(map[int]int, n)
	dups := 0
	for _, r := range got {
		if seen[r.K]++; seen[r.K] == 2 {
			dups++
		}
	}
	missing := 0
	for k := range n {
		if seen[k] == 0 {
			missing++
		}
	}
	t.Logf("%s: rows expected %d vs received %d (duplicated %d, missing %d)", what, n, len(got), dups, missing)
	if dups > 0 || missing > 0 || len(got) != n {
		t.Fatalf("%s: not every row exactly once", what)
	}
}

// restartNode starts node i again when the test ends, and waits until it
// answers.
func restartNode(t *testing.T, i string) {
	t.Cleanup(func() { clusterNode(t, "start-node", i) })
}

// hostID returns the host ID of the node at addr.
func hostID(t *testing.T, s *gocql.Session, addr string) string {
	t.Helper()
	for _, h := range s.GetHosts() {
		if h.ConnectAddress().String() == addr {
			return h.HostID()
		}
	}
	t.Fatalf("no node at %s", addr)
	return ""
}

// rangeAttempts records every request of a scan's ranges: the range's end
// token, the host, the error and when it ended.
type rangeAttempts struct {
	sync.Mutex
	log []attempt
}

type attempt struct {
	end  int64
	host string
	err  error
	at   time.Time
}

func (a *rangeAttempts) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	if !strings.Contains(q.Statement, "token(") || len(q.Values) < 2 || q.Host == nil {
		return
	}
	end, ok := q.Values[1].(int64)
	if !ok {
		return
	}
	a.Lock()
	defer a.Unlock()
	a.log = append(a.log, attempt{end: end, host: q.Host.HostID(), err: q.Err, at: q.End})
}

// With replication factor 1 a killed node's ranges cannot be read: the
// scan ends with a RangeError that names the range and its replica. Once
// the node is back, the scan resumed from the last page's checkpoint reads
// exactly the rows not yet read.
func TestClusterScanRF1NodeDownThenResume(t *testing.T) {
	s := localCluster(t, gocql.One)
	const n = 20_000
	table := clusterTable(t, s, 1, n)
	restartNode(t, "2")
	down := hostID(t, s, "127.0.0.3")
	var got []kv
	cursor, pages := "", 0
	var failed error
	opts := []cqlseq.ScanOption{cqlseq.WithParallelism(3), cqlseq.WithFetchSize(100), cqlseq.WithRetry(cqlseq.Retry{Attempts: 2, MinBackoff: 100 * time.Millisecond})}
	for p, err := range cqlseq.ScanPages[kv](context.Background(), s, table, opts...) {
		if err != nil {
			failed = err
			break
		}
		got = append(got, p.Rows...)
		cursor = p.Cursor
		if pages++; pages == 20 {
			t.Log(strings.TrimSpace(clusterNode(t, "kill", "2")))
		}
	}
	var re *cqlseq.RangeError
	if !errors.As(failed, &re) || !slices.Contains(re.Replicas, down) || re.End <= re.Start {
		t.Fatalf("after %d pages: %v; want a RangeError naming node 2 (%s)", pages, failed, down)
	}
	t.Logf("after %d pages and %d rows: %v", pages, len(got), failed)
	t.Log(strings.TrimSpace(clusterNode(t, "start-node", "2")))
	// The driver finds the node again within a few seconds of its answering.
	var rest []kv
	for attempt := 0; ; attempt++ {
		rest = rest[:0]
		var err error
		for r, e := range cqlseq.Scan[kv](context.Background(), s, table, append(opts, cqlseq.WithCursor(cursor))...) {
			if e != nil {
				err = e
				break
			}
			rest = append(rest, r)
		}
		if err == nil {
			break
		}
		if attempt == 10 {
			t.Fatalf("resuming after node 2 came back: %v", err)
		}
		time.Sleep(2 * time.Second)
	}
	if len(got)+len(rest) != n {
		// A node killed with SIGKILL loses the writes its commit log had
		// not synced: count what the table holds now.
		var held int
		if err := s.Query("SELECT count(*) FROM " + table).Scan(&held); err == nil {
			t.Logf("the table holds %d rows after the node came back", held)
		}
	}
	onceEach(t, "RF 1, node down, resumed from the checkpoint", append(got, rest...), n)
}
