package faults_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
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

// Scans on the local cluster whose nodes are killed and restarted under
// them, at the scan's default options, on sessions made with the driver's
// defaults (not the short timeouts of this package's other sessions): what
// a user's whole-table job meets when a node dies.

var (
	chaosScans = flag.Int("chaos.scans", 1, "TestClusterScanChaos: how many scans, each with its own stops, resumes and node kills")
	chaosKills = flag.Int("chaos.kills", 2, "TestClusterScanChaos: node kills (each followed by a restart) per scan")
	chaosSeed  = flag.Uint64("chaos.seed", 0, "TestClusterScanChaos: the seed (0: a new one, logged)")
)

// usersSession connects to the local cluster as a user would: the driver's
// defaults, QUORUM, and obs seeing every request.
func usersSession(t *testing.T, obs gocql.QueryObserver) *gocql.Session {
	t.Helper()
	onCluster(t)
	c := gocql.NewCluster(cqlseqtest.ClusterHosts()...)
	c.Consistency = gocql.Quorum
	c.QueryObserver = obs
	s := connect(t, c)
	if n := len(s.GetHosts()); n != 3 {
		t.Fatalf("the local cluster has %d nodes, want 3", n)
	}
	return s
}

// nodeEvents kills and restarts cluster nodes while a scan runs, one at a
// time, and logs when.
type nodeEvents struct {
	t     *testing.T
	start time.Time
	wg    sync.WaitGroup
	mu    sync.Mutex
	log   []string
	down  string // the node killed and not yet restarted
}

func newNodeEvents(t *testing.T) *nodeEvents {
	e := &nodeEvents{t: t, start: time.Now()}
	// Whatever happens, every node is up again for the tests after this one.
	t.Cleanup(func() {
		e.wg.Wait()
		for _, i := range []string{"1", "2", "3"} {
			clusterNode(t, "start-node", i)
		}
	})
	return e
}

func (e *nodeEvents) note(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	msg := fmt.Sprintf("+%5.1fs ", time.Since(e.start).Seconds()) + fmt.Sprintf(format, args...)
	e.log = append(e.log, msg)
	e.t.Log(msg)
}

// kill kills node i (SIGKILL), after the restart of the previous one.
func (e *nodeEvents) kill(i string) {
	e.wg.Wait()
	clusterNode(e.t, "kill", i)
	e.down = i
	e.note("node %s killed", i)
}

// runCluster runs cassandra.sh cluster with args, from any goroutine.
func runCluster(args ...string) (string, error) {
	out, err := exec.Command(theNode.script, append([]string{"cluster"}, args...)...).CombinedOutput()
	return string(out), err
}

// restart starts the killed node again in the background.
func (e *nodeEvents) restart() {
	i := e.down
	if i == "" {
		return
	}
	e.down = ""
	e.wg.Add(1)
	e.note("node %s restarting", i)
	go func() {
		defer e.wg.Done()
		out, err := runCluster("start-node", i)
		if err != nil {
			e.note("node %s did not start: %v\n%s", i, err, out)
			return
		}
		e.note("node %s answers CQL again", i)
	}()
}

// rangeLog tells, for each range that had a failed request, its requests:
// when (from the first kill), at which node, and the outcome.
func rangeLog(t *testing.T, obs *rangeAttempts, nodes map[string]string, since time.Time, max int) (failedOver int) {
	obs.Lock()
	defer obs.Unlock()
	byRange := map[int64][]attempt{}
	var ends []int64
	for _, a := range obs.log {
		if _, ok := byRange[a.end]; !ok {
			ends = append(ends, a.end)
		}
		byRange[a.end] = append(byRange[a.end], a)
	}
	slices.Sort(ends)
	for _, end := range ends {
		as := byRange[end]
		failed := slices.IndexFunc(as, func(a attempt) bool { return a.err != nil })
		if failed < 0 {
			continue
		}
		failedOver++
		if failedOver > max {
			continue
		}
		var b strings.Builder
		for _, a := range as[failed:min(len(as), failed+8)] {
			outcome := "ok"
			if a.err != nil {
				outcome = a.err.Error()
				if len(outcome) > 90 {
					outcome = outcome[:90] + "..."
				}
			}
			fmt.Fprintf(&b, "\n    %+6.1fs %s: %s", a.at.Sub(since).Seconds(), nodes[a.host], outcome)
		}
		t.Logf("range ending at %d: %d requests, the first failed at request %d, then:%s", end, len(as), failed+1, b.String())
	}
	return failedOver
}

// failedOver checks the requests of a scan during which node2 (its host
// ID) was killed at kill: no request was served by node 2 after it died,
// and ranges read from node 2 before the kill, or whose requests failed on
// it, were read to their end from another replica.
func failedOver(t *testing.T, obs *rangeAttempts, node2 string, kill time.Time) {
	// A response already on its way when the process died may still be
	// read: after is a second later.
	after := kill.Add(time.Second)
	type rangeLog struct {
		before, failed, after map[string]int
	}
	ranges := map[int64]*rangeLog{}
	obs.Lock()
	for _, a := range obs.log {
		r := ranges[a.end]
		if r == nil {
			r = &rangeLog{map[string]int{}, map[string]int{}, map[string]int{}}
			ranges[a.end] = r
		}
		switch {
		case a.err != nil:
			r.failed[a.host]++
		case a.at.Before(kill):
			r.before[a.host]++
		case a.at.After(after):
			r.after[a.host]++
		}
	}
	obs.Unlock()
	moved, failedOn2 := 0, 0
	for end, r := range ranges {
		if r.after[node2] > 0 {
			t.Errorf("range ending at %d: a request served by node 2 after it was killed", end)
		}
		failedOn2 += r.failed[node2]
		if (r.before[node2] > 0 || r.failed[node2] > 0) && len(r.after) > 0 && r.after[node2] == 0 {
			moved++
		}
	}
	t.Logf("node 2 is %s; %d requests failed on it; %d ranges read from it or tried on it were read to their end from another replica", node2, failedOn2, moved)
	if moved == 0 {
		t.Fatalf("no range of node 2 was read from another replica after the kill")
	}
}

