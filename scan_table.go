package cqlseq

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/scylladb/go-reflectx"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/cqlseq/cqlseq/internal/ring"
)

type scanTopology struct {
	hosts        []ring.Host
	rep          ring.Replication
	partitionKey []string
	// columns are the table's, by name: their CQL types.
	columns map[string]string
	// mapper and strict are how the front end maps the rows of its own
	// queries (a gocqlx session's mapper and gocqlx.DefaultStrict): the
	// scan maps its rows so. The scan's reads of system_schema use
	// neither.
	mapper *reflectx.Mapper
	strict bool
}

// cqlIdent matches a CQL name: unquoted (Cassandra lower-cases it) or
// quoted.
const cqlIdent = `[A-Za-z0-9_]+|"(?:[^"]|"")+"`

var identifier = regexp.MustCompile(`^(?:` + cqlIdent + `)$`)

// parseTable splits "keyspace.table" into its names as Cassandra stores
// them: unquoted names are lower-cased, quoted ones kept.
func parseTable(s string) (keyspace, table string, err error) {
	parts, ok := splitOutsideQuotes(s, '.')
	if !ok || len(parts) != 2 {
		return "", "", fmt.Errorf("table %q: name it keyspace.table", s)
	}
	names := make([]string, 2)
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if !identifier.MatchString(p) {
			return "", "", fmt.Errorf("table %q: %q is not a CQL name", s, p)
		}
		names[i] = unquote(p)
	}
	return names[0], names[1], nil
}

// splitOutsideQuotes splits s at each sep outside double quotes; ok is
// false if a quote is not closed.
func splitOutsideQuotes(s string, sep byte) (parts []string, ok bool) {
	quoted, from := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted // a doubled quote inside a name toggles twice
		case s[i] == sep && !quoted:
			parts, from = append(parts, s[from:i]), i+1
		}
	}
	return append(parts, s[from:]), !quoted
}

// unquote returns the name a CQL identifier stands for: a quoted one
// without its quotes, an unquoted one lower-cased.
func unquote(id string) string {
	if strings.HasPrefix(id, `"`) {
		return strings.ReplaceAll(id[1:len(id)-1], `""`, `"`)
	}
	return strings.ToLower(id)
}

// cqlName writes name as CQL does: quoted unless Cassandra would read it
// so unquoted.
func cqlName(name string) string {
	if plainName.MatchString(name) {
		return name
	}
	return quote(name)
}

var plainName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func tableName(keyspace, table string) string { return cqlName(keyspace) + "." + cqlName(table) }

// quote returns name as a quoted CQL identifier.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// scanQuery returns the CQL of one range's query and its bound values
// after the range's two tokens.
func scanQuery(keyspace, table string, pk []string, cfg *config) string {
	cols := "*"
	if len(cfg.scanColumns) > 0 {
		cols = strings.Join(cfg.scanColumns, ", ")
	}
	keys := make([]string, len(pk))
	for i, k := range pk {
		keys[i] = quote(k)
	}
	token := "token(" + strings.Join(keys, ", ") + ")"
	q := "SELECT " + cols + " FROM " + quote(keyspace) + "." + quote(table) + " WHERE " + token + " > ? AND " + token + " <= ?"
	if cfg.scanFilter != "" {
		q += " AND " + cfg.scanFilter + " ALLOW FILTERING"
	}
	return q
}

// scanError returns err as the failure of the scan of keyspace.table,
// matching err and also: its message says which table, and has one
// "cqlseq: " prefix, not err's too.
func scanError(keyspace, table string, err error, also ...error) error {
	return &wrapped{"cqlseq: scanning " + tableName(keyspace, table) + ": " + strings.TrimPrefix(err.Error(), "cqlseq: "), append([]error{err}, also...)}
}

// ownQuery is a front end's source of a query of the scan's own, seen
// without the settings of the caller's session that Query reports: its
// rows are mapped by this package's rules (not a gocqlx session's mapper,
// nor strictly).
// readOwn sets the rest.
type ownQuery struct{ driver.Source }

func (q ownQuery) Query() driver.Query {
	d := q.Source.Query()
	d.Mapper, d.Strict = nil, false
	return d
}

// metaFetchSize is the page size of the scan's own queries: a table's
// columns in one page.
const metaFetchSize = 1000

// readOwn runs src, a query of the scan's own, with settings of its own
// rather than the session's: at consistency ONE (system_schema is local
// to each node; the scan's statement tried over an empty range reads no
// replica), in pages of metaFetchSize rows, a failed request sent again up
// to 5 times when that may succeed (WithRetry). No tracer sees it. The
// session's query observer, if any, does: a Source has no way to leave it
// out.
func readOwn[T any](ctx context.Context, src driver.Source) iter.Seq2[T, error] {
	src = ownQuery{src}
	cfg, err := startStream(ctx, src, []StreamOption{WithConsistency(One), WithFetchSize(metaFetchSize), WithRetry(Retry{Attempts: 5})})
	if err != nil {
		return fail[T](err)
	}
	return streamRows[T](ctx, src, cfg)
}

