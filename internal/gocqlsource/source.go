// Package gocqlsource runs package cqlseq's engine over the
// github.com/gocql/gocql driver, version 1: upstream (v1.7.0 and later) or
// ScyllaDB's fork, which keeps the import path and which a go.mod picks
// with a replace directive. It implements [driver.Source] for a
// *gocql.Query and what a scan needs of a *gocql.Session, for the two
// front ends on that driver: package cqlseqgocql, and package cqlseqx,
// which adds gocqlx's mapper and its decoding of gocqlx.UDT types through
// [Options].
//
// The package compiles against both drivers, so it names only what both
// have. Two methods only the fork has are found at run time, by an
// interface check on the driver's own exported types: Query.SetHostID,
// which routes a scan's requests to a range's replicas, and
// Session.GetHosts, which lists the nodes with the driver's view of which
// are up. Upstream, a scan reads the nodes from system.local and
// system.peers and leaves each request's node to the driver's host
// selection policy ([Routes], [Cluster.Unrouted]).
//
// It is internal to this repository: a module of its own, so that the core
// module never requires gocql, under the core's internal directory, so
// that only this repository's modules can import it. They are released
// together, at one version.
package gocqlsource

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gocql/gocql"
	"github.com/scylladb/go-reflectx"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// Options are what a front end adds to the sources it makes. A front end
// may share one Options between sources; a source never changes it.
type Options struct {
	// Codec decodes values; required.
	Codec *driver.Codec[gocql.TypeInfo, gocql.Type]
	// Mapper maps columns to fields (nil: gocqlx's rules), Strict refuses a
	// column without a field, and StrictFields makes cqlseq.WithStrict
	// refuse a field without a column too: see driver.Query.
	Mapper       *reflectx.Mapper
	Strict       bool
	StrictFields bool
	// Dest, if set, is asked first for the destination of a column or tuple
	// element (see driver.Source.Dest); nil from it leaves the choice to
	// Codec.
	Dest func(d *driver.Dest) any
	// NotSent and MaybeSent are driver errors that Retryable classifies
	// beside those both drivers have (see driver.Classify): for a front
	// end that knows which driver it runs on.
	NotSent, MaybeSent []error
	// Unreached makes a request sent to a chosen node (a scan's) that
	// reached no node, and that the driver does not say may have run
	// (the fork's QueryError.PotentiallyExecuted), a request that was not
	// sent, whatever its error: for a front end that cannot name the
	// fork's errors for it (ErrHostDown, ErrNoPool, ErrNoConnectionsInPool).
	Unreached bool
}

// Source runs one gocql query a page at a time: every page is its own
// request on a copy of the query, resumed from the previous page's paging
// state, with the driver's automatic paging off.
type Source struct {
	*driver.Codec[gocql.TypeInfo, gocql.Type]
	// base is the caller's query as it was when the source was made, with
	// values of its own. It is never executed, nor modified after New:
	// it is read by every ranging of the sequence, and by their
	// prefetches, at once.
	base  gocql.Query
	query driver.Query
	opts  *Options
	// turn lets one request at a time run on a copy of base: see Fetch.
	turn chan struct{}
}

// New returns the source of q with values bound to its markers (copied:
// the caller may change its slice afterwards), as o says. q is copied,
// never modified nor executed. A nil q, or one without a session, makes a
// source whose Query().Err says so; one with an empty statement, a source
// whose Query().CQL is empty, for package cqlseq to refuse. New sends
// nothing to Cassandra.
func New(q *gocql.Query, values []any, o *Options) *Source {
	s := &Source{Codec: o.Codec, opts: o, turn: make(chan struct{}, 1)}
	switch {
	case q == nil:
		s.query.Err = errors.New("nil query")
		return s
	case strings.TrimSpace(q.Statement()) == "":
		return s // cqlseq reports the empty statement
	case noSession(q):
		s.query.Err = errors.New("the query has no session")
		return s
	}
	s.base = *q
	b := &s.base
	b.Bind(slices.Clone(values)...)
	b.Prefetch(0)
	// Every page carries its own column metadata: see the core's newSource.
	b.NoSkipMetadata()
	s.query = driver.Query{
		Keyspace:   b.Keyspace(),
		CQL:        b.Statement(),
		Values:     b.Values(), // base's own copy, never changed
		Idempotent: b.IsIdempotent(),
		Mapper:     o.Mapper,
		Strict:     o.Strict,
		// WithStrict's two directions, as in the core, where the front end
		// asks for them (cqlseqx keeps gocqlx's one).
		StrictFields: o.StrictFields,
	}
	return s
}

// noSession reports whether q has no session, where the driver says (the
// fork's Query.GetSession). Upstream, a query with a statement always has
// one: only Session.Query makes it.
func noSession(q *gocql.Query) bool {
	g, ok := any(q).(interface{ GetSession() *gocql.Session })
	return ok && g.GetSession() == nil
}

// Refused returns a source whose Query().Err is err: a query that cannot
// run, for a reason the front end found.
func Refused(err error, o *Options) *Source {
	s := New(nil, nil, o)
	s.query.Err = err
	return s
}

// Refuse makes err the source's Query().Err, unless it has one already.
func (s *Source) Refuse(err error) {
	if s.query.Err == nil {
		s.query.Err = err
	}
}