// nodeNames names the cluster's nodes by their number in cassandra.sh.
func nodeNames(t *testing.T, s *gocql.Session) map[string]string {
	names := map[string]string{}
	for i, addr := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		names[hostID(t, s, addr)] = fmt.Sprintf("node %d", i+1)
	}
	return names
}

// At the scan's default options (no WithRetry), with RF 3 and QUORUM, a
// node killed (SIGKILL) mid-scan costs nothing: every row exactly once,
// and the ranges it served were read to their end from another replica.
// (Two nodes killed and restarted one after the other during one scan:
// TestClusterScanChaos.)
func TestClusterScanNodeKilledAtDefaults(t *testing.T) {
	obs := &rangeAttempts{}
	s := usersSession(t, obs)
	const n = 20_000
	table := clusterTable(t, s, 3, n)
	names := nodeNames(t, s)
	ev := newNodeEvents(t)

	var got []kv
	var kill time.Time
	for r, err := range cqlseq.Scan[kv](context.Background(), s, table, cqlseq.WithFetchSize(100)) {
		if err != nil {
			t.Fatalf("after %d rows: %v", len(got), err)
		}
		if got = append(got, r); len(got) == 2_500 {
			ev.kill("2")
			kill = time.Now()
		}
	}
	ev.note("scan done")
	onceEach(t, "RF 3, QUORUM, default options, node 2 killed after 2,500 rows", got, n)
	if failedOver := rangeLog(t, obs, names, kill, 3); failedOver == 0 {
		t.Fatal("no range had a failed request: node 2's death did not reach the scan")
	}
	failedOver(t, obs, hostID(t, s, "127.0.0.3"), kill)
}

// Seeded chaos, at the scan's default retry: scans stopped at random
// pages and resumed from their checkpoints at a random parallelism and
// fetch size, while random nodes are killed and restarted at random
// moments, one after another (a kill waits for the previous restart; two
// kills in a row take different nodes): every row exactly once. CI runs
// one scan with two kills (so one scan meets a node's death, its return
// and another's death); -chaos.scans=N and -chaos.kills=K run more,
// -chaos.seed=S repeats a run.
func TestClusterScanChaos(t *testing.T) {
	seed := *chaosSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (go test -run TestClusterScanChaos -chaos.seed=%d to repeat it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	obs := &rangeAttempts{}
	s := usersSession(t, obs)
	const n = 12_000
	table := clusterTable(t, s, 3, n)
	names := nodeNames(t, s)
	ev := newNodeEvents(t)
	for scan := range *chaosScans {
		// Kill-restart cycles at random shares of the rows, a kill and its
		// restart in each share, and three stops at random pages.
		kills := max(1, *chaosKills)
		var marks []int
		var node []string
		for k := range kills {
			share := n / (2 * kills)
			marks = append(marks, 2*k*share+rng.IntN(share), (2*k+1)*share+rng.IntN(share))
			i := 1 + rng.IntN(3)
			if k > 0 && fmt.Sprint(i) == node[k-1] {
				i = i%3 + 1
			}
			node = append(node, fmt.Sprint(i))
		}
		var got []kv
		cursor, next := "", 0
		for run := 0; ; run++ {
			p := 1 + rng.IntN(24)
			fetch := 20 + rng.IntN(300)
			// The first three runs stop at a random page of the rows
			// left, the last reads to the end.
			stopAt := 0
			if run < 3 {
				stopAt = 1 + rng.IntN(max(1, (n-len(got))/fetch))
			}
			t.Logf("scan %d, run %d: parallelism %d, fetch size %d, from %d rows, stop after page %d (0: none)", scan, run, p, fetch, len(got), stopAt)
			stopped, pages := false, 0
			for page, err := range cqlseq.ScanPages[kv](context.Background(), s, table, cqlseq.WithParallelism(p), cqlseq.WithFetchSize(fetch),
				cqlseq.WithCursor(cursor), cqlseq.WithRateLimit(1_500)) {
				if err != nil {
					t.Fatalf("scan %d, run %d, after %d rows: %v", scan, run, len(got), err)
				}
				got = append(got, page.Rows...)
				cursor = page.Cursor
				for next < len(marks) && len(got) >= marks[next] {
					if next%2 == 0 {
						ev.kill(node[next/2])
					} else {
						ev.restart()
					}
					next++
				}
				if pages++; pages == stopAt {
					stopped = true
					break
				}
			}
			if !stopped {
				break
			}
		}
		ev.restart() // if the scan ended before its restart mark
		ev.wg.Wait()
		onceEach(t, fmt.Sprintf("chaos scan %d (nodes %v killed)", scan, node), got, n)
		t.Logf("%d ranges had a failed request", rangeLog(t, obs, names, ev.start, 2))
		obs.Lock()
		obs.log = nil
		obs.Unlock()
	}
}
