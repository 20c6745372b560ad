package cqlseqx_test

import (
	"context"
	"errors"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocql/gocql"
	"github.com/google/go-cmp/cmp"
	"github.com/scylladb/gocqlx/v3"
	"github.com/scylladb/gocqlx/v3/qb"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/internal/driver/drivertest"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	// Every Example of this package runs on the test node, and an Example
	// cannot skip itself as a test does: go test -short (the unit tests
	// only) leaves them out here. Without -short, or with CI=true, they run
	// and check their output.
	cqlseqtest.SkipExamplesIfShort()
	// The fork handles a node-up event (a node restarted by
	// TestClusterScanNodeKilled) by sleeping 10 s before it connects,
	// whether or not its session has been closed since (events.go,
	// Session.handleNodeUp): not a goroutine of cqlseqx.
	goleak.VerifyTestMain(drivertest.Main(closeSession{m}), goleak.IgnoreAnyFunction("github.com/gocql/gocql.(*Session).handleNodeUp"))
}

var gx struct {
	sync.Mutex
	s *gocqlx.Session
}

type closeSession struct{ m *testing.M }

func (c closeSession) Run() int {
	defer func() {
		if gx.s != nil {
			gx.s.Close()
		}
	}()
	return c.m.Run()
}

// session returns a gocqlx session on the same hosts as cqlseqtest's.
func session(t *testing.T) gocqlx.Session {
	t.Helper()
	cqlseqtest.Session(t) // fails the test, with the reason, if Cassandra is unreachable
	s, err := sharedSession()
	if err != nil {
		t.Fatalf("gocqlx session: %v", err)
	}
	return s
}

// sharedSession returns the session every test and example shares; it is
// closed when they are done (closeSession), long after its pools filled.
func sharedSession() (gocqlx.Session, error) {
	gx.Lock()
	defer gx.Unlock()
	if gx.s == nil {
		c := gocql.NewCluster(cqlseqtest.Hosts()...)
		c.Timeout = 20 * time.Second
		c.ConnectTimeout = 10 * time.Second
		c.Consistency = gocql.One
		c.ReconnectInterval = time.Second
		c.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 30, Interval: time.Second}
		s, err := gocqlx.WrapSession(c.CreateSession())
		if err != nil {
			return gocqlx.Session{}, err
		}
		gx.s = &s
	}
	return *gx.s, nil
}

type counter struct{ n *atomic.Int64 }

func (c counter) ObserveQuery(context.Context, gocql.ObservedQuery) { c.n.Add(1) }

// TestBehaviour runs the behavioural suite that every front end passes,
// here over gocqlx.
func TestBehaviour(t *testing.T) {
	s := session(t)
	query := func(q drivertest.Query) *gocqlx.Queryx {
		return s.Query(q.Stmt, nil).Bind(q.Values...).Observer(counter{q.Requests})
	}
	drivertest.Run(t, drivertest.FrontEnd{
		Name: "cqlseqx",
		Rows: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Row, error] {
			return cqlseqx.Stream[drivertest.Row](ctx, query(q), opts...)
		},
		Pages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[drivertest.Row], error] {
			return cqlseqx.Pages[drivertest.Row](ctx, query(q), opts...)
		},
		Smalls: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Small, error] {
			return cqlseqx.Stream[drivertest.Small](ctx, query(q), opts...)
		},
		Partials: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Partial, error] {
			return cqlseqx.Stream[drivertest.Partial](ctx, query(q), opts...)
		},
		Nullables: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.Nullable, error] {
			return cqlseqx.Stream[drivertest.Nullable](ctx, query(q), opts...)
		},
		Ints: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[int, error] {
			return cqlseqx.Stream[int](ctx, query(q), opts...)
		},
		IntPages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[int], error] {
			return cqlseqx.Pages[int](ctx, query(q), opts...)
		},
		Schema: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.SchemaRow, error] {
			return cqlseqx.Stream[drivertest.SchemaRow](ctx, query(q), opts...)
		},
		SchemaPages: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[cqlseq.Page[drivertest.SchemaRow], error] {
			return cqlseqx.Pages[drivertest.SchemaRow](ctx, query(q), opts...)
		},
		Skips: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.SkipRow, error] {
			return cqlseqx.Stream[drivertest.SkipRow](ctx, query(q), opts...)
		},
		Anys: func(ctx context.Context, q drivertest.Query, opts ...cqlseq.StreamOption) iter.Seq2[drivertest.AnyRow, error] {
			return cqlseqx.Stream[drivertest.AnyRow](ctx, query(q), opts...)
		},
		IsDecodeError:  func(err error) bool { var e gocql.UnmarshalError; return errors.As(err, &e) },
		IsRequestError: func(err error) bool { var e gocql.RequestError; return errors.As(err, &e) },
	})
}

