// Package cqlseqtest connects tests, benchmarks and examples to Cassandra:
// the hosts listed in CQLSEQ_HOSTS, or else the local node that
// testing/cassandra/cassandra.sh starts on 127.0.0.1. It creates isolated
// keyspaces and seeds tables quickly with concurrent writes.
//
// Tests come in two tiers. go test -short runs the unit tests only: every
// test that needs Cassandra skips at once (NeedCassandra, which Session and
// NeedLocalCluster call), before anything is dialled or started, and
// SkipExamplesIfShort leaves out the Examples that need it. Without -short,
// and always when the environment variable CI is "true", nothing skips: a
// test that cannot reach Cassandra fails with a message that says how to
// start the local node.
package cqlseqtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// HostsEnv names the environment variable that lists the hosts of a
// cluster to use instead of the local node: host or host:port, separated by
// commas.
const HostsEnv = "CQLSEQ_HOSTS"

// PortEnv names the environment variable with the native port of the local
// node (9042 by default); testing/cassandra/cassandra.sh reads it too.
const PortEnv = "CQLSEQ_CASSANDRA_PORT"

// ClusterHostsEnv names the environment variable that lists the hosts of
// the multi-node cluster that scans are tested on.
const ClusterHostsEnv = "CQLSEQ_CLUSTER_HOSTS"

