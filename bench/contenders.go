package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	gocqlv1 "github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// Env holds the sessions the contenders read with: the v2 driver's (the
// baseline, MapScan and cqlseq) and gocqlx's, over github.com/gocql/gocql
// (ScyllaDB's fork, as gocqlx v3 requires). Both connect to the same hosts
// with the same settings (cqlseqtest.Cluster).
type Env struct {
	V2 *gocql.Session
	X  gocqlx.Session
}

// Connect opens both sessions.
func Connect(ctx context.Context) (*Env, error) {
	v2, err := cqlseqtest.Connect(ctx)
	if err != nil {
		return nil, err
	}
	c2 := cqlseqtest.Cluster()
	c1 := gocqlv1.NewCluster(cqlseqtest.Hosts()...)
	c1.Timeout, c1.ConnectTimeout = c2.Timeout, c2.ConnectTimeout
	c1.Consistency = gocqlv1.Consistency(c2.Consistency)
	c1.NumConns = c2.NumConns
	x, err := gocqlx.WrapSession(c1.CreateSession())
	if err != nil {
		v2.Close()
		return nil, fmt.Errorf("bench: connecting gocqlx to %v: %w", cqlseqtest.Hosts(), err)
	}
	return &Env{V2: v2, X: x}, nil
}

// Protocols returns the native protocol versions the two drivers settle on
// with the cluster, v2 driver first. It opens a session of each for that,
// so the sessions that are measured carry no frame observer.
func Protocols() (v2, gocqlx int, err error) {
	var p2, p1 protocolSeen
	c2 := cqlseqtest.Cluster()
	c2.FrameHeaderObserver = &p2
	s2, err := c2.CreateSession()
	if err != nil {
		return 0, 0, err
	}
	s2.Close()
	c1 := gocqlv1.NewCluster(cqlseqtest.Hosts()...)
	c1.Timeout, c1.ConnectTimeout = c2.Timeout, c2.ConnectTimeout
	c1.FrameHeaderObserver = protocolSeenV1{&p1}
	s1, err := c1.CreateSession()
	if err != nil {
		return 0, 0, err
	}
	s1.Close()
	return int(p2.v.Load()), int(p1.v.Load()), nil
}

// protocolSeen records the protocol version of the frames a session reads
// once it is connected (the version of the last frame seen).
type protocolSeen struct{ v atomic.Int32 }

func (p *protocolSeen) ObserveFrameHeader(_ context.Context, h gocql.ObservedFrameHeader) {
	p.v.Store(int32(h.Version) & 0x7f) // the high bit marks a response
}

type protocolSeenV1 struct{ *protocolSeen }

func (p protocolSeenV1) ObserveFrameHeader(_ context.Context, h gocqlv1.ObservedFrameHeader) {
	p.v.Store(int32(h.Version) & 0x7f)
}

// Close closes both sessions.
func (e *Env) Close() {
	e.V2.Close()
	e.X.Close()
}

// Run says how one contender reads a set once.
type Run struct {
	Fetch int // page size
	// Prefetch is the fraction of a page left to read when the next page is
	// requested; a negative value keeps the library's default (0.25 for the
	// drivers, cqlseq.DefaultPrefetch for cqlseq).
	Prefetch float64
	Limit    int // read only the first Limit rows; 0 reads all
}

// Pages counts page requests and their latency: it observes every request
// a query sends, paging included, in both drivers.
type Pages struct {
	n       atomic.Int64
	latency atomic.Int64 // nanoseconds, summed
}

func (p *Pages) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	p.n.Add(1)
	p.latency.Add(int64(q.End.Sub(q.Start)))
}

type pagesV1 struct{ *Pages }

func (p pagesV1) ObserveQuery(_ context.Context, q gocqlv1.ObservedQuery) {
	p.n.Add(1)
	p.latency.Add(int64(q.End.Sub(q.Start)))
}

// Count returns the page requests seen and their summed latency.
func (p *Pages) Count() (int64, time.Duration) { return p.n.Load(), time.Duration(p.latency.Load()) }