// Player is written for gocqlx: db tags, a snake_case name, an ignored field.
type Player struct {
	Team     string `db:"team"`
	PlayerID int    `db:"id"`
	FullName string
	Score    *int64
	Tags     []string
	Skip     string `db:"-"`
}

// A struct with gocqlx tags scans the same through gocqlx's own Select and
// through cqlseqx, with values bound by name the gocqlx way.
func TestSameRowsAsSelect(t *testing.T) {
	s := session(t)
	vs := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, vs)
	cqlseqtest.Exec(t, vs, "CREATE TABLE "+ks+".players (team text, id int, full_name text, score bigint, tags set<text>, PRIMARY KEY (team, id))")
	for i := range 500 {
		var score any
		if i%3 != 0 {
			score = int64(i * 7)
		}
		if err := vs.Query("INSERT INTO "+ks+".players (team, id, full_name, score, tags) VALUES (?, ?, ?, ?, ?)",
			[]string{"red", "blue"}[i%2], i, "player "+string(rune('A'+i%26)), score, []string{"t" + string(rune('a'+i%5))}).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	stmt, names := qb.Select(ks + ".players").Where(qb.Eq("team")).ToCql()

	var want []Player
	if err := s.Query(stmt, names).BindMap(qb.M{"team": "red"}).Select(&want); err != nil {
		t.Fatal(err)
	}
	var got []Player
	for p, err := range cqlseqx.Stream[Player](context.Background(), s.Query(stmt, names).BindStruct(&Player{Team: "red"}),
		cqlseq.WithFetchSize(33), cqlseq.WithStrict()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if len(want) != 250 {
		t.Fatalf("gocqlx Select read %d rows, want 250", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("cqlseqx vs gocqlx Select (-gocqlx +cqlseqx):\n%s", diff)
	}
}

// The caller's Queryx keeps its settings, and a binding error is reported
// before anything is sent.
func TestQueryxInput(t *testing.T) {
	s := session(t)
	_, table := drivertest.Fixture(t)
	q := s.Query("SELECT id FROM "+table, nil).PageSize(7)
	for _, err := range cqlseqx.Stream[int](context.Background(), q, cqlseq.WithFetchSize(1000), cqlseq.WithMaxPages(1)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	it := q.Iter()
	var n int
	var id int
	for it.Scan(&id) {
		n++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if n != drivertest.FixtureRows {
		t.Fatalf("the caller's query read %d rows by itself, want %d (its own paging untouched)", n, drivertest.FixtureRows)
	}

	stmt, names := qb.Select(table).Where(qb.Eq("id")).ToCql()
	bad := s.Query(stmt, names).BindMap(qb.M{"nope": 1})
	var got []error
	for _, err := range cqlseqx.Stream[int](context.Background(), bad) {
		got = append(got, err)
	}
	if len(got) != 1 || !errors.Is(got[0], cqlseq.ErrInvalidArgument) {
		t.Fatalf("binding error: got %v, want one ErrInvalidArgument", got)
	}
	for _, err := range cqlseqx.Stream[int](context.Background(), nil) {
		if !errors.Is(err, cqlseq.ErrInvalidArgument) {
			t.Fatalf("nil query: got %v", err)
		}
	}
}
