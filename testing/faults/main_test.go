package faults_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// The node of this package: its own state directory and ports, so that
// killing, freezing and restarting it never touches the node on 9042 that
// the other packages' tests share.
const (
	nodePort    = 19142
	storagePort = 17100
	nodeHeap    = "768m"

	keyspace    = "cqlseq_faults"
	table       = keyspace + ".rows"
	selectAll   = "SELECT id, name, score FROM " + table
	fixtureRows = 10_000
)

// Row is a row of the fixture table.
type Row struct {
	ID    int
	Name  string
	Score int64
}

func wantRow(i int) Row { return Row{ID: i, Name: fmt.Sprint("name-", i), Score: int64(i) * 10} }

var theNode = newNode()

func TestMain(m *testing.M) {
	// The driver handles a node-up event (a restarted node) by sleeping
	// 10 s before it connects, whether or not its session has been closed
	// since (events.go, Session.handleNodeUp): not a goroutine of cqlseq.
	goleak.VerifyTestMain(withNode{m}, goleak.IgnoreAnyFunction("github.com/apache/cassandra-gocql-driver/v2.(*Session).handleNodeUp"))
}

// withNode stops the package's node after the tests, if one of them
// started it (need), inside goleak.VerifyTestMain's Run, so that CI leaves
// nothing running. The node is started by the first test that needs it: a
// run of the cluster tests only (go test -run '^TestCluster', as
// testing/test.sh runs them beside the others) starts none.
type withNode struct{ m *testing.M }

func (w withNode) Run() int {
	flag.Parse()
	// A test binary that times out panics without running deferred calls:
	// stop the node (and thaw it, if frozen) shortly before that happens.
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 {
			watchdog := time.AfterFunc(max(d-30*time.Second, d*3/4), func() {
				if !theNode.used() {
					return
				}
				fmt.Fprintln(os.Stderr, "faults: the tests are about to time out; stopping the node")
				out, _ := theNode.run(context.Background(), "stop")
				fmt.Fprint(os.Stderr, out)
			})
			defer watchdog.Stop()
		}
	}
	code := w.m.Run()
	if !theNode.used() {
		return code
	}
	t1 := time.Now()
	out, err := theNode.run(context.Background(), "stop")
	fmt.Printf("faults: stopping the node took %v\n%s", time.Since(t1).Round(time.Millisecond), out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: cassandra.sh stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// node drives testing/cassandra/cassandra.sh for the package's own node.
type node struct {
	script   string
	env      []string
	first    sync.Once // the first start, by the first test that needs the node
	startErr error     // its error
	started  atomic.Bool
}

// used reports whether a test has started the node.
func (n *node) used() bool { return n.started.Load() }

func newNode() *node {
	script, err := filepath.Abs(filepath.Join("..", "cassandra", "cassandra.sh"))
	if err != nil {
		script = filepath.Join("..", "cassandra", "cassandra.sh")
	}
	dir := os.Getenv("CQLSEQ_FAULTS_CASSANDRA_DIR")
	if dir == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(cache, "cqlseq", "cassandra-faults")
	}
	return &node{script: script, env: []string{
		"CQLSEQ_CASSANDRA_DIR=" + dir,
		"CQLSEQ_CASSANDRA_PORT=" + strconv.Itoa(nodePort),
		"CQLSEQ_CASSANDRA_STORAGE_PORT=" + strconv.Itoa(storagePort),
		"CQLSEQ_CASSANDRA_JMX_PORT=0",
		"CQLSEQ_CASSANDRA_HEAP=" + nodeHeap,
	}}
}

// run runs cassandra.sh with args and returns its combined output. The
// script returns as soon as it is done: the JVM holds none of its pipes.
func (n *node) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, n.script, args...)
	// Later entries win: a CQLSEQ_CASSANDRA_* of the shared node in the
	// environment never reaches this node's script.
	cmd.Env = append(os.Environ(), n.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (n *node) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(nodePort)) }

// pid returns the node's JVM pid.
func (n *node) pid(t *testing.T) int {
	t.Helper()
	out, err := n.run(context.Background(), "pid")
	if err != nil {
		t.Fatalf("cassandra.sh pid: %v\n%s", err, out)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("cassandra.sh pid printed %q", out)
	}
	return pid
}

