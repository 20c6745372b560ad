package cqlseqgocql_test

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocql/gocql"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/internal/driver/drivertest"
	"github.com/cqlseq/cqlseq/internal/gocqlsource"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	// Every Example of this package runs on the test node, and an Example
	// cannot skip itself as a test does: go test -short (the unit tests
	// only) leaves them out here. Without -short, or with CI=true, they run
	// and check their output.
	cqlseqtest.SkipExamplesIfShort()
	// Two of the driver's event handlers outlive a closed session, neither
	// a goroutine of cqlseqgocql: upstream handles a schema change (a
	// keyspace a test dropped) by polling for schema agreement for up to
	// ClusterConfig.MaxWaitSchemaAgreement, with no context tied to the
	// session (events.go, Session.handleSchemaEvent); the fork handles a
	// node-up event (a cluster node restarted by another module's tests
	// shortly before) by sleeping 10 s before it connects (Session.handleNodeUp).
	goleak.VerifyTestMain(drivertest.Main(closeSession{m}),
		goleak.IgnoreAnyFunction("github.com/gocql/gocql.(*Session).handleSchemaEvent"),
		goleak.IgnoreAnyFunction("github.com/gocql/gocql.(*Session).handleNodeUp"))
}

var shared struct {
	sync.Mutex
	s *gocql.Session
}

type closeSession struct{ m *testing.M }

func (c closeSession) Run() int {
	defer func() {
		if shared.s != nil {
			shared.s.Close()
		}
	}()
	return c.m.Run()
}

// session returns a gocql session on the same hosts as cqlseqtest's.
func session(t *testing.T) *gocql.Session {
	t.Helper()
	cqlseqtest.Session(t) // fails the test, with the reason, if Cassandra is unreachable
	s, err := sharedSession()
	if err != nil {
		t.Fatalf("gocql session: %v", err)
	}
	return s
}

// sharedSession returns the session every test and example shares; it is
// closed when they are done (closeSession).
func sharedSession() (*gocql.Session, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.s == nil {
		s, err := newCluster(cqlseqtest.Hosts()...).CreateSession()
		if err != nil {
			return nil, err
		}
		shared.s = s
	}
	return shared.s, nil
}

// newCluster is the configuration of the tests' sessions on hosts.
func newCluster(hosts ...string) *gocql.ClusterConfig {
	c := gocql.NewCluster(hosts...)
	c.Timeout = 20 * time.Second
	c.ConnectTimeout = 10 * time.Second
	c.Consistency = gocql.One
	c.ReconnectInterval = time.Second
	c.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 30, Interval: time.Second}
	return c
}

type counter struct{ n *atomic.Int64 }

func (c counter) ObserveQuery(context.Context, gocql.ObservedQuery) { c.n.Add(1) }

// The tests run against upstream gocql (GOWORK=$PWD/go.upstream.work) or
// ScyllaDB's fork (the repository's workspace, or a go.mod that replaces
// gocql): this says which, by the source file the driver's code
// was compiled from, and checks that what the front end finds at run time
// (gocqlsource.Routes: Query.SetHostID, the fork's) agrees.
func TestWhichGocql(t *testing.T) {
	file, _ := runtime.FuncForPC(reflect.ValueOf(gocql.NewCluster).Pointer()).FileLine(0)
	fork := strings.Contains(file, "/scylladb/gocql@")
	if !fork && !strings.Contains(file, "/gocql/gocql@") {
		t.Fatalf("gocql.NewCluster is in %s: neither upstream gocql nor the fork", file)
	}
	t.Logf("gocql from %s; scans routed to replicas: %v", file, gocqlsource.Routes())
	if gocqlsource.Routes() != fork {
		t.Fatalf("gocql from %s, but Routes() = %v", file, gocqlsource.Routes())
	}
}