func (s *Source) Query() driver.Query { return s.query }

// hostPinner is the fork's Query.SetHostID.
type hostPinner interface {
	SetHostID(hostID string) *gocql.Query
}

// Routes reports whether this build's driver can send a request to a
// chosen node (Query.SetHostID): the fork can, upstream gocql v1 cannot.
func Routes() bool {
	_, ok := any((*gocql.Query)(nil)).(hostPinner)
	return ok
}

// errCannotRoute is the failure of a request for a chosen node where the
// driver cannot choose one. A scan asks for none then (Cluster.Unrouted).
var errCannotRoute = errors.New("cqlseq: this gocql has no Query.SetHostID: a request cannot be sent to a chosen node")

// Fetch sends the query for one page, on a copy of base made for that
// request alone (WithContext copies). The copy shares with base, as the
// driver's own copies do, the query's metrics and its routing information,
// which both gocql v1.7.0 and the fork write under a lock during a request
// and read without one (Query.Keyspace, which their token-aware policy
// calls): two requests of copies of one query at once are a data race in
// the driver. So the requests of a source run one at a time: those of one
// ranging do anyway (a ranging has one request in flight at most), and
// concurrent rangings of one sequence take turns.
func (s *Source) Fetch(ctx context.Context, r driver.Request) driver.Iter {
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return failed{context.Cause(ctx)}
	}
	defer func() { <-s.turn }()
	q := s.base.WithContext(ctx)
	q.PageSize(r.FetchSize)
	if r.HasConsistency {
		q.Consistency(gocql.Consistency(r.Consistency))
	}
	if r.HostID != "" {
		p, ok := any(q).(hostPinner)
		if !ok {
			return failed{errCannotRoute}
		}
		p.SetHostID(r.HostID)
	}
	it := q.PageState(r.State).Iter()
	if r.HostID != "" && s.opts.Unreached && it.Host() == nil {
		// No node was reached: the request failed before it was sent
		// (every page that arrives names its node). Closing such a page
		// only returns its error.
		err := it.Close()
		if err == nil {
			err = errors.New("cqlseq: the driver returned a page that no node sent")
		} else if !mayHaveRun(err) && !errors.Is(err, gocql.ErrSessionClosed) {
			err = unreached{err}
		}
		return failed{err}
	}
	return it
}

// unreached is the error of a request pinned to a node that reached none:
// the driver's error as it is, for Retryable to classify as not sent.
type unreached struct{ error }

func (u unreached) Unwrap() error { return u.error }

// mayHaveRun reports whether the driver says the failed request may have
// run (the fork's QueryError; upstream has no such error).
func mayHaveRun(err error) bool {
	var pe interface{ PotentiallyExecuted() bool }
	return errors.As(err, &pe) && pe.PotentiallyExecuted()
}

// failed is a page request that was never sent: its error is err.
type failed struct{ err error }

func (f failed) Scan(...any) bool            { return false }
func (f failed) MapScan(map[string]any) bool { return false }
func (f failed) PageState() []byte           { return nil }
func (f failed) NumRows() int                { return 0 }
func (f failed) Warnings() []string          { return nil }
func (f failed) Close() error                { return f.err }

func (s *Source) Columns(it driver.Iter) []driver.Column {
	gi, ok := it.(*gocql.Iter)
	if !ok {
		return nil // a request that was never sent
	}
	infos := gi.Columns()
	return s.Describe(len(infos), func(i int) (string, gocql.TypeInfo) { return infos[i].Name, infos[i].TypeInfo })
}

func (s *Source) Host(it driver.Iter) string {
	if gi, ok := it.(*gocql.Iter); ok && gi.Host() != nil {
		return gi.Host().ConnectAddressAndPort()
	}
	return "" // not the driver's page: a wrapper's, in tests
}

// The errors both drivers have for a request that was not sent (no
// connection or stream to send it on), and for one that may have run (its
// connection closed or silent mid-request).
var (
	notSent   = []error{gocql.ErrNoConnections, gocql.ErrNoStreams}
	maybeSent = []error{gocql.ErrConnectionClosed, gocql.ErrTimeoutNoResponse, gocql.ErrTooManyTimeouts}
)

// Retryable classifies a failed page request (see driver.Classify), with
// the errors both drivers have and those of the source's Options.
func (s *Source) Retryable(err error) driver.Retryability {
	var u unreached
	if errors.As(err, &u) {
		return driver.NotSent
	}
	c := driver.Classify(err, slices.Concat(notSent, s.opts.NotSent), slices.Concat(maybeSent, s.opts.MaybeSent))
	if c == driver.NotSent && mayHaveRun(err) {
		// The fork's error is its last attempt's, which may not have been
		// sent (a host down, no stream), while an earlier attempt of the
		// same request may have run: the driver says so.
		return driver.MaybeSent
	}
	return c
}

// Dest returns the destination of one column or tuple element: Options.Dest's,
// else the codec's.
func (s *Source) Dest(d *driver.Dest) any {
	if s.opts.Dest != nil {
		if dst := s.opts.Dest(d); dst != nil {
			return dst
		}
	}
	return s.Codec.Dest(d)
}
