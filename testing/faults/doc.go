// Package faults tests cqlseq against real faults on a real Apache
// Cassandra node: connections cut by a TCP proxy (toxiproxy, in process),
// the node restarted and frozen (SIGSTOP) mid-stream, streams ended with a
// prefetch in flight, a thousand streams broken off, and hostile input.
// Each fault test checks that every row arrives exactly once, or that the
// stream ends with one clear error, and that nothing is left running.
//
// The tests kill, restart and freeze their node, so they never use the node
// the other packages share (127.0.0.1:9042, or CQLSEQ_HOSTS): the first
// test that needs it starts a node of their own with
// testing/cassandra/cassandra.sh on 127.0.0.1:19142 (storage port 17100,
// no JMX, 768 MiB heap), in ${XDG_CACHE_HOME:-~/.cache}/cqlseq/cassandra-faults
// (CQLSEQ_FAULTS_CASSANDRA_DIR overrides it), and TestMain stops it when
// they end. If it cannot start, every test that needs it fails with the
// script's output.
//
// The tests named TestCluster* kill and restart nodes of the local 3-node
// cluster instead (testing/cassandra/cassandra.sh cluster), and never use
// the package's own node: testing/test.sh runs them (-run '^TestCluster')
// beside the others (-skip '^TestCluster'), in two processes. Run them with
// the rest of the repository's tests (testing/test.sh), or alone:
//
//	cd testing/faults && go test -race -v ./...
//
// Under go test -short every test skips, and nothing is started.
package faults