// splitHosts returns the hosts listed in the environment variable env, or
// nil.
func splitHosts(env string) []string {
	var hosts []string
	for _, h := range strings.Split(os.Getenv(env), ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// ClusterHosts returns the hosts of a cluster of several nodes, for scans:
// those in CQLSEQ_CLUSTER_HOSTS, or else those in CQLSEQ_HOSTS, or else the
// local cluster that testing/cassandra/cassandra.sh cluster start runs on
// 127.0.0.2, 127.0.0.3 and 127.0.0.4.
func ClusterHosts() []string {
	if hosts := splitHosts(ClusterHostsEnv); hosts != nil {
		return hosts
	}
	if hosts := splitHosts(HostsEnv); hosts != nil {
		return hosts
	}
	return []string{"127.0.0.2:9042", "127.0.0.3:9042", "127.0.0.4:9042"}
}

// ConnectCluster opens a session to ClusterHosts that reads and writes at
// QUORUM, checking that every node answers.
func ConnectCluster(ctx context.Context) (*gocql.Session, error) {
	c := Cluster()
	c.Hosts = ClusterHosts()
	c.Consistency = gocql.Quorum
	s, err := c.CreateSession()
	if err != nil {
		return nil, fmt.Errorf("cqlseqtest: cannot reach the cluster at %s: %w; start the local one with: testing/cassandra/cassandra.sh cluster start (or set %s)",
			strings.Join(c.Hosts, ","), err, ClusterHostsEnv)
	}
	return s, nil
}

// LocalCluster reports whether ClusterHosts are the nodes of the local
// cluster, as script (testing/cassandra/cassandra.sh) lists them with
// "cluster hosts", and returns those nodes.
func LocalCluster(script string) (bool, []string, error) {
	out, err := exec.Command(script, "cluster", "hosts").Output()
	if err != nil {
		return false, nil, fmt.Errorf("cqlseqtest: %s cluster hosts: %w", script, err)
	}
	local := strings.Split(strings.TrimSpace(string(out)), ",")
	var hosts []string
	for _, h := range ClusterHosts() {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		hosts = append(hosts, h)
	}
	return slices.Equal(hosts, local), local, nil
}

// NeedLocalCluster ends tb unless ClusterHosts are the local cluster's
// nodes (see LocalCluster): a test that kills nodes must never kill those
// of a cluster named in CQLSEQ_CLUSTER_HOSTS or CQLSEQ_HOSTS. It skips tb,
// or fails it when the environment variable CI is "true": CI runs every
// test.
func NeedLocalCluster(tb testing.TB, script string) {
	tb.Helper()
	NeedCassandra(tb)
	ok, local, err := LocalCluster(script)
	if err != nil {
		tb.Fatal(err)
	}
	if ok {
		return
	}
	msg := fmt.Sprintf("cqlseqtest: this test kills nodes of the local cluster (%s) only, and the cluster to test is %s",
		strings.Join(local, ","), strings.Join(ClusterHosts(), ","))
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Hosts returns the hosts to connect to: those in CQLSEQ_HOSTS, or else the
// local node.
func Hosts() []string {
	if hosts := splitHosts(HostsEnv); hosts != nil {
		return hosts
	}
	port := os.Getenv(PortEnv)
	if port == "" {
		port = "9042"
	}
	return []string{net.JoinHostPort("127.0.0.1", port)}
}

// Cluster returns a cluster configuration for Hosts with settings that suit
// tests on one small node: protocol 5 and timeouts long enough for a busy
// machine, short enough that a stopped node fails a test instead of hanging it.
func Cluster() *gocql.ClusterConfig {
	c := gocql.NewCluster(Hosts()...)
	c.Timeout = 20 * time.Second
	c.ConnectTimeout = 10 * time.Second
	c.Consistency = gocql.One
	c.NumConns = 2
	// One local node: if the driver marks it down (a stall on a loaded
	// machine), try it again every second rather than every minute, and
	// keep trying for a while before giving up on a connection.
	c.ReconnectInterval = time.Second
	c.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 30, Interval: time.Second}
	return c
}

// Connect opens a session to Hosts, checking that the cluster answers.
func Connect(ctx context.Context) (*gocql.Session, error) {
	s, err := Cluster().CreateSession()
	if err != nil {
		return nil, unreachable(err)
	}
	var v string
	if err := s.Query("SELECT release_version FROM system.local").ScanContext(ctx, &v); err != nil {
		s.Close()
		return nil, unreachable(err)
	}
	return s, nil
}

func unreachable(err error) error {
	where := "the local node"
	hint := "start it with: testing/cassandra/cassandra.sh start (or set " + HostsEnv + ")"
	if os.Getenv(HostsEnv) != "" {
		where, hint = HostsEnv+"="+os.Getenv(HostsEnv), "check that those hosts are up"
	}
	return fmt.Errorf("cqlseqtest: cannot reach Cassandra at %s (%s): %w; %s",
		strings.Join(Hosts(), ","), where, err, hint)
}

var shared struct {
	sync.Mutex
	s *gocql.Session
}

// Session returns a session shared by the tests of this process, connecting
// on first use. Under go test -short, outside CI, it skips the test without
// connecting (see NeedCassandra); otherwise, if Cassandra cannot be reached,
// the test fails. Close it at the end of TestMain with Close, or use Main.
func Session(tb testing.TB) *gocql.Session {
	tb.Helper()
	NeedCassandra(tb)
	shared.Lock()
	defer shared.Unlock()
	if shared.s != nil && !shared.s.Closed() {
		return shared.s
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Connect(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	shared.s = s
	return s
}

// NeedCassandra marks tb as a test that needs Cassandra, the node of Hosts
// or the cluster of ClusterHosts. Under go test -short it skips tb, before
// anything is dialled, unless the environment variable CI is "true": CI
// runs every test. Otherwise it does nothing, and a test that cannot reach
// Cassandra fails with the reason. Session and NeedLocalCluster call it; a
// test that connects in another way calls it first.
func NeedCassandra(tb testing.TB) {
	tb.Helper()
	if Short() {
		tb.Skip("cqlseqtest: needs Cassandra; go test -short runs the unit tests only (run without -short, or with CI=true, to include it)")
	}
}

// Short reports whether the tests that need Cassandra are left out: under
// go test -short, unless the environment variable CI is "true". A TestMain
// that would start or connect to Cassandra for its tests does not under
// Short.
func Short() bool { return testing.Short() && os.Getenv("CI") != "true" }

// SkipExamplesIfShort, called from TestMain before the tests run, leaves
// the package's Examples out under go test -short, unless the environment
// variable CI is "true". A package whose Examples run on Cassandra calls
// it: an Example cannot skip itself as a test does (it has no testing.T),
// and one that cannot reach Cassandra fails on its output. It adds ^Example
// to -test.skip, or to the pattern given with -skip, unless that has a '/'
// (a pattern for subtests, which it leaves as it is, saying so). It parses
// the command line's flags if TestMain has not.
func SkipExamplesIfShort() {
	if !flag.Parsed() {
		flag.Parse()
	}
	f := flag.Lookup("test.skip")
	if !Short() || f == nil {
		return
	}
	skip := f.Value.String()
	switch {
	case skip == "":
		skip = "^Example"
	case strings.Contains(skip, "/"):
		fmt.Fprintf(os.Stderr, "cqlseqtest: -skip %q has a '/': the Examples, which need Cassandra, are not left out\n", skip)
		return
	default:
		skip += "|^Example"
	}
	if err := f.Value.Set(skip); err != nil {
		panic(err) // a flag of the testing package that takes any string
	}
	if testing.Verbose() {
		fmt.Println("cqlseqtest: go test -short leaves out the Examples, which need Cassandra")
	}
}

// Close closes the shared session, if one was opened.
func Close() {
	shared.Lock()
	defer shared.Unlock()
	if shared.s != nil {
		shared.s.Close()
		shared.s = nil
	}
}

// M is what testing.M and goleak.VerifyTestMain have in common.
type M interface{ Run() int }

type closing struct{ m M }

func (c closing) Run() int {
	defer Close()
	return c.m.Run()
}

// Main wraps m so that the shared session is closed when the tests are done:
// goleak.VerifyTestMain(cqlseqtest.Main(m)) then sees no driver goroutines.
func Main(m M) M { return closing{m} }

// Keyspace creates a keyspace with a random name for one test and drops it
// when the test ends. Qualify table names with it: ks + ".users".
func Keyspace(tb testing.TB, s *gocql.Session) string {
	tb.Helper()
	ks, err := CreateKeyspace(context.Background(), s, "t")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := DropKeyspace(context.Background(), s, ks); err != nil {
			tb.Errorf("cqlseqtest: %v", err)
		}
	})
	return ks
}

// CreateKeyspace creates a keyspace named prefix plus a random suffix, with
// replication factor 1, and returns its name.
func CreateKeyspace(ctx context.Context, s *gocql.Session, prefix string) (string, error) {
	var b [6]byte
	rand.Read(b[:])
	ks := prefix + "_" + hex.EncodeToString(b[:])
	return ks, CreateNamedKeyspace(ctx, s, ks)
}

// CreateNamedKeyspace creates keyspace ks if it does not exist, with
// replication factor 1.
func CreateNamedKeyspace(ctx context.Context, s *gocql.Session, ks string) error {
	err := s.Query("CREATE KEYSPACE IF NOT EXISTS " + ks +
		" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("cqlseqtest: creating keyspace %s: %w", ks, err)
	}
	return nil
}

// DropKeyspace drops keyspace ks.
func DropKeyspace(ctx context.Context, s *gocql.Session, ks string) error {
	if err := s.Query("DROP KEYSPACE IF EXISTS " + ks).ExecContext(ctx); err != nil {
		return fmt.Errorf("dropping keyspace %s: %w", ks, err)
	}
	return nil
}

// Exec runs each statement in order and fails the test at the first error.
func Exec(tb testing.TB, s *gocql.Session, stmts ...string) {
	tb.Helper()
	for _, st := range stmts {
		if err := s.Query(st).Exec(); err != nil {
			tb.Fatalf("cqlseqtest: %s: %v", st, err)
		}
	}
}

// Seed writes n rows with insert, a statement with markers, taking the
// values of row i from values(i). It runs workers writers at once (16 if
// workers <= 0) and returns the first error, after which it stops writing.
func Seed(ctx context.Context, s *gocql.Session, insert string, n int, workers int, values func(i int) []any) error {
	if workers <= 0 {
		workers = 16
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := s.Query(insert).Idempotent(true)
			for i := range next {
				if err := q.Bind(values(i)...).ExecContext(ctx); err != nil {
					cancel(fmt.Errorf("cqlseqtest: seeding row %d: %w", i, err))
					return
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