// readTopology reads the ring from the driver and the keyspace's
// replication and the table's columns from system_schema (not from a
// driver's metadata cache, which lags behind a keyspace or table just
// created, and may hold no tables at all). A table it cannot scan is an
// error that matches ErrInvalidArgument and says why: no such keyspace or
// table (with the name meant, if capitals went unquoted), a virtual table,
// a keyspace whose replication Scan cannot follow.
func readTopology(ctx context.Context, c driver.Cluster, keyspace, table string) (scanTopology, error) {
	var top scanTopology
	fail := func(err error, also ...error) (scanTopology, error) {
		return top, scanError(keyspace, table, err, also...)
	}
	hosts, err := c.Hosts()
	if err != nil {
		return fail(err)
	}
	for _, h := range hosts {
		if p := h.Partitioner; p != "" && !strings.HasSuffix(p, ".Murmur3Partitioner") {
			return fail(fmt.Errorf("the cluster's partitioner is %s; Scan reads Murmur3Partitioner's tokens only", p))
		}
		rh := ring.Host{ID: h.ID, DC: h.DataCenter, Rack: h.Rack}
		for _, s := range h.Tokens {
			t, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fail(fmt.Errorf("host %s has token %q, not a Murmur3 token", h.ID, s))
			}
			rh.Tokens = append(rh.Tokens, t)
		}
		top.hosts = append(top.hosts, rh)
	}
	src := c.Query("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?", []any{keyspace})
	front := src.Query()
	top.mapper, top.strict = front.Mapper, front.Strict
	type keyspaceRow struct{ Replication map[string]string }
	var rep *keyspaceRow
	for r, err := range readOwn[keyspaceRow](ctx, src) {
		if err != nil {
			return fail(err)
		}
		rep = &r
	}
	if rep == nil {
		return fail(noKeyspace(ctx, c, keyspace, table), ErrInvalidArgument)
	}
	options := make(map[string]any, len(rep.Replication))
	for k, v := range rep.Replication {
		options[k] = v
	}
	class := rep.Replication["class"]
	if top.rep, err = ring.ParseReplication(keyspace, class, options); err != nil {
		if short := class[strings.LastIndexByte(class, '.')+1:]; short != "SimpleStrategy" && short != "NetworkTopologyStrategy" {
			err = fmt.Errorf("%w: read its tables with Stream", err)
		}
		return fail(err, ErrInvalidArgument)
	}
	type columnRow struct {
		ColumnName string
		Kind       string
		Position   int
		Type       string
	}
	var keys []columnRow
	top.columns = map[string]string{}
	for r, err := range readOwn[columnRow](ctx, c.Query("SELECT column_name, kind, position, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?", []any{keyspace, table})) {
		if err != nil {
			return fail(err)
		}
		top.columns[r.ColumnName] = r.Type
		if r.Kind == "partition_key" {
			keys = append(keys, r)
		}
	}
	if len(keys) == 0 {
		return fail(noTable(ctx, c, keyspace, table), ErrInvalidArgument)
	}
	slices.SortFunc(keys, func(a, b columnRow) int { return a.Position - b.Position })
	for _, k := range keys {
		top.partitionKey = append(top.partitionKey, k.ColumnName)
	}
	return top, nil
}

// noKeyspace says why system_schema has no keyspace named keyspace: it is
// virtual, or it exists with capitals that were not quoted, or not at all.
// It reads the names it needs; a read that fails leaves its clue out.
func noKeyspace(ctx context.Context, c driver.Cluster, keyspace, table string) error {
	type tableRow struct{ TableName string }
	virtual := false
	for r, err := range readOwn[tableRow](ctx, c.Query("SELECT table_name FROM system_virtual_schema.tables WHERE keyspace_name = ?", []any{keyspace})) {
		if err != nil {
			break // a Cassandra without virtual tables
		}
		virtual = true
		if r.TableName == table {
			return errors.New("a virtual table, a view of one node's own state with no token ring to split: read it with Stream")
		}
	}
	if virtual {
		return fmt.Errorf("the virtual keyspace %s has no table %s", cqlName(keyspace), cqlName(table))
	}
	type keyspaceRow struct{ KeyspaceName string }
	var names []string
	for r, err := range readOwn[keyspaceRow](ctx, c.Query("SELECT keyspace_name FROM system_schema.keyspaces", nil)) {
		if err != nil {
			break
		}
		names = append(names, r.KeyspaceName)
	}
	return fmt.Errorf("no keyspace %s%s", cqlName(keyspace), capitals("keyspace", keyspace, names, func(n string) string { return cqlName(n) + "." + cqlName(table) }))
}