// need returns the package's node, up and answering: a test that left it
// stopped or frozen does not take the next tests down with it. It fails the
// test when the node cannot be started; it skips it only under go test
// -short, outside CI (cqlseqtest.NeedCassandra).
func need(t *testing.T) *node {
	t.Helper()
	cqlseqtest.NeedCassandra(t)
	if strings.HasPrefix(t.Name(), "TestCluster") {
		t.Fatalf("%s uses the package's own node: a TestCluster* test runs beside the others (testing/test.sh), which stop and freeze it", t.Name())
	}
	theNode.first.Do(func() {
		theNode.started.Store(true)
		t0 := time.Now()
		out, err := theNode.run(context.Background(), "start")
		if err != nil {
			theNode.startErr = fmt.Errorf("testing/cassandra/cassandra.sh start (%s) failed after %v: %w\n%s",
				strings.Join(theNode.env, " "), time.Since(t0).Round(time.Millisecond), err, out)
			return
		}
		t.Logf("faults: own Cassandra node on 127.0.0.1:%d ready in %v\n%s", nodePort, time.Since(t0).Round(time.Millisecond), out)
	})
	if theNode.startErr != nil {
		t.Fatalf("the fault tests' own Cassandra node did not start: %v", theNode.startErr)
	}
	out, err := theNode.run(context.Background(), "start")
	if err != nil {
		t.Fatalf("cassandra.sh start: %v\n%s", err, out)
	}
	return theNode
}

// cluster returns a configuration for hosts with short timeouts, so that a
// frozen node fails a request in seconds, and quick reconnection, so that a
// restarted node is found again within a second of answering.
func cluster(hosts ...string) *gocql.ClusterConfig {
	c := gocql.NewCluster(hosts...)
	c.Timeout = 5 * time.Second
	c.ConnectTimeout = 5 * time.Second
	c.Consistency = gocql.One
	c.NumConns = 1
	c.ReconnectInterval = time.Second
	c.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 3, Interval: 250 * time.Millisecond}
	return c
}

// connect opens a session with cfg, closed when the test ends.
func connect(t *testing.T, cfg *gocql.ClusterConfig) *gocql.Session {
	t.Helper()
	s, err := cfg.CreateSession()
	if err != nil {
		t.Fatalf("connecting to %v: %v", cfg.Hosts, err)
	}
	t.Cleanup(s.Close)
	return s
}

var fx struct {
	once sync.Once
	rows []Row // in the order Cassandra returns them
	err  error
}

// fixture returns the rows of the fixture table in the order a full scan
// returns them, creating and seeding the table the first time (the node's
// data outlives its runs, so later runs only check it).
func fixture(t *testing.T) []Row {
	t.Helper()
	fx.once.Do(func() { fx.rows, fx.err = seed() })
	if fx.err != nil {
		t.Fatalf("fixture: %v", fx.err)
	}
	return fx.rows
}

func seed() ([]Row, error) {
	ctx := context.Background()
	s, err := cluster(theNode.addr()).CreateSession()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := cqlseqtest.CreateNamedKeyspace(ctx, s, keyspace); err != nil {
		return nil, err
	}
	if err := s.Query("CREATE TABLE IF NOT EXISTS " + table + " (id int PRIMARY KEY, name text, score bigint)").ExecContext(ctx); err != nil {
		return nil, err
	}
	rows, err := scanAll(ctx, s)
	if err == nil && isFixture(rows) {
		return rows, nil
	}
	if err := s.Query("TRUNCATE " + table).ExecContext(ctx); err != nil {
		return nil, err
	}
	err = cqlseqtest.Seed(ctx, s, "INSERT INTO "+table+" (id, name, score) VALUES (?, ?, ?)", fixtureRows, 0,
		func(i int) []any { r := wantRow(i); return []any{r.ID, r.Name, r.Score} })
	if err != nil {
		return nil, err
	}
	if rows, err = scanAll(ctx, s); err != nil {
		return nil, err
	}
	if !isFixture(rows) {
		return nil, fmt.Errorf("after seeding, %s holds %d rows that are not the fixture", table, len(rows))
	}
	return rows, nil
}

// scanAll reads the table with the plain driver: the reference each test
// compares the stream with.
func scanAll(ctx context.Context, s *gocql.Session) ([]Row, error) {
	var rows []Row
	it := s.Query(selectAll).PageSize(5000).IterContext(ctx)
	var r Row
	for it.Scan(&r.ID, &r.Name, &r.Score) {
		rows = append(rows, r)
	}
	return rows, it.Close()
}

func isFixture(rows []Row) bool {
	if len(rows) != fixtureRows {
		return false
	}
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b Row) int { return a.ID - b.ID })
	for i, r := range sorted {
		if r != wantRow(i) {
			return false
		}
	}
	return true
}

