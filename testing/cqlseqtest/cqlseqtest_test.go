package cqlseqtest_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(m))
}

// TestRoundTripPaging is the harness's own proof that the node works: write
// 10,000 rows concurrently, read them back with the plain v2 driver at page
// size 100, and get exactly those rows in exactly 100 pages.
func TestRoundTripPaging(t *testing.T) {
	const n, pageSize = 10_000, 100
	s := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, s)
	cqlseqtest.Exec(t, s, "CREATE TABLE "+ks+".rows (id int PRIMARY KEY, name text)")

	ctx := context.Background()
	err := cqlseqtest.Seed(ctx, s, "INSERT INTO "+ks+".rows (id, name) VALUES (?, ?)", n, 0,
		func(i int) []any { return []any{i, fmt.Sprint("row-", i)} })
	if err != nil {
		t.Fatal(err)
	}

	got := make(map[int]string, n)
	pages := 0
	var state []byte
	for {
		it := s.Query("SELECT id, name FROM " + ks + ".rows").PageSize(pageSize).PageState(state).Iter()
		var (
			id   int
			name string
		)
		rows := 0
		for it.Scan(&id, &name) {
			if _, dup := got[id]; dup {
				t.Fatalf("row %d read twice", id)
			}
			got[id] = name
			rows++
		}
		state = it.PageState()
		if err := it.Close(); err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		if rows > 0 {
			pages++
		}
		if len(state) == 0 {
			break
		}
	}
	want := make(map[int]string, n)
	for i := range n {
		want[i] = fmt.Sprint("row-", i)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("rows read back (-want +got):\n%s", diff)
	}
	if pages != n/pageSize {
		t.Fatalf("read %d rows in %d pages, want %d pages", len(got), pages, n/pageSize)
	}
	t.Logf("wrote %d rows to %s.rows, read all %d back in %d pages of %d through the v2 driver (hosts %v)",
		n, ks, len(got), pages, pageSize, cqlseqtest.Hosts())
}

func TestHostsFromEnvironment(t *testing.T) {
	t.Setenv(cqlseqtest.HostsEnv, " 10.0.0.1:9042, 10.0.0.2 ,")
	if diff := cmp.Diff([]string{"10.0.0.1:9042", "10.0.0.2"}, cqlseqtest.Hosts()); diff != "" {
		t.Errorf("Hosts() (-want +got):\n%s", diff)
	}
	t.Setenv(cqlseqtest.HostsEnv, "")
	t.Setenv(cqlseqtest.PortEnv, "19042")
	if diff := cmp.Diff([]string{"127.0.0.1:19042"}, cqlseqtest.Hosts()); diff != "" {
		t.Errorf("Hosts() (-want +got):\n%s", diff)
	}
}

// NeedCassandra skips a test under go test -short, unless CI is "true";
// otherwise it lets it run. Run in each tier, this test checks that tier's
// half.
func TestNeedCassandra(t *testing.T) {
	for _, ci := range []string{"", "false", "true"} {
		t.Setenv("CI", ci)
		var sub *testing.T
		t.Run("CI="+ci, func(t *testing.T) {
			sub = t
			cqlseqtest.NeedCassandra(t)
		})
		want := testing.Short() && ci != "true"
		if sub.Skipped() != want || cqlseqtest.Short() != want {
			t.Errorf("-short %v, CI=%q: NeedCassandra skipped %v, Short() %v; want %v", testing.Short(), ci, sub.Skipped(), cqlseqtest.Short(), want)
		}
	}
}

// A node-killing test may run on the local cluster, and on no other.
func TestLocalCluster(t *testing.T) {
	const script = "../cassandra/cassandra.sh"
	t.Setenv(cqlseqtest.ClusterHostsEnv, "")
	t.Setenv(cqlseqtest.HostsEnv, "")
	if ok, local, err := cqlseqtest.LocalCluster(script); err != nil || !ok {
		t.Fatalf("the default cluster hosts %v: local %v, %v; want the local cluster", cqlseqtest.ClusterHosts(), local, err)
	}
	for _, env := range []string{cqlseqtest.ClusterHostsEnv, cqlseqtest.HostsEnv} {
		t.Setenv(env, "10.9.8.7:9042,10.9.8.6:9042,10.9.8.5:9042")
		if ok, _, err := cqlseqtest.LocalCluster(script); err != nil || ok {
			t.Fatalf("%s set to other hosts: local %v, %v; want not local", env, ok, err)
		}
		t.Setenv(env, "")
	}
}

// KeyWithToken's keys have the token it was asked for, as the node
// computes it with token(), for tokens at the ring's ends, around zero and
// at random, and several keys per token.
func TestKeyWithToken(t *testing.T) {
	s := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, s)
	cqlseqtest.Exec(t, s, "CREATE TABLE "+ks+".k (k blob PRIMARY KEY)")
	tokens := []int64{math.MinInt64 + 1, math.MinInt64 + 2, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		tokens = append(tokens, int64(r.Uint64()))
	}
	// A statement that times out is sent again: what is checked is the
	// token of each key, not that a busy node answers in time (a write
	// timed out when a full run of CI shared the machine with another).
	retry := &gocql.SimpleRetryPolicy{NumRetries: 3}
	keys := map[string]bool{}
	for _, tok := range tokens {
		for n := range uint64(4) {
			k := cqlseqtest.KeyWithToken(tok, n)
			if keys[string(k)] {
				t.Fatalf("token %d, n %d: a key given before", tok, n)
			}
			keys[string(k)] = true
			var got int64
			if err := s.Query("INSERT INTO "+ks+".k (k) VALUES (?)", k).Idempotent(true).RetryPolicy(retry).Exec(); err != nil {
				t.Fatal(err)
			}
			if err := s.Query("SELECT token(k) FROM "+ks+".k WHERE k = ?", k).Idempotent(true).RetryPolicy(retry).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tok {
				t.Fatalf("KeyWithToken(%d, %d) = %x: the node gives it token %d", tok, n, k, got)
			}
		}
	}
	t.Logf("%d keys, each with the token asked for", len(keys))
}