// noTable says why keyspace has no table named table: it exists with
// capitals that were not quoted, or not at all.
func noTable(ctx context.Context, c driver.Cluster, keyspace, table string) error {
	type tableRow struct{ TableName string }
	var names []string
	for r, err := range readOwn[tableRow](ctx, c.Query("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", []any{keyspace})) {
		if err != nil {
			break
		}
		names = append(names, r.TableName)
	}
	return fmt.Errorf("keyspace %s has no table %s%s", cqlName(keyspace), cqlName(table), capitals("table", table, names, func(n string) string { return cqlName(keyspace) + "." + cqlName(n) }))
}

// capitals returns a clue for a missing name that one of names, in
// another case, may be what was meant: Cassandra lower-cases an unquoted
// name. spell writes the name in full as it should have been given.
func capitals(what, missing string, names []string, spell func(string) string) string {
	for _, n := range names {
		if n != missing && strings.EqualFold(n, missing) {
			return fmt.Sprintf("; there is a %s %s, whose capitals need quotes: %s", what, quote(n), spell(n))
		}
	}
	return ""
}

// selector matches a WithColumns entry that names a column, alone or with
// an alias; the name is its first group.
var selector = regexp.MustCompile(`^\s*(` + cqlIdent + `)(?:\s+(?i:AS)\s+(?:` + cqlIdent + `))?\s*$`)

// checkColumns refuses a WithColumns entry that names a column the table
// does not have. Other entries (writetime(v), a cast, a function) are
// Cassandra's to judge: see tryStatement.
func checkColumns(keyspace, table string, cols []string, top scanTopology) error {
	for _, col := range cols {
		m := selector.FindStringSubmatch(col)
		if m == nil {
			continue
		}
		missing := unquote(m[1])
		if _, ok := top.columns[missing]; ok {
			continue
		}
		msg := fmt.Sprintf("WithColumns: the table has no column %q", missing)
		var near string
		names := slices.Sorted(maps.Keys(top.columns))
		for _, n := range names {
			if strings.EqualFold(n, missing) {
				near = n
			}
		}
		switch {
		case near != "" && !strings.HasPrefix(m[1], `"`):
			msg += fmt.Sprintf(" (an unquoted name is lower-cased); its column %q has capitals, which need quotes: WithColumns(%q)", near, quote(near))
		case near != "":
			msg += fmt.Sprintf("; it has %q (a quoted name keeps its case)", near)
		default:
			for i, n := range names {
				names[i] = cqlName(n) + " " + top.columns[n]
			}
			msg += "; its columns are " + strings.Join(names, ", ")
		}
		return scanError(keyspace, table, errors.New(msg), ErrInvalidArgument)
	}
	return nil
}

// emptyRange is a token range with no row in it, (max, max]: Cassandra
// answers it without reading a replica, after checking the statement.
// ((min, min] would be the whole ring.)
const emptyRange = math.MaxInt64

// tryStatement runs the scan's range statement, cql, once over an empty
// token range, before any range is read, to have Cassandra check what
// WithColumns and WithFilter wrote into it and the driver bind WithFilter's
// values. A statement refused as invalid (a syntax error, an unknown
// column or function, a null or ill-typed value) is an error that matches
// ErrInvalidArgument, names the options and unwraps to the driver's error.
// The request is the scan's own (see readOwn): it depends on none of the
// session's settings.
func tryStatement(ctx context.Context, c driver.Cluster, keyspace, table, cql string, cfg *config) error {
	src := c.Query(cql, append([]any{int64(emptyRange), int64(emptyRange)}, cfg.scanValues...))
	for _, err := range readOwn[map[string]any](ctx, src) {
		if err == nil {
			continue
		}
		var pe *PageError
		if !errors.As(err, &pe) || ctx.Err() != nil {
			return scanError(keyspace, table, err)
		}
		cause := pe.Err
		var coded interface{ Code() int }
		switch {
		case errors.As(cause, &coded) && (coded.Code() == 0x2000 || coded.Code() == 0x2200): // syntax error, invalid query
			return scanError(keyspace, table, fmt.Errorf("the statement of %s (%s) was refused by Cassandra: %w", cfg.scanOptions(), cql, cause), ErrInvalidArgument)
		case !errors.As(cause, &coded) && src.Retryable(cause) == driver.Final:
			// Refused before it was sent: a value the driver cannot
			// marshal, or a count of values it does not expect.
			return scanError(keyspace, table, fmt.Errorf("the driver refused the statement of %s (%s) or its values: %w", cfg.scanOptions(), cql, cause), ErrInvalidArgument)
		}
		return scanError(keyspace, table, fmt.Errorf("trying the statement of %s over an empty token range: %s", cfg.scanOptions(), strings.TrimPrefix(err.Error(), "cqlseq: ")), err)
	}
	return nil
}
