package cqlseq

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cqlseq/cqlseq/driver"
)

type scanTopology struct {
	hosts        []ringHost
	rep          replication
	partitionKey []string
}

var identifier = regexp.MustCompile(`^([A-Za-z0-9_]+|"([^"]|"")+")$`)

// parseTable splits "keyspace.table" into its names as Cassandra stores
// them: unquoted names are lower-cased, quoted ones kept.
func parseTable(s string) (keyspace, table string, err error) {
	name := func(p string) (string, error) {
		p = strings.TrimSpace(p)
		if !identifier.MatchString(p) {
			return "", fmt.Errorf("table %q: %q is not a CQL name", s, p)
		}
		if strings.HasPrefix(p, `"`) {
			return strings.ReplaceAll(p[1:len(p)-1], `""`, `"`), nil
		}
		return strings.ToLower(p), nil
	}
	ks, t, ok := strings.Cut(s, ".")
	if !ok || strings.Count(s, ".") != 1 && !strings.Contains(s, `"`) {
		return "", "", fmt.Errorf("table %q: name it keyspace.table", s)
	}
	if keyspace, err = name(ks); err == nil {
		table, err = name(t)
	}
	return keyspace, table, err
}

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

// readTopology reads the ring from the driver and the keyspace's
// replication and the table's partition key from system_schema (not from
// a driver's metadata cache, which lags behind a keyspace or table just
// created, and may hold no tables at all).
func readTopology(ctx context.Context, c driver.Cluster, keyspace, table string) (scanTopology, error) {
	var top scanTopology
	fail := func(err error) (scanTopology, error) {
		return top, fmt.Errorf("cqlseq: scanning %s.%s: %w", keyspace, table, err)
	}
	hosts, err := c.Hosts()
	if err != nil {
		return fail(err)
	}
	for _, h := range hosts {
		if p := h.Partitioner; p != "" && !strings.HasSuffix(p, ".Murmur3Partitioner") {
			return fail(fmt.Errorf("the cluster's partitioner is %s; Scan reads Murmur3Partitioner's tokens only", p))
		}
		rh := ringHost{id: h.ID, dc: h.DataCenter, rack: h.Rack}
		for _, s := range h.Tokens {
			t, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fail(fmt.Errorf("host %s has token %q, not a Murmur3 token", h.ID, s))
			}
			rh.tokens = append(rh.tokens, t)
		}
		top.hosts = append(top.hosts, rh)
	}
	type keyspaceRow struct{ Replication map[string]string }
	var rep *keyspaceRow
	for r, err := range StreamFrom[keyspaceRow](ctx, c.Query("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?", []any{keyspace})) {
		if err != nil {
			return fail(err)
		}
		rep = &r
	}
	if rep == nil {
		return fail(fmt.Errorf("no keyspace %s", keyspace))
	}
	options := make(map[string]any, len(rep.Replication))
	for k, v := range rep.Replication {
		options[k] = v
	}
	if top.rep, err = parseReplication(keyspace, rep.Replication["class"], options); err != nil {
		return top, fmt.Errorf("cqlseq: %w", err)
	}
	type columnRow struct {
		ColumnName string
		Kind       string
		Position   int
	}
	var keys []columnRow
	for r, err := range StreamFrom[columnRow](ctx, c.Query("SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?", []any{keyspace, table})) {
		if err != nil {
			return fail(err)
		}
		if r.Kind == "partition_key" {
			keys = append(keys, r)
		}
	}
	if len(keys) == 0 {
		return fail(fmt.Errorf("keyspace %s has no table %s", keyspace, table))
	}
	slices.SortFunc(keys, func(a, b columnRow) int { return a.Position - b.Position })
	for _, k := range keys {
		top.partitionKey = append(top.partitionKey, k.ColumnName)
	}
	return top, nil
}