// A Contender reads every row of a query and hands each to sink, in the
// order Cassandra sends them.
type Contender[R any] struct {
	Name string
	Read func(ctx context.Context, env *Env, set *Set[R], run Run, pages *Pages, sink func(R)) error
}

// Contenders returns the contenders for rows of type R, the baseline first.
func Contenders[R any]() []Contender[R] {
	cs := []Contender[R]{
		{"driver", readDriver[R]},
		{"mapscan", readMapScan[R]},
		{"gocqlx", readGocqlx[R]},
		{"stream", readStream[R]},
		{"pages", readPages[R]},
	}
	return append(cs, frontEnds[R]()...)
}

// ContenderNamed returns the contender called name.
func ContenderNamed[R any](name string) (Contender[R], bool) {
	for _, c := range Contenders[R]() {
		if c.Name == name {
			return c, true
		}
	}
	return Contender[R]{}, false
}

func v2Query[R any](env *Env, set *Set[R], run Run, pages *Pages) *gocql.Query {
	q := env.V2.Query(set.Select(run.Limit)).PageSize(run.Fetch).Observer(pages)
	if run.Prefetch >= 0 {
		q.Prefetch(run.Prefetch)
	}
	return q
}

// readDriver is the baseline: the v2 driver's own paging and prefetching,
// and a hand-written Scan into the fields of one row variable.
func readDriver[R any](ctx context.Context, env *Env, set *Set[R], run Run, pages *Pages, sink func(R)) error {
	it := v2Query(env, set, run, pages).IterContext(ctx)
	var r R
	for set.scan(it, &r) {
		sink(r)
	}
	return it.Close()
}

// readMapScan reads each row into a new map with the v2 driver's MapScan,
// as code that does not know its columns does.
func readMapScan[R any](ctx context.Context, env *Env, set *Set[R], run Run, pages *Pages, sink func(R)) error {
	it := v2Query(env, set, run, pages).IterContext(ctx)
	for {
		m := make(map[string]any, len(it.Columns()))
		if !it.MapScan(m) {
			break
		}
		sink(set.fromMap(m))
	}
	return it.Close()
}

// readGocqlx is gocqlx v3's row by row API: Iterx.StructScan.
func readGocqlx[R any](ctx context.Context, env *Env, set *Set[R], run Run, pages *Pages, sink func(R)) error {
	q := env.X.ContextQuery(ctx, set.Select(run.Limit), nil)
	q.PageSize(run.Fetch).Observer(pagesV1{pages})
	if run.Prefetch >= 0 {
		q.Prefetch(run.Prefetch)
	}
	it := q.Iter()
	var r R
	for it.StructScan(&r) {
		sink(r)
	}
	return it.Close()
}

// options are cqlseq's options for run. The query itself carries the page
// size; WithFetchSize says it again, as a user would.
func options(run Run) []cqlseq.StreamOption {
	opts := []cqlseq.StreamOption{cqlseq.WithFetchSize(run.Fetch)}
	if run.Prefetch >= 0 {
		opts = append(opts, cqlseq.WithPrefetch(run.Prefetch))
	}
	return opts
}

// readStream is cqlseq.Stream. The statement is a v2 query with the page
// observer (FromQuery); with cqlseq.CQL it would be the same query.
func readStream[R any](ctx context.Context, env *Env, set *Set[R], run Run, pages *Pages, sink func(R)) error {
	q := env.V2.Query(set.Select(run.Limit)).Observer(pages)
	for r, err := range cqlseq.Stream[R](ctx, nil, cqlseq.FromQuery(q), options(run)...) {
		if err != nil {
			return err
		}
		sink(r)
	}
	return nil
}

// readPages is cqlseq.Pages, its rows handed on one by one.
func readPages[R any](ctx context.Context, env *Env, set *Set[R], run Run, pages *Pages, sink func(R)) error {
	q := env.V2.Query(set.Select(run.Limit)).Observer(pages)
	for p, err := range cqlseq.Pages[R](ctx, nil, cqlseq.FromQuery(q), options(run)...) {
		if err != nil {
			return err
		}
		for _, r := range p.Rows {
			sink(r)
		}
	}
	return nil
}
