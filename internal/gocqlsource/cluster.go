package gocqlsource

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"

	"github.com/gocql/gocql"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// Cluster is what a scan needs of a gocql session: the driver.Cluster of
// package cqlseqgocql.
type Cluster struct {
	// Ctx bounds the reads of the ring from system tables (see Hosts).
	Ctx     context.Context
	Session *gocql.Session
	Options *Options
}

func (c Cluster) Hosts() ([]driver.Host, error) { return Hosts(c.Ctx, c.Session) }

func (c Cluster) Query(cql string, values []any) driver.Source {
	return New(c.Session.Query(cql), values, c.Options)
}

// Unrouted implements driver.Unrouted: true where the driver cannot send
// a request to a chosen node (see Routes).
func (c Cluster) Unrouted() bool { return !Routes() }

// hostLister is the fork's Session.GetHosts.
type hostLister interface {
	GetHosts() []*gocql.HostInfo
}

// Hosts returns the nodes of s's cluster with their tokens: the driver's
// own list, with its view of which are up, where the driver offers it
// (the fork's Session.GetHosts), else as SystemHosts reads them.
func Hosts(ctx context.Context, s *gocql.Session) ([]driver.Host, error) {
	l, ok := any(s).(hostLister)
	if !ok {
		return SystemHosts(ctx, s)
	}
	var hosts []driver.Host
	for _, h := range l.GetHosts() {
		hosts = append(hosts, driver.Host{ID: h.HostID(), Addr: h.ConnectAddressAndPort(), DataCenter: h.DataCenter(), Rack: h.Rack(), Partitioner: h.Partitioner(), Tokens: h.Tokens(), Up: h.IsUp()})
	}
	return hosts, nil
}

// maxViews is how many times SystemHosts reads system.peers at most.
const maxViews = 5

// SystemHosts reads the nodes of s's cluster from system.local and
// system.peers, as the driver itself does, for a driver that does not list
// them (upstream gocql v1). Each node's system.peers lists every node but
// itself, and which node answers is the driver's choice: SystemHosts reads
// it until it knows every node, that is, until two reads of system.peers
// came from different nodes (each lists the other), or the node that
// answered system.local is missing from the last list read (it answered
// that one too). It gives up after maxViews reads of each and returns the
// nodes it found. A row without a host ID or tokens (a node joining) is
// left out, as the driver leaves it out. The driver's view of which nodes
// are up is not known: every node is reported up. Its address is its
// rpc_address at the port of the node that answered.
func SystemHosts(ctx context.Context, s *gocql.Session) ([]driver.Host, error) {
	known := map[string]driver.Host{}
	partitioner := ""
	var last map[string]driver.Host
	for range maxViews {
		peers, _, err := readHosts(ctx, s, "system.peers")
		if err != nil {
			return nil, err
		}
		maps.Copy(known, peers)
		if last != nil && !sameKeys(last, peers) {
			break // two nodes' lists: each names the other
		}
		last = peers
		local, p, err := readHosts(ctx, s, "system.local")
		if err != nil {
			return nil, err
		}
		maps.Copy(known, local)
		partitioner = p
		if done := len(local) == 1 && !hasAny(peers, local); done {
			break // the node that answered system.local is missing from its own list
		}
	}
	hosts := slices.SortedFunc(maps.Values(known), func(a, b driver.Host) int { return cmp.Compare(a.ID, b.ID) })
	for i := range hosts {
		hosts[i].Partitioner = partitioner
	}
	return hosts, nil
}

func sameKeys(a, b map[string]driver.Host) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func hasAny(m, of map[string]driver.Host) bool {
	for k := range of {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// readHosts reads the nodes that table (system.local or system.peers)
// lists, by host ID, and the partitioner system.local names.
func readHosts(ctx context.Context, s *gocql.Session, table string) (map[string]driver.Host, string, error) {
	// An address to use where rpc_address is unset: the node's own (in
	// system.local) or the peer's broadcast address.
	stmt := "SELECT host_id, data_center, rack, tokens, rpc_address, peer FROM system.peers"
	if table == "system.local" {
		stmt = "SELECT host_id, data_center, rack, tokens, rpc_address, broadcast_address, partitioner FROM system.local"
	}
	it := s.Query(stmt).WithContext(ctx).Consistency(gocql.One).PageSize(1000).Iter()
	port := 0
	if h := it.Host(); h != nil {
		port = h.Port()
	}
	hosts := map[string]driver.Host{}
	var (
		id             gocql.UUID
		dc, rack, part string
		tokens         []string
		rpc, other     net.IP
	)
	dest := []any{&id, &dc, &rack, &tokens, &rpc, &other}
	if table == "system.local" {
		dest = append(dest, &part)
	}
	for it.Scan(dest...) {
		if id == (gocql.UUID{}) || len(tokens) == 0 {
			continue
		}
		ip := rpc
		if ip == nil || ip.IsUnspecified() {
			ip = other
		}
		hosts[id.String()] = driver.Host{ID: id.String(), Addr: net.JoinHostPort(ip.String(), strconv.Itoa(port)), DataCenter: dc, Rack: rack, Tokens: tokens, Up: true}
	}
	if err := it.Close(); err != nil {
		return nil, "", fmt.Errorf("cqlseq: reading the nodes from %s: %w", table, err)
	}
	return hosts, part, nil
}