// exactlyOnce checks that got is want, row for row in the same order: no row
// lost, none repeated. It logs the counts for the record.
func exactlyOnce(t *testing.T, fault string, want, got []Row) {
	t.Helper()
	seen := make(map[int]int, len(got))
	dups := 0
	for _, r := range got {
		if seen[r.ID]++; seen[r.ID] == 2 {
			dups++
		}
	}
	missing := 0
	for _, r := range want {
		if seen[r.ID] == 0 {
			missing++
		}
	}
	t.Logf("%s: rows expected %d vs received %d (distinct %d, duplicated %d, missing %d)",
		fault, len(want), len(got), len(seen), dups, missing)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s: rows (-want +got):\n%s", fault, diff)
	}
}

// leakCheck registers, as the test's first cleanup and so its last to run,
// a check that every goroutine started since the call has ended: the
// stream's and, once the test's sessions and proxies are closed, the
// driver's. Driver goroutines wind down asynchronously after Close (a
// reconnection may be sleeping), so it waits up to 15 s for them.
func leakCheck(t *testing.T) {
	t.Helper()
	base := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		t.Helper()
		t0 := time.Now()
		if err := waitNoLeaks(15*time.Second, base); err != nil {
			t.Errorf("goroutines left after the test: %v", err)
		}
		t.Logf("leak check: %v", time.Since(t0))
	})
}

func waitNoLeaks(wait time.Duration, opts ...goleak.Option) error {
	deadline := time.Now().Add(wait)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// streamGoroutines returns the stacks of goroutines running cqlseq's code.
func streamGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/cqlseq/cqlseq.") {
			found = append(found, g)
		}
	}
	return found
}

// attempts records the page requests of the fixture query that reached a
// connection (the driver's observer sees no request that found none) and
// the errors they ended with.
type attempts struct {
	mu   sync.Mutex
	n    int
	errs map[string]int
}

func (a *attempts) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	if !strings.HasPrefix(q.Statement, selectAll) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	if q.Err != nil {
		if a.errs == nil {
			a.errs = map[string]int{}
		}
		a.errs[q.Err.Error()]++
	}
}

func (a *attempts) failures() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, k := range a.errs {
		n += k
	}
	return n
}

// total returns how many requests were sent on a connection.
func (a *attempts) total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// count returns how many requests failed with an error whose text holds s.
func (a *attempts) count(s string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for e, k := range a.errs {
		if strings.Contains(e, s) {
			n += k
		}
	}
	return n
}

func (a *attempts) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Sprintf("%d requests sent on a connection, failures %v", a.n, a.errs)
}

// retryable reports whether err unwraps to one of the driver's errors for a
// request that may pass if sent again.
func retryable(err error) bool {
	var re gocql.RequestError
	var ne net.Error
	return errors.As(err, &re) || errors.Is(err, gocql.ErrNoConnections) || errors.Is(err, gocql.ErrConnectionClosed) ||
		errors.Is(err, gocql.ErrTimeoutNoResponse) ||
		errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// infos collects what WithPageCallback reports.
type infos struct {
	mu    sync.Mutex
	pages []cqlseq.PageInfo
}

func (p *infos) add(i cqlseq.PageInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages = append(p.pages, i)
}

// retried returns the pages that needed retries, and the total.
func (p *infos) retried() (map[int]int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, total := map[int]int{}, 0
	for _, i := range p.pages {
		if i.Retries > 0 {
			m[i.Number] = i.Retries
			total += i.Retries
		}
	}
	return m, total
}

// driverLog keeps the driver's log messages (info and above) with their
// times, for settle.
type driverLog struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	at  time.Time
	msg string
}

func (l *driverLog) add(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, logLine{time.Now(), msg})
}

func (l *driverLog) Error(msg string, _ ...gocql.LogField)   { l.add(msg) }
func (l *driverLog) Warning(msg string, _ ...gocql.LogField) { l.add(msg) }
func (l *driverLog) Info(msg string, _ ...gocql.LogField)    { l.add(msg) }
func (l *driverLog) Debug(string, ...gocql.LogField)         {}

func (l *driverLog) since(msg string, t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		if ln.msg == msg && !ln.at.Before(t) {
			return true
		}
	}
	return false
}

// settle waits, before a session that lived through a fault is closed,
// until the driver's control connection has connected again since the
// fault. It works around a deadlock in the driver (v2.1.2): Session.Close
// stops the schema refresher, then waits for the control connection's
// heartbeat goroutine; if that goroutine reconnects in between, its
// setupConn waits forever for a schema refresh that no one will run, and
// Close waits forever for it. Once the reconnection is logged, its refresh
// request follows at once, and Close can no longer meet it half-way.
func settle(t *testing.T, log *driverLog, fault time.Time) {
	t.Helper()
	const connected = "Control connection connected to host."
	deadline := time.Now().Add(time.Minute)
	for !log.since(connected, fault) {
		if time.Now().After(deadline) {
			t.Errorf("the driver's control connection did not reconnect within a minute of the fault")
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
}
